"""The audit log viewer's filter form (GET, so without a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import Length, Optional

from ..forms_common import BoundedDateField, Form


class AuditFilterForm(Form):
    class Meta:
        csrf = False

    actor = StringField(_l("E-mail pelaku"), validators=[Optional(), Length(max=254)],
                        render_kw={"inputmode": "email", "autocomplete": "off", "placeholder": _l("nama@contoh.id")})
    action = SelectField(_l("Tindakan"), choices=[], validators=[Optional()])
    start = BoundedDateField(_l("Dari tanggal"), [Optional()])
    end = BoundedDateField(_l("Sampai tanggal"), [Optional()])


class AuditExportForm(AuditFilterForm):
    format = RadioField(_l("Format berkas"), choices=[], default="csv")
