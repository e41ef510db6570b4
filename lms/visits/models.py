"""Mentor caseloads, field visits (pendampingan), their action items and photos."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, TimestampMixin, UTCDateTime, utcnow
from ..programme.models import _enum

if TYPE_CHECKING:
    from ..people.models import User
    from ..places.models import Outlet
    from ..programme.models import StoredFile


class MentorAssignment(Base):
    """A mentor's responsibility for an outlet; the open one (ended_at NULL) is current."""

    __tablename__ = "mentor_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlets.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    outlet: Mapped[Outlet] = relationship()
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])

    __table_args__ = (
        sa.Index("uq_mentor_assignments_open_outlet", "outlet_id", unique=True,
                 sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL")),
    )


#: a location fix less precise than this (metres) says nothing about where the visit was
MAX_ACCURACY_M = 100_000


class VisitKind(str, enum.Enum):
    FIELD_VISIT = "field_visit"
    PHONE_CALL = "phone_call"
    GROUP_MEETING = "group_meeting"


class Visit(TimestampMixin, Base):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlets.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: denormalised from the outlet for region-scoped reports
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    kind: Mapped[VisitKind] = mapped_column(_enum(VisitKind, "visit_kind"))
    #: curriculum stage keys discussed
    stages: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    observations: Mapped[str] = mapped_column(sa.Text, default="")
    #: for staff only: never shown to the trainee
    staff_notes: Mapped[str] = mapped_column(sa.Text, default="")
    next_visit_on: Mapped[date | None] = mapped_column(sa.Date)
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    #: metres, as the browser reported it
    location_accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    #: generated on the phone; a retried submission with the same key is the same visit
    client_key: Mapped[str] = mapped_column(sa.String(64), unique=True)

    outlet: Mapped[Outlet] = relationship()
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    action_items: Mapped[list[ActionItem]] = relationship(back_populates="visit", cascade="all, delete-orphan",
                                                          order_by="ActionItem.id")
    photos: Mapped[list[VisitPhoto]] = relationship(back_populates="visit", cascade="all, delete-orphan",
                                                    order_by="VisitPhoto.id")

    __table_args__ = (sa.Index("ix_visits_sync", "updated_at", "id"),  # the API's ``updated_since`` sync
                      sa.Index("ix_visits_outlet_visited", "outlet_id", "visited_at"),
                      sa.Index("ix_visits_region_visited", "region_id", "visited_at"))

    @property
    def position(self) -> tuple[float, float, int | None] | None:
        """(latitude, longitude, accuracy in whole metres or None) when the stored location is a real
        one; None otherwise (nothing stored, or values no phone reports: out of range, NaN, infinite)."""
        lat, lon, acc = self.latitude, self.longitude, self.location_accuracy_m
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None  # NaN fails every comparison
        sane = acc is not None and 0 <= acc <= MAX_ACCURACY_M
        return lat, lon, (round(acc) if sane else None)  # type: ignore[arg-type]

    def snapshot(self) -> dict[str, Any]:
        return {
            "visited_at": self.visited_at.isoformat() if self.visited_at else None,
            "duration_minutes": self.duration_minutes, "kind": self.kind.value if self.kind else None,
            "stages": list(self.stages or []), "observations": self.observations, "staff_notes": self.staff_notes,
            "next_visit_on": self.next_visit_on.isoformat() if self.next_visit_on else None,
        }


class ActionItem(Base):
    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlets.id"), index=True)
    description: Mapped[str] = mapped_column(sa.Text)
    #: who will do it, as agreed at the visit (free text: "Ibu Siti", "pendamping")
    owner: Mapped[str] = mapped_column(sa.String(160))
    due_on: Mapped[date] = mapped_column(sa.Date, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    visit: Mapped[Visit] = relationship(back_populates="action_items")

    # open items per outlet (the dashboard's past-due count, the caseload's open items)
    __table_args__ = (sa.Index("ix_action_items_open_outlet", "outlet_id", "due_on",
                               sqlite_where=sa.text("done_at IS NULL"), postgresql_where=sa.text("done_at IS NULL")),)


class VisitPhoto(Base):
    __tablename__ = "visit_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))

    visit: Mapped[Visit] = relationship(back_populates="photos")
    file: Mapped[StoredFile] = relationship()
