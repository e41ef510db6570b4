"""Forms of the admins' privacy pages (retention, breaches): field shape only."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms_common import BoundedDateTimeLocalField, DateRange, Form, options
from .breach import CATEGORIES, TEXT_MAX

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _today() -> date:
    from datetime import datetime

    from ..i18n import WIB

    return datetime.now(WIB).date()


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _when(label: object, message: object) -> BoundedDateTimeLocalField:
    # a breach lies in the past: from the year 2000 to today (WIB)
    return BoundedDateTimeLocalField(label, [InputRequired(message), DateRange(max=_today)], format=DATETIME_FORMATS)


class BreachForm(Form):
    discovered_at = _when(_l("Diketahui pada (WIB)"), _l("Isi kapan kebocoran diketahui."))
    window_start = _when(_l("Kejadian sejak (WIB)"), _l("Isi awal rentang waktu kejadian."))
    window_end = _when(_l("Kejadian sampai (WIB)"), _l("Isi akhir rentang waktu kejadian."))
    categories = MultiCheckboxField(_l("Data yang terdampak"), choices=[])
    description = TextAreaField(
        _l("Apa yang terjadi"), validators=[InputRequired(_l("Jelaskan bagaimana data terungkap.")),
                                            Length(max=TEXT_MAX)],
        description=_l("Bagaimana data terungkap, dengan kata-kata yang dipahami peserta. Masuk ke surat."),
        render_kw={"rows": 4})
    measures = TextAreaField(
        _l("Upaya penanganan dan pemulihan"),
        validators=[InputRequired(_l("Jelaskan upaya penanganan dan pemulihan.")), Length(max=TEXT_MAX)],
        description=_l("Apa yang sudah dan akan dilakukan, mis. akses ditutup, kata sandi direset, laporan ke "
                       "lembaga pelindungan data pribadi. Masuk ke surat."),
        render_kw={"rows": 4})
    submit = SubmitField(_l("Catat dan buat surat"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.categories.choices = options([(c.key, c.label) for c in CATEGORIES.values()])


class ButtonForm(Form):
    """A CSRF-protected button (run now, send)."""

    submit = SubmitField(_l("Ya, lanjutkan"))
