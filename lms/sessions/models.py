"""Regional training sessions (Bimtek), their speakers, registrations and attendance."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, TimestampMixin, UTCDateTime, utcnow
from ..programme.models import _enum

if TYPE_CHECKING:
    from ..people.models import User
    from ..places.models import Region
    from ..programme.models import Cohort


class SessionStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class TrainingSession(TimestampMixin, Base):
    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: the curriculum stage the session covers (pelatihan for a Bimtek)
    stage_key: Mapped[str] = mapped_column(sa.String(40), index=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    venue_name: Mapped[str] = mapped_column(sa.String(200))
    venue_address: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column()
    #: registered (not waitlisted) seats; changed only by a conditional UPDATE so it never exceeds capacity
    seats_taken: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus, "session_status"),
                                                  default=SessionStatus.SCHEDULED, index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: sessions created together as a series share this id
    series_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    #: RFC 5545 SEQUENCE: raised on every change a calendar must notice
    sequence: Mapped[int] = mapped_column(default=0)
    #: secret used to derive the rotating check-in QR codes
    checkin_secret: Mapped[str] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: the certificate design (certificates/<design>/metadata.yaml ``kind``) its attendees earn; None: no certificate.
    #: Chosen on the session form among the designs whose ``session_stages`` allow ``stage_key``.
    certificate_kind: Mapped[str | None] = mapped_column(sa.String(32))
    #: recorded after it took place (a back-dated record): registration closed, attendance open
    backdated: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: the co-hosting agencies printed as "diselenggarakan oleh" on its certificates, in order;
    #: NULL: the agencies of its speakers (see lms.certification for the default)
    organisers: Mapped[list[str] | None] = mapped_column(sa.JSON)

    cohort: Mapped[Cohort] = relationship()
    region: Mapped[Region] = relationship()
    speakers: Mapped[list[SessionSpeaker]] = relationship(back_populates="session", cascade="all, delete-orphan",
                                                          order_by="SessionSpeaker.position")

    __table_args__ = (
        sa.Index("ix_training_sessions_sync", "updated_at", "id"),  # the API's ``updated_since`` sync
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )


class SpeakerAgency(str, enum.Enum):
    DINAS_SOSIAL = "dinas_sosial"
    BANK_INDONESIA = "bank_indonesia"
    BNI = "bni"
    PGO_OKOCE = "pgo_okoce"
    OTHER = "other"


class SessionSpeaker(Base):
    """A narasumber of a session."""

    __tablename__ = "session_speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    #: lower-cased, whitespace-folded name: speaker clashes are found by it
    name_key: Mapped[str] = mapped_column(sa.String(160), index=True)
    agency: Mapped[SpeakerAgency] = mapped_column(_enum(SpeakerAgency, "speaker_agency"))
    agency_other: Mapped[str] = mapped_column(sa.String(160), default="")
    position: Mapped[int] = mapped_column(default=0)

    session: Mapped[TrainingSession] = relationship(back_populates="speakers")


class RegistrationStatus(str, enum.Enum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Attendance(str, enum.Enum):
    PRESENT = "present"
    LATE = "late"
    EXCUSED = "excused"
    ABSENT = "absent"


class Registration(TimestampMixin, Base):
    """A trainee's place at a session: registered or waitlisted, and later their attendance."""

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(_enum(RegistrationStatus, "registration_status"))
    #: waitlist order: the earliest waitlisted row is promoted first
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attendance: Mapped[Attendance | None] = mapped_column(_enum(Attendance, "attendance"))
    attendance_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attendance_marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: True when the trainee checked in by scanning the venue QR code
    checked_in_by_qr: Mapped[bool] = mapped_column(default=False)

    session: Mapped[TrainingSession] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (
        sa.Index("ix_registrations_sync", "updated_at", "id"),  # the API's ``updated_since`` sync
        sa.UniqueConstraint("session_id", "user_id"),
        sa.Index("ix_registrations_user_attendance", "user_id", "attendance"),
    )


class CalendarFeed(Base):
    """A user's personal calendar feed; the URL carries a secret token that can be revoked."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
