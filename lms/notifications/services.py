"""The notification area's own actions: reading the list, preferences, retrying a failed
message, and coordinators' broadcasts. Each takes the acting user explicitly."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import url_for

from ..audit import services as audit
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed, Throttled
from ..extensions import db
from ..people.models import Role, User
from ..permissions import can
from ..privacy import consent  # WhatsApp consent: the one place that changes the opt-in
from . import events
from .models import Broadcast, Delivery, DeliveryStatus, Notification, NotificationPreference


# --- the in-app list --------------------------------------------------------------------------

def unread_count(user: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0)


def page(user: Any, *, before_id: int | None = None, size: int = 30) -> list[Notification]:
    """Newest first, ``size`` at a time (keyset pagination by id)."""
    q = sa.select(Notification).where(Notification.user_id == user.id)
    if before_id:
        q = q.where(Notification.id < before_id)
    return list(db.session.scalars(q.order_by(Notification.id.desc()).limit(size)))


def get_own(user: Any, notification_id: int | None) -> Notification | None:
    """The user's own notification, or None (someone else's is as good as missing)."""
    if notification_id is None:
        return None
    n = db.session.get(Notification, notification_id)
    return n if n is not None and n.user_id == user.id else None


def mark_read(user: Any, notification: Notification) -> None:
    if notification.user_id != user.id:
        raise NotAllowed()
    with transaction():
        if notification.read_at is None:
            notification.read_at = utcnow()


def mark_all_read(user: Any) -> int:
    with transaction():
        return db.session.execute(sa.update(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount


# --- preferences -----------------------------------------------------------------------------

def preference_of(user: Any) -> NotificationPreference:
    pref = db.session.get(NotificationPreference, user.id)
    if pref is None:
        pref = NotificationPreference(user_id=user.id, email_enabled=True, whatsapp_opt_in=False,
                                      quiet_start=time(21, 0), quiet_end=time(6, 0))
    return pref


@dataclass
class PreferenceInput:
    email_enabled: bool
    whatsapp_opt_in: bool
    quiet_start: time
    quiet_end: time
    locale: str | None = None


def save_preferences(actor: Any, user: User, data: PreferenceInput, *, source: str = "profile") -> NotificationPreference:
    """Save a person's choices. Only the person changes their own WhatsApp consent."""
    if actor.id != user.id:
        raise NotAllowed()
    if data.locale not in (None, "id", "en"):
        raise Invalid({"locale": ["Bahasa tidak dikenal."]})
    with transaction():
        pref = db.session.get(NotificationPreference, user.id)
        if pref is None:
            pref = NotificationPreference(user_id=user.id)
            db.session.add(pref)
        pref.email_enabled = data.email_enabled
        pref.quiet_start, pref.quiet_end = data.quiet_start, data.quiet_end
        # the consent itself: one way for every page, so the privacy page and this one agree (a
        # Consent row and the audit entry when it changes)
        consent.apply_whatsapp(actor, user, bool(data.whatsapp_opt_in), source, pref=pref)
        if data.locale:
            user.locale = data.locale
    return pref


def record_whatsapp_opt_in(user: User, *, source: str, at: datetime | None = None) -> None:
    """Record consent given elsewhere (the seed's demo accounts; an import with a consent column),
    with its Consent row (lms/privacy/consent.py)."""
    consent.record_given_whatsapp(user, source=source, at=at)


# --- the admin's outbox -------------------------------------------------------------------------

def outbox(actor: Any, *, status: str | None = None, channel: str | None = None, before_id: int | None = None,
           size: int = 50) -> list[Delivery]:
    if not can(actor, "notifications.outbox"):
        raise NotAllowed()
    q = sa.select(Delivery).options(sa.orm.joinedload(Delivery.user))
    if status:
        q = q.where(Delivery.status == DeliveryStatus(status))
    if channel:
        q = q.where(Delivery.channel == channel)
    if before_id:
        q = q.where(Delivery.id < before_id)
    return list(db.session.scalars(q.order_by(Delivery.id.desc()).limit(size)))


def outbox_counts(actor: Any) -> dict[str, int]:
    if not can(actor, "notifications.outbox"):
        raise NotAllowed()
    rows = db.session.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status))
    return {s.value: n for s, n in rows}


def retry(actor: Any, delivery: Delivery) -> None:
    """Put a failed message back in the queue (after fixing an address or a channel)."""
    if not can(actor, "notifications.outbox"):
        raise NotAllowed()
    if delivery.status not in (DeliveryStatus.FAILED, DeliveryStatus.KEPT):
        raise Invalid(["Hanya pesan yang gagal atau tersimpan yang bisa dikirim ulang."])
    with transaction():
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = utcnow()
        delivery.claimed_at = None
        audit.record("notification.retry", actor=actor, target=delivery, channel=delivery.channel,
                     previous_error=delivery.last_error)
        events.wake_after_commit()


# --- broadcasts -------------------------------------------------------------------------------

AUDIENCES = ("session", "cohort", "region")
#: broadcasts a coordinator may send per hour
BROADCASTS_PER_HOUR = 5


def _audience_target(actor: Any, audience: str, target_id: int | None) -> Any:
    from ..places.models import Region
    from ..programme.models import Cohort
    from ..sessions.models import TrainingSession

    if audience not in AUDIENCES or target_id is None:
        raise Invalid({"audience": ["Pilih penerima."]})
    model = {"session": TrainingSession, "cohort": Cohort, "region": Region}[audience]
    obj = db.session.get(model, target_id)
    rule = {"session": "session.manage", "cohort": "cohort.edit", "region": None}[audience]
    if obj is None:
        raise Invalid({"target_id": ["Penerima tidak ditemukan."]})
    if rule is not None and not can(actor, rule, obj):
        raise Invalid({"target_id": ["Penerima tidak ditemukan."]})
    if audience == "region" and not (can(actor, "broadcast.send") and
                                     (actor.role is Role.ADMIN or actor.region_id in (None, obj.id))):
        raise Invalid({"target_id": ["Penerima tidak ditemukan."]})
    return obj


def broadcast_recipients(audience: str, target_id: int) -> list[User]:
    from ..places.models import Outlet
    from ..programme.models import Enrolment, EnrolmentStatus
    from ..sessions.models import Registration, RegistrationStatus

    if audience == "session":
        q = sa.select(User).join(Registration, Registration.user_id == User.id).where(
            Registration.session_id == target_id,
            Registration.status.in_([RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED]))
    elif audience == "cohort":
        q = sa.select(User).join(Enrolment, Enrolment.user_id == User.id).where(
            Enrolment.cohort_id == target_id, Enrolment.status == EnrolmentStatus.ACTIVE)
    else:
        q = sa.select(User).join(Outlet, Outlet.manager_id == User.id).where(
            Outlet.region_id == target_id, Outlet.active.is_(True))
    return list(db.session.scalars(q.where(User.active.is_(True)).distinct().order_by(User.id)))


def broadcast_url(audience: str, target_id: int) -> str:
    if audience == "session":
        return url_for("sessions.session_detail", session_id=target_id)
    return url_for("core.home")


@dataclass
class BroadcastPreview:
    audience: str
    target: Any
    recipients: int
    with_email: int
    with_whatsapp: int


def preview_broadcast(actor: Any, audience: str, target_id: int | None) -> BroadcastPreview:
    from .models import NotificationPreference as Pref

    if not can(actor, "broadcast.send"):
        raise NotAllowed()
    target = _audience_target(actor, audience, target_id)
    users = broadcast_recipients(audience, target.id)
    ids = [u.id for u in users]
    wa = 0
    if ids:
        wa = int(db.session.scalar(sa.select(sa.func.count()).select_from(Pref).where(
            Pref.user_id.in_(ids), Pref.whatsapp_opt_in.is_(True))) or 0)
    return BroadcastPreview(audience, target, len(users), sum(1 for u in users if u.email), wa)


def send_broadcast(actor: Any, audience: str, target_id: int | None, subject: str, body: str, *,
                   now: datetime | None = None) -> Broadcast:
    now = now or utcnow()
    if not can(actor, "broadcast.send"):
        raise NotAllowed()
    subject, body = (subject or "").strip(), (body or "").strip()
    reasons: dict[str, list[str]] = {}
    if not subject or len(subject) > 120:
        reasons["subject"] = ["Judul wajib diisi, paling banyak 120 karakter."]
    if not body or len(body) > 1000:
        reasons["body"] = ["Pesan wajib diisi, paling banyak 1000 karakter."]
    if reasons:
        raise Invalid(reasons)
    preview = preview_broadcast(actor, audience, target_id)
    if preview.recipients == 0:
        raise Invalid({"": ["Tidak ada penerima."]})
    with transaction():
        recent = db.session.scalar(sa.select(sa.func.count()).select_from(Broadcast).where(
            Broadcast.sender_id == actor.id, Broadcast.created_at > now - timedelta(hours=1))) or 0
        if recent >= BROADCASTS_PER_HOUR:
            oldest = db.session.scalar(sa.select(sa.func.min(Broadcast.created_at)).where(
                Broadcast.sender_id == actor.id, Broadcast.created_at > now - timedelta(hours=1)))
            wait = int(((oldest or now) + timedelta(hours=1) - now).total_seconds()) + 1
            raise Throttled(max(wait, 1))
        b = Broadcast(sender_id=actor.id, audience=audience, target_id=preview.target.id, subject=subject,
                      body=body, recipients=preview.recipients, created_at=now)
        db.session.add(b)
        db.session.flush()
        audit.record("broadcast.sent", actor=actor, target=b, audience=audience, target_id=preview.target.id,
                     recipients=preview.recipients, subject=subject)
        events.announce("broadcast.sent", {"broadcast_id": b.id}, actor=actor)
    return b

