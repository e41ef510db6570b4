"""Who may see, manage and join a training session. Used by the rulebook (lms/permissions.py).

* admins and all-DKI coordinators: every session; a regional coordinator: their region's;
* mentors: their region's sessions, read-only;
* trainees: the sessions *open to them* (their outlet's region and a cohort they are actively
  enrolled in), plus any session they hold a registration for.

``session_scope`` and ``open_scope`` are the same rules as SQL, for lists and the calendar feed.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..db import built
from ..people.models import Role
from .models import Registration, TrainingSession

Actor = Any


def _is(user: Actor, *roles: Role) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.active and user.role in roles


def _all_dki(user: Actor) -> bool:
    return _is(user, Role.ADMIN) or (_is(user, Role.COORDINATOR) and user.region_id is None)


def open_scope(user: Actor) -> sa.ColumnElement[bool]:
    """Sessions open to a trainee: their outlet's region and a cohort they are actively enrolled in."""
    return open_to(user.id)


def open_to(user_id: Any) -> sa.ColumnElement[bool]:
    """:func:`open_scope` for a user id, or a bound parameter (a statement built once)."""
    from ..places.models import Outlet
    from ..programme.models import Enrolment, EnrolmentStatus

    return sa.exists(
        sa.select(Enrolment.id).join(Outlet, Outlet.id == Enrolment.outlet_id)
        .where(Enrolment.user_id == user_id, Enrolment.status == EnrolmentStatus.ACTIVE,
               Outlet.manager_id == user_id, Enrolment.cohort_id == TrainingSession.cohort_id,
               Outlet.region_id == TrainingSession.region_id))


def _visible_to_trainee(user_id: Any) -> sa.ColumnElement[bool]:
    """Sessions a trainee may see: those open to them, and any they hold a registration for."""
    return sa.or_(open_to(user_id),
                  TrainingSession.id.in_(sa.select(Registration.session_id).where(Registration.user_id == user_id)))


def _trainee_answers() -> sa.Select[Any]:
    """Whether a session (``session_id``) is open to a trainee (``user_id``), and whether they may see it,
    as one row: built once (lms.db.built)."""
    uid = sa.bindparam("user_id")
    where = {"open": open_to(uid), "view": _visible_to_trainee(uid)}
    return (sa.select(*(sa.case((w, True), else_=False).label(k) for k, w in where.items()))
            .select_from(TrainingSession).where(TrainingSession.id == sa.bindparam("session_id")))


def session_scope(user: Actor) -> sa.ColumnElement[bool]:
    """``can_view_session`` as SQL."""
    if _all_dki(user):
        return sa.true()
    if _is(user, Role.COORDINATOR, Role.MENTOR):
        return sa.false() if user.region_id is None else TrainingSession.region_id == user.region_id
    if _is(user, Role.TRAINEE):
        return _visible_to_trainee(user.id)
    return sa.false()


def _matches(user: Actor, session: TrainingSession, kind: str) -> bool:
    """Whether ``session`` is in the trainee's ``kind`` of scope ("open" or "view"), by one query that
    answers both (``user`` is a trainee: the callers check).

    A page asks these questions several times (may I see it, may I register): within one request they
    are read once. Only a request is memoised; it decides before it writes."""
    from flask import g, has_request_context

    from ..extensions import db

    memo: dict[tuple[int, int, str], bool] | None = None
    if has_request_context():
        memo = g.setdefault("session_scope_answers", {})
        key = (user.id, session.id, kind)
        if key in memo:
            return memo[key]
    row = db.session.execute(built(("trainee_session_answers",), _trainee_answers),
                             {"user_id": user.id, "session_id": session.id}).first()
    answers = {k: bool(row and getattr(row, k)) for k in ("open", "view")}
    if memo is not None:
        memo.update({(user.id, session.id, k): v for k, v in answers.items()})
    return answers[kind]


def is_open_to(user: Actor, session: TrainingSession) -> bool:
    return _is(user, Role.TRAINEE) and _matches(user, session, "open")


def can_view_session(user: Actor, session: TrainingSession) -> bool:
    if _all_dki(user):
        return True
    if _is(user, Role.COORDINATOR, Role.MENTOR):
        return user.region_id is not None and user.region_id == session.region_id
    if _is(user, Role.TRAINEE):
        return _matches(user, session, "view")
    return False


def can_manage_session(user: Actor, session: TrainingSession) -> bool:
    """Edit, cancel, register a group, take attendance, show the check-in QR."""
    if _all_dki(user):
        return True
    return _is(user, Role.COORDINATOR) and user.region_id == session.region_id


def can_register(user: Actor, session: TrainingSession) -> bool:
    """A trainee signs themselves up (or off): the session must be open to them or hold their registration."""
    return _is(user, Role.TRAINEE) and can_view_session(user, session)
