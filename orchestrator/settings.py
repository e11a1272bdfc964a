"""What the services need of the configuration, as plain values: services never read Flask.

`Settings.from_config(app.config)` is built by the Flask side: the worker builds it once and
passes it to the job handlers that deliver (webhooks, the national portal); every database
session opened in an app context carries the application's in `session.info` (`settings_of`),
for what runs deep in a step (queueing the portal record)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    webhook_allow_private: bool = False  # WEBHOOK_ALLOW_PRIVATE: deliveries may reach private addresses
    webhook_timeout: float = 10.0  # WEBHOOK_TIMEOUT (seconds), for the portal too
    portal_sync_url: str | None = None  # PORTAL_SYNC_URL: unset, nothing is queued for the portal
    portal_sync_token: str | None = None  # PORTAL_SYNC_TOKEN
    secret_key: str | None = field(default=None, repr=False)  # SECRET_KEY: connectors' secrets are encrypted with a key derived from it
    # DATA_MAX_*: bounds on the start, form and event data people send (services/limits.py)
    data_max_depth: int = 20
    data_max_items: int = 2000
    data_max_string: int = 10000
    data_max_bytes: int = 256 * 1024
    # ATTACHMENTS_PER_DOSSIER, ATTACHMENT_BYTES_PER_DOSSIER: the files one dossier may hold (services/attachments.py)
    attachments_per_dossier: int = 30
    attachment_bytes_per_dossier: int = 100 * 1024 * 1024
    # PASSWORD_HASH_METHOD: werkzeug's method for new password hashes (services/auth.py). The test
    # suite lowers it, as Django's test settings do; `flask check` reports anything but scrypt.
    password_hash_method: str = "scrypt"
    # Citizens' messages (services/messages.py, services/channels.py; docs/notifications.md)
    smtp_host: str | None = None  # SMTP_HOST: unset, emails are written to the log and count as sent
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    mail_from: str = "no-reply@dichvucong.local"
    sms_provider_url: str | None = None  # SMS_PROVIDER_URL: unset, SMS messages are dead
    sms_provider_key: str | None = field(default=None, repr=False)
    zalo_zns_url: str | None = None  # ZALO_ZNS_URL: unset, Zalo messages are dead
    zalo_access_token: str | None = field(default=None, repr=False)
    messages_timeout: float = 10.0  # MESSAGES_TIMEOUT (seconds) of every SMTP or HTTP call
    messages_max_attempts: int = 8
    messages_per_recipient_per_hour: int = 20
    public_base_url: str | None = None  # PUBLIC_BASE_URL: the site's address, for the tracking link in messages

    @classmethod
    def from_config(cls, config: Mapping) -> Settings:
        return cls(webhook_allow_private=bool(config.get("WEBHOOK_ALLOW_PRIVATE", False)),
                   webhook_timeout=config.get("WEBHOOK_TIMEOUT", 10.0),
                   portal_sync_url=config.get("PORTAL_SYNC_URL"),
                   portal_sync_token=config.get("PORTAL_SYNC_TOKEN"),
                   secret_key=config.get("SECRET_KEY"),
                   data_max_depth=int(config.get("DATA_MAX_DEPTH", 20)),
                   data_max_items=int(config.get("DATA_MAX_ITEMS", 2000)),
                   data_max_string=int(config.get("DATA_MAX_STRING", 10000)),
                   data_max_bytes=int(config.get("DATA_MAX_BYTES", 256 * 1024)),
                   attachments_per_dossier=int(config.get("ATTACHMENTS_PER_DOSSIER", 30)),
                   attachment_bytes_per_dossier=int(config.get("ATTACHMENT_BYTES_PER_DOSSIER", 100 * 1024 * 1024)),
                   password_hash_method=config.get("PASSWORD_HASH_METHOD") or "scrypt",
                   smtp_host=config.get("SMTP_HOST") or None,
                   smtp_port=int(config.get("SMTP_PORT", 587)),
                   smtp_user=config.get("SMTP_USER") or None,
                   smtp_password=config.get("SMTP_PASSWORD") or None,
                   smtp_starttls=bool(config.get("SMTP_STARTTLS", True)),
                   mail_from=config.get("MAIL_FROM") or "no-reply@dichvucong.local",
                   sms_provider_url=config.get("SMS_PROVIDER_URL") or None,
                   sms_provider_key=config.get("SMS_PROVIDER_KEY") or None,
                   zalo_zns_url=config.get("ZALO_ZNS_URL") or None,
                   zalo_access_token=config.get("ZALO_ACCESS_TOKEN") or None,
                   messages_timeout=float(config.get("MESSAGES_TIMEOUT", 10.0)),
                   messages_max_attempts=int(config.get("MESSAGES_MAX_ATTEMPTS", 8)),
                   messages_per_recipient_per_hour=int(config.get("MESSAGES_PER_RECIPIENT_PER_HOUR", 20)),
                   public_base_url=(config.get("PUBLIC_BASE_URL") or "").rstrip("/") or None)


DEFAULTS = Settings()


def settings_of(session) -> Settings:
    """The settings the session carries (the defaults for a session opened outside the app)."""
    return session.info.get("settings", DEFAULTS)
