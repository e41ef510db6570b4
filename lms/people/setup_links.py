"""A set-up link sent straight to WhatsApp: a ``https://wa.me/62…?text=…`` link that opens the
coordinator's WhatsApp with the message to the person already written, in the person's language."""
from __future__ import annotations

from urllib.parse import quote

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from .phone import whatsapp_digits


def whatsapp_setup_url(full_name: str, phone: str | None, locale: str | None, link: str) -> str | None:
    """The wa.me link with the message prefilled, or None when the number cannot hold WhatsApp."""
    digits = whatsapp_digits(phone)
    if digits is None:
        return None
    hours = int(current_app.config.get("PASSWORD_SETUP_HOURS", 72))
    with force_locale(locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "id")):
        text = _("Halo %(name)s, ini tautan untuk masuk pertama kali ke akun 7 PAS OK OCE Anda dan membuat kata "
                 "sandi (berlaku %(hours)d jam, sekali pakai): %(link)s . Setelah itu Anda juga bisa masuk dengan "
                 "nomor HP ini dan kode yang dikirim lewat WhatsApp.", name=full_name.split(" ")[0] if full_name else "",
                 hours=hours, link=link)
    return f"https://wa.me/{digits}?text={quote(text, safe='')}"
