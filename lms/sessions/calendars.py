"""Calendars (RFC 5545): a session's .ics and each person's private feed.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit
import sqlalchemy as sa
from flask_babel import gettext as _
from .. import permissions
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import NotAllowed
from ..extensions import db
from ..i18n import to_wib
from ..people.models import Role, User
from ..programme import services as programme
from . import rules
from .models import CalendarFeed, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .checkin import base_url
from .common import ACTIVE, FEED_HISTORY, _lang, fold, speaker_label
from .listing import _eager


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
