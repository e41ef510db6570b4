"""The transactional outbox: one row per domain event, written in the transaction of the change."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    return sa.Enum(cls, name=name, native_enum=False, length=16,
                   values_callable=lambda e: [m.value for m in e], validate_strings=True)


class EventStatus(str, enum.Enum):
    PENDING = "pending"  #: committed, not yet turned into notifications and messages
    DISPATCHED = "dispatched"  #: every subscriber has run
    FAILED = "failed"  #: a subscriber raised; see ``error`` (retried by the next sweep up to a limit)


class OutboxEvent(Base):
    """A domain event, written in the same transaction as the change it announces.

    It is dispatched to the subscribers only after that transaction commits (a rolled-back
    transaction takes the row with it), by a worker, never inside the request."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: dotted name, e.g. ``evidence.returned``, ``session.changed``
    name: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: ids and facts the subscribers need (never secrets, except a set-up link in ``secret``)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: a short-lived secret for the message only (a set-up link); erased once dispatched
    secret: Mapped[str | None] = mapped_column(sa.String(512))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: makes an event idempotent per period (reminders): a second event with the same key is not written
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(160), unique=True)
    status: Mapped[EventStatus] = mapped_column(_enum(EventStatus, "outbox_event_status"),
                                                default=EventStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_outbox_events_pending", "status", "id"),)
