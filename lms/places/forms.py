"""Outlet forms: field shapes only."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from ..forms_common import Form as FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class OutletForm(FlaskForm):
    code = StringField(_l("Kode e-Warong"), validators=[DataRequired(_l("Kode e-Warong wajib diisi.")), Length(max=32)],
                       render_kw={"placeholder": "EW-3171-001"})
    name = StringField(_l("Nama e-Warong"), validators=[DataRequired(_l("Nama e-Warong wajib diisi.")), Length(max=160)])
    kube_name = StringField(_l("Nama KUBE"), validators=[Optional(), Length(max=160)])
    address = TextAreaField(_l("Alamat"), validators=[Optional(), Length(max=500)], render_kw={"rows": 3})
    kelurahan = StringField(_l("Kelurahan"), validators=[Optional(), Length(max=80)])
    kecamatan_id = SelectField(_l("Kecamatan"), coerce=str, choices=[],
                               validators=[DataRequired(_l("Pilih kecamatan."))])
    phone = StringField(_l("No telepon"), validators=[Optional(), Length(max=25)],
                        render_kw={"inputmode": "tel", "placeholder": "0812-3456-7890"})
    active = BooleanField(_l("Aktif"), default=True)
    #: shown (and required) only when the new kecamatan lies in another region
    confirm_move = BooleanField(_l("Ya, pindahkan e-Warong ini beserta datanya ke wilayah baru"))
    submit = SubmitField(_l("Simpan"))


class OutletFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Cari"), validators=[Optional(), Length(max=100)])
    region = SelectField(_l("Wilayah"), coerce=str, choices=[], validators=[Optional()])
    kecamatan = SelectField(_l("Kecamatan"), coerce=str, choices=[], validators=[Optional()])
