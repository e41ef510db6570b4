"""The branding form of a certificate design: field shapes only; the rules are in branding.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, FieldList, FormField, HiddenField, StringField, SubmitField
from wtforms.validators import Length, Optional

from ..forms_common import Form
from .branding import MAX_SIGNATORIES, NAME_MAX, TITLE_MAX

IMAGE_ACCEPT = "image/png,image/jpeg"
IMAGE_HINT = _l("PNG berlatar transparan atau JPG, paling besar 2 MB. Kosongkan untuk memakai gambar yang sekarang.")


class SignatoryForm(Form):
    """One signatory row: printed from left to right; an empty row is not printed."""

    class Meta(Form.Meta):
        csrf = False

    name = StringField(_l("Nama dan gelar"), validators=[Optional(), Length(max=NAME_MAX)])
    title = StringField(_l("Jabatan"), validators=[Optional(), Length(max=TITLE_MAX)])
    nip = StringField(_l("NIP (opsional)"), validators=[Optional(), Length(max=40)],
                      description=_l("18 angka, untuk pegawai negeri sipil."),
                      render_kw={"inputmode": "numeric", "autocomplete": "off"})
    signature = FileField(_l("Gambar tanda tangan"), description=IMAGE_HINT, render_kw={"accept": IMAGE_ACCEPT})
    remove_signature = BooleanField(_l("Hapus gambar tanda tangan ini"))


class BrandingForm(Form):
    #: the staged preview this edit started from ("Ubah lagi"): its images are kept when a field is left empty
    base = HiddenField()
    logo_left = FileField(_l("Logo kiri"), description=_l("Misalnya logo Pemerintah Provinsi DKI Jakarta. PNG (sebaiknya berlatar "
                                      "transparan) atau JPG, paling besar 2 MB. Kosongkan untuk memakai logo yang sekarang."),
                          render_kw={"accept": IMAGE_ACCEPT})
    remove_logo_left = BooleanField(_l("Hapus logo kiri"))
    logo_right = FileField(_l("Logo kanan"), description=_l("Misalnya logo Dinas Sosial. PNG (sebaiknya berlatar transparan) atau JPG, "
                                       "paling besar 2 MB. Kosongkan untuk memakai logo yang sekarang."),
                           render_kw={"accept": IMAGE_ACCEPT})
    remove_logo_right = BooleanField(_l("Hapus logo kanan"))
    stamp = FileField(_l("Stempel (opsional)"),
                      description=_l("Dicetak di atas tanda tangan pertama. PNG berlatar transparan atau JPG, "
                                  "paling besar 2 MB. Kosongkan untuk memakai stempel yang sekarang."),
                      render_kw={"accept": IMAGE_ACCEPT})
    remove_stamp = BooleanField(_l("Hapus stempel"))
    signatories = FieldList(FormField(SignatoryForm), min_entries=MAX_SIGNATORIES, max_entries=MAX_SIGNATORIES)
    submit = SubmitField(_l("Pratinjau"))


class SaveForm(Form):
    """"Simpan" on the preview page (the token is in the URL)."""

    submit = SubmitField(_l("Simpan"))
