"""Forms of the webhooks area: field shapes only (the URL and event rules live in services)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms_common import Form


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:  # type: ignore[no-untyped-def]
        # unknown names are the service's to refuse, with a message that names them
        pass


class EndpointForm(Form):
    url = StringField(_l("Alamat (URL)"), validators=[DataRequired(_l("Alamat wajib diisi.")), Length(max=500)],
                      description=_l("Harus https:// ke alamat publik, mis. https://data.jakarta.go.id/hooks/7pas."),
                      render_kw={"inputmode": "url", "autocomplete": "off", "spellcheck": "false"})
    description = StringField(_l("Keterangan"), validators=[Length(max=200)],
                              description=_l("Untuk siapa endpoint ini, mis. \u201cPortal Satu Data\u201d."))
    events = MultiCheckboxField(_l("Peristiwa yang dikirim"), choices=[])
    submit = SubmitField(_l("Simpan"))
