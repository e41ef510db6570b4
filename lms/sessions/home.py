"""The sessions part of a trainee's home page.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
import sqlalchemy as sa
from ..db import built, utcnow
from ..extensions import db
from ..people.models import User
from . import rules
from .models import Registration, SessionStatus, TrainingSession
from .common import ACTIVE, CANCELLED_NOTICE
from .listing import _eager
from .registration import places_of


# --- the trainee's home page ----------------------------------------------------------------------

def trainee_home(user: User, now: datetime | None = None) -> dict[str, Any]:
    """My upcoming sessions (with waitlist places), cancelled sessions to tell me about, open sessions count."""
    now = now or utcnow()
    values = {"user_id": user.id, "now": now, "cancelled_since": now - CANCELLED_NOTICE}
    rows = db.session.execute(built(("trainee_home.mine",), lambda: _eager(
        sa.select(TrainingSession, Registration.id)
        .join(Registration, Registration.session_id == TrainingSession.id)
        .where(Registration.user_id == sa.bindparam("user_id"), Registration.status.in_(ACTIVE),
               sa.or_(sa.and_(TrainingSession.status == SessionStatus.SCHEDULED,
                              TrainingSession.ends_at >= sa.bindparam("now")),
                      sa.and_(TrainingSession.status == SessionStatus.CANCELLED,
                              TrainingSession.starts_at >= sa.bindparam("cancelled_since")))))
        .order_by(TrainingSession.starts_at)), values).unique().all()
    upcoming = [s for s, _r in rows if s.status is SessionStatus.SCHEDULED]
    cancelled = [s for s, _r in rows if s.status is SessionStatus.CANCELLED]
    places = places_of(user, [s.id for s in upcoming])
    open_count = db.session.scalar(built(("trainee_home.open",), lambda: (
        sa.select(sa.func.count()).select_from(TrainingSession)
        .where(rules.open_to(sa.bindparam("user_id")), TrainingSession.status == SessionStatus.SCHEDULED,
               TrainingSession.starts_at > sa.bindparam("now"),
               TrainingSession.id.not_in(sa.select(Registration.session_id).where(
                   Registration.user_id == sa.bindparam("user_id"), Registration.status.in_(ACTIVE)))))),
        values) or 0
    return {"upcoming_sessions": [(s, places.get(s.id)) for s in upcoming], "cancelled_sessions": cancelled,
            "open_session_count": open_count}
