"""The ways a citizen's message leaves (issue 24), behind one interface: `send(message)` with a
plain `Outgoing` (no database, no session: it runs between two transactions) returns a
`Delivery`. Every network call has a timeout; the same `idempotency_key` goes out on every
attempt (the email's Message-ID, the HTTP providers' `Idempotency-Key` header), so providers and
readers can drop the duplicates that at-least-once delivery allows. Errors name what failed,
never a secret or the contact in clear (`redact`)."""
from __future__ import annotations

import json
import logging
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate

from ..settings import Settings

log = logging.getLogger("orchestrator.messages")

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_PHONE = re.compile(r"(?<!\d)(\+?\d{3})\d{3,}(\d{2})(?!\d)")


def mask_contact(contact: str | None) -> str:
    """An email or phone number as logs show it: `n***@example.vn`, `091*****78`."""
    if not contact:
        return ""
    contact = contact.strip()
    if "@" in contact:
        local, _, domain = contact.rpartition("@")
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"\D", "", contact)
    if len(digits) <= 5:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 5)}{digits[-2:]}"


def redact(text: str) -> str:
    """Any email address or phone number in a text (a server's error answer) masked."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(lambda m: f"{m.group(1)}*****{m.group(2)}", text)


@dataclass(frozen=True)
class Outgoing:
    """What a channel needs of a message, read in the job's transaction."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    idempotency_key: str
    event: str = ""
    params: dict = field(default_factory=dict)
    template_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """The outcome of one attempt: sent, or an error, permanent (no retry) or not."""

    ok: bool
    error: str | None = None
    permanent: bool = False
    note: str = ""


class Channel:
    name = ""

    def send(self, message: Outgoing) -> Delivery:
        raise NotImplementedError


def message_id(key: str, mail_from: str) -> str:
    """The Message-ID of every attempt of one message: derived from its idempotency key only."""
    domain = mail_from.rpartition("@")[2].strip(" >") or "localhost"
    return f"<{key}@{domain}>"


class EmailChannel(Channel):
    """SMTP with smtplib (STARTTLS unless turned off, login when a user is set); UTF-8 subject and
    body. Without SMTP_HOST, the development catch-all: the message is written to the log (the
    recipient masked) and counts as sent."""

    name = "email"

    def __init__(self, settings: Settings):
        self.settings = settings

    def build(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.mail_from
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Message-ID"] = message_id(message.idempotency_key, self.settings.mail_from)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail.set_content(message.body, charset="utf-8")
        return mail

    def send(self, message: Outgoing) -> Delivery:
        s = self.settings
        if not s.smtp_host:
            log.info("email not sent: no SMTP_HOST, written to the log",
                     extra={"message_id": message.id, "recipient": mask_contact(message.recipient),
                            "event": message.event, "subject": message.subject, "body": message.body})
            return Delivery(True, note="logged")
        mail = self.build(message)
        for attempt in (1, 2):  # a kept connection the server has closed meanwhile: once more, on a new one
            kept = False
            try:
                smtp, kept = _smtp_connection(s)
                smtp.send_message(mail)
                return Delivery(True, note="smtp")
            except smtplib.SMTPRecipientsRefused:
                return Delivery(False, "SMTP: recipient refused", permanent=True)
            except smtplib.SMTPResponseException as exc:
                text = (exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes)
                        else str(exc.smtp_error))
                if exc.smtp_code == 421:
                    _drop_smtp()
                return Delivery(False, redact(f"SMTP {exc.smtp_code}: {text}")[:300],
                                permanent=500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPAuthenticationError))
            except (OSError, smtplib.SMTPException) as exc:
                _drop_smtp()
                if kept and attempt == 1:
                    continue
                return Delivery(False, redact(f"SMTP: {exc.__class__.__name__}: {exc}")[:300])
        return Delivery(False, "SMTP: the connection closed twice")


_smtp = threading.local()


def _smtp_connection(s: Settings) -> tuple[smtplib.SMTP, bool]:
    """This thread's connection to the relay, opened (STARTTLS, login) at its first message and kept
    for the next ones: a worker sending a backlog pays the TCP and TLS handshakes once, not per
    message. (connection, kept): kept is True when it was opened for an earlier message."""
    key = (s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_starttls)
    held = getattr(_smtp, "held", None)
    if held is not None and held[0] == key:
        return held[1], True
    _drop_smtp()
    smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.messages_timeout)
    try:
        if s.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password or "")
    except BaseException:
        smtp.close()
        raise
    _smtp.held = (key, smtp)
    return smtp, False


def _drop_smtp() -> None:
    held = getattr(_smtp, "held", None)
    _smtp.held = None
    if held is not None:
        try:
            held[1].quit()
        except (OSError, smtplib.SMTPException):
            held[1].close()


class _HttpChannel(Channel):
    """A provider's HTTP API: JSON POST, no redirects, the answer's body not kept. The URL and key
    are the operator's configuration, trusted as the national portal's is."""

    what = ""

    def __init__(self, settings: Settings):
        self.settings = settings

    def target(self) -> tuple[str | None, dict]:
        raise NotImplementedError

    def payload(self, message: Outgoing) -> dict:
        raise NotImplementedError

    def send(self, message: Outgoing) -> Delivery:
        import requests

        url, headers = self.target()
        if not url:
            return Delivery(False, f"{self.what} not configured", permanent=True)
        body = json.dumps(self.payload(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            response = requests.post(url, data=body, timeout=self.settings.messages_timeout, allow_redirects=False,
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "Idempotency-Key": message.idempotency_key, **headers})
            response.close()
        except requests.Timeout:
            return Delivery(False, f"{self.what}: timeout")
        except requests.RequestException as exc:  # its text may hold the URL (and a token in it): the class only
            return Delivery(False, f"{self.what}: {exc.__class__.__name__}")
        status = response.status_code
        if 200 <= status < 300:
            return Delivery(True, note=f"HTTP {status}")
        # a refusal of this message (bad number, unknown template) will not change; the rest may
        permanent = 400 <= status < 500 and status not in (408, 409, 425, 429)
        return Delivery(False, f"{self.what}: HTTP {status}", permanent=permanent)


class SmsChannel(_HttpChannel):
    """SMS through a provider's HTTP API: {to, text, reference}, the key in `X-Api-Key`."""

    name, what = "sms", "SMS provider (SMS_PROVIDER_URL)"

    def target(self):
        key = self.settings.sms_provider_key
        return self.settings.sms_provider_url, ({"X-Api-Key": key} if key else {})

    def payload(self, message: Outgoing) -> dict:
        return {"to": message.recipient, "text": message.body, "reference": message.idempotency_key}


class ZaloChannel(_HttpChannel):
    """Zalo ZNS: a registered template and its parameters, the OA's token in `access_token` (the
    header Zalo's API reads)."""

    name, what = "zalo", "Zalo ZNS (ZALO_ZNS_URL)"

    def target(self):
        token = self.settings.zalo_access_token
        return self.settings.zalo_zns_url, ({"access_token": token} if token else {})

    def payload(self, message: Outgoing) -> dict:
        return {"phone": message.recipient, "template_id": message.template_id,
                "template_data": dict(message.params or {}), "tracking_id": message.idempotency_key}


def for_name(name: str, settings: Settings) -> Channel:
    return {"email": EmailChannel, "sms": SmsChannel, "zalo": ZaloChannel}[name](settings)


def describe(settings: Settings) -> list[str]:
    """How each channel is set up, for the start-up log and `flask check` (never a secret)."""
    lines = []
    if settings.smtp_host:
        lines.append(f"email: SMTP {settings.smtp_host}:{settings.smtp_port}"
                     f"{' STARTTLS' if settings.smtp_starttls else ' (no STARTTLS)'} from {settings.mail_from}")
    else:
        lines.append("email: SMTP_HOST not set: citizens' emails are written to the log (development catch-all), "
                     "not sent")
    lines.append("sms: " + ("provider configured" if settings.sms_provider_url
                            else "SMS_PROVIDER_URL not set: SMS messages are not sent (dead)"))
    lines.append("zalo: " + ("ZNS configured" if settings.zalo_zns_url
                             else "ZALO_ZNS_URL not set: Zalo messages are not sent (dead)"))
    return lines
