"""Evidence, review and cohort forms: field shapes only; the rules are in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from ..forms_common import Form as FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms_common import BoundedDateField, MonthField, RupiahField, options

LICENCE_TYPES = [("NIB", _l("NIB (Nomor Induk Berusaha)")), ("IUMK", _l("IUMK (Izin Usaha Mikro Kecil)")),
                 ("SKU", _l("SKU (Surat Keterangan Usaha)")), ("other", _l("Lainnya"))]
MARKETING_KINDS = [("marketing_plan", _l("Rencana pemasaran")), ("online_shop", _l("Toko online")),
                   ("bazaar", _l("Bazar atau acara pasar")), ("okoce_mart", _l("OK OCE Mart"))]
LENDERS = [("bank_dki", _l("Bank DKI")), ("bni", _l("BNI")), ("other_bank", _l("Bank lain")),
           ("koperasi", _l("Koperasi")), ("other", _l("Lainnya"))]
FINANCING_STATUSES = [("draft", _l("Draf (belum diajukan)")), ("submitted", _l("Diajukan ke pemberi modal")),
                      ("approved", _l("Disetujui")), ("rejected", _l("Ditolak")), ("disbursed", _l("Dicairkan"))]
UPLOAD_HINT = _l("PDF, JPG atau PNG, maksimal 5 MB.")


class LicenceForm(FlaskForm):
    licence_type = SelectField(_l("Jenis izin"), choices=options(LICENCE_TYPES), validators=[DataRequired()])
    number = StringField(_l("Nomor izin"), validators=[DataRequired(_l("Nomor izin wajib diisi.")), Length(max=64)],
                         description=_l("NIB terdiri dari 13 angka."), render_kw={"autocomplete": "off"})
    issued_on = DateField(_l("Tanggal terbit"), validators=[DataRequired(_l("Tanggal terbit wajib diisi."))])
    issuing_office = StringField(_l("Instansi penerbit"), validators=[DataRequired(_l("Instansi penerbit wajib diisi.")),
                                                                      Length(max=160)],
                                 render_kw={"placeholder": _l("mis. OSS / DPMPTSP Kecamatan Gambir")})
    scan = FileField(_l("Pindaian izin"), description=UPLOAD_HINT,
                     render_kw={"accept": "application/pdf,image/jpeg,image/png"})
    submit = SubmitField(_l("Kirim untuk verifikasi"))


class MarketingForm(FlaskForm):
    kind = SelectField(_l("Jenis langkah pemasaran"), choices=options(MARKETING_KINDS), validators=[DataRequired()])
    description = TextAreaField(_l("Uraian"), validators=[DataRequired(_l("Jelaskan langkah pemasaran Anda.")),
                                                          Length(max=4000)], render_kw={"rows": 4})
    link = StringField(_l("Tautan (opsional)"), validators=[Optional(), Length(max=500)],
                       render_kw={"inputmode": "url", "placeholder": "https://"})
    attachment = FileField(_l("Berkas pendukung (opsional)"), description=UPLOAD_HINT,
                           render_kw={"accept": "application/pdf,image/jpeg,image/png"})
    submit = SubmitField(_l("Kirim untuk verifikasi"))


class ReportForm(FlaskForm):
    month = MonthField(_l("Bulan"), validators=[InputRequired(_l("Pilih bulan laporan."))])
    turnover = RupiahField(_l("Omzet"), validators=[DataRequired(_l("Wajib diisi."))])
    cost_of_goods = RupiahField(_l("Harga pokok penjualan"), validators=[DataRequired(_l("Wajib diisi."))])
    operating_expenses = RupiahField(_l("Biaya operasional"), validators=[DataRequired(_l("Wajib diisi."))],
                                     description=_l("Listrik, sewa, transport, gaji, dan sebagainya."))
    notes = TextAreaField(_l("Catatan"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    submit = SubmitField(_l("Kirim laporan"))


class FinancingForm(FlaskForm):
    lender = SelectField(_l("Pemberi modal"), choices=options(LENDERS), validators=[DataRequired()])
    lender_name = StringField(_l("Nama bank/koperasi (bila lainnya)"), validators=[Optional(), Length(max=160)])
    product = StringField(_l("Produk pembiayaan"), validators=[DataRequired(_l("Wajib diisi.")), Length(max=160)],
                          render_kw={"placeholder": _l("mis. KUR atau Kredit Monas Pemula")})
    amount_requested = RupiahField(_l("Jumlah diajukan"), validators=[DataRequired(_l("Wajib diisi."))])
    amount_approved = RupiahField(_l("Jumlah disetujui"), validators=[Optional()])
    application_status = SelectField(_l("Status pengajuan"), choices=options(FINANCING_STATUSES), validators=[DataRequired()])
    applied_on = DateField(_l("Tanggal pengajuan"), validators=[Optional()])
    decided_on = DateField(_l("Tanggal keputusan"), validators=[Optional()])
    disbursed_on = DateField(_l("Tanggal pencairan"), validators=[Optional()])
    attachment = FileField(_l("Bukti (opsional, mis. surat persetujuan)"), description=UPLOAD_HINT,
                           render_kw={"accept": "application/pdf,image/jpeg,image/png"})
    submit = SubmitField(_l("Simpan"))


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("Komentar untuk pengelola"), validators=[Optional(), Length(max=2000)],
                            render_kw={"rows": 3},
                            description=_l("Wajib diisi bila dikembalikan: jelaskan apa yang perlu diperbaiki."))
    verify = SubmitField(_l("Verifikasi"))
    send_back = SubmitField(_l("Kembalikan"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CohortForm(FlaskForm):
    name = StringField(_l("Nama angkatan"), validators=[DataRequired(_l("Nama angkatan wajib diisi.")), Length(max=160)])
    curriculum_key = SelectField(_l("Kurikulum"), choices=[])
    start_date = BoundedDateField(_l("Tanggal mulai"), [DataRequired(_l("Tanggal mulai wajib diisi."))])
    end_date = BoundedDateField(_l("Tanggal selesai"), [DataRequired(_l("Tanggal selesai wajib diisi."))])
    region_ids = MultiCheckboxField(_l("Wilayah"), coerce=int, choices=[])
    submit = SubmitField(_l("Simpan"))


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False

    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    stage = SelectField(_l("Langkah"), choices=[], validators=[Optional()])
    age = SelectField(_l("Menunggu"), choices=options([("", _l("Semua")), ("3", _l("≥ 3 hari")), ("7", _l("≥ 7 hari")),
                                                      ("14", _l("≥ 14 hari")), ("30", _l("≥ 30 hari"))]),
                      validators=[Optional()])


class EnrolmentFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Cari"), validators=[Optional(), Length(max=100)])
    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    stage = SelectField(_l("Langkah saat ini"), choices=[], validators=[Optional()])
