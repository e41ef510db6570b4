"""The exports page's form: field shapes only; the rules (scope, date order) are in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField
from wtforms.fields import DateField
from wtforms.validators import Optional
from wtforms.widgets import DateInput

from ..forms_common import Form


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
    # every date field gets its own widget (forms_common.MonthField changes the one it is given)
    start = DateField(_l("Dari tanggal"), validators=[Optional()], widget=DateInput(),
                      render_kw={"placeholder": "TTTT-BB-HH"})
    end = DateField(_l("Sampai tanggal"), validators=[Optional()], widget=DateInput(),
                    render_kw={"placeholder": "TTTT-BB-HH"})
