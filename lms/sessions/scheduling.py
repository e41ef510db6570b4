"""Scheduling: creating (also back-dated and as a series), changing and cancelling sessions, with clash checks.
"""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any
import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _
from .. import permissions
from .. import outbox
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..i18n import WIB, to_wib
from ..places.models import Region
from ..programme import services as programme
from ..programme.models import Cohort
from .models import Registration, SessionSpeaker, SessionStatus, SpeakerAgency, TrainingSession
from .common import ACTIVE, DEFAULT_CERTIFICATE, MAX_CAPACITY, MAX_DURATION, MAX_SERIES_DATES, MAX_SPEAKERS, _date_problem, _fresh, _lang, _lock_schedule, as_utc, certificate_designs, default_certificate_kind, design_allows, fold, stage_label, stages_text, when_text
from .seats import _promote


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
    #: the co-hosting agencies its certificates print ("diselenggarakan oleh"); None or empty: its speakers' agencies
    organisers: list[str] | None = None


@dataclass
class _Valid:
    cohort: Cohort
    region: Region
    speakers: list[tuple[str, SpeakerAgency, str]]
    occurrences: list[tuple[datetime, datetime]]
    certificate_kind: str | None = None
    organisers: list[str] | None = None


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
    from .organisers import clean as clean_organisers

    organisers, problems = clean_organisers(data.organisers)
    for problem in problems:
        _add(errors, "organisers", problem)

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
    return _Valid(cohort, region, speakers, occurrences, kind, organisers)


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
                backdated=start <= now, organisers=valid.organisers)
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
            "certificate_kind": s.certificate_kind, "organisers": s.organisers}


#: snapshot keys no calendar shows: changing only these does not raise the iCalendar SEQUENCE
NOT_IN_CALENDAR = {"certificate_kind", "organisers"}


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
        session.organisers = valid.organisers
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
