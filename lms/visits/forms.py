"""Visit, caseload and export forms: field shapes only; the rules are in services."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (BooleanField, FieldList, FormField, HiddenField, RadioField, SelectField, SelectMultipleField,
                     StringField, SubmitField, TextAreaField)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget, MonthInput

from ..forms_common import (BoundedDateField, BoundedDateTimeLocalField, BoundedIntegerField, DateRange, Form,
                            ListSelect, MonthField, options)
from .services import EARLIEST_VISIT, MAX_DURATION_MINUTES, PLAN_DAYS, wib_today

KINDS = [("field_visit", _l("Kunjungan lapangan")), ("phone_call", _l("Telepon")),
         ("group_meeting", _l("Pertemuan kelompok"))]
#: datetime-local sends minutes ("2018-05-01T09:30"); the first format is also how the value is written
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
PHOTO_ACCEPT = "image/jpeg,image/png"
# Every date field gets its own widget: forms_common.MonthField changes the input type of the
# widget it is given, and DateField's default widget is one object shared by all date fields.


def latest_plan() -> date:
    """The latest next-visit or deadline date a form accepts: a year after today (WIB); the service
    checks it against the visit's own day."""
    return wib_today() + timedelta(days=PLAN_DAYS)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActionItemForm(Form):
    """One agreed action item (a row of the visit form)."""

    class Meta(Form.Meta):
        csrf = False

    id = HiddenField()
    description = StringField(_l("Tindak lanjut"), validators=[Optional(), Length(max=500)],
                              render_kw={"placeholder": _l("mis. Isi buku kas setiap sore")})
    owner = StringField(_l("Penanggung jawab"), validators=[Optional(), Length(max=160)],
                        render_kw={"placeholder": _l("mis. Pengelola")})
    due_on = BoundedDateField(_l("Tenggat"), [Optional()], min_date=EARLIEST_VISIT, max_date=latest_plan)


class VisitForm(Form):
    # the ranges are the service's (lms/visits/services.py); the inputs carry them for the date picker
    visited_at = BoundedDateTimeLocalField(_l("Tanggal dan jam (WIB)"),
                                           [InputRequired(_l("Isi tanggal dan jam kunjungan."))], format=DATETIME_FORMATS,
                                           min_date=EARLIEST_VISIT, max_date=wib_today,
                                           render_kw={"min": f"{EARLIEST_VISIT.isoformat()}T00:00"})
    duration_minutes = BoundedIntegerField(_l("Durasi (menit)"), [InputRequired(_l("Isi durasi dalam menit."))],
                                           default=60, min=1, max=MAX_DURATION_MINUTES,
                                           render_kw={"inputmode": "numeric", "min": 1, "max": MAX_DURATION_MINUTES,
                                                      "step": 5})
    kind = RadioField(_l("Jenis"), choices=options(KINDS), default="field_visit",
                      validators=[InputRequired(_l("Pilih jenis kunjungan."))])
    stages = MultiCheckboxField(_l("Langkah 7 PAS yang dibahas"), choices=[])
    observations = TextAreaField(_l("Pengamatan dan masalah yang ditemukan"),
                                 validators=[InputRequired(_l("Tulis pengamatan dan masalah yang ditemukan.")),
                                             Length(max=5000)], render_kw={"rows": 4})
    staff_notes = TextAreaField(_l("Catatan internal (tidak terlihat oleh pengelola)"),
                                validators=[Optional(), Length(max=5000)], render_kw={"rows": 2})
    action_items = FieldList(FormField(ActionItemForm), min_entries=2, max_entries=10)
    next_visit_on = BoundedDateField(_l("Rencana kunjungan berikutnya"), [Optional()], min_date=EARLIEST_VISIT,
                                     max_date=latest_plan)
    share_location = BooleanField(_l("Bagikan lokasi saya"))
    latitude = HiddenField()
    longitude = HiddenField()
    accuracy = HiddenField()
    photos = MultipleFileField(_l("Foto (opsional)"), description=_l("Maksimal 5 foto JPG atau PNG, masing-masing 5 MB. "
                                                                    "Data lokasi di dalam foto dihapus."),
                               render_kw={"accept": PHOTO_ACCEPT})
    submit = SubmitField(_l("Simpan kunjungan"))


class NewVisitForm(VisitForm):
    outlet_id = SelectField(_l("e-Warong"), choices=[], validators=[InputRequired(_l("Pilih e-Warong."))],
                            widget=ListSelect())  # (the mentor's whole caseload)
    #: generated on the phone; a repeated submission with the same key is the same visit
    client_key = HiddenField()


class EditVisitForm(VisitForm):
    remove_photo_ids = MultiCheckboxField(_l("Hapus foto"), coerce=int, choices=[])
    submit = SubmitField(_l("Simpan perubahan"))


class AssignForm(Form):
    # the outlets of the page the form was sent from; the service checks that the actor may assign each
    # (a page can change between showing and sending, so they are not held to the page's choices)
    outlet_ids = SelectMultipleField(_l("e-Warong"), coerce=int, choices=[], validate_choice=False)
    mentor_id = SelectField(_l("Pendamping"), choices=[])
    assign = SubmitField(_l("Tugaskan ke pendamping ini"))
    release = SubmitField(_l("Lepaskan dari pendamping"))


class CaseloadFilterForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Cari e-Warong"), validators=[Optional(), Length(max=100)],
                    description=_l("Kode, nama, KUBE atau kelurahan"))
    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    unassigned = BooleanField(_l("Hanya yang belum punya pendamping"))


class RegionFilterForm(Form):
    class Meta:
        csrf = False

    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    #: the last month of the six-month table (default: this month)
    until = MonthField(_l("Bulan"), validators=[Optional(), DateRange()], widget=MonthInput())


class ExportForm(Form):
    class Meta:
        csrf = False

    start = BoundedDateField(_l("Dari tanggal"), [InputRequired(_l("Isi tanggal awal."))])
    end = BoundedDateField(_l("Sampai tanggal"), [InputRequired(_l("Isi tanggal akhir."))])
    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])


class ActionDoneForm(Form):
    done = HiddenField(default="1")
    submit = SubmitField(_l("Tandai selesai"))
