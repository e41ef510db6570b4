"""Field types shared by several areas."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, StringField
from wtforms.fields import DateField


class RupiahField(StringField):
    """Whole Rupiah as people type them: 1500000, 1.500.000, Rp 1.500.000."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {})
        kwargs["render_kw"].setdefault("inputmode", "numeric")
        kwargs["render_kw"].setdefault("placeholder", _l("mis. 1.500.000"))
        super().__init__(*args, **kwargs)
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


__all__ = ["RupiahField", "MonthField", "int_or_none", "Field"]


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
