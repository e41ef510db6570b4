"""Exports of the programme's data: progress per manager, Bimtek attendance, mentor visits and
certificates, as CSV or XLSX.

Each ``export_<dataset>(actor, filters)`` checks the actor's right and the filters, records the
export in the audit log, and returns ``(header, rows)``: ``rows`` is a generator that reads the
database in batches (``yield_per``) only while the response streams, so 100,000 rows never sit
in memory. Admins export all of DKI; coordinators their region (no region: all of DKI); mentors
and trainees nothing. Times are WIB: dates are WIB calendar days, datetimes naive WIB.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from .. import permissions
from ..audit.services import record
from ..db import transaction
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..forms_common import DATE_MIN, check_range, date_max
from ..i18n import to_wib
from ..people.models import User
from ..people.phone import display_phone
from ..places.models import Kecamatan, Outlet, Region
from ..programme import services as programme
from ..programme.curriculum import Curriculum
from ..programme.models import Cohort, Enrolment, EnrolmentStage, EnrolmentStatus

#: rows read from the database per batch while an export streams
BATCH = 500
#: the first day an export without a start date covers (the earliest date anyone may type)
EARLIEST = DATE_MIN
#: curriculum stage names in exports are the programme's own (Indonesian) names
LANG = "id"


@dataclass(frozen=True)
class Dataset:
    key: str
    label: Any
    description: Any
    #: the worksheet's name and the file name's stem
    sheet: Any
    slug: str
    #: which filters apply
    uses_dates: bool = True
    uses_status: bool = False


DATASETS: dict[str, Dataset] = {d.key: d for d in (
    Dataset("progress", _l("Kemajuan per pengelola"),
            _l("Satu baris per pendaftaran: pengelola, e-Warong, langkah saat ini dan tanggal selesai tiap langkah."),
            _l("Kemajuan per pengelola"), "kemajuan", uses_dates=False, uses_status=True),
    Dataset("attendance", _l("Kehadiran Bimtek"),
            _l("Satu baris per pendaftar Bimtek: sesi, status pendaftaran dan presensi. Rentang tanggal: mulai sesi."),
            _l("Kehadiran Bimtek"), "kehadiran"),
    Dataset("visits", _l("Kunjungan pendamping"),
            _l("Satu baris per kunjungan, termasuk catatan internal. Rentang tanggal: tanggal kunjungan."),
            _l("Kunjungan pendamping"), "kunjungan"),
    Dataset("certificates", _l("Sertifikat"),
            _l("Satu baris per sertifikat yang diterbitkan, termasuk yang dicabut. Rentang tanggal: tanggal terbit."),
            _l("Sertifikat"), "daftar-sertifikat"),
)}
FORMAT_LABELS = {"csv": _l("CSV (teks, untuk Excel dan LibreOffice)"), "xlsx": _l("XLSX (buku kerja Excel)")}


@dataclass(frozen=True)
class Filters:
    cohort_id: int | None = None
    region_id: int | None = None
    kecamatan_id: int | None = None
    #: WIB days, both inclusive
    start: date | None = None
    end: date | None = None
    #: progress: "active" enrolments only, or "all"
    status: str = "active"

    def audit_details(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("cohort_id", "region_id", "kecamatan_id"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        for name in ("start", "end"):
            if getattr(self, name):
                out[name] = getattr(self, name).isoformat()
        return out


Header = list[str]
Rows = Iterator[list[Any]]


# --- scope and checks ---------------------------------------------------------------------

def may_export(actor: Any) -> bool:
    return permissions.can(actor, "exports.download")


def region_scope(actor: Any, region_col: Any) -> sa.ColumnElement[bool]:
    """The regions ``actor`` may export, as SQL on ``region_col`` (admins and all-DKI coordinators: all)."""
    if permissions.is_admin(actor):
        return sa.true()
    if permissions.is_coordinator(actor):
        return sa.true() if actor.region_id is None else region_col == actor.region_id
    return sa.false()


def _where_region(actor: Any, region_col: Any, f: Filters) -> sa.ColumnElement[bool]:
    conds = [region_scope(actor, region_col)]
    if f.region_id:
        conds.append(region_col == f.region_id)
    return sa.and_(*conds)


def _day_range(col: Any, f: Filters) -> list[sa.ColumnElement[bool]]:
    from ..visits.services import wib_start_utc

    conds = []
    if f.start:
        conds.append(col >= wib_start_utc(f.start))
    if f.end:
        conds.append(col < wib_start_utc(f.end + timedelta(days=1)))
    return conds


def check(actor: Any, f: Filters) -> None:
    """Refuse what the actor may not export (NotAllowed) and filters that make no sense (Invalid)."""
    if not may_export(actor):
        raise NotAllowed()
    problems: dict[str, list[str]] = {}
    for name in ("start", "end"):
        check_range(getattr(f, name), DATE_MIN, date_max, name, problems)
    if f.start and f.end and f.end < f.start and "end" not in problems and "start" not in problems:
        problems["end"] = [_("Tanggal akhir tidak boleh sebelum tanggal awal.")]
    if f.status not in ("active", "all"):
        problems["status"] = [_("Pilihan tidak valid.")]
    if f.region_id is not None:
        region = db.session.get(Region, f.region_id)
        if region is None or not (permissions.is_admin(actor) or permissions.in_region(actor, region.id)):
            problems["region"] = [_("Anda tidak dapat mengekspor data wilayah ini.")]
    if f.kecamatan_id is not None:
        kec = db.session.get(Kecamatan, f.kecamatan_id)
        if kec is None or not (permissions.is_admin(actor) or permissions.in_region(actor, kec.region_id)):
            problems["kecamatan"] = [_("Anda tidak dapat mengekspor data kecamatan ini.")]
        elif f.region_id and kec.region_id != f.region_id:
            problems["kecamatan"] = [_("Kecamatan ini tidak berada di wilayah yang dipilih.")]
    if f.cohort_id is not None:
        cohort = db.session.get(Cohort, f.cohort_id)
        if cohort is None or not permissions.can(actor, "cohort.view", cohort):
            problems["cohort"] = [_("Angkatan tidak ditemukan.")]
    if problems:
        raise Invalid(problems)


def _audit(actor: Any, dataset: str, fmt: str, f: Filters, ip: str | None, people: Any = None) -> None:
    """The export in the audit log and, one row per person it holds (``people``: a SELECT of user ids,
    from the export's own query), in the access records (lms/privacy/access.py), in one transaction."""
    from ..privacy import access

    details = f.audit_details()
    if dataset == "progress":
        details["status"] = f.status
    with transaction():
        record("export.downloaded", actor=actor, ip=ip, dataset=dataset, format=fmt, **details)
        if people is not None:
            access.record_export(actor, people, f"exports/{DATASETS[dataset].slug}.{fmt}")


def _rows(q: Any, make: Callable[[Any], list[Any]]) -> Rows:
    """Rows of ``q`` read in batches while the caller iterates, each turned into an export row."""
    result = db.session.execute(q, execution_options={"yield_per": BATCH})
    try:
        for row in result:
            yield make(row)
    finally:
        result.close()


def _wib(value: datetime | None) -> datetime | None:
    """A stored UTC time as naive WIB (what the spreadsheet shows)."""
    return to_wib(value).replace(tzinfo=None) if value is not None else None


def _wib_date(value: datetime | None) -> date | None:
    return to_wib(value).date() if value is not None else None


def _stage_label(cur: Curriculum, key: str | None) -> str:
    if not key:
        return ""
    try:
        s = cur.stage(key)
    except KeyError:
        return key
    return f"{s.number}. {s.name.get(LANG)}"


def _yes_no(value: bool) -> str:
    return _("ya") if value else _("tidak")


# --- 1. progress per manager ----------------------------------------------------------------

def enrolment_status_labels() -> dict[str, str]:
    return {"active": _("Aktif"), "ended": _("Berakhir"), "withdrawn": _("Mengundurkan diri")}


def _curricula(f: Filters) -> list[Curriculum]:
    """The curricula of the cohorts the export covers: the default one first (one small query)."""
    q = sa.select(Cohort.curriculum_key).distinct()
    if f.cohort_id:
        q = q.where(Cohort.id == f.cohort_id)
    known = programme.curricula()
    default = programme.default_curriculum()
    keys = sorted(set(db.session.scalars(q)), key=lambda k: (k != default.key, k))
    found = [known.get(k) or default for k in keys]
    out: list[Curriculum] = []
    for c in found or [default]:
        if c not in out:
            out.append(c)
    return out


def export_progress(actor: Any, f: Filters, *, fmt: str = "csv", ip: str | None = None) -> tuple[Header, Rows]:
    """One row per enrolment with its stage dates; the stage dates are read per batch of enrolments."""
    check(actor, f)
    curricula = _curricula(f)
    stage_keys: list[str] = []
    stage_heads: list[str] = []
    for cur in curricula:
        for s in cur.stages:
            if s.key not in stage_keys:
                stage_keys.append(s.key)
                stage_heads.append(_("%(stage)s (tanggal selesai)", stage=f"{s.number}. {s.name.get(LANG)}"))
    totals = {len(c.stages) for c in curricula}
    done_head = (_("Langkah selesai (dari %(n)d)", n=totals.pop()) if len(totals) == 1
                 else _("Langkah selesai"))
    header = [_("Angkatan"), _("Nama pengelola"), _("E-mail"), _("No HP"), _("Kode e-Warong"), _("Nama e-Warong"),
              _("Wilayah"), _("Kecamatan"), _("Status pendaftaran"), _("Mulai (WIB)"), _("Langkah saat ini"),
              done_head, *stage_heads, _("Selesai semua langkah (WIB)")]
    q = (sa.select(Enrolment.id, Cohort.name, Cohort.curriculum_key, User.full_name, User.email, User.phone,
                   Outlet.code, Outlet.name, Region.name, Kecamatan.name, Enrolment.status, Enrolment.started_at,
                   Enrolment.current_stage, Enrolment.completed_count, Enrolment.completed_at)
         .join(Cohort, Cohort.id == Enrolment.cohort_id).join(User, User.id == Enrolment.user_id)
         .join(Outlet, Outlet.id == Enrolment.outlet_id).join(Region, Region.id == Enrolment.region_id)
         .join(Kecamatan, Kecamatan.id == Outlet.kecamatan_id)
         .where(_where_region(actor, Enrolment.region_id, f))
         .order_by(Cohort.start_date.desc(), Cohort.id, Region.code, Outlet.code, Enrolment.id))
    if f.cohort_id:
        q = q.where(Enrolment.cohort_id == f.cohort_id)
    if f.kecamatan_id:
        q = q.where(Outlet.kecamatan_id == f.kecamatan_id)
    if f.status == "active":
        q = q.where(Enrolment.status == EnrolmentStatus.ACTIVE)
    _audit(actor, "progress", fmt, f, ip, people=q.with_only_columns(Enrolment.user_id))
    return header, _progress_rows(q, stage_keys)


def _progress_rows(q: Any, stage_keys: list[str]) -> Rows:
    known = programme.curricula()
    default = programme.default_curriculum()
    statuses = enrolment_status_labels()
    result = db.session.execute(q, execution_options={"yield_per": BATCH})
    try:
        for batch in result.partitions():
            dates: dict[int, dict[str, date]] = defaultdict(dict)
            for eid, key, at in db.session.execute(
                    sa.select(EnrolmentStage.enrolment_id, EnrolmentStage.stage_key, EnrolmentStage.completed_at)
                    .where(EnrolmentStage.enrolment_id.in_([r[0] for r in batch]))):
                dates[eid][key] = to_wib(at).date()
            for (eid, cohort, cur_key, name, email, phone, code, oname, region, kec, status, started, current,
                 n_done, completed) in batch:
                cur = known.get(cur_key) or default
                if current:
                    now = _stage_label(cur, current)
                elif n_done >= len(cur.stages):
                    now = _("Semua langkah selesai")
                else:
                    now = ""
                mine = dates.get(eid, {})
                yield [cohort, name, email, display_phone(phone), code, oname, region, kec,
                       statuses.get(status.value, status.value), _wib_date(started), now, n_done,
                       *[mine.get(k) for k in stage_keys], _wib_date(completed)]
    finally:
        result.close()


# --- 2. Bimtek attendance ------------------------------------------------------------------

def registration_status_labels() -> dict[str, str]:
    return {"registered": _("Terdaftar"), "waitlisted": _("Daftar tunggu"), "cancelled": _("Dibatalkan")}


def attendance_labels() -> dict[str | None, str]:
    from flask_babel import pgettext

    return {"present": _("Hadir"), "late": pgettext("attendance", "Terlambat"), "excused": _("Izin"),
            "absent": _("Tidak hadir"), None: _("Belum ditandai")}


def export_attendance(actor: Any, f: Filters, *, fmt: str = "csv", ip: str | None = None) -> tuple[Header, Rows]:
    """One row per registration of the sessions in scope (the date range is on the session's start)."""
    from ..sessions.models import Registration, RegistrationStatus, TrainingSession
    from ..sessions.registration import _position_expr

    check(actor, f)
    header = [_("ID sesi"), _("Judul sesi"), _("Langkah"), _("Mulai (WIB)"), _("Wilayah"), _("Tempat"),
              _("Nama peserta"), _("E-mail"), _("Kode e-Warong"), _("Status pendaftaran"), _("No. daftar tunggu"),
              _("Presensi"), _("Check-in lewat QR"), _("Presensi ditandai (WIB)")]
    position = sa.case((Registration.status == RegistrationStatus.WAITLISTED, _position_expr()), else_=None)
    q = (sa.select(TrainingSession.id, TrainingSession.title, TrainingSession.stage_key, Cohort.curriculum_key,
                   TrainingSession.starts_at, Region.name, TrainingSession.venue_name, User.full_name, User.email,
                   Outlet.code, Registration.status, position, Registration.attendance, Registration.checked_in_by_qr,
                   Registration.attendance_marked_at)
         .join(TrainingSession, TrainingSession.id == Registration.session_id)
         .join(Cohort, Cohort.id == TrainingSession.cohort_id)
         .join(Region, Region.id == TrainingSession.region_id)
         .join(User, User.id == Registration.user_id)
         .outerjoin(Outlet, Outlet.manager_id == User.id)
         .where(_where_region(actor, TrainingSession.region_id, f), *_day_range(TrainingSession.starts_at, f))
         .order_by(TrainingSession.starts_at, TrainingSession.id, User.full_name, Registration.id))
    if f.cohort_id:
        q = q.where(TrainingSession.cohort_id == f.cohort_id)
    if f.kecamatan_id:
        q = q.where(Outlet.kecamatan_id == f.kecamatan_id)
    _audit(actor, "attendance", fmt, f, ip, people=q.with_only_columns(Registration.user_id))
    known = programme.curricula()
    default = programme.default_curriculum()
    statuses = registration_status_labels()
    marks = attendance_labels()

    def make(r: Any) -> list[Any]:
        (sid, title, stage, cur_key, starts, region, venue, name, email, code, status, pos, att, qr, marked) = r
        return [sid, title, _stage_label(known.get(cur_key) or default, stage), _wib(starts), region, venue, name,
                email, code, statuses.get(status.value, status.value), pos, marks[att.value if att else None],
                _yes_no(bool(qr)), _wib(marked)]

    return header, _rows(q, make)


# --- 3. mentor visits ----------------------------------------------------------------------

def export_visits(actor: Any, f: Filters, *, fmt: str = "csv", ip: str | None = None) -> tuple[Header, Rows]:
    """The visits export of lms/visits (same columns), with the exports page's filters."""
    from ..visits import services as visits
    from ..visits.services import wib_today

    check(actor, f)
    _audit(actor, "visits", fmt, f, ip)
    start = f.start or EARLIEST
    end = f.end or max(wib_today(), start)
    # (the visits' mentors and managers are recorded by the visits export itself, from its query)
    rows = visits.export_visits(actor, start, end, f.region_id, ip=ip, kecamatan_id=f.kecamatan_id,
                                cohort_id=f.cohort_id, audit=False, what=f"exports/{DATASETS['visits'].slug}.{fmt}")
    return visits.export_header(), rows


# --- 4. certificates -----------------------------------------------------------------------

def certificate_status_labels() -> dict[str, str]:
    return {"active": _("Aktif"), "revoked": _("Dicabut")}


def export_certificates(actor: Any, f: Filters, *, fmt: str = "csv", ip: str | None = None) -> tuple[Header, Rows]:
    """Every certificate issued in scope (the date range is on the issue date), revoked ones included."""
    from ..certification import services as certification
    from ..certification.models import Certificate

    check(actor, f)
    header = [_("Nomor seri"), _("Jenis"), _("Nama pemegang"), _("Kode e-Warong"), _("Nama e-Warong"), _("Wilayah"),
              _("Judul"), _("Diterbitkan (WIB)"), _("Diterbitkan oleh"), _("Status"), _("Dicabut (WIB)"),
              _("Alasan pencabutan"), _("Tautan verifikasi")]
    issuer = aliased(User)
    scope = permissions.certificate_scope(actor)
    q = (sa.select(Certificate.serial, Certificate.kind, Certificate.holder_name, Certificate.outlet_code,
                   Certificate.outlet_name, Region.name, Certificate.subject_title, Certificate.issued_at,
                   issuer.full_name, Certificate.status, Certificate.revoked_at, Certificate.revocation_reason,
                   Certificate.verification_code)
         .join(Region, Region.id == Certificate.region_id)
         .outerjoin(issuer, issuer.id == Certificate.issued_by_id)
         .where(scope, _where_region(actor, Certificate.region_id, f), *_day_range(Certificate.issued_at, f))
         .order_by(Certificate.issued_at, Certificate.id))
    if f.cohort_id:
        q = q.where(Certificate.cohort_id == f.cohort_id)
    if f.kecamatan_id:
        q = q.where(Certificate.outlet_id.in_(sa.select(Outlet.id).where(Outlet.kecamatan_id == f.kecamatan_id)))
    _audit(actor, "certificates", fmt, f, ip, people=q.with_only_columns(Certificate.holder_id))
    kinds = {d.kind: d.label(LANG) for d in certification.designs().values()}
    statuses = certificate_status_labels()
    system = _("sistem")

    def make(r: Any) -> list[Any]:
        (serial, kind, holder, code, oname, region, title, issued, by, status, revoked, reason, vcode) = r
        return [serial, kinds.get(kind, kind), holder, code, oname, region, title, _wib(issued), by or system,
                statuses.get(status.value, status.value), _wib(revoked), reason, certification.verify_url(vcode)]

    return header, _rows(q, make)


# --- one entry point for the page -------------------------------------------------------------

EXPORTERS: dict[str, Callable[..., tuple[Header, Rows]]] = {
    "progress": export_progress,
    "attendance": export_attendance,
    "visits": export_visits,
    "certificates": export_certificates,
}


def export(actor: Any, dataset: str, f: Filters, *, fmt: str = "csv", ip: str | None = None) -> tuple[Header, Rows]:
    if dataset not in EXPORTERS:
        raise Invalid({"dataset": [_("Pilih data yang diekspor.")]})
    return EXPORTERS[dataset](actor, f, fmt=fmt, ip=ip)


def file_stem(dataset: str, f: Filters, today: date) -> str:
    """e.g. kemajuan-3171-20240105, kunjungan-20180401-20180430 (progress-…, visits-… in English)."""
    from ..i18n import file_stem
    parts = [DATASETS[dataset].slug]
    if f.region_id:
        code = db.session.scalar(sa.select(Region.code).where(Region.id == f.region_id))
        if code:
            parts.append(code)
    if DATASETS[dataset].uses_dates and (f.start or f.end):
        parts.append(f"{(f.start or EARLIEST):%Y%m%d}-{(f.end or today):%Y%m%d}")
    else:
        parts.append(f"{today:%Y%m%d}")
    return file_stem(*parts)
