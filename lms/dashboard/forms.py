"""The dashboard's filters (GET forms, no CSRF: they change nothing)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import Optional, ValidationError
from wtforms.widgets import NumberInput

from ..forms_common import BoundedDateField, BoundedIntegerField, Form, ListSelect, Range
from .scopes import DEFAULT_STUCK_DAYS


class FilterForm(Form):
    class Meta:
        csrf = False

    cohort = SelectField(_l("Angkatan"), choices=[], validators=[Optional()], widget=ListSelect())
    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()], widget=ListSelect())
    kecamatan = SelectField(_l("Kecamatan"), choices=[], validators=[Optional()], widget=ListSelect())
    # the shared date range (2000-01-01 .. today + 5 years, lms/forms_common.py)
    start = BoundedDateField(_l("Dari tanggal"), [Optional()])
    end = BoundedDateField(_l("Sampai tanggal"), [Optional()])
    days = BoundedIntegerField(_l("Macet setelah (hari)"), [
        Optional(), Range(7, 730, message=_l("Isi antara 7 dan 730 hari."))], widget=NumberInput(min=7, max=730),
        render_kw={"placeholder": str(DEFAULT_STUCK_DAYS)})

    def validate_end(self, field):  # type: ignore[no-untyped-def]
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("Tanggal akhir tidak boleh sebelum tanggal awal."))


class ListForm(FilterForm):
    stage = SelectField(_l("Langkah"), choices=[], validators=[Optional()])
    stuck = SelectField(_l("Tampilkan"), choices=[], validators=[Optional()])
