"""Regions, kecamatan and outlets (e-Warong KUBE Jasa)."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from ..people.models import User


class Region(Base):
    """A kota/kabupaten administrasi of DKI Jakarta (reference data)."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: official four-digit code, e.g. 3171 for Jakarta Pusat
    code: Mapped[str] = mapped_column(sa.String(4), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))

    kecamatan: Mapped[list[Kecamatan]] = relationship(back_populates="region", order_by="Kecamatan.code")

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class Kecamatan(Base):
    """A district inside a region (reference data)."""

    __tablename__ = "kecamatan"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: official code, e.g. 3171010 (BPS seven-digit form)
    code: Mapped[str] = mapped_column(sa.String(7), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)

    region: Mapped[Region] = relationship(back_populates="kecamatan")

    __table_args__ = (sa.UniqueConstraint("region_id", "name"),)


class Outlet(TimestampMixin, Base):
    """An e-Warong KUBE Jasa. The outlet stays; its manager can change."""

    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the programme's own code for the outlet, e.g. EW-3171-001
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    #: name of the KUBE (Kelompok Usaha Bersama) group that runs the outlet
    kube_name: Mapped[str] = mapped_column(sa.String(160), default="")
    address: Mapped[str] = mapped_column(sa.Text, default="")
    #: free text: kelurahan are not kept as reference data
    kelurahan: Mapped[str] = mapped_column(sa.String(80), default="")
    kecamatan_id: Mapped[int] = mapped_column(sa.ForeignKey("kecamatan.id"), index=True)
    #: denormalised from the kecamatan so region filters need no join
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    #: E.164, +62…
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)
    #: WIB day of the latest mentor visit (kept by lms.dashboard.summaries; None: never visited)
    last_visit_on: Mapped[date | None] = mapped_column(sa.Date)
    #: the current manager (pengelola); history is in outlet_manager_terms
    manager_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), unique=True)

    kecamatan: Mapped[Kecamatan] = relationship()
    region: Mapped[Region] = relationship()
    manager: Mapped[User | None] = relationship(back_populates="managed_outlet", foreign_keys=[manager_id])
    manager_terms: Mapped[list[OutletManagerTerm]] = relationship(
        back_populates="outlet", order_by="OutletManagerTerm.started_at.desc()"
    )

    def __repr__(self) -> str:
        return f"<Outlet {self.code}>"

    __table_args__ = (sa.Index("ix_outlets_sync", "updated_at", "id"),)  # the API's ``updated_since`` sync

class OutletManagerTerm(Base):
    """One manager's time at an outlet; the open term (ended_at NULL) is the current one."""

    __tablename__ = "outlet_manager_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlets.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    outlet: Mapped[Outlet] = relationship(back_populates="manager_terms")
    user: Mapped[User] = relationship()

    __table_args__ = (
        # at most one open term per outlet and per user
        sa.Index("uq_outlet_manager_terms_open_outlet", "outlet_id", unique=True,
                 sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL")),
        sa.Index("uq_outlet_manager_terms_open_user", "user_id", unique=True,
                 sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL")),
    )
