"""Forms of the correction and erasure requests: field shapes only (the rules: requests.py)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..forms_common import Form
from .requests import LIST_STATUSES, MESSAGE_MAX, REASON_MAX, VALUE_MAX, STATUS_LABELS


class CorrectionForm(Form):
    kind = HiddenField(default="correction")
    field = SelectField(_l("Data yang salah"), choices=[], validate_choice=False)
    message = TextAreaField(_l("Apa yang salah?"), validators=[Optional(), Length(max=MESSAGE_MAX)],
                            description=_l("Contoh: nama saya tertulis \u201cSiti Aminah\u201d, seharusnya "
                                           "\u201cSiti Aminah Lubis\u201d seperti di KTP."),
                            render_kw={"rows": 4})
    proposed_value = StringField(_l("Data yang benar"), validators=[Optional(), Length(max=VALUE_MAX)],
                                 description=_l("Tulis persis seperti seharusnya tercatat. Untuk \u201cLainnya\u201d "
                                                "boleh dikosongkan."))


class ErasureForm(Form):
    kind = HiddenField(default="erasure")
    reason = TextAreaField(_l("Alasan (tidak wajib)"), validators=[Optional(), Length(max=MESSAGE_MAX)],
                           render_kw={"rows": 3})


class AcceptForm(Form):
    response = TextAreaField(_l("Catatan untuk pemohon"), validators=[Optional(), Length(max=REASON_MAX)],
                             render_kw={"rows": 3})


class DeclineForm(Form):
    reason = TextAreaField(_l("Alasan penolakan"), validators=[Optional(), Length(max=REASON_MAX)],
                           description=_l("Wajib. Ditampilkan kepada pemohon, misalnya dasar hukum yang "
                                          "mewajibkan data tetap disimpan."),
                           render_kw={"rows": 3})


class RequestFilterForm(Form):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=[], validators=[Optional()])

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.status.choices = [(s, str(STATUS_LABELS[s])) for s in LIST_STATUSES] + [("all", str(_l("Semua status")))]
