"""Certificate forms: field shapes only; the rules are in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms_common import Form, options

STATUSES = [("", _l("Semua status")), ("active", _l("Berlaku")), ("revoked", _l("Dicabut"))]


class IssueForm(Form):
    """Issue one certificate (the holder and subject are in the URL)."""

    kind = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Terbitkan"))


class BulkForm(Form):
    kind = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Terbitkan untuk semua yang memenuhi syarat"))


class RetryForm(Form):
    submit = SubmitField(_l("Ulangi yang gagal"))


class RevokeForm(Form):
    reason = TextAreaField(_l("Alasan pencabutan"), validators=[DataRequired(_l("Alasan wajib diisi.")),
                                                                Length(min=5, max=500)],
                           description=_l("Dicatat di log audit; halaman verifikasi hanya menampilkan tanggal pencabutan."))
    submit = SubmitField(_l("Cabut sertifikat"))


class CorrectNameForm(Form):
    full_name = StringField(_l("Nama yang benar"), validators=[DataRequired(_l("Nama wajib diisi.")),
                                                               Length(min=2, max=160)],
                            description=_l("Sertifikat lama dicabut dan sertifikat baru dengan nomor baru diterbitkan."))
    submit = SubmitField(_l("Koreksi nama dan terbitkan ulang"))


class FilterForm(Form):
    class Meta(Form.Meta):
        csrf = False

    q = StringField(_l("Cari"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Jenis"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=options(STATUSES), validators=[Optional()])


class FileCheckForm(Form):
    """"Periksa berkas": a certificate PDF to check (read into memory, never stored)."""

    file = FileField(_l("Berkas PDF sertifikat"), validators=[FileRequired(_l("Pilih berkas PDF sertifikat."))],
                     render_kw={"accept": ".pdf,application/pdf"})
    submit = SubmitField(_l("Periksa berkas"))
