"""Languages, WIB times and Rupiah.

Bahasa Indonesia is the source language of every message; English is a translation
(lms/translations/en). A missing catalogue therefore still gives a complete Indonesian UI.
"""
from __future__ import annotations

import functools
import math
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, TypeVar
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context, request
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from flask.globals import _cv_app
from flask_babel import format_date, format_datetime, get_locale, get_translations
from flask_login import current_user

WIB = ZoneInfo("Asia/Jakarta")
LANG_COOKIE = "lms_lang"


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.path.startswith("/api/"):  # the JSON API: Accept-Language only (no cookies, no session)
        return request.accept_languages.best_match(langs) or current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = request.cookies.get(LANG_COOKIE)
    if lang in langs:
        return lang
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in langs:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return "Asia/Jakarta"


def to_wib(value: datetime) -> datetime:
    """The same moment in WIB. The last seven hours of 31 Dec 9999 UTC have no WIB form (it would be
    year 10000): they become the last representable moment, so that a stored value at the end of
    the calendar can never make a page, an export or a job fail."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(WIB)
    except OverflowError:
        return datetime.max.replace(tzinfo=WIB)


def plain(value: Any) -> str:
    """The last resort of every display filter: a stored value shown without conversion.

    Year 9999 plus seven hours does not exist, so a datetime that cannot be moved to WIB is shown
    as it is stored (UTC); NaN and infinities show as a dash.
    """
    if value is None:
        return "–"
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset():
            return value.isoformat(sep=" ", timespec="minutes")
        return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
                f"{value.hour:02d}.{value.minute:02d} UTC")
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, (float, Decimal)) and not _finite(value):
        return "–"
    return str(value)


def _finite(value: Any) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, float):
        return math.isfinite(value)
    return True


F = TypeVar("F", bound=Callable[..., str])


def never_fails(fn: F) -> F:
    """For display filters: a value at the far end of the calendar or of the numbers (a session on
    31 Dec 9999 23.00, which is 1 Jan 10000 in WIB; NaN; 10**400) renders as ``plain(value)``
    instead of raising, so one stored row cannot break its page for everyone."""

    @functools.wraps(fn)
    def wrapper(value: Any, *args: Any, **kwargs: Any) -> str:
        try:
            return fn(value, *args, **kwargs)
        except (OverflowError, ValueError, ArithmeticError):
            return plain(value)

    return wrapper  # type: ignore[return-value]


@never_fails
def rupiah(amount: int | None) -> str:
    """Whole Rupiah with dots for thousands: Rp 1.500.000 (negative: -Rp 1.500)."""
    if amount is None or not _finite(amount):
        return "–"
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(int(amount)):,}".replace(",", ".")


@never_fails
def wib_datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return "–"
    return f"{format_datetime(value, fmt)} WIB"


@never_fails
def wib_date(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = to_wib(value).date()
    return format_date(value, fmt)


def machine_datetime(value: date | datetime | None) -> str:
    """The value of a ``<time datetime="…">`` attribute: ISO 8601 in whole seconds (HTML allows
    at most three digits of a fraction; Python's isoformat writes six)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return value.isoformat()


#: the words of download file names in English (the Indonesian word is the key). They live here
#: rather than in the catalogue because a file name must stay ASCII without spaces.
FILE_WORDS_EN = {
    "sertifikat": "certificate",            # one certificate's PDF
    "daftar-sertifikat": "certificates",    # many: the ZIP of a bulk run, the certificates export
    "kelulusan": "completion",
    "kemajuan": "progress",
    "kehadiran": "attendance",
    "kunjungan": "visits",
    "foto-kunjungan": "visit-photo",
    "bukti": "evidence",
    "log-audit": "audit-log",
    "templat-impor-e-warong": "e-warong-import-template",
}
#: a key whose Indonesian word differs from the key itself
FILE_WORDS_ID = {"daftar-sertifikat": "sertifikat"}


def file_name(*parts: Any, ext: str) -> str:
    """A download's file name in the interface language: ``file_name("sertifikat", serial, ext="pdf")``
    gives sertifikat-….pdf in Indonesian and certificate-….pdf in English. Words listed in
    FILE_WORDS_EN are translated; other parts (codes, dates, numbers) are kept. Only ASCII letters,
    digits, ``.``, ``_`` and ``-`` remain, so the name is safe in a Content-Disposition header."""
    return f"{file_stem(*parts)}.{ext}"


def file_stem(*parts: Any) -> str:
    """:func:`file_name` without the extension."""
    import re

    loc = get_locale()
    english = loc is not None and loc.language == "en"
    words = []
    for part in parts:
        text = str(part)
        text = FILE_WORDS_EN.get(text, text) if english else FILE_WORDS_ID.get(text, text)
        words.append(text)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(words)).strip("-.") or "berkas"


@never_fails
def number(value: int | float | None, lang: str | None = None) -> str:
    """A count with the locale's thousands separator: 1.234 in Indonesian, 1,234 in English.

    (Babel's ``format_decimal`` gives the same for whole numbers but costs ~100 µs a call, and a
    dashboard table has hundreds of cells: a template that knows its ``lang`` passes it, which saves
    asking for the locale at every cell.)
    """
    if value is None or not _finite(value):
        return "–"
    if lang is None:
        loc = get_locale()
        lang = loc.language if loc is not None else None
    if isinstance(value, int) or value == int(value):
        return whole_number_format(lang)(int(value))
    text = f"{value:,.1f}"
    if lang != "en":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def _whole_en(n: int) -> str:
    return f"{n:,}"


def _whole_id(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def whole_number_format(lang: str | None) -> Callable[[int], str]:
    """How :func:`number` writes a whole number in ``lang``; a table of counts calls it once and then
    formats each cell without asking for the locale or checking the value."""
    return _whole_en if lang == "en" else _whole_id


#: (language, territory, script) -> the catalogue; one entry per language the app speaks
_CATALOGUES: dict[tuple[str, str | None, str | None], Any] = {}


def _catalogue() -> Any:
    """The current locale's translations, for templates.

    Flask-Babel's ``get_translations`` walks the domain, the locale and its cache (three context
    lookups and a locale-to-string) on every call, and a page translates a hundred strings or so.
    Keyed by the locale in force (Flask-Babel keeps it on ``g._flask_babel``, where ``force_locale``
    sets it too, so a message in its recipient's language is honoured); outside a request it is
    Flask-Babel's own answer (no translation)."""
    ctx = _cv_app.get(None)
    loc = getattr(ctx.g.__dict__.get("_flask_babel"), "babel_locale", None) if ctx is not None else None
    if loc is None:
        loc = get_locale()  # the first string of the request: selects the locale
        if loc is None:
            return get_translations()
    key = (loc.language, loc.territory, loc.script)
    found = _CATALOGUES.get(key)
    if found is None:
        found = _CATALOGUES[key] = get_translations()
    return found


@pass_eval_context
def _t_gettext(eval_ctx: EvalContext, __string: str, **variables: Any) -> str:
    rv = _catalogue().ugettext(__string)
    if eval_ctx.autoescape:
        rv = Markup(rv)
    # (always a format string; without variables and without a "%" formatting changes nothing)
    return rv % variables if variables or "%" in rv else rv  # type: ignore[no-any-return]


@pass_eval_context
def _t_ngettext(eval_ctx: EvalContext, __singular: str, __plural: str, __num: int, **variables: Any) -> str:
    variables.setdefault("num", __num)
    rv = _catalogue().ungettext(__singular, __plural, __num)
    if eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables  # type: ignore[no-any-return]


@pass_eval_context
def _t_pgettext(eval_ctx: EvalContext, __string_ctx: str, __string: str, **variables: Any) -> str:
    variables.setdefault("context", __string_ctx)
    rv = _catalogue().upgettext(__string_ctx, __string)
    if eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables  # type: ignore[no-any-return]


@pass_eval_context
def _t_npgettext(eval_ctx: EvalContext, __string_ctx: str, __singular: str, __plural: str, __num: int,
                 **variables: Any) -> str:
    variables.setdefault("context", __string_ctx)
    variables.setdefault("num", __num)
    rv = _catalogue().unpgettext(__string_ctx, __singular, __plural, __num)
    if eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["get_locale"] = get_locale
    # Jinja's newstyle gettext, with the catalogue found in one step and one function call per string:
    # the i18n extension's own wrappers go through three context calls per ``_()`` (about 20 us each
    # time; a page has a hundred). Same semantics: always a format string, Markup when autoescaping.
    app.jinja_env.globals.update(gettext=_t_gettext, _=_t_gettext, ngettext=_t_ngettext,
                                 pgettext=_t_pgettext, npgettext=_t_npgettext)
    app.jinja_env.filters["rupiah"] = rupiah
    app.jinja_env.filters["wib"] = wib_datetime
    app.jinja_env.filters["wib_date"] = wib_date
    app.jinja_env.filters["num"] = number
    app.jinja_env.filters["machine_datetime"] = machine_datetime
    from .people.phone import display_phone, tel_uri, whatsapp_digits

    app.jinja_env.filters["phone"] = display_phone
    app.jinja_env.filters["tel_uri"] = tel_uri
    app.jinja_env.filters["wa_digits"] = whatsapp_digits
