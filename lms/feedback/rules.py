"""Who may give feedback, take the tests and read the reports. Used by the rulebook (lms/permissions.py).

The object rules assume ``session.view`` already passed (404 otherwise): these answer 403.

* feedback and the post-test: a trainee who attended (present or late) the session;
* the pre-test: a trainee registered (not waitlisted, not cancelled) for the session;
* the session's feedback report: whoever manages the session (its region's coordinator, an admin).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..people.models import Role
from ..sessions.models import Attendance, Registration, RegistrationStatus

Actor = Any
ATTENDED = (Attendance.PRESENT, Attendance.LATE)


def _is(user: Actor, *roles: Role) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.active and user.role in roles


def registration(user: Actor, session: Any) -> Registration | None:
    from ..extensions import db

    return db.session.scalar(sa.select(Registration).where(
        Registration.session_id == session.id, Registration.user_id == user.id))


def attended(user: Actor, session: Any) -> bool:
    if not _is(user, Role.TRAINEE):
        return False
    reg = registration(user, session)
    return reg is not None and reg.status is RegistrationStatus.REGISTERED and reg.attendance in ATTENDED


def registered(user: Actor, session: Any) -> bool:
    if not _is(user, Role.TRAINEE):
        return False
    reg = registration(user, session)
    return reg is not None and reg.status is RegistrationStatus.REGISTERED


def can_read_report(user: Actor, session: Any) -> bool:
    from ..sessions.rules import can_manage_session

    return can_manage_session(user, session)
