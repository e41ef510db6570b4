"""The ways a message leaves the application: e-mail over SMTP and the WhatsApp Business
Cloud API. The in-app list is not a channel here: it is always written (``Notification``).

A channel is one class: ``name``, ``configured(config)``, ``address(user)`` and ``send``,
which returns the provider's message id or raises :class:`TemporaryError` (retried with
backoff) or :class:`PermanentError` (failed at once, shown to admins). Adding SMS means
writing one such class and listing it in :data:`CHANNELS`.
"""
from __future__ import annotations

import base64
from abc import ABC, abstractmethod
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any, Mapping
from urllib.parse import urlsplit

from .models import Delivery


class DeliveryError(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message[:480])
        self.retry_after = retry_after


class TemporaryError(DeliveryError):
    """Try again later (server down, rate limited, time-out)."""


class PermanentError(DeliveryError):
    """Will never work as it is (invalid number, address refused, template unknown)."""


class Channel(ABC):
    """What every channel provides; a subclass that forgets one cannot be instantiated."""

    name = ""

    @abstractmethod
    def configured(self, config: Mapping[str, Any]) -> bool:
        """Whether the settings for this channel are present."""

    @abstractmethod
    def address(self, user: Any) -> str | None:
        """The person's address on this channel, or None."""

    @abstractmethod
    def send(self, delivery: Delivery, config: Mapping[str, Any]) -> str | None:
        """Send; the provider's message id, or TemporaryError / PermanentError."""


class EmailChannel(Channel):
    """SMTP: LMS_MAIL_SERVER, _PORT, _USERNAME, _PASSWORD, _USE_TLS (STARTTLS), _USE_SSL, _FROM."""

    name = "email"

    def configured(self, config: Mapping[str, Any]) -> bool:
        return bool(config.get("MAIL_SERVER"))

    def address(self, user: Any) -> str | None:
        return getattr(user, "email", None) or None

    def build(self, delivery: Delivery, config: Mapping[str, Any]) -> EmailMessage:
        sender = config.get("MAIL_FROM") or "7 PAS LMS <no-reply@localhost>"
        domain = (parseaddr(sender)[1].rpartition("@")[2] or "localhost").strip(">")
        msg = EmailMessage()
        msg["Subject"] = delivery.subject
        msg["From"] = sender
        name = getattr(delivery.user, "full_name", "") if delivery.user is not None else ""
        msg["To"] = formataddr((name, delivery.address)) if name else delivery.address
        # the idempotency key travels as the Message-ID, so a mail server or a reader can spot a duplicate
        msg["Message-ID"] = make_msgid(idstring=f"d{delivery.id}", domain=domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(delivery.body_text)
        if delivery.body_html:
            msg.add_alternative(delivery.body_html, subtype="html")
        msg["Content-Language"] = delivery.locale  # after set_content, which drops Content-* headers
        for att in delivery.attachments or []:
            maintype, _, subtype = att.get("mimetype", "application/octet-stream").partition("/")
            msg.add_attachment(base64.b64decode(att["content"]), maintype=maintype, subtype=subtype,
                               filename=att["filename"])
        return msg

    def send(self, delivery: Delivery, config: Mapping[str, Any]) -> str | None:
        msg = self.build(delivery, config)
        host, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25)
        timeout = float(config.get("MAIL_TIMEOUT") or 15)
        # the name we greet the server with: our own host from BASE_URL (smtplib's default,
        # socket.getfqdn(), is a reverse DNS lookup that can stall every message for seconds)
        local = urlsplit(str(config.get("BASE_URL") or "")).hostname or "localhost"
        try:
            if config.get("MAIL_USE_SSL"):
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, local_hostname=local, timeout=timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(host, port, local_hostname=local, timeout=timeout)
            with smtp:
                if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
                    smtp.starttls(context=ssl.create_default_context())
                if config.get("MAIL_USERNAME"):
                    smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            raise (PermanentError if code >= 500 else TemporaryError)(
                f"SMTP {code}: {text.decode(errors='replace') if isinstance(text, bytes) else text}") from None
        except smtplib.SMTPResponseException as e:
            err = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
            permanent = e.smtp_code >= 500 and not isinstance(e, smtplib.SMTPAuthenticationError)
            raise (PermanentError if permanent else TemporaryError)(f"SMTP {e.smtp_code}: {err}") from None
        except (smtplib.SMTPException, OSError, socket.timeout) as e:
            raise TemporaryError(f"SMTP: {type(e).__name__}: {e}") from None
        if refused:
            raise PermanentError(f"SMTP refused: {refused}")
        return str(msg["Message-ID"])


#: WhatsApp Cloud API error codes that mean "slow down / try later"
WA_TEMPORARY_CODES = {1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131048, 131056, 133004}


class WhatsAppChannel(Channel):
    """WhatsApp Business Cloud API template messages:
    POST {LMS_WHATSAPP_API_URL}/{LMS_WHATSAPP_PHONE_NUMBER_ID}/messages with LMS_WHATSAPP_TOKEN."""

    name = "whatsapp"

    def configured(self, config: Mapping[str, Any]) -> bool:
        return bool(config.get("WHATSAPP_TOKEN") and config.get("WHATSAPP_PHONE_NUMBER_ID"))

    def address(self, user: Any) -> str | None:
        return getattr(user, "phone", None) or None

    @staticmethod
    def body(delivery: Delivery) -> dict[str, Any]:
        tpl = delivery.template or {}
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": delivery.address.lstrip("+"),
            "type": "template",
            "template": {
                "name": tpl.get("name"),
                "language": {"code": tpl.get("language", "id")},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": str(p)[:1000]} for p in tpl.get("params", [])]}],
            },
        }

    def send(self, delivery: Delivery, config: Mapping[str, Any]) -> str | None:
        base = (config.get("WHATSAPP_API_URL") or "https://graph.facebook.com/v21.0").rstrip("/")
        url = f"{base}/{config['WHATSAPP_PHONE_NUMBER_ID']}/messages"
        req = urllib.request.Request(url, method="POST", data=json.dumps(self.body(delivery)).encode(),
                                     headers={"Authorization": f"Bearer {config['WHATSAPP_TOKEN']}",
                                              "Content-Type": "application/json"})
        timeout = float(config.get("WHATSAPP_TIMEOUT") or 15)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (configured https URL)
                data = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise self._error(e) from None
        except (urllib.error.URLError, OSError, socket.timeout, ValueError) as e:
            raise TemporaryError(f"WhatsApp: {type(e).__name__}: {e}") from None
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise TemporaryError(f"WhatsApp: unexpected answer {str(data)[:200]}") from None

    @staticmethod
    def _error(e: urllib.error.HTTPError) -> DeliveryError:
        try:
            err = json.loads(e.read() or b"{}").get("error", {})
        except ValueError:
            err = {}
        code = err.get("code")
        text = f"WhatsApp HTTP {e.code}, code {code}: {err.get('message') or e.reason}"
        details = (err.get("error_data") or {}).get("details")
        if details:
            text += f" ({details})"
        retry_after = None
        if e.headers.get("Retry-After", "").isdigit():
            retry_after = float(e.headers["Retry-After"])
        if e.code >= 500 or e.code == 429 or code in WA_TEMPORARY_CODES:
            return TemporaryError(text, retry_after)
        return PermanentError(text)


#: every channel a message can take; the order is the order of the preferences page
CHANNELS: dict[str, Channel] = {c.name: c for c in (EmailChannel(), WhatsAppChannel())}
