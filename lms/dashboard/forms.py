"""The dashboard's filters (GET forms, no CSRF: they change nothing)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField
from wtforms.fields import DateField
from wtforms.validators import NumberRange, Optional, ValidationError
from wtforms.widgets import DateInput, NumberInput

from ..forms_common import Form
from .services import DEFAULT_STUCK_DAYS


class FilterForm(Form):
    class Meta:
        csrf = False

    cohort = SelectField(_l("Angkatan"), choices=[], validators=[Optional()])
    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    kecamatan = SelectField(_l("Kecamatan"), choices=[], validators=[Optional()])
    start = DateField(_l("Dari tanggal"), validators=[Optional()], widget=DateInput())
    end = DateField(_l("Sampai tanggal"), validators=[Optional()], widget=DateInput())
    days = IntegerField(_l("Macet setelah (hari)"), validators=[
        Optional(), NumberRange(min=7, max=730, message=_l("Isi antara 7 dan 730 hari."))], widget=NumberInput(min=7, max=730),
        render_kw={"placeholder": str(DEFAULT_STUCK_DAYS)})

    def validate_start(self, field):  # type: ignore[no-untyped-def]
        if field.data and not 2000 <= field.data.year <= 2100:
            raise ValidationError(_l("Tanggal tidak masuk akal."))

    def validate_end(self, field):  # type: ignore[no-untyped-def]
        if field.data and not 2000 <= field.data.year <= 2100:
            raise ValidationError(_l("Tanggal tidak masuk akal."))
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("Tanggal akhir tidak boleh sebelum tanggal awal."))


class ListForm(FilterForm):
    stage = SelectField(_l("Langkah"), choices=[], validators=[Optional()])
    stuck = SelectField(_l("Tampilkan"), choices=[], validators=[Optional()])
