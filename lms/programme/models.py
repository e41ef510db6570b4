"""Cohorts, enrolments, evidence and its review, stored files."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from ..people.models import User
    from ..places.models import Outlet, Region


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    return sa.Enum(cls, name=name, native_enum=False, length=24,
                   values_callable=lambda e: [m.value for m in e], validate_strings=True)


cohort_regions = sa.Table(
    "cohort_regions", Base.metadata,
    sa.Column("cohort_id", sa.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("regions.id"), primary_key=True),
)


class Cohort(TimestampMixin, Base):
    """One run of a curriculum, e.g. "e-Warong DKI 2018"."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160), unique=True)
    #: key of a curriculum file in curricula/
    curriculum_key: Mapped[str] = mapped_column(sa.String(64))
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date] = mapped_column(sa.Date)

    regions: Mapped[list[Region]] = relationship(secondary=cohort_regions, order_by="Region.code")

    __table_args__ = (sa.CheckConstraint("end_date >= start_date", name="dates_ordered"),)


class EnrolmentStatus(str, enum.Enum):
    ACTIVE = "active"
    ENDED = "ended"  #: the manager left the outlet; the outlet's records stay with it
    WITHDRAWN = "withdrawn"


class Enrolment(TimestampMixin, Base):
    """A manager, their outlet and a cohort. Progress is derived; these columns only cache it."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlets.id"), index=True)
    #: denormalised from the outlet for region-scoped lists and dashboards
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(_enum(EnrolmentStatus, "enrolment_status"),
                                                    default=EnrolmentStatus.ACTIVE, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # --- denormalised summary, written only by programme.services.refresh_progress ---
    #: key of the first stage not yet complete; NULL when all are complete
    current_stage: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    #: number of stages complete (0–7), always a prefix of the curriculum's order
    completed_count: Mapped[int] = mapped_column(default=0)
    #: when completed_count last changed (for "stuck" lists)
    progress_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cohort: Mapped[Cohort] = relationship()
    user: Mapped[User] = relationship()
    outlet: Mapped[Outlet] = relationship()
    stage_dates: Mapped[list[EnrolmentStage]] = relationship(back_populates="enrolment", cascade="all, delete-orphan",
                                                             order_by="EnrolmentStage.completed_at")

    __table_args__ = (
        sa.Index("ix_enrolments_sync", "updated_at", "id"),  # the API's ``updated_since`` sync
        sa.Index("uq_enrolments_active_outlet", "cohort_id", "outlet_id", unique=True,
                 sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'")),
        sa.Index("uq_enrolments_active_user", "cohort_id", "user_id", unique=True,
                 sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'")),
        sa.Index("ix_enrolments_cohort_stage", "cohort_id", "current_stage"),
        # the dashboard's "stuck" view: oldest progress first within a region
        sa.Index("ix_enrolments_stuck", "status", "region_id", "progress_changed_at", "cohort_id", "current_stage"),
    )


class EnrolmentStage(Base):
    """When an enrolment completed a stage (part of the denormalised summary)."""

    __tablename__ = "enrolment_stages"

    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id", ondelete="CASCADE"), primary_key=True)
    stage_key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="stage_dates")


class StoredFile(Base):
    """An uploaded file, kept under instance/ (never in static), served by a permission-checked view."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: path relative to the upload root; random, never derived from the user's file name
    path: Mapped[str] = mapped_column(sa.String(200), unique=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int] = mapped_column()
    #: detected from the content, not from the name: application/pdf, image/jpeg, image/png
    content_type: Mapped[str] = mapped_column(sa.String(64))
    original_name: Mapped[str] = mapped_column(sa.String(200), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvidenceStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"  #: sent back to the trainee with a comment
    VERIFIED = "verified"


class Evidence(TimestampMixin, Base):
    """A record that proves a milestone. It belongs to the outlet, so it outlives a manager."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: licence | marketing | financial_report | financing
    type: Mapped[str] = mapped_column(sa.String(24), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlets.id"), index=True)
    #: denormalised from the outlet for the review queue's region filter
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    #: the curriculum stage this evidence serves (for the queue's stage filter)
    stage_key: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[EvidenceStatus] = mapped_column(_enum(EvidenceStatus, "evidence_status"),
                                                   default=EvidenceStatus.DRAFT)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the reviewer's comment on the last decision (shown to the trainee when returned)
    review_comment: Mapped[str | None] = mapped_column(sa.Text)
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))

    outlet: Mapped[Outlet] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    file: Mapped[StoredFile | None] = relationship()
    reviews: Mapped[list[EvidenceReview]] = relationship(back_populates="evidence", order_by="EvidenceReview.at")

    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "evidence"}
    __table_args__ = (sa.Index("ix_evidence_sync", "updated_at", "id"),  # the API's ``updated_since`` sync
                      sa.Index("ix_evidence_queue", "status", "region_id", "submitted_at"),)

    @property
    def is_locked(self) -> bool:
        return self.status is EvidenceStatus.VERIFIED


class LicenceType(str, enum.Enum):
    NIB = "NIB"  #: Nomor Induk Berusaha, 13 digits, OSS since 2021
    IUMK = "IUMK"  #: Izin Usaha Mikro Kecil
    SKU = "SKU"  #: Surat Keterangan Usaha
    OTHER = "other"


class Licence(Evidence):
    __tablename__ = "licences"

    id: Mapped[int] = mapped_column(sa.ForeignKey("evidence.id", ondelete="CASCADE"), primary_key=True)
    licence_type: Mapped[LicenceType] = mapped_column(_enum(LicenceType, "licence_type"))
    number: Mapped[str] = mapped_column(sa.String(64))
    issued_on: Mapped[date] = mapped_column(sa.Date)
    issuing_office: Mapped[str] = mapped_column(sa.String(160))

    __mapper_args__ = {"polymorphic_identity": "licence"}


class MarketingKind(str, enum.Enum):
    MARKETING_PLAN = "marketing_plan"
    ONLINE_SHOP = "online_shop"
    BAZAAR = "bazaar"
    OKOCE_MART = "okoce_mart"


class MarketingStep(Evidence):
    __tablename__ = "marketing_steps"

    id: Mapped[int] = mapped_column(sa.ForeignKey("evidence.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[MarketingKind] = mapped_column(_enum(MarketingKind, "marketing_kind"))
    description: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str | None] = mapped_column(sa.String(500))

    __mapper_args__ = {"polymorphic_identity": "marketing"}


class FinancialReport(Evidence):
    """One month's turnover and costs for an outlet, in whole Rupiah."""

    __tablename__ = "financial_reports"

    id: Mapped[int] = mapped_column(sa.ForeignKey("evidence.id", ondelete="CASCADE"), primary_key=True)
    #: copy of evidence.outlet_id so that one report per outlet per month is a constraint
    report_outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlets.id"))
    #: the first day of the month reported
    month: Mapped[date] = mapped_column(sa.Date)
    turnover: Mapped[int] = mapped_column(sa.BigInteger)  #: omzet
    cost_of_goods: Mapped[int] = mapped_column(sa.BigInteger)  #: harga pokok penjualan
    operating_expenses: Mapped[int] = mapped_column(sa.BigInteger)  #: biaya operasional
    notes: Mapped[str] = mapped_column(sa.Text, default="")

    __mapper_args__ = {"polymorphic_identity": "financial_report"}
    __table_args__ = (
        sa.UniqueConstraint("report_outlet_id", "month"),
        sa.CheckConstraint("turnover >= 0 AND cost_of_goods >= 0 AND operating_expenses >= 0", name="amounts_positive"),
    )

    @property
    def profit(self) -> int:
        return self.turnover - self.cost_of_goods - self.operating_expenses


class Lender(str, enum.Enum):
    BANK_DKI = "bank_dki"
    BNI = "bni"
    OTHER_BANK = "other_bank"
    KOPERASI = "koperasi"
    OTHER = "other"


class FinancingStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISBURSED = "disbursed"


class Financing(Evidence):
    """A financing application (permodalan) and where it stands with the lender."""

    __tablename__ = "financings"

    id: Mapped[int] = mapped_column(sa.ForeignKey("evidence.id", ondelete="CASCADE"), primary_key=True)
    lender: Mapped[Lender] = mapped_column(_enum(Lender, "lender"))
    lender_name: Mapped[str] = mapped_column(sa.String(160), default="")
    #: e.g. KUR, Kredit Monas Pemula
    product: Mapped[str] = mapped_column(sa.String(160))
    amount_requested: Mapped[int] = mapped_column(sa.BigInteger)
    amount_approved: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: the application's status with the lender (not the review status)
    application_status: Mapped[FinancingStatus] = mapped_column(_enum(FinancingStatus, "financing_status"))
    applied_on: Mapped[date | None] = mapped_column(sa.Date)
    decided_on: Mapped[date | None] = mapped_column(sa.Date)
    disbursed_on: Mapped[date | None] = mapped_column(sa.Date)

    __mapper_args__ = {"polymorphic_identity": "financing"}
    __table_args__ = (
        sa.CheckConstraint("amount_requested > 0 AND (amount_approved IS NULL OR amount_approved >= 0)",
                           name="amounts_valid"),
    )


class ReviewDecision(str, enum.Enum):
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    RETURNED = "returned"
    EDITED = "edited"  #: changed after verification (a coordinator's audited correction)
    SAVED = "saved"  #: saved as a draft, not (yet) sent for verification


class EvidenceReview(Base):
    """The history of an evidence record: each submission, decision and post-verification edit."""

    __tablename__ = "evidence_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(sa.ForeignKey("evidence.id", ondelete="CASCADE"), index=True)
    decision: Mapped[ReviewDecision] = mapped_column(_enum(ReviewDecision, "review_decision"))
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(sa.Text)

    evidence: Mapped[Evidence] = relationship(back_populates="reviews")
    by: Mapped[User | None] = relationship()
