"""Training sessions (Bimtek): scheduling with clash checks, registration with a waitlist that
never overbooks, attendance, QR self check-in and RFC 5545 calendars.

Every function takes the acting user explicitly and writes inside one ``transaction()``.
Times are stored in UTC and entered and shown in WIB (Asia/Jakarta).

No overbooking, on SQLite and PostgreSQL alike: a seat is taken only by the conditional
``UPDATE training_sessions SET seats_taken = seats_taken + 1 WHERE id = :id AND seats_taken <
capacity AND status = 'scheduled'`` (one row changed: registered; none: waitlisted) and given back
only by ``… seats_taken - 1 WHERE … seats_taken > 0``. The database's row lock serialises
concurrent seat changes of one session, the check constraint ``seats_taken <= capacity`` guards
the rest, and the unique (session_id, user_id) constraint turns a double submit into one row.
"""
from __future__ import annotations

import calendar as _calendar
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from .. import permissions
from .. import outbox
from . import signals
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import DomainError, Invalid, NotAllowed
from ..extensions import db
from ..i18n import WIB, to_wib
from ..people.models import Role, User
from ..places.models import Outlet, Region
from ..programme import services as programme
from ..programme.models import Cohort, Enrolment, EnrolmentStatus
from . import rules
from .models import (
    Attendance, CalendarFeed, Registration, RegistrationStatus, SessionSpeaker, SessionStatus, SpeakerAgency,
    TrainingSession,
)

#: speaker rows a session may have
MAX_SPEAKERS = 6
#: extra dates of a series created in one step
MAX_SERIES_DATES = 20
MAX_CAPACITY = 5000
MAX_DURATION = timedelta(hours=24)
#: the range of a session's dates (WIB): the programme began in 2018, so no session is earlier (a Bimtek held
#: before the system was used can be recorded back to then); planning more than two years ahead is a typing error
EARLIEST_SESSION_DATE = date(2018, 1, 1)
SESSION_YEARS_AHEAD = 2
#: ``SessionInput.certificate_kind`` default: the first certificate design that allows the session's step
DEFAULT_CERTIFICATE = "default"
#: group registration: who "Daftarkan" reaches
GROUP_STEP = "step"
GROUP_COHORT = "cohort"
GROUP_SCOPES = (GROUP_STEP, GROUP_COHORT)
#: the check-in QR changes every CHECKIN_STEP seconds; the current and the previous code are accepted
CHECKIN_STEP = 60
CHECKIN_TOKEN_LENGTH = 16
#: the check-in window: from this long before the start to this long after the end
CHECKIN_MARGIN = timedelta(minutes=30)
#: after opening the check-in page, the trainee has this long to press "Saya hadir"
CHECKIN_TICKET_SECONDS = 300
#: a cancelled session is announced on its registrants' home page until this long after its start
CANCELLED_NOTICE = timedelta(days=7)
#: the calendar feed of staff reaches back this far
FEED_HISTORY = timedelta(days=365)

ACTIVE = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)
ATTENDED = (Attendance.PRESENT, Attendance.LATE)

AGENCY_LABELS = {
    SpeakerAgency.DINAS_SOSIAL: _l("Dinas Sosial"),
    SpeakerAgency.BANK_INDONESIA: _l("Bank Indonesia"),
    SpeakerAgency.BNI: _l("BNI"),
    SpeakerAgency.PGO_OKOCE: _l("PGO OK OCE"),
    SpeakerAgency.OTHER: _l("Lainnya"),
}


# --- small helpers ----------------------------------------------------------------------------

def fold(text: str) -> str:
    """Lower-cased with whitespace folded: how venues and speakers are compared."""
    return " ".join((text or "").split()).lower()


def as_utc(value: datetime) -> datetime:
    """A datetime typed in WIB (naive, from a datetime-local input) or an aware one, as aware UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=WIB)
    return value.astimezone(timezone.utc)


def wib_day_start(day: date) -> datetime:
    """00:00 WIB of ``day`` as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=WIB).astimezone(timezone.utc)


def when_text(starts_at: datetime, ends_at: datetime) -> str:
    """"10 Apr 2018, 08.00–16.00 WIB" in the interface language."""
    if to_wib(starts_at).date() == to_wib(ends_at).date():
        return f"{format_date(starts_at, 'medium')}, {format_time(starts_at, 'short')}–{format_time(ends_at, 'short')} WIB"
    return (f"{format_date(starts_at, 'medium')} {format_time(starts_at, 'short')} – "
            f"{format_date(ends_at, 'medium')} {format_time(ends_at, 'short')} WIB")


def wib_minute(value: datetime) -> str:
    return f"{format_date(value, 'medium')} {format_time(value, 'short')} WIB"


def latest_session_date(today: date | None = None) -> date:
    """The last day a session may be on: today (WIB) plus two years (29 Feb -> 28 Feb)."""
    today = today or to_wib(utcnow()).date()
    try:
        return today.replace(year=today.year + SESSION_YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + SESSION_YEARS_AHEAD, day=28)


def _date_problem(value: datetime, now: datetime) -> str | None:
    """The range message when ``value`` (naive WIB, or aware) is outside the session date range.

    Checked on the value as typed, before any time-zone arithmetic (year 9999 plus seven hours overflows)."""
    from ..forms_common import out_of_range

    day = value.date()
    if value.tzinfo is not None:
        try:
            day = value.astimezone(WIB).date()
        except (OverflowError, ValueError):
            pass
    return out_of_range(day, EARLIEST_SESSION_DATE, latest_session_date(to_wib(now).date()))


# --- certificate designs (data: certificates/<design>/metadata.yaml) ---------------------------

def certificate_designs() -> list[Any]:
    """The certificate designs a session can give (``subject: session``), in folder order."""
    return [d for d in current_app.extensions.get("lms.certificate_designs", {}).values() if d.subject == "session"]


def design_allows(design: Any, stage_key: str) -> bool:
    """A design's ``session_stages`` (none listed: every step) allow a session on ``stage_key``."""
    return not design.session_stages or stage_key in design.session_stages


def certificate_options(stage_key: str | None = None) -> list[Any]:
    """The designs a session on ``stage_key`` may give (every session design when no step is given)."""
    return [d for d in certificate_designs() if stage_key is None or design_allows(d, stage_key)]


def default_certificate_kind(stage_key: str) -> str | None:
    """What a new session on ``stage_key`` gives unless the coordinator chooses otherwise."""
    allowed_ = certificate_options(stage_key)
    return allowed_[0].kind if allowed_ else None


def certificate_label(kind: str | None) -> str:
    """The design's name in the interface language ("Tanpa sertifikat" for None)."""
    if not kind:
        return _("Tanpa sertifikat")
    for d in certificate_designs():
        if d.kind == kind:
            return str(d.label(_lang()))
    return kind


def stage_label(cohort: Cohort | None, stage_key: str) -> str:
    """A step's name ("Pelatihan") from the cohort's curriculum, or the key when unknown."""
    try:
        cur = programme.curriculum_for(cohort) if cohort is not None else programme.default_curriculum()
        return str(cur.stage(stage_key).name.get(_lang()))
    except (KeyError, LookupError, ValueError):
        return stage_key


def stages_text(design: Any, cohort: Cohort | None) -> str:
    """The steps a design allows, by name: "Pelatihan" or "Pelatihan, Pemasaran"."""
    return ", ".join(stage_label(cohort, k) for k in design.session_stages)


def speaker_label(sp: SessionSpeaker) -> str:
    agency = sp.agency_other if sp.agency is SpeakerAgency.OTHER and sp.agency_other else str(AGENCY_LABELS[sp.agency])
    return f"{sp.name} ({agency})"


def _lock_schedule() -> None:
    """Serialise clash checks with other schedulers (SQLite: BEGIN IMMEDIATE already does)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(7245001)"))


def _lock_user(user_id: int) -> None:
    """One registration change per trainee at a time (PostgreSQL row lock; SQLite: BEGIN IMMEDIATE)."""
    # FOR NO KEY UPDATE: it does not block the key-share locks that foreign keys to the user take
    db.session.execute(sa.select(User.id).where(User.id == user_id).with_for_update(key_share=True))


def _fresh(session_id: int, lock: bool = False) -> TrainingSession:
    q = sa.select(TrainingSession).where(TrainingSession.id == session_id).execution_options(populate_existing=True)
    if lock:
        q = q.with_for_update(key_share=True)
    return db.session.execute(q).scalar_one()


# --- seats: the only two statements that change seats_taken ------------------------------------

def _take_seat(session_id: int, n: int = 1) -> bool:
    room = (TrainingSession.seats_taken < TrainingSession.capacity if n == 1
            else TrainingSession.seats_taken + n <= TrainingSession.capacity)
    res = db.session.execute(
        sa.update(TrainingSession)
        .where(TrainingSession.id == session_id, room, TrainingSession.status == SessionStatus.SCHEDULED)
        .values(seats_taken=TrainingSession.seats_taken + n)
        .execution_options(synchronize_session=False))
    changed = res.rowcount == 1  # type: ignore[attr-defined]
    if changed:
        signals.seats_changed.send(db.session(), session_id=session_id)
    return changed


def _release_seat(session_id: int) -> bool:
    res = db.session.execute(
        sa.update(TrainingSession)
        .where(TrainingSession.id == session_id, TrainingSession.seats_taken > 0)
        .values(seats_taken=TrainingSession.seats_taken - 1)
        .execution_options(synchronize_session=False))
    changed = res.rowcount == 1  # type: ignore[attr-defined]
    if changed:
        signals.seats_changed.send(db.session(), session_id=session_id)
    return changed


def _promote(session_id: int, actor: Any = None) -> list[int]:
    """Fill free seats from the waitlist, earliest first; returns the promoted users' ids."""
    promoted: list[int] = []
    for _i in range(MAX_CAPACITY + 1):
        cand = db.session.execute(
            sa.select(Registration.id, Registration.user_id)
            .where(Registration.session_id == session_id, Registration.status == RegistrationStatus.WAITLISTED)
            .order_by(Registration.waitlisted_at, Registration.id).limit(1)).first()
        if cand is None or not _take_seat(session_id):
            break
        res = db.session.execute(
            sa.update(Registration)
            .where(Registration.id == cand.id, Registration.status == RegistrationStatus.WAITLISTED)
            .values(status=RegistrationStatus.REGISTERED, waitlisted_at=None)
            .execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]  # left the waitlist meanwhile
            _release_seat(session_id)
            continue
        promoted.append(cand.user_id)
        record("registration.promoted", actor=actor, target_type="registration", target_id=cand.id,
               session_id=session_id, user_id=cand.user_id)
        outbox.announce("registration.promoted", {"session_id": session_id, "user_id": cand.user_id}, actor=actor)
    if promoted:
        for reg in db.session.identity_map.values():
            if isinstance(reg, Registration) and reg.session_id == session_id:
                db.session.expire(reg)
    return promoted


# --- scheduling ---------------------------------------------------------------------------------

@dataclass
class SpeakerInput:
    name: str
    agency: str
    agency_other: str = ""


@dataclass
class SessionInput:
    title: str
    stage_key: str
    cohort_id: int | None
    region_id: int | None
    venue_name: str
    venue_address: str
    #: datetime-local values are WIB (naive); aware values are converted
    starts_at: datetime | None
    ends_at: datetime | None
    capacity: int | None
    description: str = ""
    speakers: list[SpeakerInput] = field(default_factory=list)
    #: more dates of a series: the same times on each
    extra_dates: list[date] = field(default_factory=list)
    #: the certificate design its attendees earn ("" or None: none; DEFAULT_CERTIFICATE: the step's first design)
    certificate_kind: str | None = DEFAULT_CERTIFICATE
    #: the coordinator records a session that already took place (a back-dated record)
    past: bool = False


@dataclass
class _Valid:
    cohort: Cohort
    region: Region
    speakers: list[tuple[str, SpeakerAgency, str]]
    occurrences: list[tuple[datetime, datetime]]
    certificate_kind: str | None = None


def _add(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def _validate(actor: Any, data: SessionInput, existing: TrainingSession | None, now: datetime,
              allow_past: bool = False) -> _Valid:
    errors: dict[str, list[str]] = {}
    title = " ".join((data.title or "").split())
    if not title:
        _add(errors, "title", _("Judul sesi wajib diisi."))
    elif len(title) > 200:
        _add(errors, "title", _("Judul sesi paling panjang 200 karakter."))

    cohort = db.session.get(Cohort, data.cohort_id) if data.cohort_id else None
    stage_ok = False
    if cohort is None or not permissions.can(actor, "cohort.view", cohort):
        _add(errors, "cohort_id", _("Pilih angkatan."))
        cohort = None
    elif data.stage_key not in programme.curriculum_for(cohort).stage_keys:
        _add(errors, "stage_key", _("Langkah ini tidak ada di kurikulum angkatan tersebut."))
    else:
        stage_ok = True

    kind = data.certificate_kind or None
    if kind == DEFAULT_CERTIFICATE:
        kind = default_certificate_kind(data.stage_key) if stage_ok else None
    elif kind is not None:
        design = next((d for d in certificate_designs() if d.kind == kind), None)
        if design is None:
            _add(errors, "certificate_kind", _("Pilih desain sertifikat yang tersedia, atau “Tanpa sertifikat”."))
        elif stage_ok and not design_allows(design, data.stage_key):
            _add(errors, "certificate_kind",
                 _("Sesi ini untuk tahap %(stage)s; desain “%(design)s” hanya untuk sesi %(stages)s. "
                   "Pilih desain lain atau “Tanpa sertifikat”.", stage=stage_label(cohort, data.stage_key),
                   design=design.label(_lang()), stages=stages_text(design, cohort)))

    region = db.session.get(Region, data.region_id) if data.region_id else None
    if region is None:
        _add(errors, "region_id", _("Pilih wilayah."))
    elif not (permissions.is_admin(actor) or permissions.in_region(actor, region.id)):
        _add(errors, "region_id", _("Wilayah ini di luar kewenangan Anda."))
    elif cohort is not None and region.id not in {r.id for r in cohort.regions}:
        _add(errors, "region_id", _("Wilayah ini bukan wilayah angkatan %(name)s.", name=cohort.name))

    if existing is not None and cohort is not None and region is not None and (
            cohort.id != existing.cohort_id or region.id != existing.region_id):
        taken = db.session.scalar(sa.select(sa.func.count()).select_from(Registration).where(
            Registration.session_id == existing.id, Registration.status.in_(ACTIVE))) or 0
        if taken:
            _add(errors, "region_id", _("Angkatan dan wilayah tidak bisa diubah: sudah ada peserta terdaftar."))

    if not (data.venue_name or "").strip():
        _add(errors, "venue_name", _("Nama tempat wajib diisi."))
    elif len(data.venue_name.strip()) > 200:
        _add(errors, "venue_name", _("Nama tempat paling panjang 200 karakter."))
    if len(data.venue_address or "") > 2000:
        _add(errors, "venue_address", _("Alamat terlalu panjang."))
    if len(data.description or "") > 5000:
        _add(errors, "description", _("Uraian terlalu panjang."))

    if data.capacity is None or data.capacity < 1:
        _add(errors, "capacity", _("Kapasitas minimal 1 orang."))
    elif data.capacity > MAX_CAPACITY:
        _add(errors, "capacity", _("Kapasitas paling banyak %(n)d orang.", n=MAX_CAPACITY))
    elif existing is not None and data.capacity < existing.seats_taken:
        _add(errors, "capacity", _("Kapasitas tidak boleh kurang dari peserta terdaftar (%(n)d orang).",
                                   n=existing.seats_taken))

    speakers: list[tuple[str, SpeakerAgency, str]] = []
    seen: set[str] = set()
    for sp in data.speakers:
        name = " ".join((sp.name or "").split())
        if not name:
            continue
        try:
            agency = SpeakerAgency(sp.agency)
        except ValueError:
            _add(errors, "speakers", _("Pilih instansi narasumber %(name)s.", name=name))
            continue
        other = " ".join((sp.agency_other or "").split())
        if agency is SpeakerAgency.OTHER and not other:
            _add(errors, "speakers", _("Tulis nama instansi narasumber %(name)s.", name=name))
        if len(name) > 160 or len(other) > 160:
            _add(errors, "speakers", _("Nama narasumber atau instansi terlalu panjang."))
        if fold(name) in seen:
            _add(errors, "speakers", _("Narasumber %(name)s tertulis dua kali.", name=name))
        seen.add(fold(name))
        speakers.append((name, agency, other if agency is SpeakerAgency.OTHER else ""))
    if len(speakers) > MAX_SPEAKERS:
        _add(errors, "speakers", _("Paling banyak %(n)d narasumber.", n=MAX_SPEAKERS))

    occurrences: list[tuple[datetime, datetime]] = []
    dates_ok = True
    for key, value, missing in (("starts_at", data.starts_at, _("Isi tanggal dan jam mulai.")),
                                ("ends_at", data.ends_at, _("Isi tanggal dan jam selesai."))):
        if value is None:
            _add(errors, key, missing)
            dates_ok = False
        elif (problem := _date_problem(value, now)) is not None:
            _add(errors, key, problem)
            dates_ok = False
    if dates_ok:
        assert data.starts_at is not None and data.ends_at is not None
        start, end = as_utc(data.starts_at), as_utc(data.ends_at)
        moved = existing is None or start != existing.starts_at
        past_ok = allow_past or data.past or (existing is not None and existing.backdated)
        if end <= start:
            _add(errors, "ends_at", _("Waktu selesai harus setelah waktu mulai."))
        elif end - start > MAX_DURATION:
            _add(errors, "ends_at", _("Satu sesi paling lama 24 jam; buat beberapa tanggal sebagai seri."))
        elif moved and start <= now and not past_ok:
            _add(errors, "starts_at", _("Waktu mulai sudah lewat. Untuk mencatat sesi yang sudah berlangsung, "
                                        "centang “Sesi ini sudah berlangsung”."))
        elif data.past and existing is None and start > now:
            _add(errors, "past", _("Waktu mulai belum lewat: hapus centang “Sesi ini sudah berlangsung” untuk "
                                   "menjadwalkan sesi yang akan datang."))
        else:
            occurrences.append((start, end))
            dates = list(dict.fromkeys(data.extra_dates))
            first_day = to_wib(start).date()
            if len(dates) > MAX_SERIES_DATES:
                _add(errors, "extra_dates", _("Paling banyak %(n)d tanggal tambahan.", n=MAX_SERIES_DATES))
            for d in dates:
                if (problem := _date_problem(datetime.combine(d, time(12)), now)) is not None:
                    _add(errors, "extra_dates", _("Tanggal %(d)s: %(problem)s", d=d.isoformat(), problem=problem))
                    continue
                if d == first_day:
                    _add(errors, "extra_dates", _("Tanggal %(d)s sama dengan tanggal sesi pertama.",
                                                  d=format_date(d, "medium")))
                    continue
                s = datetime.combine(d, to_wib(start).timetz().replace(tzinfo=None), tzinfo=WIB)
                s_utc = s.astimezone(timezone.utc)
                if s_utc <= now and not past_ok:
                    _add(errors, "extra_dates", _("Tanggal %(d)s sudah lewat.", d=format_date(d, "medium")))
                    continue
                occurrences.append((s_utc, s_utc + (end - start)))
            occurrences.sort()
            for (a_start, a_end), (b_start, _b_end) in zip(occurrences, occurrences[1:]):
                if b_start < a_end:
                    _add(errors, "extra_dates", _("Tanggal-tanggal seri ini bertumpang tindih."))
                    break
    if errors:
        raise Invalid(errors)

    # clashes with other scheduled sessions (cancelled sessions never clash)
    vkey = fold(data.venue_name)
    skeys = {fold(n): n for n, _a, _o in speakers}
    for start, end in occurrences:
        for message in _clashes(start, end, vkey, skeys, existing.id if existing else None):
            _add(errors, "", message)
    if errors:
        raise Invalid(errors)
    assert cohort is not None and region is not None
    return _Valid(cohort, region, speakers, occurrences, kind)


def _overlap(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(TrainingSession.status == SessionStatus.SCHEDULED, TrainingSession.starts_at < end,
                   TrainingSession.ends_at > start)


def _clashes(start: datetime, end: datetime, vkey: str, skeys: dict[str, str], exclude_id: int | None) -> list[str]:
    out: list[str] = []
    where = [_overlap(start, end)]
    if exclude_id is not None:
        where.append(TrainingSession.id != exclude_id)
    # few sessions overlap any given time: compare the folded venue names here, exactly
    for other in db.session.scalars(sa.select(TrainingSession).where(*where).order_by(TrainingSession.starts_at)):
        if fold(other.venue_name) == vkey:
            out.append(_("Tempat %(venue)s sudah dipakai sesi “%(title)s” pada %(when)s.", venue=other.venue_name,
                         title=other.title, when=when_text(other.starts_at, other.ends_at)))
    if skeys:
        rows = db.session.execute(
            sa.select(SessionSpeaker.name_key, TrainingSession)
            .join(TrainingSession, TrainingSession.id == SessionSpeaker.session_id)
            .where(*where, SessionSpeaker.name_key.in_(list(skeys)))
            .order_by(TrainingSession.starts_at)).all()
        for key, other in rows:
            out.append(_("Narasumber %(name)s sudah mengisi sesi “%(title)s” pada %(when)s.", name=skeys[key],
                         title=other.title, when=when_text(other.starts_at, other.ends_at)))
    return out


def _speakers(rows: list[tuple[str, SpeakerAgency, str]]) -> list[SessionSpeaker]:
    return [SessionSpeaker(name=n, name_key=fold(n), agency=a, agency_other=o, position=i)
            for i, (n, a, o) in enumerate(rows)]


def create_sessions(actor: Any, data: SessionInput, *, now: datetime | None = None,
                    allow_past: bool = False) -> list[TrainingSession]:
    """Schedule a session, or a series of them (``extra_dates``) sharing a series_id.

    ``data.past`` (or ``allow_past``) records sessions that already took place: each one that started
    before ``now`` is marked back-dated (registration closed, attendance open) and audited as
    ``session.backdated`` instead of ``session.created``."""
    if not permissions.can(actor, "sessions.create"):
        raise NotAllowed()
    now = now or utcnow()
    created: list[TrainingSession] = []
    with transaction():
        _lock_schedule()
        valid = _validate(actor, data, None, now, allow_past=allow_past)
        series_id = str(uuid.uuid4()) if len(valid.occurrences) > 1 else None
        for start, end in valid.occurrences:
            s = TrainingSession(
                title=" ".join(data.title.split()), stage_key=data.stage_key, cohort_id=valid.cohort.id,
                region_id=valid.region.id, venue_name=" ".join(data.venue_name.split()),
                venue_address=(data.venue_address or "").strip(), starts_at=start, ends_at=end,
                capacity=data.capacity, seats_taken=0, description=(data.description or "").strip(),
                status=SessionStatus.SCHEDULED, series_id=series_id, sequence=0,
                checkin_secret=secrets.token_hex(32), created_by_id=getattr(actor, "id", None),
                speakers=_speakers(valid.speakers), certificate_kind=valid.certificate_kind,
                backdated=start <= now)
            db.session.add(s)
            created.append(s)
        db.session.flush()
        for s in created:
            record("session.backdated" if s.backdated else "session.created", actor=actor, target=s, title=s.title,
                   region_id=s.region_id, starts_at=s.starts_at.isoformat(), ends_at=s.ends_at.isoformat(),
                   series_id=series_id, certificate_kind=s.certificate_kind)
            if not s.backdated:
                outbox.announce("session.created", {"session_id": s.id}, actor=actor)
    return created


def _snapshot(s: TrainingSession) -> dict[str, Any]:
    return {"title": s.title, "stage_key": s.stage_key, "cohort_id": s.cohort_id, "region_id": s.region_id,
            "venue_name": s.venue_name, "venue_address": s.venue_address, "starts_at": s.starts_at.isoformat(),
            "ends_at": s.ends_at.isoformat(), "capacity": s.capacity, "description": s.description,
            "speakers": [[sp.name, sp.agency.value, sp.agency_other] for sp in s.speakers],
            "certificate_kind": s.certificate_kind}


#: snapshot keys no calendar shows: changing only these does not raise the iCalendar SEQUENCE
NOT_IN_CALENDAR = {"certificate_kind"}


def update_session(actor: Any, session: TrainingSession, data: SessionInput, *,
                   now: datetime | None = None) -> TrainingSession:
    """Change one session. A change calendars must notice raises ``sequence``; more seats promote the waitlist."""
    if not permissions.can(actor, "session.manage", session):
        raise NotAllowed()
    now = now or utcnow()
    with transaction():
        _lock_schedule()
        session = _fresh(session.id, lock=True)
        if session.status is SessionStatus.CANCELLED:
            raise Invalid(_("Sesi ini sudah dibatalkan dan tidak bisa diubah."))
        data.extra_dates = []
        valid = _validate(actor, data, session, now)
        before = _snapshot(session)
        start, end = valid.occurrences[0]
        session.title = " ".join(data.title.split())
        session.stage_key = data.stage_key
        session.cohort_id, session.region_id = valid.cohort.id, valid.region.id
        session.venue_name = " ".join(data.venue_name.split())
        session.venue_address = (data.venue_address or "").strip()
        session.starts_at, session.ends_at = start, end
        more_seats = (data.capacity or 0) > session.capacity
        session.capacity = data.capacity  # type: ignore[assignment]
        session.description = (data.description or "").strip()
        session.certificate_kind = valid.certificate_kind
        if [(sp.name, sp.agency, sp.agency_other) for sp in session.speakers] != valid.speakers:
            session.speakers = _speakers(valid.speakers)
        after = _snapshot(session)
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if changes:
            if set(changes) - NOT_IN_CALENDAR:
                session.sequence += 1
            db.session.flush()
            record("session.updated", actor=actor, target=session, changes=changes, sequence=session.sequence)
            shown = sorted(set(changes) & {"starts_at", "ends_at", "venue_name", "venue_address", "title"})
            if shown and session.ends_at > now:
                outbox.announce("session.changed", {"session_id": session.id, "changed": shown}, actor=actor)
        if more_seats:
            _promote(session.id, actor)
            db.session.expire(session, ["seats_taken"])
    return session


def cancel_session(actor: Any, session: TrainingSession, *, now: datetime | None = None) -> TrainingSession:
    """Cancel: registrants keep their rows (their home page tells them); calendars get STATUS:CANCELLED."""
    if not permissions.can(actor, "session.manage", session):
        raise NotAllowed()
    with transaction():
        session = _fresh(session.id, lock=True)
        if session.status is SessionStatus.CANCELLED:
            return session
        session.status = SessionStatus.CANCELLED
        session.cancelled_at = now or utcnow()
        session.sequence += 1
        affected_ids = list(db.session.scalars(sa.select(Registration.user_id).where(
            Registration.session_id == session.id, Registration.status.in_(ACTIVE))))
        affected = len(affected_ids)
        db.session.flush()
        record("session.cancelled", actor=actor, target=session, registrants=affected)
        outbox.announce("session.cancelled", {"session_id": session.id, "user_ids": affected_ids}, actor=actor)
    return session


# --- registration -------------------------------------------------------------------------------

def _find(session_id: int, user_id: int, lock: bool = False) -> Registration | None:
    q = (sa.select(Registration).where(Registration.session_id == session_id, Registration.user_id == user_id)
         .execution_options(populate_existing=True))
    if lock:
        q = q.with_for_update()
    return db.session.scalar(q)


def _closed_reason(session: TrainingSession, now: datetime) -> str | None:
    if session.status is SessionStatus.CANCELLED:
        return _("Sesi ini dibatalkan.")
    if now >= session.starts_at:
        return _("Pendaftaran sudah ditutup karena sesi sudah dimulai.")
    return None


def registration_open(session: TrainingSession, now: datetime | None = None) -> bool:
    return _closed_reason(session, now or utcnow()) is None


def _group_closed_reason(session: TrainingSession, now: datetime) -> str | None:
    """A coordinator may register a group until the start, and into a back-dated record at any time."""
    if session.backdated and session.status is SessionStatus.SCHEDULED:
        return None
    return _closed_reason(session, now)


def group_registration_open(session: TrainingSession, now: datetime | None = None) -> bool:
    return _group_closed_reason(session, now or utcnow()) is None


def _clash_for(user_id: int, session: TrainingSession) -> TrainingSession | None:
    """Another scheduled session overlapping ``session`` that the user holds a place (or waitlist place) in."""
    return db.session.scalar(
        sa.select(TrainingSession).join(Registration, Registration.session_id == TrainingSession.id)
        .where(Registration.user_id == user_id, Registration.status.in_(ACTIVE), TrainingSession.id != session.id,
               _overlap(session.starts_at, session.ends_at))
        .order_by(TrainingSession.starts_at).limit(1))


def register(actor: Any, session: TrainingSession, *, now: datetime | None = None) -> Registration:
    """The trainee signs up: a seat when one is free, else the waitlist. Repeating it changes nothing."""
    if not permissions.can(actor, "session.register", session):
        raise NotAllowed()
    now = now or utcnow()
    try:
        with transaction():
            _lock_user(actor.id)
            session = _fresh(session.id)
            existing = _find(session.id, actor.id)
            if existing is not None and existing.status in ACTIVE:
                return existing
            reason = _closed_reason(session, now)
            if reason:
                raise Invalid(reason)
            if not rules.is_open_to(actor, session):
                raise Invalid(_("Sesi ini tidak terbuka untuk Anda: hanya untuk pengelola angkatan %(cohort)s "
                                "di %(region)s.", cohort=session.cohort.name, region=session.region.name))
            clash = _clash_for(actor.id, session)
            if clash is not None:
                raise Invalid(_("Waktunya bertabrakan dengan sesi “%(title)s” pada %(when)s yang sudah Anda ikuti.",
                                title=clash.title, when=when_text(clash.starts_at, clash.ends_at)))
            seated = _take_seat(session.id)
            reg = existing or Registration(session_id=session.id, user_id=actor.id)
            reg.status = RegistrationStatus.REGISTERED if seated else RegistrationStatus.WAITLISTED
            reg.waitlisted_at = None if seated else now
            reg.attendance = None
            reg.attendance_marked_at = None
            reg.attendance_marked_by_id = None
            reg.checked_in_by_qr = False
            if existing is None:
                db.session.add(reg)
            db.session.flush()
            record("registration.created" if existing is None else "registration.renewed", actor=actor, target=reg,
                   session_id=session.id, status=reg.status.value)
            outbox.announce("registration.confirmed" if seated else "registration.waitlisted",
                            {"session_id": session.id, "user_id": actor.id}, actor=actor)
    except IntegrityError:
        # a simultaneous submit of the same trainee won the insert: that row is the registration
        reg = _find(session.id, actor.id)
        if reg is None:
            raise
        return reg
    finally:
        db.session.expire(session, ["seats_taken"])
    return reg


def unregister(actor: Any, session: TrainingSession, *, now: datetime | None = None) -> list[int]:
    """The trainee gives up their place (or waitlist place); a freed seat goes to the waitlist's first."""
    if not permissions.can(actor, "session.register", session):
        raise NotAllowed()
    now = now or utcnow()
    with transaction():
        session = _fresh(session.id)
        if session.status is SessionStatus.SCHEDULED and now >= session.starts_at:
            raise Invalid(_("Sesi sudah dimulai; pendaftaran tidak bisa dibatalkan lagi."))
        reg = _find(session.id, actor.id, lock=True)
        if reg is None or reg.status is RegistrationStatus.CANCELLED:
            return []
        was = reg.status
        res = db.session.execute(
            sa.update(Registration).where(Registration.id == reg.id, Registration.status == was)
            .values(status=RegistrationStatus.CANCELLED, waitlisted_at=None)
            .execution_options(synchronize_session=False))
        db.session.expire(reg)
        promoted: list[int] = []
        if res.rowcount == 1:  # type: ignore[attr-defined]
            signals.seats_changed.send(db.session(), session_id=session.id)
            record("registration.cancelled", actor=actor, target_type="registration", target_id=reg.id,
                   session_id=session.id, was=was.value)
            outbox.announce("registration.cancelled", {"session_id": session.id, "user_id": actor.id}, actor=actor)
            if was is RegistrationStatus.REGISTERED:
                _release_seat(session.id)
                if session.status is SessionStatus.SCHEDULED:
                    promoted = _promote(session.id, actor)
        db.session.expire(session, ["seats_taken"])
    return promoted


@dataclass
class GroupResult:
    registered: int = 0
    waitlisted: int = 0
    already: int = 0
    #: trainees not registered because they hold an overlapping session
    clashing: list[User] = field(default_factory=list)


def group_candidates(actor: Any, session: TrainingSession, scope: str = GROUP_COHORT) -> sa.Select[tuple[User]]:
    """Actively enrolled trainees of the session's cohort whose outlet is in the session's region (in scope);
    with ``scope=GROUP_STEP`` only those whose current step is the session's step."""
    where = [Enrolment.cohort_id == session.cohort_id, Enrolment.status == EnrolmentStatus.ACTIVE,
             Outlet.region_id == session.region_id, Outlet.active.is_(True), User.active.is_(True),
             User.role == Role.TRAINEE, permissions.outlet_scope(actor, Outlet.id, Outlet.region_id)]
    if scope == GROUP_STEP:
        where.append(Enrolment.current_stage == session.stage_key)
    return (sa.select(User)
            .join(Enrolment, Enrolment.user_id == User.id)
            .join(Outlet, sa.and_(Outlet.id == Enrolment.outlet_id, Outlet.manager_id == User.id))
            .where(*where)
            .order_by(Outlet.code, User.id))


@dataclass
class GroupOption:
    """One choice of "Daftarkan": who it reaches and how many of them are not on the list yet."""

    scope: str
    #: everyone the choice covers
    total: int
    #: of them, not registered or waitlisted yet (the ones a registration would add)
    new: int


def group_options(actor: Any, session: TrainingSession) -> dict[str, GroupOption]:
    """The counts for each group choice (the session's step; the whole cohort in the region), in one query."""
    held = sa.select(Registration.user_id).where(Registration.session_id == session.id,
                                                 Registration.status.in_(ACTIVE))
    q = group_candidates(actor, session).order_by(None).with_only_columns(
        sa.func.count(sa.distinct(User.id)),
        sa.func.count(sa.distinct(sa.case((User.id.not_in(held), User.id)))),
        sa.func.count(sa.distinct(sa.case((Enrolment.current_stage == session.stage_key, User.id)))),
        sa.func.count(sa.distinct(sa.case((sa.and_(Enrolment.current_stage == session.stage_key,
                                                   User.id.not_in(held)), User.id)))))
    total, new, step_total, step_new = db.session.execute(q).one()
    return {GROUP_STEP: GroupOption(GROUP_STEP, step_total or 0, step_new or 0),
            GROUP_COHORT: GroupOption(GROUP_COHORT, total or 0, new or 0)}


def group_size(actor: Any, session: TrainingSession, scope: str = GROUP_COHORT) -> int:
    """How many trainees a group registration would reach (those not registered or waitlisted yet)."""
    return group_options(actor, session)[scope if scope in GROUP_SCOPES else GROUP_COHORT].new


def register_group(actor: Any, session: TrainingSession, *, scope: str = GROUP_COHORT,
                   now: datetime | None = None) -> GroupResult:
    """Register every actively enrolled trainee of the cohort in the session's region (``GROUP_COHORT``),
    or only those whose current step is the session's step (``GROUP_STEP``), in one step.

    Seats go in outlet-code order; the rest join the waitlist in that same order.
    """
    if scope not in GROUP_SCOPES:
        raise Invalid(_("Pilih siapa yang didaftarkan."))
    if not permissions.can(actor, "session.manage", session):
        raise NotAllowed()
    now = now or utcnow()
    result = GroupResult()
    with transaction():
        session = _fresh(session.id, lock=True)
        reason = _group_closed_reason(session, now)
        if reason:
            raise Invalid(reason)
        users = list(db.session.scalars(group_candidates(actor, session, scope)).unique())
        ids = [u.id for u in users]
        existing = {r.user_id: r for r in db.session.scalars(
            sa.select(Registration).where(Registration.session_id == session.id, Registration.user_id.in_(ids or [0])))}
        clashing = set(db.session.scalars(
            sa.select(Registration.user_id).join(TrainingSession, TrainingSession.id == Registration.session_id)
            .where(Registration.user_id.in_(ids or [0]), Registration.status.in_(ACTIVE),
                   TrainingSession.id != session.id, _overlap(session.starts_at, session.ends_at))))
        free = session.capacity - session.seats_taken
        changed: list[Registration] = []
        for i, u in enumerate(users):
            reg = existing.get(u.id)
            if reg is not None and reg.status in ACTIVE:
                result.already += 1
                continue
            if u.id in clashing:
                result.clashing.append(u)
                continue
            seated = free > 0
            if seated:
                free -= 1
                result.registered += 1
            else:
                result.waitlisted += 1
            if reg is None:
                reg = Registration(session_id=session.id, user_id=u.id)
                db.session.add(reg)
            reg.status = RegistrationStatus.REGISTERED if seated else RegistrationStatus.WAITLISTED
            # microseconds apart: the waitlist keeps the outlet-code order
            reg.waitlisted_at = None if seated else now + timedelta(microseconds=i)
            reg.attendance, reg.attendance_marked_at, reg.attendance_marked_by_id = None, None, None
            reg.checked_in_by_qr = False
            changed.append(reg)
        if result.registered and not _take_seat(session.id, result.registered):
            raise RuntimeError("the session's seats changed during a group registration")
        db.session.flush()
        db.session.expire(session, ["seats_taken"])
        if changed:
            record("session.group_registered", actor=actor, target=session, scope=scope, registered=result.registered,
                   waitlisted=result.waitlisted, already=result.already, clashing=[u.id for u in result.clashing])
            for reg in changed:
                outbox.announce("registration.confirmed" if reg.status is RegistrationStatus.REGISTERED
                                else "registration.waitlisted", {"session_id": session.id, "user_id": reg.user_id},
                                actor=actor)
    return result


# --- reading registrations ----------------------------------------------------------------------

def _position_expr() -> Any:
    other = sa.orm.aliased(Registration)
    return (sa.select(sa.func.count(other.id))
            .where(other.session_id == Registration.session_id, other.status == RegistrationStatus.WAITLISTED,
                   sa.or_(other.waitlisted_at < Registration.waitlisted_at,
                          sa.and_(other.waitlisted_at == Registration.waitlisted_at, other.id <= Registration.id)))
            .correlate(Registration).scalar_subquery())


@dataclass
class MyPlace:
    registration: Registration
    #: 1-based place on the waitlist (None unless waitlisted)
    position: int | None

    @property
    def status(self) -> str:
        return self.registration.status.value


def places_of(user: Any, session_ids: Iterable[int]) -> dict[int, MyPlace]:
    """The user's registration and waitlist position for each of ``session_ids`` (one query)."""
    ids = list(session_ids)
    if not ids or not getattr(user, "is_authenticated", False):
        return {}
    rows = db.session.execute(
        sa.select(Registration, sa.case((Registration.status == RegistrationStatus.WAITLISTED, _position_expr()),
                                        else_=None))
        .where(Registration.user_id == user.id, Registration.session_id.in_(ids))).all()
    return {reg.session_id: MyPlace(reg, pos) for reg, pos in rows}


def place_of(user: Any, session: TrainingSession) -> MyPlace | None:
    return places_of(user, [session.id]).get(session.id)


def waitlist_counts(session_ids: Iterable[int]) -> dict[int, int]:
    ids = list(session_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Registration.session_id, sa.func.count())
        .where(Registration.session_id.in_(ids), Registration.status == RegistrationStatus.WAITLISTED)
        .group_by(Registration.session_id)).all()
    return {sid: n for sid, n in rows}


@dataclass
class Roster:
    registered: list[Registration]
    waitlisted: list[Registration]

    @property
    def checked_in(self) -> int:
        return sum(1 for r in self.registered if r.checked_in_by_qr)

    def count(self, attendance: Attendance | None) -> int:
        return sum(1 for r in self.registered if r.attendance is attendance)


def roster(session: TrainingSession) -> Roster:
    """Registered and waitlisted people with their outlets, in two fixed queries."""
    rows = list(db.session.scalars(
        sa.select(Registration).join(User, User.id == Registration.user_id)
        .where(Registration.session_id == session.id, Registration.status.in_(ACTIVE))
        .options(joinedload(Registration.user).joinedload(User.managed_outlet))).unique())
    registered = sorted((r for r in rows if r.status is RegistrationStatus.REGISTERED),
                        key=lambda r: (r.user.full_name.lower(), r.id))
    waitlisted = sorted((r for r in rows if r.status is RegistrationStatus.WAITLISTED),
                        key=lambda r: (r.waitlisted_at or utcnow(), r.id))
    return Roster(registered, waitlisted)


def filter_registrations(registrations: Sequence[Registration], q: str) -> list[Registration]:
    """The registrations whose person's name, outlet code or outlet name contains ``q`` (case-insensitive)."""
    needle = fold(q)
    if not needle:
        return list(registrations)
    out = []
    for r in registrations:
        outlet = r.user.managed_outlet
        hay = fold(" ".join([r.user.full_name, outlet.code if outlet else "", outlet.name if outlet else ""]))
        if needle in hay:
            out.append(r)
    return out


# --- schedule lists and the month calendar -------------------------------------------------------

def month_bounds(month: date) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    nxt = (first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1))
    return wib_day_start(first), wib_day_start(nxt)


#: the schedule's two tabs: sessions not over yet (earliest first) and sessions that ended (latest first)
UPCOMING = "upcoming"
PAST = "past"


def _schedule_where(actor: Any, region_id: int | None, stage: str | None, month: date | None,
                    now: datetime, when: str = UPCOMING) -> list[Any]:
    where: list[Any] = [rules.session_scope(actor)]
    if region_id:
        where.append(TrainingSession.region_id == region_id)
    if stage:
        where.append(TrainingSession.stage_key == stage)
    if month is not None:
        lo, hi = month_bounds(month)
        where += [TrainingSession.starts_at >= lo, TrainingSession.starts_at < hi]
    elif when == PAST:
        where.append(TrainingSession.ends_at < now)
    else:
        where.append(TrainingSession.ends_at >= now)
    return where


def _eager(q: sa.Select[Any]) -> sa.Select[Any]:
    return q.options(joinedload(TrainingSession.region), joinedload(TrainingSession.cohort),
                     selectinload(TrainingSession.speakers))


def schedule(actor: Any, *, region_id: int | None = None, stage: str | None = None, month: date | None = None,
             when: str = UPCOMING, page: int = 1, per_page: int = 25,
             now: datetime | None = None) -> tuple[list[TrainingSession], int]:
    """Sessions the actor may see, with the total: upcoming (not ended) earliest first, or ``PAST`` (ended)
    latest first; with ``month`` that month's, earliest first."""
    now = now or utcnow()
    where = _schedule_where(actor, region_id, stage, month, now, when)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession).where(*where)) or 0
    order = ((TrainingSession.starts_at.desc(), TrainingSession.id.desc()) if when == PAST and month is None
             else (TrainingSession.starts_at, TrainingSession.id))
    rows = db.session.scalars(_eager(sa.select(TrainingSession).where(*where))
                              .order_by(*order)
                              .limit(per_page).offset((max(page, 1) - 1) * per_page)).unique().all()
    return list(rows), total


def schedule_counts(actor: Any, *, region_id: int | None = None, stage: str | None = None,
                    now: datetime | None = None) -> dict[str, int]:
    """How many sessions each tab holds (one query)."""
    now = now or utcnow()
    where = _schedule_where(actor, region_id, stage, None, now)[:-1]  # without the upcoming condition
    upcoming, past = db.session.execute(
        sa.select(sa.func.count(sa.case((TrainingSession.ends_at >= now, TrainingSession.id))),
                  sa.func.count(sa.case((TrainingSession.ends_at < now, TrainingSession.id))))
        .select_from(TrainingSession).where(*where)).one()
    return {UPCOMING: upcoming or 0, PAST: past or 0}


def month_sessions(actor: Any, month: date, *, region_id: int | None = None,
                   stage: str | None = None) -> list[TrainingSession]:
    where = _schedule_where(actor, region_id, stage, month, utcnow())
    return list(db.session.scalars(_eager(sa.select(TrainingSession).where(*where))
                                   .order_by(TrainingSession.starts_at, TrainingSession.id)).unique())


@dataclass
class Day:
    date: date
    in_month: bool
    sessions: list[TrainingSession]
    today: bool = False


def month_grid(month: date, sessions: Sequence[TrainingSession], today: date | None = None) -> list[list[Day]]:
    """Weeks (Monday first) of the month, each day with its sessions (by WIB start date)."""
    by_day: dict[date, list[TrainingSession]] = {}
    for s in sessions:
        by_day.setdefault(to_wib(s.starts_at).date(), []).append(s)
    today = today or to_wib(utcnow()).date()
    weeks = _calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    return [[Day(d, d.month == month.month, by_day.get(d, []), d == today) for d in week] for week in weeks]


def session_detail(session_id: int) -> TrainingSession | None:
    return db.session.scalar(_eager(sa.select(TrainingSession).where(TrainingSession.id == session_id)))


# --- attendance -------------------------------------------------------------------------------

def attendance_opens(session: TrainingSession) -> datetime:
    return _plus(session.starts_at, -CHECKIN_MARGIN)


def save_attendance(actor: Any, session: TrainingSession, marks: dict[int, str | None], *,
                    all_present: bool = False, now: datetime | None = None) -> int:
    """Record attendance of the registered people in one transaction; progress follows at once.

    ``marks`` maps registration id to present/late/excused/absent; a registration not in it keeps
    its mark. ``all_present`` marks everyone present. Returns the number of marks changed.
    """
    if not permissions.can(actor, "session.manage", session):
        raise NotAllowed()
    now = now or utcnow()
    if session.status is SessionStatus.CANCELLED:
        raise Invalid(_("Sesi ini dibatalkan; presensi tidak dicatat."))
    if now < attendance_opens(session):
        raise Invalid(_("Presensi baru bisa diisi mulai %(when)s.", when=wib_minute(attendance_opens(session))))
    parsed: dict[int, Attendance] = {}
    for rid, raw in marks.items():
        if raw in (None, ""):
            continue
        try:
            parsed[rid] = Attendance(raw)
        except ValueError:
            raise Invalid(_("Pilihan presensi tidak dikenal.")) from None
    with transaction():
        regs = list(db.session.scalars(sa.select(Registration).where(
            Registration.session_id == session.id, Registration.status == RegistrationStatus.REGISTERED)))
        changed: list[int] = []
        for r in regs:
            new = Attendance.PRESENT if all_present else parsed.get(r.id, r.attendance)
            if new is not r.attendance:
                r.attendance = new
                r.attendance_marked_at = now
                r.attendance_marked_by_id = getattr(actor, "id", None)
                changed.append(r.user_id)
        if changed:
            db.session.flush()
            programme.refresh_for_users(changed)
            counts: dict[str, int] = {}
            for r in regs:
                key = r.attendance.value if r.attendance else "unmarked"
                counts[key] = counts.get(key, 0) + 1
            record("session.attendance_saved", actor=actor, target=session, changed=len(changed), counts=counts)
            present = [r.user_id for r in regs if r.user_id in set(changed)
                       and r.attendance in (Attendance.PRESENT, Attendance.LATE)]
            if present:
                outbox.announce("attendance.recorded", {"session_id": session.id, "user_ids": present}, actor=actor)
    return len(changed)


# --- QR self check-in ---------------------------------------------------------------------------

class CheckinRefused(DomainError):
    """A check-in that cannot be accepted; ``message`` says why, ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 403):
        self.message = message
        self.status = status
        super().__init__(message)


def _plus(value: datetime, delta: timedelta) -> datetime:
    """``value + delta``, held at the ends of the calendar (a stored year 1 or 9999 must not break a page)."""
    try:
        return value + delta
    except OverflowError:
        return (datetime.max if delta > timedelta(0) else datetime.min).replace(tzinfo=value.tzinfo)


def checkin_window(session: TrainingSession) -> tuple[datetime, datetime]:
    return _plus(session.starts_at, -CHECKIN_MARGIN), _plus(session.ends_at, CHECKIN_MARGIN)


def in_checkin_window(session: TrainingSession, now: datetime | None = None) -> bool:
    opens, closes = checkin_window(session)
    return opens <= (now or utcnow()) <= closes


def checkin_step(now: datetime | None = None) -> int:
    return int((now or utcnow()).timestamp()) // CHECKIN_STEP


def checkin_token(session: TrainingSession, step: int) -> str:
    """Truncated HMAC-SHA256 of (session id, time step) under the session's own secret."""
    mac = hmac.new(session.checkin_secret.encode(), f"{session.id}:{step}".encode(), hashlib.sha256)
    return mac.hexdigest()[:CHECKIN_TOKEN_LENGTH]


def token_valid(session: TrainingSession, token: str, now: datetime | None = None) -> bool:
    """The code of the current or the previous time step."""
    step = checkin_step(now)
    token = (token or "")[:64]
    return any(hmac.compare_digest(token, checkin_token(session, step - k)) for k in (0, 1))


def base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def checkin_url(session: TrainingSession, now: datetime | None = None) -> str:
    """The URL the QR code carries: always built from BASE_URL, never from the request's host."""
    return f"{base_url()}/checkin/{session.id}/{checkin_token(session, checkin_step(now))}"


def qr_svg(data: str) -> bytes:
    import io

    import segno

    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=10, border=2, xmldecl=False,
                                     title=str(_l("Kode QR check-in")))
    return out.getvalue()


def _ticket_serializer():  # type: ignore[no-untyped-def]
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.secret_key, salt="lms.sessions.checkin")  # type: ignore[arg-type]


def checkin_ticket(actor: Any, session: TrainingSession) -> str:
    """Proof that the trainee opened a valid code: the confirm button works for a few minutes."""
    return _ticket_serializer().dumps([session.id, actor.id])


def _ticket_ok(actor: Any, session: TrainingSession, ticket: str | None) -> bool:
    from itsdangerous import BadData

    if not ticket:
        return False
    try:
        sid, uid = _ticket_serializer().loads(ticket, max_age=CHECKIN_TICKET_SECONDS)
    except (BadData, ValueError, TypeError):
        return False
    return sid == session.id and uid == actor.id


def checkin_problem(actor: Any, session: TrainingSession, token: str, *, ticket: str | None = None,
                    now: datetime | None = None) -> CheckinRefused | None:
    """Why this check-in cannot be accepted (None: it can)."""
    now = now or utcnow()
    if getattr(actor, "role", None) is not Role.TRAINEE:
        return CheckinRefused(_("Check-in hanya untuk pengelola e-Warong yang terdaftar di sesi ini."), 403)
    if session.status is SessionStatus.CANCELLED:
        return CheckinRefused(_("Sesi ini dibatalkan."), 403)
    opens, closes = checkin_window(session)
    if not opens <= now <= closes:
        return CheckinRefused(_("Check-in sesi ini hanya bisa dari %(opens)s sampai %(closes)s.",
                                opens=wib_minute(opens), closes=wib_minute(closes)), 403)
    if not token_valid(session, token, now) and not _ticket_ok(actor, session, ticket):
        return CheckinRefused(_("Kode QR ini sudah kedaluwarsa atau bukan untuk sesi ini. "
                                "Pindai ulang kode yang tampil di layar."), 400)
    place = place_of(actor, session)
    if place is None or place.registration.status is RegistrationStatus.CANCELLED:
        return CheckinRefused(_("Anda tidak terdaftar di sesi ini. Hubungi koordinator di lokasi."), 403)
    if place.registration.status is RegistrationStatus.WAITLISTED:
        return CheckinRefused(_("Anda masih di daftar tunggu (urutan %(n)d) dan belum mendapat kursi. "
                                "Hubungi koordinator di lokasi.", n=place.position or 0), 403)
    return None


def check_in(actor: Any, session: TrainingSession, token: str, *, ticket: str | None = None,
             now: datetime | None = None) -> Registration:
    """Self check-in: present (a late or present mark stays), checked in by QR; progress follows."""
    now = now or utcnow()
    problem = checkin_problem(actor, session, token, ticket=ticket, now=now)
    if problem is not None:
        raise problem
    with transaction():
        reg = _find(session.id, actor.id, lock=True)
        if reg is None or reg.status is not RegistrationStatus.REGISTERED:
            raise CheckinRefused(_("Anda tidak terdaftar di sesi ini. Hubungi koordinator di lokasi."), 403)
        first = not reg.checked_in_by_qr
        if reg.attendance not in ATTENDED:
            reg.attendance = Attendance.PRESENT
            reg.attendance_marked_at = now
            reg.attendance_marked_by_id = actor.id
        reg.checked_in_by_qr = True
        db.session.flush()
        programme.refresh_for_users([actor.id])
        if first:
            record("registration.checked_in", actor=actor, target=reg, session_id=session.id)
    return reg


# --- calendars (RFC 5545) -------------------------------------------------------------------------

def _host() -> str:
    return urlsplit(base_url()).hostname or "localhost"


def session_url(session: TrainingSession) -> str:
    return f"{base_url()}/sessions/{session.id}"


def _description(s: TrainingSession, stage_names: dict[str, str]) -> str:
    lines = [stage_names.get(s.stage_key, s.stage_key)]
    if s.speakers:
        lines.append(_("Narasumber:"))
        lines += [f"- {speaker_label(sp)}" for sp in s.speakers]
    if s.description:
        lines += ["", s.description]
    if s.status is SessionStatus.CANCELLED:
        lines += ["", _("Sesi ini dibatalkan.")]
    lines += ["", session_url(s)]
    return "\n".join(lines)


def ics(sessions: Sequence[TrainingSession], *, name: str, tentative: Iterable[int] = ()) -> bytes:
    """An iCalendar document: one VEVENT per session, TZID Asia/Jakarta with its VTIMEZONE."""
    import icalendar

    tentative = set(tentative)
    stage_names = {s.key: s.name.get(_lang()) for s in programme.default_curriculum().stages}
    cal = icalendar.Calendar.new(prodid="-//Dinas Sosial DKI Jakarta//7 PAS LMS//ID", name=name,
                                 uid=f"calendar-{fold(name).replace(' ', '-')}@{_host()}")
    stamp = utcnow().replace(microsecond=0)
    for s in sessions:
        if s.status is SessionStatus.CANCELLED:
            status = "CANCELLED"
        elif s.id in tentative:
            status = "TENTATIVE"
        else:
            status = "CONFIRMED"
        location = ", ".join(p for p in (s.venue_name, " ".join((s.venue_address or "").split())) if p)
        try:
            start, end = to_wib(s.starts_at), to_wib(s.ends_at)
        except (OverflowError, ValueError):  # a stored date at the end of the calendar: kept in UTC
            start, end = s.starts_at, s.ends_at
        ev = icalendar.Event.new(
            uid=f"session-{s.id}@{_host()}", start=start, end=end, stamp=stamp,
            sequence=s.sequence, summary=s.title, location=location, description=_description(s, stage_names),
            status=status, url=session_url(s), created=s.created_at.replace(microsecond=0),
            last_modified=s.updated_at.replace(microsecond=0))
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc else "id"


def feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_of(actor: Any) -> CalendarFeed | None:
    return db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == actor.id))


def feed_url(token: str) -> str:
    return f"{base_url()}/calendar/{token}.ics"


def create_feed(actor: Any) -> str:
    """A new secret feed URL token (256 bits); any earlier URL of the user stops working. Only its hash is kept."""
    if not permissions.can(actor, "calendar.feed"):
        raise NotAllowed()
    token = secrets.token_urlsafe(32)
    with transaction():
        feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == actor.id).with_for_update())
        rotated = feed is not None
        if feed is None:
            feed = CalendarFeed(user_id=actor.id)
            db.session.add(feed)
        feed.token_hash = feed_hash(token)
        feed.created_at = utcnow()
        db.session.flush()
        record("calendar_feed.rotated" if rotated else "calendar_feed.created", actor=actor, target=feed)
    return token


def revoke_feed(actor: Any) -> bool:
    with transaction():
        feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == actor.id))
        if feed is None:
            return False
        record("calendar_feed.revoked", actor=actor, target=feed)
        db.session.delete(feed)
    return True


def feed_owner(token: str) -> User | None:
    if not token or len(token) > 128:
        return None
    return db.session.scalar(sa.select(User).join(CalendarFeed, CalendarFeed.user_id == User.id)
                             .where(CalendarFeed.token_hash == feed_hash(token), User.active.is_(True)))


def feed_sessions(user: User, now: datetime | None = None) -> tuple[list[TrainingSession], set[int]]:
    """A trainee's registered sessions (waitlisted ones tentative); staff: the sessions of their scope."""
    now = now or utcnow()
    if user.role is Role.TRAINEE:
        rows = db.session.execute(_eager(
            sa.select(TrainingSession, Registration.status)
            .join(Registration, Registration.session_id == TrainingSession.id)
            .where(Registration.user_id == user.id, Registration.status.in_(ACTIVE)))
            .order_by(TrainingSession.starts_at)).unique().all()
        return [s for s, _st in rows], {s.id for s, st in rows if st is RegistrationStatus.WAITLISTED}
    rows2 = db.session.scalars(_eager(
        sa.select(TrainingSession).where(rules.session_scope(user), TrainingSession.ends_at >= now - FEED_HISTORY))
        .order_by(TrainingSession.starts_at)).unique().all()
    return list(rows2), set()


# --- the trainee's home page ----------------------------------------------------------------------

def trainee_home(user: User, now: datetime | None = None) -> dict[str, Any]:
    """My upcoming sessions (with waitlist places), cancelled sessions to tell me about, open sessions count."""
    now = now or utcnow()
    rows = db.session.execute(_eager(
        sa.select(TrainingSession, Registration.id)
        .join(Registration, Registration.session_id == TrainingSession.id)
        .where(Registration.user_id == user.id, Registration.status.in_(ACTIVE),
               sa.or_(sa.and_(TrainingSession.status == SessionStatus.SCHEDULED, TrainingSession.ends_at >= now),
                      sa.and_(TrainingSession.status == SessionStatus.CANCELLED,
                              TrainingSession.starts_at >= now - CANCELLED_NOTICE))))
        .order_by(TrainingSession.starts_at)).unique().all()
    upcoming = [s for s, _r in rows if s.status is SessionStatus.SCHEDULED]
    cancelled = [s for s, _r in rows if s.status is SessionStatus.CANCELLED]
    places = places_of(user, [s.id for s in upcoming])
    open_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(TrainingSession)
        .where(rules.open_scope(user), TrainingSession.status == SessionStatus.SCHEDULED,
               TrainingSession.starts_at > now,
               TrainingSession.id.not_in(sa.select(Registration.session_id).where(
                   Registration.user_id == user.id, Registration.status.in_(ACTIVE))))) or 0
    return {"upcoming_sessions": [(s, places.get(s.id)) for s in upcoming], "cancelled_sessions": cancelled,
            "open_session_count": open_count}
