"""Feedback forms: field shapes only (the questions are data; the rules live in the services)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import Optional, ValidationError

from ..forms_common import BoundedDateField, Form


class ButtonForm(Form):
    """CSRF only: the answers' names come from the questionnaire and are checked by the service."""


class OverviewForm(Form):
    class Meta:
        csrf = False

    cohort = SelectField(_l("Angkatan"), choices=[], validators=[Optional()])
    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    start = BoundedDateField(_l("Sesi dari tanggal"), [Optional()])
    end = BoundedDateField(_l("Sampai tanggal"), [Optional()])

    def validate_end(self, field):  # type: ignore[no-untyped-def]
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("Tanggal akhir tidak boleh sebelum tanggal awal."))
