"""Languages, WIB times and Rupiah.

Bahasa Indonesia is the source language of every message; English is a translation
(lms/translations/en). A missing catalogue therefore still gives a complete Indonesian UI.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context, request
from flask_babel import format_date, format_datetime
from flask_login import current_user

WIB = ZoneInfo("Asia/Jakarta")
LANG_COOKIE = "lms_lang"


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = request.cookies.get(LANG_COOKIE)
    if lang in langs:
        return lang
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in langs:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return "Asia/Jakarta"


def to_wib(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(WIB)


def rupiah(amount: int | None) -> str:
    """Whole Rupiah with dots for thousands: Rp 1.500.000 (negative: -Rp 1.500)."""
    if amount is None:
        return "–"
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(int(amount)):,}".replace(",", ".")


def wib_datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return "–"
    return f"{format_datetime(value, fmt)} WIB"


def wib_date(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = to_wib(value).date()
    return format_date(value, fmt)


def number(value: int | float | None) -> str:
    """A count with the locale's thousands separator: 1.234 in Indonesian, 1,234 in English.

    (Babel's ``format_decimal`` gives the same for whole numbers but costs ~100 µs a call, and a
    dashboard table has hundreds of cells.)
    """
    if value is None:
        return "–"
    from flask_babel import get_locale

    loc = get_locale()
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"
    if loc is None or loc.language != "en":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def init_app(app: Flask) -> None:
    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["rupiah"] = rupiah
    app.jinja_env.filters["wib"] = wib_datetime
    app.jinja_env.filters["wib_date"] = wib_date
    app.jinja_env.filters["num"] = number
    from .people.phone import display_phone, tel_uri, whatsapp_digits

    app.jinja_env.filters["phone"] = display_phone
    app.jinja_env.filters["tel_uri"] = tel_uri
    app.jinja_env.filters["wa_digits"] = whatsapp_digits
