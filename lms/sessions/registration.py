"""Registration: a trainee's place or waitlist place, group registration, and reading who holds a place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from .. import permissions
from .. import outbox
from . import signals
from ..audit.services import record
from ..db import built, transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..people.models import Role, User
from ..places.models import Outlet
from ..programme.models import Enrolment, EnrolmentStatus
from . import rules
from .models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .common import ACTIVE, GROUP_COHORT, GROUP_SCOPES, GROUP_STEP, _fresh, _lock_user, fold, when_text
from .scheduling import _overlap
from .seats import _promote, _release_seat, _take_seat


# --- registration -------------------------------------------------------------------------------

def _find(session_id: int, user_id: int, lock: bool = False) -> Registration | None:
    def build() -> sa.Select[tuple[Registration]]:
        q = (sa.select(Registration).where(Registration.session_id == sa.bindparam("session_id"),
                                           Registration.user_id == sa.bindparam("user_id"))
             .execution_options(populate_existing=True))
        return q.with_for_update() if lock else q

    return db.session.scalar(built(("registration", lock), build), {"session_id": session_id, "user_id": user_id})


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
    return db.session.scalar(built(("clash_for",), lambda: (
        sa.select(TrainingSession).join(Registration, Registration.session_id == TrainingSession.id)
        .where(Registration.user_id == sa.bindparam("user_id"), Registration.status.in_(ACTIVE),
               TrainingSession.id != sa.bindparam("session_id"),
               _overlap(sa.bindparam("starts_at"), sa.bindparam("ends_at")))
        .order_by(TrainingSession.starts_at).limit(1))),
        {"user_id": user_id, "session_id": session.id, "starts_at": session.starts_at, "ends_at": session.ends_at})


def register(actor: Any, session: TrainingSession, *, now: datetime | None = None) -> Registration:
    """The trainee signs up: a seat when one is free, else the waitlist. Repeating it changes nothing."""
    if not permissions.can(actor, "session.register", session):
        raise NotAllowed()
    now = now or utcnow()
    try:
        # (keep_loaded: the page that follows names the session and the registration's status; seats_taken,
        # changed by a bulk UPDATE, is expired below)
        with transaction(keep_loaded=True):
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
    rows = db.session.execute(built(("places_of",), lambda: (
        sa.select(Registration, sa.case((Registration.status == RegistrationStatus.WAITLISTED, _position_expr()),
                                        else_=None))
        .where(Registration.user_id == sa.bindparam("user_id"),
               Registration.session_id.in_(sa.bindparam("session_ids", expanding=True))))),
        {"user_id": user.id, "session_ids": ids}).all()
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
