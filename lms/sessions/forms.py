"""Session, registration, attendance and calendar forms: field shapes only; the rules are in services."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Sequence

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import (BooleanField, FieldList, FormField, RadioField, SelectField, SelectMultipleField, StringField,
                     SubmitField, TextAreaField)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms_common import BoundedDateTimeLocalField, BoundedIntegerField, DateRange, Form, MonthField, options
from .organisers import KNOWN_NAMES
from .services import EARLIEST_SESSION_DATE, MAX_CAPACITY, latest_session_date

#: datetime-local sends minutes ("2018-04-10T08:00"); the first format is also how the value is written
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
AGENCIES = [("", _l("— Pilih instansi —")), ("dinas_sosial", _l("Dinas Sosial")),
            ("bank_indonesia", _l("Bank Indonesia")), ("bni", _l("BNI")), ("pgo_okoce", _l("PGO OK OCE")),
            ("other", _l("Lainnya (tulis di samping)"))]
ATTENDANCE = [("present", _l("Hadir")), ("late", lazy_pgettext("attendance", "Terlambat")), ("excused", _l("Izin")),
              ("absent", _l("Tidak hadir"))]
MAX_SPEAKER_ROWS = 6


class DateListField(StringField):
    """Dates separated by commas (or spaces): 2018-04-11, 12-04-2018, 16/04/2018."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dates: list[date] = []

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.dates = []
        raw = (valuelist[0] if valuelist else "") or ""
        self.data = raw
        bad = []
        for part in re.split(r"[,;\s]+", raw.strip()):
            if not part:
                continue
            for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
                try:
                    self.dates.append(datetime.strptime(part, fmt).date())
                    break
                except ValueError:
                    continue
            else:
                bad.append(part[:20])
        if bad:
            raise ValueError(str(_l("Tanggal tidak dikenali: %(dates)s. Tulis seperti 2018-04-11.",
                                    dates=", ".join(bad))))


class SpeakerForm(Form):
    """One narasumber row."""

    class Meta(Form.Meta):
        csrf = False

    name = StringField(_l("Nama narasumber"), validators=[Optional(), Length(max=160)])
    agency = SelectField(_l("Instansi"), choices=options(AGENCIES), validators=[Optional()])
    agency_other = StringField(_l("Instansi lain"), validators=[Optional(), Length(max=160)])


class OrganiserChecks(SelectMultipleField):
    """The known co-hosting agencies as checkboxes (the names are printed as they are: not translated)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SessionForm(Form):
    title = StringField(_l("Judul"), validators=[InputRequired(_l("Judul sesi wajib diisi.")), Length(max=200)],
                        render_kw={"placeholder": _l("mis. Bimtek Pengelola e-Warong Jakarta Pusat")})
    cohort_id = SelectField(_l("Angkatan"), choices=[], validators=[InputRequired(_l("Pilih angkatan."))])
    stage_key = SelectField(_l("Langkah 7 PAS"), choices=[], default="pelatihan",
                            validators=[InputRequired(_l("Pilih langkah."))])
    region_id = SelectField(_l("Wilayah"), choices=[], validators=[InputRequired(_l("Pilih wilayah."))],
                            description=_l("Wilayah harus salah satu wilayah angkatan."))
    venue_name = StringField(_l("Nama tempat"), validators=[InputRequired(_l("Nama tempat wajib diisi.")),
                                                            Length(max=200)],
                             render_kw={"placeholder": _l("mis. Aula Dinas Sosial Provinsi DKI Jakarta")})
    venue_address = TextAreaField(_l("Alamat tempat"), validators=[Optional(), Length(max=2000)],
                                  render_kw={"rows": 2})
    # sessions from 2018 (the programme's start; past ones can be recorded) to two years ahead
    starts_at = BoundedDateTimeLocalField(_l("Mulai (WIB)"), [InputRequired(_l("Isi tanggal dan jam mulai.")),
                                                              DateRange(EARLIEST_SESSION_DATE, latest_session_date)],
                                          format=DATETIME_FORMATS)
    ends_at = BoundedDateTimeLocalField(_l("Selesai (WIB)"), [InputRequired(_l("Isi tanggal dan jam selesai.")),
                                                              DateRange(EARLIEST_SESSION_DATE, latest_session_date)],
                                        format=DATETIME_FORMATS)
    capacity = BoundedIntegerField(_l("Kapasitas (orang)"), [InputRequired(_l("Isi kapasitas."))],
                                   min=1, max=MAX_CAPACITY,
                                   render_kw={"inputmode": "numeric", "min": 1, "max": MAX_CAPACITY})
    certificate_kind = SelectField(
        _l("Sertifikat untuk peserta yang hadir"), choices=[], validators=[Optional()],
        description=_l("Hanya desain yang berlaku untuk langkah sesi ini yang bisa dipilih. Sertifikat "
                       "diterbitkan di halaman Sertifikat setelah sesi selesai dan presensi diisi."))
    description = TextAreaField(_l("Uraian"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 3})
    speakers = FieldList(FormField(SpeakerForm), min_entries=MAX_SPEAKER_ROWS, max_entries=MAX_SPEAKER_ROWS)
    #: "diselenggarakan oleh" on its certificates; none chosen: the speakers' agencies
    organisers = OrganiserChecks(_l("Diselenggarakan oleh"), choices=options([(n, n) for n in KNOWN_NAMES]),
                                 validators=[Optional()])
    organisers_other = StringField(_l("Penyelenggara lain"), validators=[Optional(), Length(max=1000)],
                                   description=_l("Instansi lain yang ikut menyelenggarakan, dipisah koma."),
                                   render_kw={"placeholder": _l("mis. PTSP Jakarta Pusat, Bank DKI")})
    submit = SubmitField(_l("Simpan"))


class NewSessionForm(SessionForm):
    past = BooleanField(_l("Sesi ini sudah berlangsung (mencatat sesi lampau)"),
                        description=_l("Untuk Bimtek yang diadakan sebelum aplikasi dipakai: pendaftaran langsung "
                                       "ditutup, presensi bisa diisi, dan pencatatannya masuk log audit."))
    extra_dates = DateListField(_l("Juga pada tanggal (opsional)"),
                                validators=[Optional(), Length(max=400),
                                            DateRange(EARLIEST_SESSION_DATE, latest_session_date)],
                                description=_l("Untuk seri: tanggal lain dengan jam yang sama, dipisah koma, "
                                               "mis. 2018-04-11, 2018-04-12."),
                                render_kw={"placeholder": "2018-04-11, 2018-04-12", "autocomplete": "off"})


class ButtonForm(Form):
    """A CSRF-protected button (register, cancel, confirm)."""

    submit = SubmitField(_l("Ya, lanjutkan"))


class FeedForm(Form):
    create = SubmitField(_l("Buat tautan kalender"))
    revoke = SubmitField(_l("Cabut tautan"))


class ScheduleFilterForm(Form):
    class Meta:
        csrf = False

    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    stage = SelectField(_l("Langkah"), choices=[], validators=[Optional()])
    month = MonthField(_l("Bulan"), validators=[Optional(), DateRange()])


class GroupForm(Form):
    """Who "Daftarkan" reaches: the choices and their counts are set by the view."""

    scope = RadioField(_l("Siapa yang didaftarkan"), choices=[], validators=[InputRequired(_l("Pilih salah satu."))])


class AttendanceForm(Form):
    save = SubmitField(_l("Simpan presensi"))
    all_present = SubmitField(_l("Tandai semua hadir"))

    def marks(self) -> dict[int, str | None]:
        return {int(f.name[1:]): f.data for f in self if f.name.startswith("r") and f.name[1:].isdigit()}


def attendance_form(registrations: Sequence[Any], formdata: Any = None) -> AttendanceForm:
    """An attendance form with one radio group ``r<registration id>`` per registered person."""

    class _Form(AttendanceForm):
        pass

    for r in registrations:
        setattr(_Form, f"r{r.id}", RadioField(r.user.full_name, choices=options(ATTENDANCE), validate_choice=False,
                                              default=r.attendance.value if r.attendance else None))
    return _Form(formdata=formdata) if formdata is not None else _Form()
