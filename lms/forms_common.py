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
        kwargs["render_kw"].setdefault("placeholder", "Rp 1.500.000")
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
        kwargs.setdefault("format", "%Y-%m")
        super().__init__(*args, **kwargs)
        self.widget.input_type = "month"  # type: ignore[attr-defined]

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


def int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


__all__ = ["RupiahField", "MonthField", "int_or_none", "Field"]
