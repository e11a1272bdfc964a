"""Configuration from environment variables, Flask style."""
from __future__ import annotations

import os
import secrets


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


class Config:
    """Defaults for the embedded single-machine set-up; production overrides via env."""

    SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///orchestrator.sqlite3")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # PostgreSQL: psycopg prepares a statement after this many runs on a connection; "none" turns
    # prepared statements off (PgBouncer in transaction mode before 1.22 needs that).
    DATABASE_PREPARE_THRESHOLD = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")
    # Uploads: BPMN files larger than this are refused with 413 before parsing.
    MAX_BPMN_BYTES = int(os.environ.get("MAX_BPMN_BYTES", 2 * 1024 * 1024))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
    USER_TOKEN_HOURS = int(os.environ.get("USER_TOKEN_HOURS", 12))
    # Content folders read by `flask load-examples`.
    BPMN_LIBRARY = os.environ.get("BPMN_LIBRARY") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "bpmn")
    FORMS_LIBRARY = os.environ.get("FORMS_LIBRARY") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "forms")
    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo1234")
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_PUBLIC = os.environ.get("RATELIMIT_PUBLIC", "60 per minute")
    RATELIMIT_TOKEN = os.environ.get("RATELIMIT_TOKEN", "20 per minute")
    # Lifecycle rules that may change (DOMAIN.md "to confirm"): supplements during processing are
    # allowed within this many working days of reception.
    SUPPLEMENT_WINDOW_DAYS = int(os.environ.get("SUPPLEMENT_WINDOW_DAYS", 3))
    # Attachments: 'database' (embedded default) or 'disk' under ATTACHMENT_DIR.
    ATTACHMENT_STORAGE = os.environ.get("ATTACHMENT_STORAGE", "database")
    ATTACHMENT_DIR = os.environ.get("ATTACHMENT_DIR") or os.path.join(os.getcwd(), "instance", "attachments")
    ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    # Printable documents: fonts with Vietnamese glyphs for the PDFs (Debian fonts-dejavu-core).
    DOCUMENT_FONT_DIR = os.environ.get("DOCUMENT_FONT_DIR", "/usr/share/fonts/truetype/dejavu")
    # Public tracking page: attempts at the details (phone suffix) per dossier code.
    RATELIMIT_TRACKING_DETAIL = os.environ.get("RATELIMIT_TRACKING_DETAIL", "20 per day")
    TESTING = _bool("TESTING")
    # Integrations: webhook delivery and the national portal synchronisation endpoint.
    WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", 10))
    WEBHOOK_ALLOW_PRIVATE = _bool("WEBHOOK_ALLOW_PRIVATE")
    PORTAL_SYNC_URL = os.environ.get("PORTAL_SYNC_URL")
    PORTAL_SYNC_TOKEN = os.environ.get("PORTAL_SYNC_TOKEN")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
