"""Import forms: field shapes only; the file is checked by the service."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, SubmitField
from wtforms.validators import DataRequired, Optional

from ..forms_common import Form


class ImportForm(Form):
    file = FileField(_l("Berkas spreadsheet (CSV atau XLSX)"),
                     validators=[FileRequired(_l("Pilih berkas CSV atau XLSX."))],
                     description=_l("Maksimal 5 MB dan 20.000 baris. Baris pertama berisi judul kolom."),
                     render_kw={"accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument."
                                          "spreadsheetml.sheet"})
    cohort = SelectField(_l("Daftarkan ke angkatan (opsional)"), coerce=str, choices=[], validators=[Optional()],
                         description=_l("Setiap pengelola di berkas didaftarkan ke angkatan ini bila belum."))
    submit = SubmitField(_l("Periksa berkas"))


class ConfirmImportForm(Form):
    token = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Ya, impor sekarang"))
