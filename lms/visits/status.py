"""Limits of a visit, the WIB calendar, and each outlet's visit status (last visit, next planned, open action items, overdue).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from ..db import utcnow
from ..extensions import db
from ..files import JPEG, PNG
from ..i18n import WIB, to_wib
from ..people.models import User
from ..places.models import Outlet
from ..programme import services as programme
from ..programme.models import Cohort, Enrolment, EnrolmentStatus
from .models import ActionItem, MentorAssignment, Visit


#: photos per visit
MAX_PHOTOS = 5
PHOTO_TYPES = (JPEG, PNG)
#: a phone's clock may run a little ahead of the server's
FUTURE_TOLERANCE = timedelta(minutes=10)
MAX_DURATION_MINUTES = 12 * 60
MAX_ACTION_ITEMS = 10
CLIENT_KEY_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
#: dates outside these years are typing mistakes (and year 1 cannot even be shifted to UTC)
SANE_YEARS = (2000, 2100)
#: the earliest day a visit can be logged for: the programme began in 2018
EARLIEST_VISIT = date(2018, 1, 1)
#: the next visit and an action item's deadline fall within this many days of the visit
PLAN_DAYS = 365


# --- WIB calendar --------------------------------------------------------------------------

def wib_today(now: datetime | None = None) -> date:
    return to_wib(now or utcnow()).date()


def wib_start_utc(day: date) -> datetime:
    """00:00 WIB of ``day`` as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=WIB).astimezone(timezone.utc)


def days_since_wib(then: datetime, now: datetime) -> int:
    """Whole WIB calendar days from ``then`` to ``now`` (23:30 and 00:30 WIB are a day apart)."""
    return (to_wib(now).date() - to_wib(then).date()).days


def is_overdue(last_visit_at: datetime | None, assigned_at: datetime | None, overdue_days: int,
               now: datetime) -> bool:
    """No visit within ``overdue_days`` WIB calendar days.

    Counted from the last visit; an outlet never visited counts from its assignment to the
    mentor (so it is overdue once assigned ``overdue_days`` days ago). Without either there is
    nothing to count from: not overdue (the outlet shows as never visited and unassigned).
    """
    ref = last_visit_at or assigned_at
    if ref is None:
        return False
    return days_since_wib(ref, now) >= overdue_days


def months_back(today: date, n: int = 6) -> list[date]:
    """The first days of the last ``n`` months, oldest first, ending with ``today``'s month."""
    y, m = today.year, today.month
    out = []
    for _i in range(n):
        out.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return list(reversed(out))


# --- outlet status: last visit, next planned, open action items, overdue ---------------------

@dataclass
class OutletStatus:
    outlet: Outlet
    assignment: MentorAssignment | None
    last_visit_at: datetime | None
    next_visit_on: date | None
    open_actions: int
    past_due_actions: int
    overdue_days: int
    overdue: bool
    #: WIB days since the last visit (or since the assignment when never visited)
    days_since: int | None

    @property
    def never_visited(self) -> bool:
        return self.last_visit_at is None

    @property
    def mentor(self) -> User | None:
        return self.assignment.mentor if self.assignment else None


def _latest_visits(outlet_ids: sa.Select[Any]) -> dict[int, tuple[datetime, date | None]]:
    rn = sa.func.row_number().over(partition_by=Visit.outlet_id,
                                   order_by=(Visit.visited_at.desc(), Visit.id.desc())).label("rn")
    sub = (sa.select(Visit.outlet_id, Visit.visited_at, Visit.next_visit_on, rn)
           .where(Visit.outlet_id.in_(outlet_ids)).subquery())
    rows = db.session.execute(sa.select(sub.c.outlet_id, sub.c.visited_at, sub.c.next_visit_on)
                              .where(sub.c.rn == 1)).all()
    return {oid: (at, nxt) for oid, at, nxt in rows}


def _action_counts(outlet_ids: sa.Select[Any], today: date) -> dict[int, tuple[int, int]]:
    rows = db.session.execute(
        sa.select(ActionItem.outlet_id, sa.func.count(ActionItem.id),
                  sa.func.sum(sa.case((ActionItem.due_on < today, 1), else_=0)))
        .where(ActionItem.outlet_id.in_(outlet_ids), ActionItem.done_at.is_(None))
        .group_by(ActionItem.outlet_id)).all()
    return {oid: (int(n), int(late or 0)) for oid, n, late in rows}


def overdue_days_for(outlet_ids: sa.Select[Any]) -> dict[int, int]:
    """``curriculum_for_outlet(id).visit_overdue_days`` for many outlets in one query.

    Outlets without an active enrolment are missing from the result: use the default curriculum.
    """
    rows = db.session.execute(
        sa.select(Enrolment.outlet_id, Cohort.curriculum_key)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Enrolment.outlet_id.in_(outlet_ids), Enrolment.status == EnrolmentStatus.ACTIVE)
        .order_by(Enrolment.started_at, Enrolment.id)).all()
    curricula = programme.curricula()
    default = programme.default_curriculum()
    out: dict[int, int] = {}
    for oid, key in rows:  # the latest enrolment wins, as in curriculum_for_outlet
        out[oid] = (curricula.get(key) or default).visit_overdue_days
    return out


def open_assignment() -> Any:
    """The join condition of an outlet and its open (current) mentor assignment."""
    return sa.and_(MentorAssignment.outlet_id == Outlet.id, MentorAssignment.ended_at.is_(None))


def outlet_statuses(where: Any, now: datetime | None = None) -> list[OutletStatus]:
    """The status of every outlet matching ``where`` (an SQL condition on Outlet), in five queries."""
    now = now or utcnow()
    today = wib_today(now)
    ids = sa.select(Outlet.id).where(where)
    rows = db.session.execute(
        sa.select(Outlet, MentorAssignment)
        .outerjoin(MentorAssignment, open_assignment())
        .where(where)
        .options(joinedload(Outlet.manager), joinedload(Outlet.kecamatan), joinedload(Outlet.region),
                 joinedload(MentorAssignment.mentor))
        .order_by(Outlet.code)).all()
    latest = _latest_visits(ids)
    counts = _action_counts(ids, today)
    days = overdue_days_for(ids)
    default_days = programme.default_curriculum().visit_overdue_days
    out = []
    for outlet, assignment in rows:
        last, nxt = latest.get(outlet.id, (None, None))
        limit = days.get(outlet.id, default_days)
        ref = last or (assignment.started_at if assignment else None)
        n_open, n_late = counts.get(outlet.id, (0, 0))
        out.append(OutletStatus(
            outlet=outlet, assignment=assignment, last_visit_at=last, next_visit_on=nxt, open_actions=n_open,
            past_due_actions=n_late, overdue_days=limit,
            overdue=is_overdue(last, assignment.started_at if assignment else None, limit, now),
            days_since=days_since_wib(ref, now) if ref else None))
    return out


def caseload(mentor: User, now: datetime | None = None) -> list[OutletStatus]:
    """The mentor's current caseload: overdue first, then the longest without a visit."""
    ids = sa.select(MentorAssignment.outlet_id).where(MentorAssignment.mentor_id == mentor.id,
                                                      MentorAssignment.ended_at.is_(None))
    rows = outlet_statuses(sa.and_(Outlet.id.in_(ids), Outlet.active.is_(True)), now)
    rows.sort(key=lambda s: (not s.overdue, -(s.days_since or 0), s.outlet.code))
    return rows


def caseload_outlets(mentor: User) -> list[Outlet]:
    """Active outlets in the mentor's caseload, for the visit form's select."""
    ids = sa.select(MentorAssignment.outlet_id).where(MentorAssignment.mentor_id == mentor.id,
                                                      MentorAssignment.ended_at.is_(None))
    return list(db.session.scalars(sa.select(Outlet).where(Outlet.id.in_(ids), Outlet.active.is_(True))
                                   .order_by(Outlet.code)))
