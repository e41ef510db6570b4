"""Mentor caseloads, field visits (pendampingan), their action items, the outlet timeline,
the coordinator's overview and the CSV export.

Every function takes the acting user explicitly and writes inside one ``transaction()``.
Lists are read in a fixed number of queries whatever the caseload or region size.
Times are stored in UTC; "days" and "months" are WIB calendar days and months.
"""
from __future__ import annotations

import math
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Iterator, Sequence

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from .. import permissions
from .. import outbox
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..forms_common import int_or_none
from ..files import JPEG, PNG, CheckedUpload, open_stored, reencode_image, store
from ..i18n import WIB, to_wib, wib_date
from ..people.models import Role, User
from ..places.models import Kecamatan, Outlet, Region
from ..programme import services as programme
from ..programme.models import Cohort, Enrolment, EnrolmentStage, EnrolmentStatus, Evidence, EvidenceReview
from .models import MAX_ACCURACY_M, ActionItem, MentorAssignment, Visit, VisitKind, VisitPhoto

#: photos per visit
MAX_PHOTOS = 5
PHOTO_TYPES = (JPEG, PNG)
#: a phone's clock may run a little ahead of the server's
FUTURE_TOLERANCE = timedelta(minutes=10)
MAX_DURATION_MINUTES = 12 * 60
MAX_ACTION_ITEMS = 10
CLIENT_KEY_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
#: dates outside these years are typing mistakes (and year 1 cannot even be shifted to UTC)
SANE_YEARS = (2000, 2100)
#: the earliest day a visit can be logged for: the programme began in 2018
EARLIEST_VISIT = date(2018, 1, 1)
#: the next visit and an action item's deadline fall within this many days of the visit
PLAN_DAYS = 365


# --- WIB calendar --------------------------------------------------------------------------

def wib_today(now: datetime | None = None) -> date:
    return to_wib(now or utcnow()).date()


def wib_start_utc(day: date) -> datetime:
    """00:00 WIB of ``day`` as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=WIB).astimezone(timezone.utc)


def days_since_wib(then: datetime, now: datetime) -> int:
    """Whole WIB calendar days from ``then`` to ``now`` (23:30 and 00:30 WIB are a day apart)."""
    return (to_wib(now).date() - to_wib(then).date()).days


def is_overdue(last_visit_at: datetime | None, assigned_at: datetime | None, overdue_days: int,
               now: datetime) -> bool:
    """No visit within ``overdue_days`` WIB calendar days.

    Counted from the last visit; an outlet never visited counts from its assignment to the
    mentor (so it is overdue once assigned ``overdue_days`` days ago). Without either there is
    nothing to count from: not overdue (the outlet shows as never visited and unassigned).
    """
    ref = last_visit_at or assigned_at
    if ref is None:
        return False
    return days_since_wib(ref, now) >= overdue_days


def months_back(today: date, n: int = 6) -> list[date]:
    """The first days of the last ``n`` months, oldest first, ending with ``today``'s month."""
    y, m = today.year, today.month
    out = []
    for _i in range(n):
        out.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return list(reversed(out))


# --- outlet status: last visit, next planned, open action items, overdue ---------------------

@dataclass
class OutletStatus:
    outlet: Outlet
    assignment: MentorAssignment | None
    last_visit_at: datetime | None
    next_visit_on: date | None
    open_actions: int
    past_due_actions: int
    overdue_days: int
    overdue: bool
    #: WIB days since the last visit (or since the assignment when never visited)
    days_since: int | None

    @property
    def never_visited(self) -> bool:
        return self.last_visit_at is None

    @property
    def mentor(self) -> User | None:
        return self.assignment.mentor if self.assignment else None


def _latest_visits(outlet_ids: sa.Select[Any]) -> dict[int, tuple[datetime, date | None]]:
    rn = sa.func.row_number().over(partition_by=Visit.outlet_id,
                                   order_by=(Visit.visited_at.desc(), Visit.id.desc())).label("rn")
    sub = (sa.select(Visit.outlet_id, Visit.visited_at, Visit.next_visit_on, rn)
           .where(Visit.outlet_id.in_(outlet_ids)).subquery())
    rows = db.session.execute(sa.select(sub.c.outlet_id, sub.c.visited_at, sub.c.next_visit_on)
                              .where(sub.c.rn == 1)).all()
    return {oid: (at, nxt) for oid, at, nxt in rows}


def _action_counts(outlet_ids: sa.Select[Any], today: date) -> dict[int, tuple[int, int]]:
    rows = db.session.execute(
        sa.select(ActionItem.outlet_id, sa.func.count(ActionItem.id),
                  sa.func.sum(sa.case((ActionItem.due_on < today, 1), else_=0)))
        .where(ActionItem.outlet_id.in_(outlet_ids), ActionItem.done_at.is_(None))
        .group_by(ActionItem.outlet_id)).all()
    return {oid: (int(n), int(late or 0)) for oid, n, late in rows}


def overdue_days_for(outlet_ids: sa.Select[Any]) -> dict[int, int]:
    """``curriculum_for_outlet(id).visit_overdue_days`` for many outlets in one query.

    Outlets without an active enrolment are missing from the result: use the default curriculum.
    """
    rows = db.session.execute(
        sa.select(Enrolment.outlet_id, Cohort.curriculum_key)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Enrolment.outlet_id.in_(outlet_ids), Enrolment.status == EnrolmentStatus.ACTIVE)
        .order_by(Enrolment.started_at, Enrolment.id)).all()
    curricula = programme.curricula()
    default = programme.default_curriculum()
    out: dict[int, int] = {}
    for oid, key in rows:  # the latest enrolment wins, as in curriculum_for_outlet
        out[oid] = (curricula.get(key) or default).visit_overdue_days
    return out


def outlet_statuses(where: Any, now: datetime | None = None) -> list[OutletStatus]:
    """The status of every outlet matching ``where`` (an SQL condition on Outlet), in five queries."""
    now = now or utcnow()
    today = wib_today(now)
    ids = sa.select(Outlet.id).where(where)
    rows = db.session.execute(
        sa.select(Outlet, MentorAssignment)
        .outerjoin(MentorAssignment, sa.and_(MentorAssignment.outlet_id == Outlet.id,
                                             MentorAssignment.ended_at.is_(None)))
        .where(where)
        .options(joinedload(Outlet.manager), joinedload(Outlet.kecamatan), joinedload(Outlet.region),
                 joinedload(MentorAssignment.mentor))
        .order_by(Outlet.code)).all()
    latest = _latest_visits(ids)
    counts = _action_counts(ids, today)
    days = overdue_days_for(ids)
    default_days = programme.default_curriculum().visit_overdue_days
    out = []
    for outlet, assignment in rows:
        last, nxt = latest.get(outlet.id, (None, None))
        limit = days.get(outlet.id, default_days)
        ref = last or (assignment.started_at if assignment else None)
        n_open, n_late = counts.get(outlet.id, (0, 0))
        out.append(OutletStatus(
            outlet=outlet, assignment=assignment, last_visit_at=last, next_visit_on=nxt, open_actions=n_open,
            past_due_actions=n_late, overdue_days=limit,
            overdue=is_overdue(last, assignment.started_at if assignment else None, limit, now),
            days_since=days_since_wib(ref, now) if ref else None))
    return out


def caseload(mentor: User, now: datetime | None = None) -> list[OutletStatus]:
    """The mentor's current caseload: overdue first, then the longest without a visit."""
    ids = sa.select(MentorAssignment.outlet_id).where(MentorAssignment.mentor_id == mentor.id,
                                                      MentorAssignment.ended_at.is_(None))
    rows = outlet_statuses(sa.and_(Outlet.id.in_(ids), Outlet.active.is_(True)), now)
    rows.sort(key=lambda s: (not s.overdue, -(s.days_since or 0), s.outlet.code))
    return rows


def caseload_outlets(mentor: User) -> list[Outlet]:
    """Active outlets in the mentor's caseload, for the visit form's select."""
    ids = sa.select(MentorAssignment.outlet_id).where(MentorAssignment.mentor_id == mentor.id,
                                                      MentorAssignment.ended_at.is_(None))
    return list(db.session.scalars(sa.select(Outlet).where(Outlet.id.in_(ids), Outlet.active.is_(True))
                                   .order_by(Outlet.code)))


# --- caseload management (coordinators) ------------------------------------------------------

def _region_where(actor: Any, region_col: Any, region_id: int | None) -> Any:
    conds = [permissions.outlet_scope(actor, region_id=region_col)]
    if region_id:
        conds.append(region_col == region_id)
    return sa.and_(*conds)


def assignable_outlets(actor: Any, region_id: int | None = None, unassigned_only: bool = False
                       ) -> list[tuple[Outlet, MentorAssignment | None]]:
    """Outlets the actor may assign, with their current assignment (and mentor)."""
    if not permissions.can(actor, "caseloads.manage"):
        raise NotAllowed()
    q = (sa.select(Outlet, MentorAssignment)
         .outerjoin(MentorAssignment, sa.and_(MentorAssignment.outlet_id == Outlet.id,
                                              MentorAssignment.ended_at.is_(None)))
         .where(_region_where(actor, Outlet.region_id, region_id), Outlet.active.is_(True))
         .options(joinedload(Outlet.kecamatan), joinedload(Outlet.region), joinedload(MentorAssignment.mentor))
         .order_by(Outlet.code))
    if unassigned_only:
        q = q.where(MentorAssignment.id.is_(None))
    return [(o, a) for o, a in db.session.execute(q).all()]


def mentors_for(actor: Any, region_id: int | None = None) -> list[User]:
    """Active mentors in the actor's regions."""
    return list(db.session.scalars(
        sa.select(User).where(User.role == Role.MENTOR, User.active.is_(True),
                              _region_where(actor, User.region_id, region_id))
        .options(joinedload(User.region)).order_by(User.region_id, User.full_name)))


def assign_mentor(actor: Any, outlet_ids: Iterable[int], mentor_id: int | None, *, ip: str | None = None,
                  now: datetime | None = None) -> int:
    """Put the outlets in the mentor's caseload (ending any other mentor's). Returns how many changed.

    ``mentor_id`` None releases the outlets (ends their assignment without a new one).
    History is kept: the open assignment is ended and a new one opened.
    """
    now = now or utcnow()
    ids = sorted({int(i) for i in outlet_ids})
    if not ids:
        raise Invalid({"outlet_ids": [_("Pilih minimal satu e-Warong.")]})
    try:
        with transaction():
            outlets = list(db.session.scalars(sa.select(Outlet).where(Outlet.id.in_(ids))
                                              .options(joinedload(Outlet.region))))
            if len(outlets) != len(ids) or not all(permissions.can(actor, "outlet.assign_mentor", o) for o in outlets):
                raise NotAllowed()
            mentor = None
            if mentor_id is not None:
                mentor = db.session.get(User, mentor_id)
                if mentor is None or mentor.role is not Role.MENTOR or not mentor.active:
                    raise Invalid({"mentor_id": [_("Pilih pendamping yang aktif.")]})
                wrong = [o.code for o in outlets if o.region_id != mentor.region_id]
                if wrong:
                    raise Invalid({"mentor_id": [_(
                        "Pendamping hanya dapat ditugaskan di wilayahnya sendiri. Di luar wilayahnya: %(codes)s.",
                        codes=", ".join(wrong))]})
            q = sa.select(MentorAssignment).where(MentorAssignment.outlet_id.in_(ids),
                                                  MentorAssignment.ended_at.is_(None))
            if db.session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update()
            open_rows = {a.outlet_id: a for a in db.session.scalars(q)}
            changed = 0
            for outlet in outlets:
                current = open_rows.get(outlet.id)
                if current is not None and mentor is not None and current.mentor_id == mentor.id:
                    continue
                if current is None and mentor is None:
                    continue
                if current is not None:
                    current.ended_at = now
                    db.session.flush()  # the partial unique index allows one open row per outlet
                if mentor is not None:
                    db.session.add(MentorAssignment(outlet_id=outlet.id, mentor_id=mentor.id, started_at=now,
                                                    assigned_by_id=getattr(actor, "id", None)))
                record("mentor.assigned" if mentor else "mentor.released", actor=actor, target=outlet, ip=ip,
                       mentor_id=mentor.id if mentor else None,
                       previous_mentor_id=current.mentor_id if current else None)
                changed += 1
            db.session.flush()
    except IntegrityError:
        # another coordinator changed the same outlet at the same moment
        raise Invalid(_("e-Warong ini baru saja diubah orang lain. Muat ulang halaman lalu coba lagi.")) from None
    return changed


# --- logging a visit ---------------------------------------------------------------------------

@dataclass
class ActionInput:
    description: str = ""
    owner: str = ""
    due_on: date | None = None
    #: an existing item (edit form)
    id: int | None = None

    @property
    def blank(self) -> bool:
        return not (self.description.strip() or self.owner.strip() or self.due_on)


@dataclass
class VisitInput:
    #: a naive datetime is WIB wall-clock time (what <input type=datetime-local> sends)
    visited_at: datetime | None
    duration_minutes: int | None
    kind: str
    stages: list[str]
    observations: str
    staff_notes: str = ""
    next_visit_on: date | None = None
    actions: list[ActionInput] = field(default_factory=list)
    share_location: bool = False
    latitude: Any = None
    longitude: Any = None
    accuracy: Any = None
    client_key: str = ""
    remove_photo_ids: list[int] = field(default_factory=list)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=WIB)
    return value.astimezone(timezone.utc)


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def location_of(data: VisitInput) -> tuple[float | None, float | None, float | None]:
    """The position to store: only when the mentor ticked "share my location" and it is a real one."""
    if not data.share_location:
        return None, None, None
    lat, lon, acc = _float(data.latitude), _float(data.longitude), _float(data.accuracy)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None, None
    if acc is not None and not 0 <= acc <= MAX_ACCURACY_M:
        acc = None
    return round(lat, 6), round(lon, 6), (round(acc, 1) if acc is not None else None)


def _validate(outlet: Outlet, data: VisitInput, now: datetime, photo_count: int) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}

    def err(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    visited_at = None
    if data.visited_at is None:
        err("visited_at", _("Isi tanggal dan jam kunjungan."))
    elif data.visited_at.date() < EARLIEST_VISIT:
        err("visited_at", _("Tanggal kunjungan paling awal %(date)s.", date=wib_date(EARLIEST_VISIT)))
    elif data.visited_at.date() > wib_today(now) + timedelta(days=1):
        err("visited_at", _("Kunjungan tidak boleh di masa depan."))
    else:
        visited_at = _as_utc(data.visited_at)
        if visited_at > now + FUTURE_TOLERANCE:
            err("visited_at", _("Kunjungan tidak boleh di masa depan."))
    visit_day = to_wib(visited_at).date() if visited_at else None
    # plans and deadlines: from the visit's day until a year after it
    plan_from = visit_day or EARLIEST_VISIT
    plan_until = (visit_day or wib_today(now)) + timedelta(days=PLAN_DAYS)
    too_late = _("Paling lambat satu tahun setelah kunjungan (%(date)s).", date=wib_date(plan_until))
    if data.duration_minutes is None or not 1 <= data.duration_minutes <= MAX_DURATION_MINUTES:
        err("duration_minutes", _("Durasi antara 1 dan %(max)d menit.", max=MAX_DURATION_MINUTES))
    try:
        kind = VisitKind(data.kind)
    except ValueError:
        err("kind", _("Pilih jenis kunjungan."))
        kind = VisitKind.FIELD_VISIT
    stage_keys = programme.curriculum_for_outlet(outlet.id).stage_keys
    stages = [s for s in stage_keys if s in set(data.stages or [])]
    if not data.stages:
        err("stages", _("Pilih minimal satu langkah 7 PAS yang dibahas."))
    elif len(stages) != len(set(data.stages)):
        err("stages", _("Ada langkah yang tidak dikenal."))
    observations = (data.observations or "").strip()
    if not observations:
        err("observations", _("Tulis pengamatan dan masalah yang ditemukan."))
    if data.next_visit_on is not None and data.next_visit_on < plan_from:
        err("next_visit_on", _("Rencana kunjungan berikutnya tidak boleh sebelum tanggal kunjungan ini."))
    elif data.next_visit_on is not None and data.next_visit_on > plan_until:
        err("next_visit_on", too_late)
    actions: list[tuple[int, ActionInput]] = []
    for i, a in enumerate(data.actions):
        if a.blank and a.id is None:
            continue
        if a.id is not None and not a.description.strip():
            actions.append((i, a))  # an emptied existing item is removed
            continue
        if not a.description.strip():
            err(f"action_items-{i}-description", _("Tulis tindak lanjut yang disepakati."))
        if not a.owner.strip():
            err(f"action_items-{i}-owner", _("Siapa yang mengerjakan?"))
        if a.due_on is None:
            err(f"action_items-{i}-due_on", _("Isi tenggat."))
        elif a.due_on < plan_from:
            err(f"action_items-{i}-due_on", _("Tenggat tidak boleh sebelum tanggal kunjungan."))
        elif a.due_on > plan_until:
            err(f"action_items-{i}-due_on", too_late)
        actions.append((i, a))
    if sum(1 for _i, a in actions if a.description.strip()) > MAX_ACTION_ITEMS:
        err("", _("Paling banyak %(n)d tindak lanjut per kunjungan.", n=MAX_ACTION_ITEMS))
    if photo_count > MAX_PHOTOS:
        err("photos", _("Paling banyak %(n)d foto per kunjungan.", n=MAX_PHOTOS))
    if errors:
        raise Invalid(errors)
    lat, lon, acc = location_of(data)
    return {"visited_at": visited_at, "duration_minutes": data.duration_minutes, "kind": kind, "stages": stages,
            "observations": observations, "staff_notes": (data.staff_notes or "").strip(),
            "next_visit_on": data.next_visit_on, "latitude": lat, "longitude": lon, "location_accuracy_m": acc,
            "actions": [a for _i, a in actions]}


def normalise_client_key(key: str | None) -> str:
    key = (key or "").strip()
    return key if CLIENT_KEY_RE.match(key) else uuid.uuid4().hex


def find_by_client_key(key: str | None) -> Visit | None:
    key = (key or "").strip()
    if not key or not CLIENT_KEY_RE.match(key):
        return None
    return db.session.scalar(sa.select(Visit).where(Visit.client_key == key))


def _prepare_photos(photos: Sequence[CheckedUpload]) -> list[CheckedUpload]:
    out = []
    for p in photos:
        if p.content_type not in PHOTO_TYPES:
            raise Invalid({"photos": [_("Foto harus JPG atau PNG.")]})
        out.append(reencode_image(p))  # no EXIF, no GPS, no trailing bytes
    return out


def _discard(paths: Iterable[str]) -> None:
    from ..files import upload_root

    root = upload_root()
    for rel in paths:
        try:
            (root / rel).unlink(missing_ok=True)
        except OSError:
            pass


def log_visit(actor: Any, outlet: Outlet, data: VisitInput, photos: Sequence[CheckedUpload] = (), *,
              now: datetime | None = None, ip: str | None = None) -> tuple[Visit, bool]:
    """Record a visit. Returns (visit, created); a repeated ``client_key`` returns the visit already stored."""
    if not permissions.can(actor, "visit.create", outlet):
        raise NotAllowed()
    now = now or utcnow()
    key = normalise_client_key(data.client_key)
    existing = find_by_client_key(key)
    if existing is not None:
        if existing.mentor_id != actor.id:
            raise Invalid(_("Formulir ini sudah pernah dikirim oleh akun lain. Muat ulang halaman lalu coba lagi."))
        return existing, False
    clean = _validate(outlet, data, now, len(photos))
    images = _prepare_photos(photos)
    written: list[str] = []
    try:
        with transaction():
            visit = Visit(outlet_id=outlet.id, mentor_id=actor.id, region_id=outlet.region_id, client_key=key,
                          **{k: v for k, v in clean.items() if k != "actions"})
            db.session.add(visit)
            for a in clean["actions"]:
                visit.action_items.append(ActionItem(outlet_id=outlet.id, description=a.description.strip(),
                                                     owner=a.owner.strip(), due_on=a.due_on))
            for img in images:
                sf = store(img, actor.id)
                written.append(sf.path)
                visit.photos.append(VisitPhoto(file=sf))
            db.session.flush()
            record("visit.created", actor=actor, target=visit, ip=ip, outlet_id=outlet.id,
                   action_items=len(clean["actions"]), photos=len(images),
                   location=visit.latitude is not None)
            outbox.announce("visit.logged", {"visit_id": visit.id}, actor=actor)
            programme.refresh_for_outlets([outlet.id])
    except IntegrityError:
        # the same submission arrived twice at once: the unique client_key let one through
        _discard(written)
        again = find_by_client_key(key)
        if again is not None and again.mentor_id == actor.id:
            return again, False
        raise
    return visit, True


def full_snapshot(visit: Visit) -> dict[str, Any]:
    """What an edit can change: the visit's own fields, its action items, photos and location."""
    snap = visit.snapshot()
    snap["action_items"] = [{"id": a.id, "description": a.description, "owner": a.owner,
                             "due_on": a.due_on.isoformat()} for a in visit.action_items]
    snap["photos"] = [p.file_id for p in visit.photos]
    snap["location"] = ([visit.latitude, visit.longitude, visit.location_accuracy_m]
                        if visit.latitude is not None else None)
    return snap


def update_visit(actor: Any, visit: Visit, data: VisitInput, photos: Sequence[CheckedUpload] = (), *,
                 now: datetime | None = None, ip: str | None = None) -> Visit:
    """Edit a visit (its outlet and mentor stay). Audited with the old and new values."""
    now = now or utcnow()
    if not permissions.can_edit_visit(actor, visit, now):
        raise NotAllowed()
    remove = {p.id for p in visit.photos if p.id in set(data.remove_photo_ids or [])}
    clean = _validate(visit.outlet, data, now, len(visit.photos) - len(remove) + len(photos))
    known = {a.id: a for a in visit.action_items}
    for a in clean["actions"]:
        if a.id is not None and a.id not in known:
            raise Invalid(_("Tindak lanjut tidak ditemukan. Muat ulang halaman lalu coba lagi."))
    images = _prepare_photos(photos)
    before = full_snapshot(visit)
    written: list[str] = []
    dropped: list[str] = []
    try:
        with transaction():
            for k, v in clean.items():
                if k != "actions":
                    setattr(visit, k, v)
            for a in clean["actions"]:
                if a.id is None:
                    visit.action_items.append(ActionItem(outlet_id=visit.outlet_id, description=a.description.strip(),
                                                         owner=a.owner.strip(), due_on=a.due_on))
                elif not a.description.strip():
                    visit.action_items.remove(known[a.id])
                else:
                    item = known[a.id]
                    item.description, item.owner, item.due_on = a.description.strip(), a.owner.strip(), a.due_on
            for p in list(visit.photos):
                if p.id in remove:
                    dropped.append(p.file.path)
                    visit.photos.remove(p)
                    db.session.delete(p.file)
            for img in images:
                sf = store(img, getattr(actor, "id", None))
                written.append(sf.path)
                visit.photos.append(VisitPhoto(file=sf))
            db.session.flush()
            after = full_snapshot(visit)
            changes = sorted(k for k in after if before.get(k) != after.get(k))
            if changes:
                record("visit.updated", actor=actor, target=visit, ip=ip, changed=changes, old=before, new=after,
                       by_author=getattr(actor, "id", None) == visit.mentor_id)
            programme.refresh_for_outlets([visit.outlet_id])
    except BaseException:
        _discard(written)
        raise
    _discard(dropped)
    return visit


#: how an action item names the outlet's manager ("who will do it" is free text agreed at the visit):
#: these words, or the manager's own name, compared without case, honorifics and punctuation
MANAGER_OWNERS = {"pengelola", "pengelola e-warong", "pengelola ewarong", "pengelola warung", "manager"}
_HONORIFIC = re.compile(r"^(ibu|bu|bapak|pak|bp|sdr|sdri|saudara|saudari)\.?\s+", re.I)


def _owner_key(text: str) -> str:
    key = " ".join((text or "").replace(",", " ").split()).lower().rstrip(".")
    return _HONORIFIC.sub("", key)


def is_manager_task(owner: str, manager: Any) -> bool:
    """Is an action item with this ``owner`` text the outlet manager's own task ("Pengelola", "Ibu Siti Rahmawati")?"""
    key = _owner_key(owner)
    if not key:
        return False
    name = _owner_key(getattr(manager, "full_name", "") or "")
    return key in MANAGER_OWNERS or (bool(name) and key == name)


def manager_action_items(manager: User, outlet_id: int, *, open_only: bool = True) -> list[ActionItem]:
    """The action items of the outlet's visits that are the manager's own tasks, due first (one query)."""
    q = sa.select(ActionItem).where(ActionItem.outlet_id == outlet_id).options(joinedload(ActionItem.visit))
    if open_only:
        q = q.where(ActionItem.done_at.is_(None))
    items = db.session.scalars(q.order_by(ActionItem.due_on, ActionItem.id)).all()
    return [a for a in items if is_manager_task(a.owner, manager)]


def set_action_done(actor: Any, item: ActionItem, done: bool = True, *, now: datetime | None = None,
                    ip: str | None = None) -> ActionItem:
    """Mark an action item done (or open again): staff who may mark the visit's items, or the outlet's
    manager for the items assigned to them (``action_item.mark``)."""
    if not permissions.can(actor, "action_item.mark", item):
        raise NotAllowed()
    with transaction():
        if done and item.done_at is None:
            item.done_at = now or utcnow()
            record("action_item.done", actor=actor, target_type="action_item", target_id=item.id, ip=ip,
                   visit_id=item.visit_id)
        elif not done and item.done_at is not None:
            item.done_at = None
            record("action_item.reopened", actor=actor, target_type="action_item", target_id=item.id, ip=ip,
                   visit_id=item.visit_id)
    return item


# --- reading visits ------------------------------------------------------------------------

def _visit_options() -> list[Any]:
    return [joinedload(Visit.outlet).joinedload(Outlet.manager), joinedload(Visit.outlet).joinedload(Outlet.kecamatan),
            joinedload(Visit.outlet).joinedload(Outlet.region), joinedload(Visit.mentor),
            selectinload(Visit.action_items), selectinload(Visit.photos).joinedload(VisitPhoto.file)]


def visit_for_view(visit_id: Any) -> Visit | None:
    vid = int_or_none(visit_id)
    if vid is None:
        return None
    return db.session.scalar(sa.select(Visit).where(Visit.id == vid).options(*_visit_options()))


def action_item(item_id: Any) -> ActionItem | None:
    iid = int_or_none(item_id)
    if iid is None:
        return None
    return db.session.scalar(sa.select(ActionItem).where(ActionItem.id == iid)
                             .options(joinedload(ActionItem.visit).joinedload(Visit.outlet)))


def photo(photo_id: Any) -> VisitPhoto | None:
    pid = int_or_none(photo_id)
    if pid is None:
        return None
    return db.session.scalar(sa.select(VisitPhoto).where(VisitPhoto.id == pid)
                             .options(joinedload(VisitPhoto.file), joinedload(VisitPhoto.visit).joinedload(Visit.outlet)))


def outlet_for_view(outlet_id: Any) -> Outlet | None:
    oid = int_or_none(outlet_id)
    if oid is None:
        return None
    return db.session.scalar(sa.select(Outlet).where(Outlet.id == oid)
                             .options(joinedload(Outlet.manager), joinedload(Outlet.kecamatan),
                                      joinedload(Outlet.region)))


def photo_path(p: VisitPhoto) -> Any:
    return open_stored(p.file)


def stage_names(outlet_id: int | None, lang: str) -> dict[str, str]:
    cur = programme.curriculum_for_outlet(outlet_id) if outlet_id else programme.default_curriculum()
    return {s.key: f"{s.number}. {s.name.get(lang)}" for s in cur.stages}


def stage_choices(outlet_id: int | None, lang: str) -> list[tuple[str, str]]:
    return list(stage_names(outlet_id, lang).items())


# --- the outlet's timeline -------------------------------------------------------------------

@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # visit | milestone | evidence | assignment
    visit: Visit | None = None
    stage_name: str = ""
    person: User | None = None
    evidence: Evidence | None = None
    review: EvidenceReview | None = None
    assignment: MentorAssignment | None = None

    @property
    def sort_key(self) -> tuple[datetime, int]:
        order = {"assignment": 0, "visit": 1, "evidence": 2, "milestone": 3}
        return self.at, order.get(self.kind, 9)


def outlet_timeline(outlet: Outlet, lang: str = "id") -> list[TimelineEntry]:
    """Visits, completed stages, evidence decisions and mentor changes, newest first (six queries)."""
    entries: list[TimelineEntry] = []
    visits = db.session.scalars(
        sa.select(Visit).where(Visit.outlet_id == outlet.id)
        .options(joinedload(Visit.mentor), selectinload(Visit.action_items),
                 selectinload(Visit.photos))).all()
    entries += [TimelineEntry(at=v.visited_at, kind="visit", visit=v, person=v.mentor) for v in visits]
    stages = db.session.scalars(
        sa.select(EnrolmentStage).join(Enrolment, Enrolment.id == EnrolmentStage.enrolment_id)
        .where(Enrolment.outlet_id == outlet.id)
        .options(joinedload(EnrolmentStage.enrolment).joinedload(Enrolment.cohort),
                 joinedload(EnrolmentStage.enrolment).joinedload(Enrolment.user))).all()
    for st in stages:
        cur = programme.curriculum_for(st.enrolment.cohort)
        try:
            s = cur.stage(st.stage_key)
            name = f"{s.number}. {s.name.get(lang)}"
        except KeyError:
            name = st.stage_key
        entries.append(TimelineEntry(at=st.completed_at, kind="milestone", stage_name=name, person=st.enrolment.user))
    reviews = db.session.scalars(
        sa.select(EvidenceReview).join(Evidence, Evidence.id == EvidenceReview.evidence_id)
        .where(Evidence.outlet_id == outlet.id)
        .options(joinedload(EvidenceReview.by), joinedload(EvidenceReview.evidence))).all()
    entries += [TimelineEntry(at=r.at, kind="evidence", review=r, evidence=r.evidence, person=r.by) for r in reviews]
    assignments = db.session.scalars(
        sa.select(MentorAssignment).where(MentorAssignment.outlet_id == outlet.id)
        .options(joinedload(MentorAssignment.mentor))).all()
    entries += [TimelineEntry(at=a.started_at, kind="assignment", assignment=a, person=a.mentor) for a in assignments]
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    return entries


def current_assignment(outlet_id: int) -> MentorAssignment | None:
    return db.session.scalar(sa.select(MentorAssignment).where(MentorAssignment.outlet_id == outlet_id,
                                                               MentorAssignment.ended_at.is_(None))
                             .options(joinedload(MentorAssignment.mentor)))


# --- the coordinator's overview ------------------------------------------------------------

def _wib_month(col: Any) -> Any:
    """'YYYY-MM' of a UTC timestamp column in WIB (UTC+7 all year: no daylight saving)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.func.strftime(sa.literal_column("'%Y-%m'"), col, sa.literal_column("'+7 hours'"))
    return sa.func.to_char(col + sa.literal_column("interval '7 hours'"), sa.literal_column("'YYYY-MM'"))


@dataclass
class MentorMonths:
    mentor: User
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Overview:
    months: list[date]
    mentors: list[MentorMonths]
    outlets: list[OutletStatus]
    past_due: list[ActionItem]
    past_due_total: int
    today: date

    @property
    def never_visited(self) -> list[OutletStatus]:
        return [s for s in self.outlets if s.never_visited]

    @property
    def overdue(self) -> list[OutletStatus]:
        return sorted((s for s in self.outlets if s.overdue), key=lambda s: (-(s.days_since or 0), s.outlet.code))

    @property
    def month_totals(self) -> list[int]:
        return [sum(m.counts[i] for m in self.mentors) for i in range(len(self.months))]


PAST_DUE_LIMIT = 200


def _next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def overview(actor: Any, region_id: int | None = None, now: datetime | None = None,
             until: date | None = None) -> Overview:
    """Per region: visits per mentor per month (the six months ending with ``until``, default this one),
    never-visited and overdue outlets (as of ``now``), past-due action items."""
    if not permissions.can(actor, "visits.dashboard"):
        raise NotAllowed()
    now = now or utcnow()
    today = wib_today(now)
    if until is not None and until.year < SANE_YEARS[0]:
        until = None
    months = months_back(min(until, today) if until else today, 6)
    keys = [m.strftime("%Y-%m") for m in months]
    month = _wib_month(Visit.visited_at).label("month")
    in_scope = _region_where(actor, Visit.region_id, region_id)
    counts = db.session.execute(
        sa.select(Visit.mentor_id, month, sa.func.count(Visit.id))
        .where(in_scope, Visit.visited_at >= wib_start_utc(months[0]),
               Visit.visited_at < wib_start_utc(_next_month(months[-1])))
        .group_by(Visit.mentor_id, month)).all()
    by_mentor: dict[int, list[int]] = defaultdict(lambda: [0] * len(months))
    for mentor_id, key, n in counts:
        if key in keys:
            by_mentor[mentor_id][keys.index(key)] += int(n)
    mentors = db.session.scalars(
        sa.select(User).where(User.role == Role.MENTOR, sa.or_(
            sa.and_(User.active.is_(True), _region_where(actor, User.region_id, region_id)),
            User.id.in_(list(by_mentor) or [0])))
        .order_by(User.full_name)).all()
    rows = [MentorMonths(m, list(by_mentor[m.id]) if m.id in by_mentor else [0] * len(months)) for m in mentors]
    outlets = outlet_statuses(sa.and_(_region_where(actor, Outlet.region_id, region_id), Outlet.active.is_(True)), now)
    late_where = sa.and_(ActionItem.done_at.is_(None), ActionItem.due_on < today,
                         _region_where(actor, Visit.region_id, region_id))
    late_total = db.session.scalar(sa.select(sa.func.count(ActionItem.id)).join(Visit, Visit.id == ActionItem.visit_id)
                                   .where(late_where)) or 0
    late = db.session.scalars(
        sa.select(ActionItem).join(Visit, Visit.id == ActionItem.visit_id).where(late_where)
        .options(joinedload(ActionItem.visit).joinedload(Visit.outlet), joinedload(ActionItem.visit).joinedload(Visit.mentor))
        .order_by(ActionItem.due_on, ActionItem.id).limit(PAST_DUE_LIMIT)).all()
    return Overview(months=months, mentors=rows, outlets=outlets, past_due=list(late), past_due_total=late_total,
                    today=today)


# --- CSV export --------------------------------------------------------------------------------

EXPORT_BATCH = 500


def export_header() -> list[str]:
    return [_("ID kunjungan"), _("Tanggal (WIB)"), _("Jam (WIB)"), _("Kode e-Warong"), _("Nama e-Warong"),
            _("Wilayah"), _("Kecamatan"), _("Pendamping"), _("Jenis"), _("Durasi (menit)"), _("Langkah dibahas"),
            _("Pengamatan dan masalah"), _("Catatan internal"), _("Rencana kunjungan berikutnya"), _("Lintang"),
            _("Bujur"), _("Akurasi lokasi (m)"), _("Tindak lanjut"), _("Tindak lanjut terbuka"), _("Foto")]


def kind_labels() -> dict[str, str]:
    return {"field_visit": _("Kunjungan lapangan"), "phone_call": _("Telepon"),
            "group_meeting": _("Pertemuan kelompok")}


def export_visits(actor: Any, start: date, end: date, region_id: int | None = None, *, ip: str | None = None,
                  kecamatan_id: int | None = None, cohort_id: int | None = None, audit: bool = True
                  ) -> Iterator[list[Any]]:
    """The visits of WIB days ``start``..``end`` in the actor's regions, row by row (read in batches).

    The export is audited when it is asked for (``audit=False``: the caller records it, as the
    exports page does); the rows are read while the response streams. ``kecamatan_id`` and
    ``cohort_id`` (outlets enrolled in the cohort) narrow it further.
    """
    if not permissions.can(actor, "visits.export"):
        raise NotAllowed()
    for name, d in (("start", start), ("end", end)):
        if not SANE_YEARS[0] <= d.year <= SANE_YEARS[1]:
            raise Invalid({name: [_("Tanggal tidak masuk akal.")]})
    if end < start:
        raise Invalid({"end": [_("Tanggal akhir tidak boleh sebelum tanggal awal.")]})
    if audit:
        with transaction():
            record("visits.exported", actor=actor, ip=ip, start=start.isoformat(), end=end.isoformat(),
                   region_id=region_id)
    items = (sa.select(sa.func.count(ActionItem.id)).where(ActionItem.visit_id == Visit.id)
             .correlate(Visit).scalar_subquery())
    open_items = (sa.select(sa.func.count(ActionItem.id)).where(ActionItem.visit_id == Visit.id,
                                                                ActionItem.done_at.is_(None))
                  .correlate(Visit).scalar_subquery())
    photos = (sa.select(sa.func.count(VisitPhoto.id)).where(VisitPhoto.visit_id == Visit.id)
              .correlate(Visit).scalar_subquery())
    q = (sa.select(Visit.id, Visit.visited_at, Outlet.code, Outlet.name, Region.name, Kecamatan.name, User.full_name,
                   Visit.kind, Visit.duration_minutes, Visit.stages, Visit.observations, Visit.staff_notes,
                   Visit.next_visit_on, Visit.latitude, Visit.longitude, Visit.location_accuracy_m,
                   items, open_items, photos)
         .join(Outlet, Outlet.id == Visit.outlet_id).join(Region, Region.id == Visit.region_id)
         .join(Kecamatan, Kecamatan.id == Outlet.kecamatan_id).join(User, User.id == Visit.mentor_id)
         .where(_region_where(actor, Visit.region_id, region_id),
                Visit.visited_at >= wib_start_utc(start), Visit.visited_at < wib_start_utc(end + timedelta(days=1)))
         .order_by(Visit.visited_at, Visit.id))
    if kecamatan_id:
        q = q.where(Outlet.kecamatan_id == kecamatan_id)
    if cohort_id:
        q = q.where(Visit.outlet_id.in_(sa.select(Enrolment.outlet_id).where(Enrolment.cohort_id == cohort_id)))
    names = stage_names(None, "id")
    kinds = kind_labels()
    return _export_rows(q, names, kinds)


def _export_rows(q: Any, names: dict[str, str], kinds: dict[str, str]) -> Iterator[list[Any]]:
    result = db.session.execute(q, execution_options={"yield_per": EXPORT_BATCH})
    try:
        for (vid, at, code, oname, region, kec, mentor, kind, minutes, stages, obs, notes, nxt, lat, lon, acc,
             n_items, n_open, n_photos) in result:
            local = to_wib(at)
            # dates as dates: the CSV writes them as YYYY-MM-DD, the XLSX as real date cells
            yield [vid, local.date(), local.strftime("%H:%M"), code, oname, region, kec, mentor,
                   kinds.get(kind.value, kind.value), minutes, "; ".join(names.get(s, s) for s in stages or []),
                   obs, notes, nxt, lat, lon, acc, n_items, n_open, n_photos]
    finally:
        result.close()


# --- the demo programme ---------------------------------------------------------------------

from .seed import seed_visits  # noqa: E402,F401  (kept in its own module, exported here)
