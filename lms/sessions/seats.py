"""Seats: the only statements that change ``seats_taken``, and the waitlist's promotion.

No overbooking, on SQLite and PostgreSQL alike: a seat is taken only by the conditional
``UPDATE training_sessions SET seats_taken = seats_taken + 1 WHERE id = :id AND seats_taken <
capacity AND status = 'scheduled'`` (one row changed: registered; none: waitlisted) and given back
only by ``… seats_taken - 1 WHERE … seats_taken > 0``. The database's row lock serialises
concurrent seat changes of one session, the check constraint ``seats_taken <= capacity`` guards
the rest, and the unique (session_id, user_id) constraint turns a double submit into one row.
"""
from __future__ import annotations

from typing import Any
import sqlalchemy as sa
from .. import outbox
from . import signals
from ..audit.services import record
from ..db import built
from ..extensions import db
from .models import Registration, RegistrationStatus, SessionStatus, TrainingSession
from .common import MAX_CAPACITY


# --- seats: the only two statements that change seats_taken ------------------------------------

def _take_seat(session_id: int, n: int = 1) -> bool:
    def build() -> Any:
        room = (TrainingSession.seats_taken < TrainingSession.capacity if n == 1
                else TrainingSession.seats_taken + sa.bindparam("n") <= TrainingSession.capacity)
        return (sa.update(TrainingSession)
                .where(TrainingSession.id == sa.bindparam("session_id"), room,
                       TrainingSession.status == SessionStatus.SCHEDULED)
                .values(seats_taken=TrainingSession.seats_taken + sa.bindparam("n"))
                .execution_options(synchronize_session=False))

    res = db.session.execute(built(("take_seat", n == 1), build), {"session_id": session_id, "n": n})
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
