"""Personal data under UU PDP (Law 27/2022): consent decisions, the person's requests,
records of who looked at whose data, and breach notifications."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from ..people.models import User


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    return sa.Enum(cls, name=name, native_enum=False, length=16,
                   values_callable=lambda e: [m.value for m in e], validate_strings=True)


class ConsentKind(str, enum.Enum):
    PROGRAMME = "programme"  #: the processing described by the privacy notice, for the 7 PAS programme
    WHATSAPP = "whatsapp"  #: messages on WhatsApp (kept in step with NotificationPreference.whatsapp_opt_in)


class Consent(Base):
    """One decision of a person: given or withdrawn, against which version of the notice.

    Rows are only added; the person's current state is their newest row per kind."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[ConsentKind] = mapped_column(_enum(ConsentKind, "consent_kind"))
    #: True: agreed / opted in; False: refused or withdrawn
    granted: Mapped[bool] = mapped_column()
    #: the privacy notice's version the decision was made against (PRIVACY_NOTICE_VERSION)
    notice_version: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: where: "first_sign_in", "notice_change", "renewal" (after a withdrawal), "profile", "import", "admin", "seed"
    source: Mapped[str] = mapped_column(sa.String(40))

    user: Mapped[User] = relationship()

    __table_args__ = (sa.Index("ix_consents_user_kind_at", "user_id", "kind", "at"),)


class RequestKind(str, enum.Enum):
    EXPORT = "export"  #: "Data saya": a copy of everything held about me (access and portability)
    CORRECTION = "correction"  #: something about me is wrong
    ERASURE = "erasure"  #: delete (anonymise) me


class RequestStatus(str, enum.Enum):
    PENDING = "pending"  #: waiting: for the worker (export) or for a reviewer (correction, erasure)
    RUNNING = "running"  #: export being built
    READY = "ready"  #: export ready to download until ``expires_at``
    EXPIRED = "expired"  #: export file deleted after its time
    FAILED = "failed"  #: export failed (``response`` says why)
    ACCEPTED = "accepted"  #: correction applied / erasure carried out
    DECLINED = "declined"  #: refused, with ``response`` as the reason
    WITHDRAWN = "withdrawn"  #: the person took the request back before it was handled


class DataRequest(Base):
    """A data subject's request (Pasal 5–13 UU PDP), recorded as Pasal 14 asks."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: whose data (for an erasure: the account, kept anonymised)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind, "data_request_kind"))
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus, "data_request_status"),
                                                  default=RequestStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the answer is due by (3×24 hours where the law sets it)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: correction: which item is wrong ("full_name", "phone", "outlet_name", "other", …)
    field: Mapped[str | None] = mapped_column(sa.String(40))
    #: the person's words: what is wrong / why they ask (erased with the person)
    message: Mapped[str | None] = mapped_column(sa.Text)
    #: correction: the value the person asks for
    proposed_value: Mapped[str | None] = mapped_column(sa.String(300))
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the reviewer's answer (a decline's reason, what was changed) or an export's failure
    response: Mapped[str | None] = mapped_column(sa.Text)
    #: export: progress, the stored ZIP (relative to the files folder), its size and digest
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    file_key: Mapped[str | None] = mapped_column(sa.String(300))
    file_size: Mapped[int | None] = mapped_column()
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    handled_by: Mapped[User | None] = relationship(foreign_keys=[handled_by_id])

    __table_args__ = (
        sa.Index("ix_data_requests_status_kind", "status", "kind"),
        sa.CheckConstraint("progress >= 0 AND total >= 0", name="progress_valid"),
    )


class DataAccess(Base):
    """Who looked at whose personal data: a full record viewed, a file downloaded, an export."""

    __tablename__ = "data_access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: who looked; NULL for the system (a CLI export)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: whose data
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    #: "record" (the full profile page), "file" (a scan, photo or attachment), "export" (a list or
    #: CSV that holds the person), "data_export" (their own ZIP)
    action: Mapped[str] = mapped_column(sa.String(24))
    #: what exactly, without personal data: "evidence:12", "visit_photo:4", "outlets.csv"
    what: Mapped[str] = mapped_column(sa.String(120), default="")

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    __table_args__ = (sa.Index("ix_data_access_subject_at", "subject_id", "at"),)


class BreachNotice(Base):
    """A personal data breach being handled: its window, what was affected, the letter (Pasal 46)."""

    __tablename__ = "breach_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: when the breach was found (the 3×24 hours run from here)
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the categories of data affected, keys of lms.privacy.breach.CATEGORIES
    categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: what happened and what was done (the admin's words)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    measures: Mapped[str] = mapped_column(sa.Text, default="")
    affected: Mapped[int] = mapped_column(default=0)
    #: the letter as produced (id)
    letter: Mapped[str] = mapped_column(sa.Text, default="")
    #: when it was handed to the notification channels
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    created_by: Mapped[User | None] = relationship()
