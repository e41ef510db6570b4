"""Forms of the notification area: field shapes only."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields import TimeField
from wtforms.validators import DataRequired, InputRequired, Length

from ..forms_common import Form, options


class PreferencesForm(Form):
    email_enabled = BooleanField(_l("Kirim pemberitahuan lewat e-mail"))
    whatsapp_opt_in = BooleanField(_l("Saya setuju menerima pesan WhatsApp dari program 7 PAS"),
                                   description=_l("Bisa dicabut kapan saja di halaman ini."))
    quiet_start = TimeField(_l("Jam tenang mulai (WIB)"), validators=[InputRequired(_l("Isi jam mulai."))],
                            description=_l("Pesan WhatsApp pada jam tenang ditahan sampai jam tenang selesai."))
    quiet_end = TimeField(_l("Jam tenang selesai (WIB)"), validators=[InputRequired(_l("Isi jam selesai."))])
    locale = RadioField(_l("Bahasa pesan"), choices=options([("id", "Bahasa Indonesia"), ("en", "English")]), default="id")
    submit = SubmitField(_l("Simpan"))


class BroadcastForm(Form):
    #: "session:12", "cohort:3" or "region:1" (grouped choices, no JavaScript needed)
    target = SelectField(_l("Penerima"), choices=[], validators=[DataRequired(_l("Pilih penerima."))])
    subject = StringField(_l("Judul"), validators=[DataRequired(_l("Judul wajib diisi.")), Length(max=120)])
    body = TextAreaField(_l("Pesan"), validators=[DataRequired(_l("Pesan wajib diisi.")), Length(max=1000)],
                         description=_l("Paling banyak 1000 karakter. Terkirim di aplikasi, lewat e-mail, dan "
                                        "WhatsApp bagi yang setuju."))
    preview = SubmitField(_l("Lihat penerima dan pratinjau"))
    send = SubmitField(_l("Kirim sekarang"))
