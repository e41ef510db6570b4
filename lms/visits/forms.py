"""Visit, caseload and export forms: field shapes only; the rules are in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (BooleanField, FieldList, FormField, HiddenField, IntegerField, RadioField, SelectField,
                     SelectMultipleField, StringField, SubmitField, TextAreaField)
from wtforms.fields import DateField, DateTimeLocalField
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, DateInput, ListWidget, MonthInput

from ..forms_common import Form, MonthField, options

KINDS = [("field_visit", _l("Kunjungan lapangan")), ("phone_call", _l("Telepon")),
         ("group_meeting", _l("Pertemuan kelompok"))]
#: datetime-local sends minutes ("2018-05-01T09:30"); the first format is also how the value is written
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
PHOTO_ACCEPT = "image/jpeg,image/png"
# Every date field gets its own widget: forms_common.MonthField changes the input type of the
# widget it is given, and DateField's default widget is one object shared by all date fields.


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
    due_on = DateField(_l("Tenggat"), validators=[Optional()], widget=DateInput())


class VisitForm(Form):
    visited_at = DateTimeLocalField(_l("Tanggal dan jam (WIB)"), format=DATETIME_FORMATS,
                                    validators=[InputRequired(_l("Isi tanggal dan jam kunjungan."))])
    duration_minutes = IntegerField(_l("Durasi (menit)"), default=60,
                                    validators=[InputRequired(_l("Isi durasi dalam menit.")), NumberRange(1, 720)],
                                    render_kw={"inputmode": "numeric", "min": 1, "max": 720, "step": 5})
    kind = RadioField(_l("Jenis"), choices=options(KINDS), default="field_visit",
                      validators=[InputRequired(_l("Pilih jenis kunjungan."))])
    stages = MultiCheckboxField(_l("Langkah 7 PAS yang dibahas"), choices=[])
    observations = TextAreaField(_l("Pengamatan dan masalah yang ditemukan"),
                                 validators=[InputRequired(_l("Tulis pengamatan dan masalah yang ditemukan.")),
                                             Length(max=5000)], render_kw={"rows": 4})
    staff_notes = TextAreaField(_l("Catatan internal (tidak terlihat oleh pengelola)"),
                                validators=[Optional(), Length(max=5000)], render_kw={"rows": 2})
    action_items = FieldList(FormField(ActionItemForm), min_entries=2, max_entries=10)
    next_visit_on = DateField(_l("Rencana kunjungan berikutnya"), validators=[Optional()], widget=DateInput())
    share_location = BooleanField(_l("Bagikan lokasi saya"))
    latitude = HiddenField()
    longitude = HiddenField()
    accuracy = HiddenField()
    photos = MultipleFileField(_l("Foto (opsional)"), description=_l("Maksimal 5 foto JPG atau PNG, masing-masing 5 MB. "
                                                                    "Data lokasi di dalam foto dihapus."),
                               render_kw={"accept": PHOTO_ACCEPT})
    submit = SubmitField(_l("Simpan kunjungan"))


class NewVisitForm(VisitForm):
    outlet_id = SelectField(_l("e-Warong"), choices=[], validators=[InputRequired(_l("Pilih e-Warong."))])
    #: generated on the phone; a repeated submission with the same key is the same visit
    client_key = HiddenField()


class EditVisitForm(VisitForm):
    remove_photo_ids = MultiCheckboxField(_l("Hapus foto"), coerce=int, choices=[])
    submit = SubmitField(_l("Simpan perubahan"))


class AssignForm(Form):
    outlet_ids = SelectMultipleField(_l("e-Warong"), coerce=int, choices=[])
    mentor_id = SelectField(_l("Pendamping"), choices=[])
    assign = SubmitField(_l("Tugaskan ke pendamping ini"))
    release = SubmitField(_l("Lepaskan dari pendamping"))


class CaseloadFilterForm(Form):
    class Meta:
        csrf = False

    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    unassigned = BooleanField(_l("Hanya yang belum punya pendamping"))


class RegionFilterForm(Form):
    class Meta:
        csrf = False

    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])
    #: the last month of the six-month table (default: this month)
    until = MonthField(_l("Bulan"), validators=[Optional()], widget=MonthInput())


class ExportForm(Form):
    class Meta:
        csrf = False

    start = DateField(_l("Dari tanggal"), validators=[InputRequired(_l("Isi tanggal awal."))], widget=DateInput())
    end = DateField(_l("Sampai tanggal"), validators=[InputRequired(_l("Isi tanggal akhir."))], widget=DateInput())
    region = SelectField(_l("Wilayah"), choices=[], validators=[Optional()])


class ActionDoneForm(Form):
    done = HiddenField(default="1")
    submit = SubmitField(_l("Tandai selesai"))
