"""Forms for sign-in, passwords and users: field shapes only."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from ..forms_common import Form as FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..people.passwords import MAX_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(_l("Isi e-mail Anda.")), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True, "inputmode": "email"})
    password = PasswordField(_l("Kata sandi"), validators=[DataRequired(_l("Isi kata sandi Anda.")),
                                                           Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Ingat saya di perangkat ini (14 hari)"))
    submit = SubmitField(_l("Masuk"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Kata sandi saat ini"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("Kata sandi baru"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                                 render_kw={"autocomplete": "new-password"},
                                 description=_l("Minimal 8 karakter. Jangan memuat nama atau e-mail Anda, dan hindari kata sandi yang umum."))
    confirm = PasswordField(_l("Ulangi kata sandi baru"),
                            validators=[DataRequired(), EqualTo("new_password", _l("Kedua kata sandi tidak sama."))],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Simpan kata sandi"))


class SetPasswordForm(FlaskForm):
    new_password = PasswordField(_l("Kata sandi baru"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                                 render_kw={"autocomplete": "new-password"},
                                 description=_l("Minimal 8 karakter. Jangan memuat nama atau e-mail Anda, dan hindari kata sandi yang umum."))
    confirm = PasswordField(_l("Ulangi kata sandi baru"),
                            validators=[DataRequired(), EqualTo("new_password", _l("Kedua kata sandi tidak sama."))],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Simpan kata sandi"))


ROLE_LABELS = {
    "trainee": _l("Pengelola e-Warong"),
    "mentor": _l("Pendamping"),
    "coordinator": _l("Koordinator"),
    "admin": _l("Admin"),
}


class UserForm(FlaskForm):
    full_name = StringField(_l("Nama lengkap"), validators=[DataRequired(_l("Nama lengkap wajib diisi.")), Length(max=160)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)],
                       description=_l("Wajib untuk staf. Pengelola boleh tanpa e-mail: ia masuk dengan nomor HP."))
    phone = StringField(_l("No HP"), validators=[Optional(), Length(max=25)],
                        render_kw={"inputmode": "tel", "placeholder": "0812-3456-7890"})
    role = SelectField(_l("Peran"), choices=[])
    region_id = SelectField(_l("Wilayah"), coerce=str, choices=[],
                            description=_l("Untuk koordinator: kosongkan untuk seluruh DKI Jakarta."))
    outlet_code = StringField(_l("Kode e-Warong (untuk pengelola)"), validators=[Optional(), Length(max=32)],
                              render_kw={"placeholder": "EW-3171-001"})
    submit = SubmitField(_l("Simpan"))


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Cari"), validators=[Optional(), Length(max=100)])
    region = SelectField(_l("Wilayah"), coerce=str, choices=[], validators=[Optional()])
    role = SelectField(_l("Peran"), coerce=str, choices=[], validators=[Optional()])


class ConfirmForm(FlaskForm):
    """An empty form: a CSRF-protected button."""

    submit = SubmitField(_l("Ya, lanjutkan"))


class DeactivateForm(FlaskForm):
    """Deactivating an account: the reason is required (kept on the account and in the audit log)."""

    reason = TextAreaField(_l("Alasan menonaktifkan"),
                           validators=[DataRequired(_l("Tulis alasan menonaktifkan akun ini.")), Length(max=500)],
                           render_kw={"rows": 3, "maxlength": 500},
                           description=_l("Wajib diisi. Dicatat di akun dan di log audit, misalnya "
                                          "\"Tidak lagi mengelola e-Warong sejak Mei 2018\"."))


class PhoneForm(FlaskForm):
    """Sign-in by phone, step 1 (and a new number, on the change-number page)."""

    phone = StringField(_l("Nomor HP (WhatsApp)"), validators=[DataRequired(_l("Isi nomor HP Anda.")), Length(max=25)],
                        render_kw={"inputmode": "tel", "autocomplete": "tel", "placeholder": "0812-3456-7890"})
    submit = SubmitField(_l("Kirim kode"))


class CodeForm(FlaskForm):
    """Sign-in by phone, step 2: the 6-digit code."""

    code = StringField(_l("Kode 6 angka"), validators=[DataRequired(_l("Isi kode dari pesan WhatsApp.")), Length(max=12)],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*",
                                  "maxlength": 12})
    remember = BooleanField(_l("Ingat saya di perangkat ini (14 hari)"))
    submit = SubmitField(_l("Masuk"))
