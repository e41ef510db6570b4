"""The exports page's form: field shapes only; the rules (scope, date order) are in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField
from wtforms.validators import Optional

from ..forms_common import BoundedDateField, Form


class ExportForm(Form):
    """Sent with GET (a download link), so without a CSRF token."""

    class Meta:
        csrf = False

    dataset = RadioField(_l("Data"), choices=[], default="progress")
    format = RadioField(_l("Format berkas"), choices=[], default="csv")
    cohort = SelectField(_l("Angkatan"), choices=[], validators=[Optional()])
    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    kecamatan = SelectField(_l("Kecamatan"), choices=[], validators=[Optional()])
    status = RadioField(_l("Pendaftaran (kemajuan)"), choices=[], default="active")
    # the shared date range (2000-01-01 .. today + 5 years), each with its own widget
    start = BoundedDateField(_l("Dari tanggal"), [Optional()])
    end = BoundedDateField(_l("Sampai tanggal"), [Optional()])
