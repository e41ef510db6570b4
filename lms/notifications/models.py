"""Domain events (the outbox), in-app notifications, outgoing messages and preferences."""
from __future__ import annotations

import enum
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from ..outbox.models import EventStatus, OutboxEvent  # noqa: F401  (re-exported: the outbox is a lower layer)
from ..people.models import User


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    return sa.Enum(cls, name=name, native_enum=False, length=16,
                   values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Notification(Base):
    """One line in a person's in-app notification list (the bell)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_events.id", ondelete="SET NULL"))
    #: the event's name (what the notification is about)
    kind: Mapped[str] = mapped_column(sa.String(64))
    #: title and body, in the person's language when it was written
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: a path inside the site (``/evidence/12``), opened when the person taps the notification
    url: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("event_id", "user_id"),
        sa.Index("ix_notifications_user_unread", "user_id", "read_at", "id"),
    )


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"  #: waiting to be sent at ``next_attempt_at`` (also: held for quiet hours, retry backoff)
    SENDING = "sending"  #: claimed by a worker; the send may or may not have happened
    SENT = "sent"
    FAILED = "failed"  #: permanent failure, attempts exhausted, or interrupted mid-send; an admin may retry
    KEPT = "kept"  #: the channel is not configured here: kept so the outbox page shows what would be sent
    SKIPPED = "skipped"  #: not sent on purpose (no address, no WhatsApp opt-in at send time)


class Delivery(Base):
    """One message to one person on one channel for one event.

    ``(event_id, user_id, channel)`` is the idempotency key: it is stored (unique) before
    anything is sent, and a worker claims the row (``pending`` → ``sending``) before it
    sends, so a message is sent at most once even when a worker dies between sending and
    recording; such a row is failed as "interrupted" for an admin to look at, never resent
    automatically."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_events.id", ondelete="SET NULL"))
    #: for messages without an event row (kept for the idempotency key): the event id or a broadcast key
    key: Mapped[str] = mapped_column(sa.String(200))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: email, whatsapp (sms later)
    channel: Mapped[str] = mapped_column(sa.String(16))
    kind: Mapped[str] = mapped_column(sa.String(64))
    #: the address used (e-mail or +62 number), kept for the outbox page and the failure report
    address: Mapped[str] = mapped_column(sa.String(254))
    locale: Mapped[str] = mapped_column(sa.String(5), default="id")
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    #: WhatsApp template: {"name": ..., "language": ..., "params": [...]}
    template: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: [{"filename": ..., "mimetype": ..., "content": base64}], e.g. a session's .ics
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    #: urgent messages (a set-up link the person asked for) are not held back by quiet hours
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "delivery_status"),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the provider's id (SMTP Message-ID, WhatsApp wamid)
    provider_id: Mapped[str | None] = mapped_column(sa.String(200))
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("key", "user_id", "channel"),
        sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
    )


class NotificationPreference(Base):
    """A person's choices: channels, quiet hours and the WhatsApp opt-in (with when and where)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email_enabled: Mapped[bool] = mapped_column(default=True)
    #: WhatsApp is sent only to people who opted in; recorded with the time and the source
    whatsapp_opt_in: Mapped[bool] = mapped_column(default=False)
    whatsapp_opt_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: where the choice was made: "profile", "import", "admin", "seed" …
    whatsapp_opt_in_source: Mapped[str | None] = mapped_column(sa.String(40))
    whatsapp_opt_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: WhatsApp messages wait outside these WIB hours (default 21:00–06:00)
    quiet_start: Mapped[time] = mapped_column(sa.Time, default=time(21, 0))
    quiet_end: Mapped[time] = mapped_column(sa.Time, default=time(6, 0))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Broadcast(Base):
    """A coordinator's message to a group: a session's registrants, a cohort or a region's managers."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: session, cohort or region
    audience: Mapped[str] = mapped_column(sa.String(16))
    target_id: Mapped[int] = mapped_column()
    subject: Mapped[str] = mapped_column(sa.String(120))
    body: Mapped[str] = mapped_column(sa.Text)
    recipients: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sender: Mapped[User | None] = relationship()
