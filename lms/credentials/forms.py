"""The "Periksa kredensial" form: field shapes only; the checking is lms/credentials/verify.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Optional

from ..forms_common import Form


class CheckCredentialForm(Form):
    credential = TextAreaField(_l("Tempel isi kredensial (JSON)"), validators=[Optional()],
                               description=_l("Isi berkas .json kredensial Open Badges, mulai dari “{” sampai “}”."),
                               render_kw={"rows": 10, "spellcheck": "false", "autocomplete": "off"})
    file = FileField(_l("Atau unggah berkas .json"), validators=[Optional()],
                     description=_l("Paling besar 256 KB. Berkas tidak disimpan."),
                     render_kw={"accept": ".json,application/json,application/ld+json,application/vc+ld+json"})
    submit = SubmitField(_l("Periksa kredensial"))
