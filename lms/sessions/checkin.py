"""QR self check-in: rotating tokens, the check-in window and the short-lived ticket.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import DomainError
from ..extensions import db
from ..people.models import Role
from ..programme import services as programme
from .models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .common import ATTENDED, CHECKIN_MARGIN, CHECKIN_STEP, CHECKIN_TICKET_SECONDS, CHECKIN_TOKEN_LENGTH, wib_minute
from .registration import _find, place_of


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
                    now: datetime | None = None, registration: bool = True) -> CheckinRefused | None:
    """Why this check-in cannot be accepted (None: it can). ``registration=False``: everything but the
    person's registration, which the caller checks itself (:func:`check_in`, on the locked row)."""
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
    if not registration:
        return None
    place = place_of(actor, session)
    return _registration_problem(actor, session, place.registration if place else None)


def _registration_problem(actor: Any, session: TrainingSession, reg: Registration | None) -> CheckinRefused | None:
    if reg is None or reg.status is RegistrationStatus.CANCELLED:
        return CheckinRefused(_("Anda tidak terdaftar di sesi ini. Hubungi koordinator di lokasi."), 403)
    if reg.status is RegistrationStatus.WAITLISTED:
        place = place_of(actor, session)  # (its place on the waitlist: read only for this message)
        return CheckinRefused(_("Anda masih di daftar tunggu (urutan %(n)d) dan belum mendapat kursi. "
                                "Hubungi koordinator di lokasi.", n=(place.position if place else None) or 0), 403)
    return None


def check_in(actor: Any, session: TrainingSession, token: str, *, ticket: str | None = None,
             now: datetime | None = None) -> Registration:
    """Self check-in: present (a late or present mark stays), checked in by QR; progress follows."""
    now = now or utcnow()
    problem = checkin_problem(actor, session, token, ticket=ticket, now=now, registration=False)
    if problem is not None:
        raise problem
    with transaction(keep_loaded=True):  # (the page that follows names the person and the session)
        reg = _find(session.id, actor.id, lock=True)  # the registration, checked on the locked row
        problem = _registration_problem(actor, session, reg)
        if problem is not None:
            raise problem
        assert reg is not None
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
