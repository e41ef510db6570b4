"""Webhooks: HTTPS endpoints that receive chosen domain events, and each delivery's record."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from ..people.models import User


class WebhookEndpoint(Base):
    """An endpoint an admin registered; deliveries are built with its owner's rights."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: whose rights decide what a delivery may contain; a deactivated owner stops the endpoint
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    #: event names (lms.outbox.EVENTS) this endpoint receives
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: the HMAC-SHA256 key, shown to the admin once (stored: it must sign every delivery)
    secret: Mapped[str] = mapped_column(sa.String(80))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()


class WebhookStatus(str, enum.Enum):
    PENDING = "pending"  #: waiting for ``next_attempt_at`` (first try or a retry after backoff)
    SENDING = "sending"  #: claimed by a worker
    DELIVERED = "delivered"  #: the endpoint answered 2xx
    FAILED = "failed"  #: attempts exhausted, or refused for good
    SKIPPED = "skipped"  #: the owner may not see the event's object (nothing was sent)


class WebhookDelivery(Base):
    """One event to one endpoint. ``(endpoint_id, event_id)`` is the idempotency key; the ``uid``
    travels in the ``Webhook-Id`` header so a receiver can recognise a replay."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: random, public: the delivery's id for the receiver (the same on every retry)
    uid: Mapped[str] = mapped_column(sa.String(40), unique=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_events.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(sa.String(64))
    #: the JSON body as sent (built once, with the owner's rights, when the delivery was made)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[WebhookStatus] = mapped_column(
        sa.Enum(WebhookStatus, name="webhook_status", native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e], validate_strings=True),
        default=WebhookStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the last answer: HTTP status (NULL: no answer) and a short error
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )
