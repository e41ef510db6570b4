"""Certificates, their serial counters, and bulk issuing runs (jobs) with per-holder items."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from ..programme.models import _enum

if TYPE_CHECKING:
    from ..people.models import User


class CertificateStatus(str, enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"


class Certificate(Base):
    """An issued certificate. What it says is copied here when issued, so it never changes afterwards."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the kind of certificate, named by its design's metadata.yaml (bimtek, completion, …)
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    #: the design folder it was rendered with
    design: Mapped[str] = mapped_column(sa.String(64))
    #: e.g. BIMTEK/2018/000123: the kind's prefix, the year of issue (WIB) and a number per kind and year
    serial: Mapped[str] = mapped_column(sa.String(48), unique=True)
    year: Mapped[int] = mapped_column()
    number: Mapped[int] = mapped_column()
    #: random (secrets.token_urlsafe(24), 192 bits), in the QR code's URL; never derived from ids
    verification_code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[CertificateStatus] = mapped_column(_enum(CertificateStatus, "certificate_status"),
                                                      default=CertificateStatus.ACTIVE)
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the name printed on the certificate (a correction issues a new certificate with the new name)
    holder_name: Mapped[str] = mapped_column(sa.String(200))
    #: session | enrolment (the design's subject)
    subject_type: Mapped[str] = mapped_column(sa.String(16))
    #: "session:<id>" or "enrolment:<id>": one active certificate per kind, holder and subject
    subject_key: Mapped[str] = mapped_column(sa.String(40))
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("training_sessions.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enrolments.id"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cohorts.id"), index=True)
    #: the subject's region (the session's, the enrolment's): coordinators see their region's certificates
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    outlet_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outlets.id"))
    outlet_name: Mapped[str] = mapped_column(sa.String(200), default="")
    outlet_code: Mapped[str] = mapped_column(sa.String(32), default="")
    #: the session's title or the programme's name, as printed
    subject_title: Mapped[str] = mapped_column(sa.String(300))
    #: other printed facts (dates, venue, cohort, …) as issued
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: the last change (issued, revoked, holder erased): the API's ``updated_since`` sync
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: the certificate this one corrects (revoked when this one was issued)
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id"), unique=True)
    #: the rendered PDF under CERTIFICATE_DIR; NULL until first rendered (bulk runs render at once,
    #: single issues and the demo seed on first download)
    pdf_path: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    pdf_size: Mapped[int | None] = mapped_column()
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the branding version (logos, signatories, stamp) current when it was issued; NULL: the design's
    #: own defaults from metadata.yaml. A later branding change never alters an issued certificate.
    branding_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificate_brandings.id"))
    #: its bit in the published Bitstring Status List (lms/credentials): set when revoked
    status_index: Mapped[int | None] = mapped_column(unique=True)
    #: the signed Open Badges 3.0 credential (JSON text, exactly as served and embedded in the PDF);
    #: made with the PDF, never changed afterwards
    credential_json: Mapped[str | None] = mapped_column(sa.Text)

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    branding: Mapped[CertificateBranding | None] = relationship()
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    replaces: Mapped[Certificate | None] = relationship(remote_side=[id], foreign_keys=[replaces_id],
                                                        back_populates="replaced_by")
    replaced_by: Mapped[Certificate | None] = relationship(foreign_keys=[replaces_id], back_populates="replaces",
                                                           uselist=False)

    __table_args__ = (
        sa.Index("ix_certificates_sync", "updated_at", "id"),  # the API's ``updated_since`` sync
        sa.Index("ix_certificates_pdf_sha256", "pdf_sha256"),  # "Periksa berkas": an uploaded file's hash
        sa.Index("uq_certificates_active_subject", "kind", "holder_id", "subject_key", unique=True,
                 sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'")),
        sa.UniqueConstraint("kind", "year", "number", name="uq_certificates_kind_year_number"),
        sa.CheckConstraint("status <> 'revoked' OR revoked_at IS NOT NULL", name="revoked_has_date"),
        sa.CheckConstraint("number > 0", name="number_positive"),
    )

    @property
    def is_active(self) -> bool:
        return self.status is CertificateStatus.ACTIVE


class CertificateBranding(Base):
    """One version of a design's branding, made by an admin; never changed once saved.

    The newest version of a design applies to certificates issued afterwards (they keep its id).
    Images are keys in the storage area ``branding`` (lms/storage.py), checked by content and
    cleaned of metadata when uploaded.
    """

    __tablename__ = "certificate_brandings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the design folder (certificates/<design>)
    design: Mapped[str] = mapped_column(sa.String(64), index=True)
    logo_left_key: Mapped[str | None] = mapped_column(sa.String(200))
    logo_right_key: Mapped[str | None] = mapped_column(sa.String(200))
    stamp_key: Mapped[str | None] = mapped_column(sa.String(200))
    #: [{"name", "title", "nip", "signature_key"}], in printed order (one to three)
    signatories: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    created_by: Mapped[User | None] = relationship()


class CertificateCounter(Base):
    """The last serial number used per kind and year; taken with an atomic UPDATE … RETURNING."""

    __tablename__ = "certificate_counters"

    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class JobItemStatus(str, enum.Enum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class CertificateJob(Base):
    """A bulk run: "issue to all eligible" for a session or a cohort, processed in the background."""

    __tablename__ = "certificate_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    #: session | cohort
    scope: Mapped[str] = mapped_column(sa.String(16))
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("training_sessions.id"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cohorts.id"), index=True)
    #: the region it covers (a session's; a coordinator's for a cohort); NULL: all of DKI
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"))
    #: e.g. the session's title, for the job page and the ZIP's name
    title: Mapped[str] = mapped_column(sa.String(300))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: counts, changed only by atomic UPDATEs (done + failed <= total)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)

    created_by: Mapped[User | None] = relationship()
    items: Mapped[list[CertificateJobItem]] = relationship(back_populates="job", order_by="CertificateJobItem.id")

    __table_args__ = (sa.CheckConstraint("done >= 0 AND failed >= 0 AND done + failed <= total", name="counts_valid"),)

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done - self.failed)

    @property
    def finished(self) -> bool:
        return self.remaining == 0


class CertificateJobItem(Base):
    """One holder of a bulk run, with its result."""

    __tablename__ = "certificate_job_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("certificate_jobs.id", ondelete="CASCADE"), index=True)
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    holder_name: Mapped[str] = mapped_column(sa.String(200))
    #: the session's id (session runs) or the enrolment's id (cohort runs)
    subject_id: Mapped[int] = mapped_column()
    status: Mapped[JobItemStatus] = mapped_column(_enum(JobItemStatus, "job_item_status"),
                                                  default=JobItemStatus.PENDING)
    certificate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id"))
    #: why it failed (shown to the coordinator)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    job: Mapped[CertificateJob] = relationship(back_populates="items")
    certificate: Mapped[Certificate | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("job_id", "holder_id", "subject_id"),
                      sa.Index("ix_certificate_job_items_job_status", "job_id", "status"))
