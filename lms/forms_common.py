"""Field types shared by several areas."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import Field, StringField
from wtforms.fields import DateField, DateTimeLocalField, DecimalField, IntegerField
from wtforms.widgets import Select


class RupiahField(StringField):
    """Whole Rupiah as people type them: 1500000, 1.500.000, Rp 1.500.000.

    At most Rp 10^12 unless its validators hold another Range; whether a negative amount makes
    sense is the service's rule (it says so in words), so the default bounds only the size.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {})
        kwargs["render_kw"].setdefault("inputmode", "numeric")
        kwargs["render_kw"].setdefault("placeholder", _l("mis. 1.500.000"))
        if len(args) > 1:
            args, kwargs["validators"] = args[:1], args[1]
        super().__init__(*args, **_with_range(kwargs, MoneyRange(-MONEY_MAX, MONEY_MAX)))
        self.amount: int | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.amount = None
        if not valuelist:
            return
        raw = (valuelist[0] or "").strip()
        self.data = raw
        if not raw:
            return
        text = re.sub(r"(?i)^rp\.?\s*", "", raw).replace(" ", "")
        negative = text.startswith("-")
        text = text.lstrip("-")
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
            text = text.replace(".", "")
        if re.search(r",\d{1,2}$", text) or not text.isdigit():
            raise ValueError(str(_l("Tulis jumlah dalam Rupiah tanpa desimal, misalnya 1.500.000.")))
        self.amount = -int(text) if negative else int(text)

    def _value(self) -> str:
        if isinstance(self.data, int):
            return f"{self.data:,}".replace(",", ".")
        return self.data or ""


class MonthField(DateField):
    """<input type="month">: a date on the first of the month."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from wtforms.widgets import MonthInput

        kwargs.setdefault("format", "%Y-%m")
        # its own widget: DateField's widget instance is shared by every date field
        kwargs.setdefault("widget", MonthInput())
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not valuelist[0]:
            self.data = None
            return
        for fmt in ("%Y-%m", "%m/%Y", "%Y-%m-%d"):
            try:
                self.data = datetime.strptime(valuelist[0].strip(), fmt).date().replace(day=1)
                return
            except ValueError:
                continue
        self.data = None
        raise ValueError(str(_l("Tulis bulan sebagai TTTT-BB, misalnya 2018-04.")))

    def _value(self) -> str:
        if isinstance(self.data, date):
            return self.data.strftime("%Y-%m")
        return super()._value()


def options(pairs: list[tuple[Any, Any]]) -> list[Any]:
    """Select choices as WTForms 3.3 wants them (plain tuples are deprecated)."""
    from wtforms.fields.choices import SelectChoice

    return [SelectChoice(value=v, label=lbl) for v, lbl in pairs]


def html_params(**kwargs: Any) -> Markup:
    """WTForms' ``html_params``, the same attributes in the same order, about five times faster.

    Every input, label, select and textarea of every form writes its attributes through it, and
    WTForms builds each pair with ``Markup.format`` (a string formatter that escapes per field): on
    the visit form (about 45 calls) that was a quarter of the page's time. Here each value is escaped
    once; a value that is already ``Markup`` keeps WTForms' extra step of turning ``"`` into
    ``&quot;``. tests/test_forms_markup.py holds the two to the same output.
    """
    params = []
    for key, value in sorted(kwargs.items()):
        key = _clean_key(key)
        if value is True:
            params.append(escape(key))
        elif value is not False:
            text = str(escape(value))
            if '"' in text:  # (only a Markup value can still hold one)
                text = text.replace('"', "&quot;")
            params.append(f'{escape(key)}="{text}"')
    return Markup(" ".join(params))


def _use_fast_html_params() -> None:
    """Point WTForms' widgets and labels at :func:`html_params` (they look it up in these places)."""
    import wtforms.widgets
    import wtforms.widgets.core as core

    core.html_params = wtforms.widgets.html_params = html_params
    core.Input.html_params = core.Button.html_params = staticmethod(html_params)


from wtforms.widgets.core import clean_key as _clean_key  # noqa: E402

_use_fast_html_params()


class ListSelect(Select):
    """WTForms' ``Select`` writing its plain options directly: the same HTML, without a call of
    ``html_params`` per option (a dashboard filter lists every kecamatan of DKI)."""

    @classmethod
    def render_option(cls, choice, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = "selected " if choice.selected else ""  # (html_params sorts the attributes by name)
        return Markup(f'<option {selected}value="{escape(value)}">{escape(choice.label or choice.value)}</option>')


#: the largest id (and page) a PostgreSQL integer column holds; beyond it SQLite overflows
MAX_INT = 2**31 - 1


def int_or_none(value: Any) -> int | None:
    """An integer from user input (query string, form, URL), or None when it is not a sane one."""
    try:
        n = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if n is not None and not -MAX_INT <= n <= MAX_INT:
        return None
    return n


# --- Ranges for numbers and dates ---------------------------------------------------------------
# Every date and number a person can type has a range, checked by the form (a message beside the
# field) and again by the service (lms.errors.Invalid), so that no value can reach the database that
# a page, an export or a PDF cannot show. The defaults:
#
#   dates    2000-01-01 .. today (WIB) + 5 years   (the programme began in 2018; licences such as
#                                                   IUMK/SKU from the 2000s are still shown; planning
#                                                   further than five years ahead is a typing error)
#   money    Rp 0 .. Rp 1.000.000.000.000 (10^12)  (far above any e-Warong's turnover or loan)
#   counts   0 .. 100.000                          (seats, minutes, days, months)
#
# A field that needs a narrower range says so (``Range(1, 500)``); never a wider one without a
# reason in a comment, because the display and the database types are sized for these.

DATE_MIN = date(2000, 1, 1)
DATE_YEARS_AHEAD = 5
MONEY_MIN = 0
MONEY_MAX = 10**12
COUNT_MIN = 0
COUNT_MAX = 100_000


def date_max(today: date | None = None) -> date:
    """The latest date a person may type: today in WIB plus five years (29 Feb -> 28 Feb)."""
    if today is None:
        from .i18n import WIB

        today = datetime.now(WIB).date()
    try:
        return today.replace(year=today.year + DATE_YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + DATE_YEARS_AHEAD, day=28)


Bound = Any  # a value, or a callable returning one (evaluated at each check: "today" moves)


def _resolve(bound: Bound) -> Any:
    return bound() if callable(bound) else bound


def _comparable(value: Any, bound: Any, upper: bool) -> tuple[Any, Any]:
    """Dates and datetimes compare with each other: a date bound covers its whole day."""
    from datetime import time

    if isinstance(value, datetime) and not isinstance(bound, datetime) and isinstance(bound, date):
        bound = datetime.combine(bound, time.max if upper else time.min)
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)
    elif isinstance(bound, datetime) and not isinstance(value, datetime) and isinstance(value, date):
        bound = bound.date()
    return value, bound


def _is_finite(value: Any) -> bool:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    return True


def _show(value: Any, kind: str) -> str:
    from .i18n import number, rupiah, wib_date

    if isinstance(value, (date, datetime)):
        return wib_date(value if not isinstance(value, datetime) else value.date())
    if kind == "money":
        return rupiah(int(value))
    return number(value)


def range_message(lo: Any, hi: Any, kind: str = "", side: str = "") -> str:
    """The message for a value outside [lo, hi] ("low" or "high" ``side``), in the interface language."""
    if isinstance(lo, (date, datetime)) or isinstance(hi, (date, datetime)):
        if lo is not None and hi is not None:
            return str(_l("Tanggal harus antara %(lo)s dan %(hi)s.", lo=_show(lo, kind), hi=_show(hi, kind)))
        if lo is not None:
            return str(_l("Tanggal paling awal %(lo)s.", lo=_show(lo, kind)))
        return str(_l("Tanggal paling akhir %(hi)s.", hi=_show(hi, kind)))
    if kind == "money":
        if lo is not None and hi is not None and lo >= 0:
            return str(_l("Jumlah harus antara %(lo)s dan %(hi)s.", lo=_show(lo, kind), hi=_show(hi, kind)))
        if hi is not None and side != "low":
            return str(_l("Jumlah paling banyak %(hi)s.", hi=_show(hi, kind)))
        return str(_l("Jumlah paling sedikit %(lo)s.", lo=_show(lo, kind)))
    if lo is not None and hi is not None:
        return str(_l("Isi angka antara %(lo)s dan %(hi)s.", lo=_show(lo, kind), hi=_show(hi, kind)))
    if lo is not None:
        return str(_l("Isi angka paling sedikit %(lo)s.", lo=_show(lo, kind)))
    return str(_l("Isi angka paling banyak %(hi)s.", hi=_show(hi, kind)))


def out_of_range(value: Any, lo: Bound = None, hi: Bound = None, kind: str = "") -> str | None:
    """None when ``value`` (a date, datetime, int, Decimal or float; None passes) lies in [lo, hi],
    otherwise the message to show. NaN and infinities are never in range."""
    if value is None:
        return None
    lo, hi = _resolve(lo), _resolve(hi)
    if not _is_finite(value):
        return str(_l("Isi angka yang wajar.")) if lo is None or hi is None else range_message(lo, hi, kind)
    try:
        if lo is not None:
            v, b = _comparable(value, lo, upper=False)
            if v < b:
                return range_message(lo, hi, kind, "low")
        if hi is not None:
            v, b = _comparable(value, hi, upper=True)
            if v > b:
                return range_message(lo, hi, kind, "high")
    except (TypeError, ArithmeticError):
        return range_message(lo, hi, kind)
    return None


def check_range(value: Any, lo: Bound, hi: Bound, field: str, reasons: dict[str, list[str]],
                kind: str = "") -> bool:
    """For services: add a message to ``reasons[field]`` when ``value`` is outside [lo, hi].

    Returns True when the value is fine. Typical use::

        reasons: dict[str, list[str]] = {}
        check_range(data.starts_on, DATE_MIN, date_max, "starts_on", reasons)
        check_range(data.amount, MONEY_MIN, MONEY_MAX, "amount", reasons, kind="money")
        if reasons:
            raise Invalid(reasons)
    """
    message = out_of_range(value, lo, hi, kind)
    if message is None:
        return True
    reasons.setdefault(field, []).append(message)
    return False


class Range:
    """WTForms validator: the field's value lies in [min, max] (bounds may be callables).

    Works for date, datetime, integer, Decimal and Rupiah fields (a RupiahField is checked on its
    ``amount``, a field that reads a list of dates on its ``dates``). Empty fields pass (pair it with Optional/InputRequired). Every date and number
    field of every form has one: tests/test_ranges.py walks the forms to make sure.
    """

    field_flags = {"bounded": True}

    def __init__(self, min: Bound = None, max: Bound = None, kind: str = "", message: str | None = None):
        if min is None and max is None:
            raise ValueError("Range needs min or max")
        self.min, self.max, self.kind, self.message = min, max, kind, message

    def __call__(self, form: Any, field: Any) -> None:
        from wtforms.validators import StopValidation

        # a RupiahField is checked on its amount, a field holding several dates on its ``dates``
        value = field.amount if hasattr(field, "amount") else field.dates if hasattr(field, "dates") else field.data
        values = value if isinstance(value, (list, tuple)) else [value]  # e.g. a list of dates
        message = next((m for m in (out_of_range(v, self.min, self.max, self.kind) for v in values) if m), None)
        if message is not None:
            raise StopValidation(str(self.message) if self.message else message)


def DateRange(min: Bound = DATE_MIN, max: Bound = date_max, message: str | None = None) -> Range:  # noqa: N802
    """The default date range (2000-01-01 .. today + 5 years), or a narrower one."""
    return Range(min, max, message=message)


def MoneyRange(min: Bound = MONEY_MIN, max: Bound = MONEY_MAX, message: str | None = None) -> Range:  # noqa: N802
    return Range(min, max, kind="money", message=message)


def CountRange(min: Bound = COUNT_MIN, max: Bound = COUNT_MAX, message: str | None = None) -> Range:  # noqa: N802
    return Range(min, max, message=message)


def _with_range(kwargs: dict[str, Any], default: Range) -> dict[str, Any]:
    validators = list(kwargs.get("validators") or [])
    if not any(isinstance(v, Range) for v in validators):
        validators.append(default)
    kwargs["validators"] = validators
    return kwargs


class BoundedDateField(DateField):
    """A DateField with the default date range unless its validators already hold a Range.

    ``BoundedDateField(_l("Tanggal"), [Optional()], min_date=..., max_date=...)`` narrows it.
    """

    def __init__(self, label: Any = None, validators: Any = None, *, min_date: Bound = DATE_MIN,
                 max_date: Bound = date_max, **kwargs: Any) -> None:
        from wtforms.widgets import DateInput

        kwargs["validators"] = validators
        kwargs.setdefault("widget", DateInput())  # its own instance (MonthField changes the shared one)
        super().__init__(label, **_with_range(kwargs, DateRange(min_date, max_date)))


class BoundedDateTimeLocalField(DateTimeLocalField):
    """<input type="datetime-local"> (naive, read as WIB) with the default date range."""

    def __init__(self, label: Any = None, validators: Any = None, *, min_date: Bound = DATE_MIN,
                 max_date: Bound = date_max, **kwargs: Any) -> None:
        kwargs["validators"] = validators
        super().__init__(label, **_with_range(kwargs, DateRange(min_date, max_date)))


class BoundedIntegerField(IntegerField):
    """An IntegerField with a range (default 0 .. 100.000)."""

    def __init__(self, label: Any = None, validators: Any = None, *, min: Bound = COUNT_MIN,
                 max: Bound = COUNT_MAX, **kwargs: Any) -> None:
        kwargs["validators"] = validators
        super().__init__(label, **_with_range(kwargs, CountRange(min, max)))


class BoundedDecimalField(DecimalField):
    """A DecimalField with a range; NaN and infinities are refused."""

    def __init__(self, label: Any = None, validators: Any = None, *, min: Bound = COUNT_MIN,
                 max: Bound = COUNT_MAX, **kwargs: Any) -> None:
        kwargs["validators"] = validators
        super().__init__(label, **_with_range(kwargs, CountRange(min, max)))


def has_range(field: Any) -> bool:
    """True when a bound field (or its unbound declaration) carries a Range validator."""
    validators = getattr(field, "validators", None)
    if validators is None:  # UnboundField
        validators = field.kwargs.get("validators") or (field.args[1] if len(field.args) > 1 else [])
    return any(isinstance(v, Range) for v in validators or [])


__all__ = ["RupiahField", "MonthField", "int_or_none", "Field", "Range", "DateRange", "MoneyRange",
           "CountRange", "check_range", "out_of_range", "date_max", "DATE_MIN", "MONEY_MIN", "MONEY_MAX",
           "COUNT_MIN", "COUNT_MAX", "BoundedDateField", "BoundedDateTimeLocalField", "BoundedIntegerField",
           "BoundedDecimalField", "has_range"]


# --- WTForms' own messages in Bahasa Indonesia ------------------------------------------------
# WTForms ships no Indonesian catalogue, so its built-in messages are translated here.

WTFORMS_ID = {
    "This field is required.": "Wajib diisi.",
    "Invalid input.": "Isian tidak valid.",
    "Invalid email address.": "Alamat e-mail tidak valid.",
    "Invalid URL.": "Alamat tautan tidak valid.",
    "Not a valid choice.": "Pilihan tidak valid.",
    "Invalid Choice: could not coerce.": "Pilihan tidak valid.",
    "Invalid choice(s): one or more data inputs could not be coerced.": "Ada pilihan yang tidak valid.",
    "Not a valid datetime value.": "Tanggal dan jam tidak valid.",
    "Not a valid date value.": "Tanggal tidak valid. Gunakan format TTTT-BB-HH.",
    "Not a valid time value.": "Jam tidak valid.",
    "Not a valid integer value.": "Harus berupa bilangan bulat.",
    "Not a valid decimal value.": "Harus berupa angka.",
    "Not a valid float value.": "Harus berupa angka.",
    "Field must be equal to %(other_name)s.": "Harus sama dengan %(other_name)s.",
    "Field must be between %(min)d and %(max)d characters long.": "Panjang isian harus %(min)d sampai %(max)d karakter.",
    "Number must be at least %(min)s.": "Angka minimal %(min)s.",
    "Number must be at most %(max)s.": "Angka maksimal %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Angka harus antara %(min)s dan %(max)s.",
    "Date must be at least %(min)s.": "Tanggal paling awal %(min)s.",
    "Date must be at most %(max)s.": "Tanggal paling akhir %(max)s.",
    "Invalid value, must be one of: %(values)s.": "Nilai tidak valid, harus salah satu dari: %(values)s.",
    "The CSRF token is missing.": "Token keamanan formulir tidak ada. Muat ulang halaman lalu coba lagi.",
    "The CSRF token has expired.": "Formulir kedaluwarsa. Muat ulang halaman lalu coba lagi.",
    "The CSRF token is invalid.": "Token keamanan formulir tidak valid. Muat ulang halaman lalu coba lagi.",
}
WTFORMS_ID_PLURAL = {
    "Field must be at least %(min)d character long.": "Minimal %(min)d karakter.",
    "Field cannot be longer than %(max)d character.": "Maksimal %(max)d karakter.",
    "Field must be exactly %(max)d character long.": "Harus tepat %(max)d karakter.",
    "'%(value)s' is not a valid choice for this field.": "'%(value)s' bukan pilihan yang valid.",
}


def _is_indonesian() -> bool:
    from flask_babel import get_locale

    loc = get_locale()
    return loc is None or loc.language != "en"


class _WTFormsTranslations:
    def gettext(self, string: str) -> str:
        return WTFORMS_ID.get(string, string) if _is_indonesian() else string

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if _is_indonesian() and singular in WTFORMS_ID_PLURAL:
            return WTFORMS_ID_PLURAL[singular]
        return singular if n == 1 else plural


from flask_wtf import FlaskForm  # noqa: E402


class Form(FlaskForm):
    """Base of every form: WTForms' built-in messages follow the interface language."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):  # type: ignore[no-untyped-def]
            return _WTFormsTranslations()

        def render_field(self, field, render_kw):  # type: ignore[no-untyped-def]
            # hidden inputs and submit buttons have no label to point at them: without an id, two
            # forms on one page (revoke and correct, deactivate and reset) do not repeat
            # id="csrf_token" or id="submit"
            if field.type in _NO_ID_FIELDS and "id" not in render_kw:
                render_kw = {**render_kw, "id": False}
            return super().render_field(field, render_kw)


_NO_ID_FIELDS = frozenset({"CSRFTokenField", "HiddenField", "SubmitField"})
