"""Attendance taken by the coordinator.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
import sqlalchemy as sa
from flask_babel import gettext as _
from .. import permissions
from .. import outbox
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..programme import services as programme
from .models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .checkin import _plus
from .common import CHECKIN_MARGIN, wib_minute


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
