"""Second factor (TOTP and recovery codes) and server-side session records ("My devices")."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class TotpFactor(Base):
    """A person's authenticator app (RFC 6238). One per user; ``confirmed_at`` NULL while enrolling.

    The shared secret is stored sealed with a key derived from the app's secret key
    (lms/people/twofactor.py ``seal``); it is shown only while enrolling, never after."""

    __tablename__ = "totp_factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    secret_sealed: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the last accepted time step: a code is accepted once (RFC 6238 §5.2)
    last_step: Mapped[int | None] = mapped_column(sa.BigInteger)


class RecoveryCode(Base):
    """A single-use recovery code, stored only as a hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecondFactorFailure(Base):
    """A wrong second-factor code, kept for throttling per account."""

    __tablename__ = "second_factor_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    ip: Mapped[str] = mapped_column(sa.String(45))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_second_factor_failures_user_at", "user_id", "at"),)


class UserSession(Base):
    """One signed-in browser. Its random id is kept in the Flask session; revoking the record signs
    that browser out on its next request."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(sa.String(43), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: updated at most every few minutes (lms/people/sessions.py TOUCH_EVERY)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: "Chrome di Android", summarised from the User-Agent
    device: Mapped[str] = mapped_column(sa.String(80), default="")
    #: the address reduced to its network (IPv4 /24, IPv6 /48)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    #: the browser's known-device id (lms/people/devices.py), to refuse a revoked browser's remember cookie
    device_id: Mapped[str | None] = mapped_column(sa.String(32))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
