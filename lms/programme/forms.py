"""Evidence, review and cohort forms: field shapes only; the rules are in services."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from ..forms_common import Form as FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms_common import BoundedDateField, MonthField, Range, RupiahField, options
from .evidence import AMOUNT_MAX, EARLIEST, _today_wib, this_month

LICENCE_TYPES = [("NIB", _l("NIB (Nomor Induk Berusaha)")), ("IUMK", _l("IUMK (Izin Usaha Mikro Kecil)")),
                 ("SKU", _l("SKU (Surat Keterangan Usaha)")), ("other", _l("Lainnya"))]
MARKETING_KINDS = [("marketing_plan", _l("Rencana pemasaran")), ("online_shop", _l("Toko online")),
                   ("bazaar", _l("Bazar atau acara pasar")), ("okoce_mart", _l("OK OCE Mart"))]
LENDERS = [("bank_dki", _l("Bank DKI")), ("bni", _l("BNI")), ("other_bank", _l("Bank lain")),
           ("koperasi", _l("Koperasi")), ("other", _l("Lainnya"))]
FINANCING_STATUSES = [("draft", _l("Draf (belum diajukan)")), ("submitted", _l("Diajukan ke pemberi modal")),
                      ("approved", _l("Disetujui")), ("rejected", _l("Ditolak")), ("disbursed", _l("Dicairkan"))]
UPLOAD_HINT = _l("PDF, JPG atau PNG, maksimal 5 MB.")
FILE_ACCEPT = "application/pdf,image/jpeg,image/png"


def _today() -> date:
    return _today_wib()


# The ranges (the service checks them again): see AMOUNT_MAX and EARLIEST in programme/services.py.
class Amount(Range):
    """Whole Rupiah from ``lo`` to AMOUNT_MAX; below zero is said in plain words."""

    def __init__(self, lo: int = 0) -> None:
        super().__init__(lo, AMOUNT_MAX, kind="money")

    def __call__(self, form: object, field: object) -> None:
        from wtforms.validators import StopValidation

        amount = getattr(field, "amount", None)
        if amount is not None and self.min > 0 and amount < self.min:
            raise StopValidation(str(_l("Harus lebih dari nol.")))
        if amount is not None and amount < 0:
            raise StopValidation(str(_l("Tidak boleh negatif.")))
        super().__call__(form, field)


def _amount(lo: int = 0) -> Range:
    return Amount(lo)


class NotInFuture(Range):
    """From ``min`` until today (WIB); a future day is told so in those words."""

    def __init__(self, min: date = EARLIEST, max: object = _today, future: object = None) -> None:
        super().__init__(min, max)
        self.future = future or _l("Tanggal tidak boleh di masa depan.")

    def __call__(self, form: object, field: object) -> None:
        from wtforms.validators import StopValidation

        value = getattr(field, "data", None)
        if isinstance(value, date) and value > self.max():  # type: ignore[operator]
            raise StopValidation(str(self.future))
        super().__call__(form, field)


def _past_date(label: object, validators: list[object], future: object = None) -> BoundedDateField:
    """A date from 2000-01-01 until today (WIB)."""
    return BoundedDateField(label, [*validators, NotInFuture(future=future)], render_kw={"min": EARLIEST.isoformat()})


class _DatesUpToToday:
    """Tell the phone's date picker the last allowed day (today moves, so it is set per form)."""

    def _limit_dates(self, *names: str) -> None:
        today = _today()
        for name in names:
            field = getattr(self, name)
            kw = dict(field.render_kw or {})
            kw["max"] = today.strftime("%Y-%m") if isinstance(field, MonthField) else today.isoformat()
            field.render_kw = kw


class LicenceForm(_DatesUpToToday, FlaskForm):
    licence_type = SelectField(_l("Jenis izin"), choices=options(LICENCE_TYPES), validators=[DataRequired()])
    number = StringField(_l("Nomor izin"), validators=[DataRequired(_l("Nomor izin wajib diisi.")), Length(max=64)],
                         description=_l("NIB terdiri dari 13 angka."), render_kw={"autocomplete": "off"})
    issued_on = _past_date(_l("Tanggal terbit"), [DataRequired(_l("Tanggal terbit wajib diisi."))],
                           future=_l("Tanggal terbit tidak boleh di masa depan."))
    issuing_office = StringField(_l("Instansi penerbit"), validators=[DataRequired(_l("Instansi penerbit wajib diisi.")),
                                                                      Length(max=160)],
                                 render_kw={"placeholder": _l("mis. OSS / DPMPTSP Kecamatan Gambir")})
    scan = FileField(_l("Pindaian izin"), description=UPLOAD_HINT, render_kw={"accept": FILE_ACCEPT})
    submit = SubmitField(_l("Kirim untuk verifikasi"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._limit_dates("issued_on")


class MarketingForm(FlaskForm):
    kind = SelectField(_l("Jenis langkah pemasaran"), choices=options(MARKETING_KINDS), validators=[DataRequired()])
    description = TextAreaField(_l("Uraian"), validators=[DataRequired(_l("Jelaskan langkah pemasaran Anda.")),
                                                          Length(max=4000)], render_kw={"rows": 4})
    link = StringField(_l("Tautan (opsional)"), validators=[Optional(), Length(max=490)],
                       description=_l("Alamat toko online atau halaman, mis. tokopedia.com/ewarong."),
                       render_kw={"inputmode": "url", "autocapitalize": "none", "spellcheck": "false"})
    attachment = FileField(_l("Berkas pendukung (opsional)"), description=UPLOAD_HINT,
                           render_kw={"accept": FILE_ACCEPT})
    submit = SubmitField(_l("Kirim untuk verifikasi"))


class ReportForm(_DatesUpToToday, FlaskForm):
    month = MonthField(_l("Bulan"), validators=[InputRequired(_l("Pilih bulan laporan.")),
                                                NotInFuture(EARLIEST, this_month,
                                                            _l("Bulan laporan tidak boleh di masa depan."))],
                       render_kw={"min": EARLIEST.strftime("%Y-%m")})
    turnover = RupiahField(_l("Omzet"), validators=[DataRequired(_l("Wajib diisi.")), _amount()])
    cost_of_goods = RupiahField(_l("Harga pokok penjualan"), validators=[DataRequired(_l("Wajib diisi.")), _amount()])
    operating_expenses = RupiahField(_l("Biaya operasional"), validators=[DataRequired(_l("Wajib diisi.")), _amount()],
                                     description=_l("Listrik, sewa, transport, gaji, dan sebagainya."))
    notes = TextAreaField(_l("Catatan"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    attachment = FileField(_l("Foto buku kas (opsional)"),
                           description=_l("Foto halaman buku kas bulan ini atau PDF-nya: JPG, PNG atau PDF, maksimal 5 MB."),
                           render_kw={"accept": FILE_ACCEPT})
    submit = SubmitField(_l("Kirim laporan"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._limit_dates("month")


class FinancingForm(_DatesUpToToday, FlaskForm):
    lender = SelectField(_l("Pemberi modal"), choices=options(LENDERS), validators=[DataRequired()])
    lender_name = StringField(_l("Nama bank/koperasi (bila lainnya)"), validators=[Optional(), Length(max=160)])
    product = StringField(_l("Produk pembiayaan"), validators=[DataRequired(_l("Wajib diisi.")), Length(max=160)],
                          render_kw={"placeholder": _l("mis. KUR atau Kredit Monas Pemula")})
    amount_requested = RupiahField(_l("Jumlah diajukan"), validators=[DataRequired(_l("Wajib diisi.")), _amount(1)])
    amount_approved = RupiahField(_l("Jumlah disetujui"), validators=[Optional(), _amount()])
    application_status = SelectField(_l("Status pengajuan"), choices=options(FINANCING_STATUSES), validators=[DataRequired()])
    applied_on = _past_date(_l("Tanggal pengajuan"), [Optional()])
    decided_on = _past_date(_l("Tanggal keputusan"), [Optional()])
    disbursed_on = _past_date(_l("Tanggal pencairan"), [Optional()])
    attachment = FileField(_l("Bukti (opsional, mis. surat persetujuan)"), description=UPLOAD_HINT,
                           render_kw={"accept": FILE_ACCEPT})
    submit = SubmitField(_l("Simpan"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._limit_dates("applied_on", "decided_on", "disbursed_on")


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
