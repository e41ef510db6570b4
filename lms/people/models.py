"""Users, roles, sign-in throttling and password set-up links."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from ..places.models import Outlet, Region


class Role(str, enum.Enum):
    TRAINEE = "trainee"  #: pengelola e-Warong
    MENTOR = "mentor"  #: pendamping / penyelia
    COORDINATOR = "coordinator"  #: Dinas Sosial officer
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.TRAINEE


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-cased and trimmed, so uniqueness is case-insensitive; NULL for a trainee who
    #: has none (they sign in with their phone number and a code); required for staff (services)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(160))
    #: E.164, +62…; unique among active accounts (checked by the services; see ``__table_args__``)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    role: Mapped[Role] = mapped_column(
        sa.Enum(Role, name="user_role", native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e], validate_strings=True),
        index=True,
    )
    #: coordinators: their region, NULL for all of DKI; mentors: their working region
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: NULL until the user has set a password (set-up link pending)
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    #: the alternative id Flask-Login keeps in the session and remember cookie;
    #: rotating it ends every session of the user
    session_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_session_token)
    #: preferred interface language, id or en
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when and why an admin or coordinator last deactivated the account (kept after reactivation)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivation_reason: Mapped[str | None] = mapped_column(sa.String(500))
    #: the privacy notice version (PRIVACY_NOTICE_VERSION) the person last accepted; NULL: never.
    #: The consents table holds every decision; this copy lets each request check it without a query
    notice_version: Mapped[str | None] = mapped_column(sa.String(20))
    #: set when the person was erased at their request (UU PDP Pasal 8): name, contacts, their
    #: free text and files are gone; the row stays so counts, dashboards and the audit log hold
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    region: Mapped[Region | None] = relationship()
    managed_outlet: Mapped[Outlet | None] = relationship(
        back_populates="manager", foreign_keys="Outlet.manager_id", uselist=False
    )

    # --- Flask-Login protocol -----------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"

    __table_args__ = (
        sa.Index("ix_users_sync", "updated_at", "id"),  # the API's ``updated_since`` sync
        # sign-in by phone looks the number up; uniqueness among active accounts is a rule of the
        # services (form, import, CLI, phone change), not a constraint: past data (the demo's
        # history, bulk test data) may hold shared numbers, and such a number then signs nobody in
        sa.Index("ix_users_phone", "phone"),
    )


class LoginFailure(Base):
    """A failed sign-in, kept for throttling per account and per address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the e-mail as typed, normalised; may not belong to any account
    email: Mapped[str] = mapped_column(sa.String(254))
    ip: Mapped[str] = mapped_column(sa.String(45))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the known-device id of the browser that tried (lms.people.devices), NULL for an unknown one
    device: Mapped[str | None] = mapped_column(sa.String(32))

    __table_args__ = (
        sa.Index("ix_login_failures_email_at", "email", "at"),
        sa.Index("ix_login_failures_ip_at", "ip", "at"),
        sa.Index("ix_login_failures_device_at", "device", "at"),
    )


class PasswordSetupToken(Base):
    """A one-time link to set a password: first sign-in or an admin's reset."""

    __tablename__ = "password_setup_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: sha256 of the token; the token itself is only ever in the link
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class SignInCode(Base):
    """A one-time 6-digit code sent to a phone: to sign in, or to confirm a new number.

    A row is written for every request, also for numbers that belong to no account (no code
    then), so the answer and the limits look the same for known and unknown numbers. The
    code is only stored as an HMAC (keyed with the app's secret); it works once, for
    ``PHONE_CODE_MINUTES``, for at most ``PHONE_CODE_MAX_TRIES`` tries, and only in the
    browser session that asked for it (a stranger's wrong guesses cannot spend the person's
    own code)."""

    __tablename__ = "sign_in_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "login" or "phone_change"
    purpose: Mapped[str] = mapped_column(sa.String(16))
    #: the number as normalised (+62…), the one the code goes to
    phone: Mapped[str] = mapped_column(sa.String(20))
    #: the account the code is for; NULL when the number is not an active trainee's
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: hex HMAC-SHA256 of the code; NULL when no code was sent (unknown number)
    code_hash: Mapped[str | None] = mapped_column(sa.String(64))
    #: where the request came from (the per-address and per-device limits)
    ip: Mapped[str] = mapped_column(sa.String(45))
    device: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: set when the code was used, or replaced by a newer request from the same session
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(default=0)

    user: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_sign_in_codes_phone_at", "phone", "created_at"),
        sa.Index("ix_sign_in_codes_ip_at", "ip", "created_at"),
        sa.Index("ix_sign_in_codes_device_at", "device", "created_at"),
    )
