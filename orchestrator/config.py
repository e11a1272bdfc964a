"""Configuration from environment variables, Flask style."""
from __future__ import annotations

import os

from .timezone import TZ

# Values seen in tutorials, examples and this repository's old defaults: a key an attacker can guess
# lets them sign a session cookie for any user, an administrator included.
WEAK_SECRET_KEYS = frozenset({
    "change-me", "changeme", "change_me", "change-this", "changethis", "secret", "secret-key", "secret_key",
    "secretkey", "super-secret", "supersecret", "your-secret-key", "my-secret-key", "dev", "development",
    "devkey", "dev-key", "test", "testing", "test-key", "password", "flask", "flask-secret", "orchestrator",
    "key", "default", "insecure", "not-secret", "notsecret", "you-will-never-guess", "crash-test", "bench", "t",
})
MIN_SECRET_KEY_BYTES = 32
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_hex(32))"'


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


class Config:
    """Defaults for the embedded single-machine set-up; production overrides via env."""

    # Signs the back office's session cookies: the same strong value for every process (checked at
    # start-up by `require_secret_key`). Unset, it is read from SECRET_KEY_FILE, else instance/secret_key.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SECRET_KEY_FILE = os.environ.get("SECRET_KEY_FILE")
    # Served over HTTPS (directly or behind a TLS proxy): Secure session cookie and HSTS.
    HTTPS = _bool("HTTPS")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///orchestrator.sqlite3")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # PostgreSQL: psycopg prepares a statement after this many runs on a connection; "none" turns
    # prepared statements off (PgBouncer in transaction mode before 1.22 needs that).
    DATABASE_PREPARE_THRESHOLD = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")
    # Uploads: BPMN files larger than this are refused with 413 before parsing.
    MAX_BPMN_BYTES = int(os.environ.get("MAX_BPMN_BYTES", 2 * 1024 * 1024))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
    # Start, form and event data (services/limits.py): nesting levels, keys and items in total,
    # characters per string, encoded bytes; beyond them the API answers 400 naming the limit.
    DATA_MAX_DEPTH = int(os.environ.get("DATA_MAX_DEPTH", 20))
    DATA_MAX_ITEMS = int(os.environ.get("DATA_MAX_ITEMS", 2000))
    DATA_MAX_STRING = int(os.environ.get("DATA_MAX_STRING", 10000))
    DATA_MAX_BYTES = int(os.environ.get("DATA_MAX_BYTES", 256 * 1024))
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    USER_TOKEN_HOURS = int(os.environ.get("USER_TOKEN_HOURS", 12))
    # Content folders read by `flask load-examples`.
    BPMN_LIBRARY = os.environ.get("BPMN_LIBRARY") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "bpmn")
    FORMS_LIBRARY = os.environ.get("FORMS_LIBRARY") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "forms")
    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo1234")
    # false in production: demo accounts (flask load-examples) still on DEMO_PASSWORD make `flask check`
    # fail and /readyz answer 503 (docs/deployment.md, docs/security.md)
    DEMO_ACCOUNTS_ALLOWED = _bool("DEMO_ACCOUNTS_ALLOWED", True)
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = TZ.key
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_PUBLIC = os.environ.get("RATELIMIT_PUBLIC", "60 per minute")
    RATELIMIT_TOKEN = os.environ.get("RATELIMIT_TOKEN", "20 per minute")
    # The API's budget per caller (api/limits.py): per integrator API key, per user token, and per
    # client address for requests without valid credentials.
    RATELIMIT_API_KEY = os.environ.get("RATELIMIT_API_KEY", "6000 per minute")
    RATELIMIT_API_USER = os.environ.get("RATELIMIT_API_USER", "600 per minute")
    RATELIMIT_UNAUTHENTICATED = os.environ.get("RATELIMIT_UNAUTHENTICATED", "60 per minute")
    # Number of reverse proxies in front that set X-Forwarded-For/-Proto; 0: those headers are ignored.
    TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "0")
    # Attachments: 'database' (embedded default) or 'disk' under ATTACHMENT_DIR.
    ATTACHMENT_STORAGE = os.environ.get("ATTACHMENT_STORAGE", "database")
    ATTACHMENT_DIR = os.environ.get("ATTACHMENT_DIR") or os.path.join(os.getcwd(), "instance", "attachments")
    ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    # What one dossier may hold, whoever uploads (409 attachment_quota beyond), and how many files one
    # API key may upload (429; a flood of 10 MB files from one key stops there).
    ATTACHMENTS_PER_DOSSIER = int(os.environ.get("ATTACHMENTS_PER_DOSSIER", 30))
    ATTACHMENT_BYTES_PER_DOSSIER = int(os.environ.get("ATTACHMENT_BYTES_PER_DOSSIER", 100 * 1024 * 1024))
    RATELIMIT_UPLOADS = os.environ.get("RATELIMIT_UPLOADS", "30 per minute")
    # Printable documents: fonts with Vietnamese glyphs for the PDFs (Debian fonts-dejavu-core).
    DOCUMENT_FONT_DIR = os.environ.get("DOCUMENT_FONT_DIR", "/usr/share/fonts/truetype/dejavu")
    # Public status lookups (the tracking page and GET /api/v1/public/dossiers/{code}) per code
    # prefix, the unit-and-day part of the code ("00070-261201"), whatever the address: walking a
    # unit's sequential codes is slow. Wrong phone digits back off per (code, address) instead
    # (orchestrator/services/throttle.py).
    RATELIMIT_PUBLIC_PREFIX = os.environ.get("RATELIMIT_PUBLIC_PREFIX", "300 per hour")
    TESTING = _bool("TESTING")
    # Integrations: webhook delivery and the national portal synchronisation endpoint.
    WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", 10))
    # the example connector's URL (citizen-ID lookup); unset, the seeded connector stays disabled
    CITIZEN_LOOKUP_URL = os.environ.get("CITIZEN_LOOKUP_URL") or None
    WEBHOOK_ALLOW_PRIVATE = _bool("WEBHOOK_ALLOW_PRIVATE")
    PORTAL_SYNC_URL = os.environ.get("PORTAL_SYNC_URL")
    PORTAL_SYNC_TOKEN = os.environ.get("PORTAL_SYNC_TOKEN")
    # Citizens' messages (issue 24, docs/notifications.md). Without SMTP_HOST emails are written to
    # the log (said at start-up); without SMS_PROVIDER_URL / ZALO_ZNS_URL those messages are dead.
    SMTP_HOST = os.environ.get("SMTP_HOST") or None
    SMTP_PORT = int(os.environ.get("SMTP_PORT", 587))
    SMTP_USER = os.environ.get("SMTP_USER") or None
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", True)
    MAIL_FROM = os.environ.get("MAIL_FROM", "no-reply@dichvucong.local")
    SMS_PROVIDER_URL = os.environ.get("SMS_PROVIDER_URL") or None
    SMS_PROVIDER_KEY = os.environ.get("SMS_PROVIDER_KEY") or None
    ZALO_ZNS_URL = os.environ.get("ZALO_ZNS_URL") or None
    ZALO_ACCESS_TOKEN = os.environ.get("ZALO_ACCESS_TOKEN") or None
    MESSAGES_TIMEOUT = float(os.environ.get("MESSAGES_TIMEOUT", 10))
    MESSAGES_MAX_ATTEMPTS = int(os.environ.get("MESSAGES_MAX_ATTEMPTS", 8))
    MESSAGES_PER_RECIPIENT_PER_HOUR = int(os.environ.get("MESSAGES_PER_RECIPIENT_PER_HOUR", 20))
    # The site's public address (https://dichvucong.example.vn): citizens' messages link to its
    # tracking page /tra-cuu; unset, they carry the path only.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or None
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")


def require_secret_key(app) -> None:
    """Refuse to start without a strong SECRET_KEY: a missing, short or well-known key lets anyone sign
    an administrator's session cookie, and a random key per process breaks sessions across workers.
    The key comes from the configuration (the SECRET_KEY environment variable), else from a file:
    SECRET_KEY_FILE, else instance/secret_key (written once by `make run`)."""
    key, source = app.config.get("SECRET_KEY"), "SECRET_KEY"
    path = app.config.get("SECRET_KEY_FILE") or os.path.join(app.instance_path, "secret_key")
    if not key and os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            key, source = f.read().strip(), f"The key in {path}"
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key or b"")
    if not raw:
        problem = f"is not set (neither the SECRET_KEY environment variable nor the file {path})"
    elif raw.strip().lower().decode("utf-8", "replace") in WEAK_SECRET_KEYS:
        problem = "is a well-known value"
    elif any(raw == raw[:n] * (len(raw) // n) + raw[:len(raw) % n] for n in range(1, min(16, len(raw) // 2) + 1)):
        problem = "is a short pattern repeated"
    elif len(raw) < MIN_SECRET_KEY_BYTES:
        problem = f"is too short ({len(raw)} bytes; at least {MIN_SECRET_KEY_BYTES})"
    else:
        app.config["SECRET_KEY"] = key
        return
    raise RuntimeError(
        f"{source} {problem}: anyone could forge a session cookie. "
        f"Make one with `{MAKE_A_KEY}` and set it in the SECRET_KEY environment variable, "
        "the same value for every web and worker process (docs/deployment.md).")
