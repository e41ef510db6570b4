"""The coordinators' overview of visits and coverage.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from .. import permissions
from ..db import utcnow
from ..errors import NotAllowed
from ..extensions import db
from ..people.models import Role, User
from ..places.models import Outlet
from ..programme import services as programme
from .models import ActionItem, MentorAssignment, Visit
from .caseloads import _region_where
from .status import (OutletStatus, SANE_YEARS, days_since_wib, months_back, open_assignment, outlet_statuses,
                     overdue_days_for, wib_start_utc, wib_today)


# --- the coordinator's overview ------------------------------------------------------------

def _wib_month(col: Any) -> Any:
    """'YYYY-MM' of a UTC timestamp column in WIB (UTC+7 all year: no daylight saving)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.func.strftime(sa.literal_column("'%Y-%m'"), col, sa.literal_column("'+7 hours'"))
    return sa.func.to_char(col + sa.literal_column("interval '7 hours'"), sa.literal_column("'YYYY-MM'"))


@dataclass
class MentorMonths:
    mentor: User
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Overview:
    months: list[date]
    mentors: list[MentorMonths]
    #: active outlets in scope
    outlets_total: int
    #: the first ``LIST_LIMIT`` never-visited outlets by code, of ``never_total``
    never_visited: list[OutletStatus]
    never_total: int
    #: the ``LIST_LIMIT`` outlets longest without a visit, of ``overdue_total``
    overdue: list[OutletStatus]
    overdue_total: int
    past_due: list[ActionItem]
    past_due_total: int
    today: date

    @property
    def month_totals(self) -> list[int]:
        return [sum(m.counts[i] for m in self.mentors) for i in range(len(self.months))]


PAST_DUE_LIMIT = 200
#: rows of the never-visited and overdue lists (their counts are of all outlets in scope)
LIST_LIMIT = 100


def _next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def overview(actor: Any, region_id: int | None = None, now: datetime | None = None,
             until: date | None = None) -> Overview:
    """Per region: visits per mentor per month (the six months ending with ``until``, default this one),
    never-visited and overdue outlets (as of ``now``), past-due action items."""
    if not permissions.can(actor, "visits.dashboard"):
        raise NotAllowed()
    now = now or utcnow()
    today = wib_today(now)
    if until is not None and until.year < SANE_YEARS[0]:
        until = None
    months = months_back(min(until, today) if until else today, 6)
    keys = [m.strftime("%Y-%m") for m in months]
    month = _wib_month(Visit.visited_at).label("month")
    in_scope = _region_where(actor, Visit.region_id, region_id)
    counts = db.session.execute(
        sa.select(Visit.mentor_id, month, sa.func.count(Visit.id))
        .where(in_scope, Visit.visited_at >= wib_start_utc(months[0]),
               Visit.visited_at < wib_start_utc(_next_month(months[-1])))
        .group_by(Visit.mentor_id, month)).all()
    by_mentor: dict[int, list[int]] = defaultdict(lambda: [0] * len(months))
    for mentor_id, key, n in counts:
        if key in keys:
            by_mentor[mentor_id][keys.index(key)] += int(n)
    mentors = db.session.scalars(
        sa.select(User).where(User.role == Role.MENTOR, sa.or_(
            sa.and_(User.active.is_(True), _region_where(actor, User.region_id, region_id)),
            User.id.in_(list(by_mentor) or [0])))
        .order_by(User.full_name)).all()
    rows = [MentorMonths(m, list(by_mentor[m.id]) if m.id in by_mentor else [0] * len(months)) for m in mentors]
    total, never, never_total, overdue, overdue_total = _coverage(
        sa.and_(_region_where(actor, Outlet.region_id, region_id), Outlet.active.is_(True)), now)
    late_where = sa.and_(ActionItem.done_at.is_(None), ActionItem.due_on < today,
                         _region_where(actor, Visit.region_id, region_id))
    late_total = db.session.scalar(sa.select(sa.func.count(ActionItem.id)).join(Visit, Visit.id == ActionItem.visit_id)
                                   .where(late_where)) or 0
    late = db.session.scalars(
        sa.select(ActionItem).join(Visit, Visit.id == ActionItem.visit_id).where(late_where)
        .options(joinedload(ActionItem.visit).joinedload(Visit.outlet), joinedload(ActionItem.visit).joinedload(Visit.mentor))
        .order_by(ActionItem.due_on, ActionItem.id).limit(PAST_DUE_LIMIT)).all()
    return Overview(months=months, mentors=rows, outlets_total=total, never_visited=never, never_total=never_total,
                    overdue=overdue, overdue_total=overdue_total, past_due=list(late), past_due_total=late_total,
                    today=today)


def _coverage(where: Any, now: datetime) -> tuple[int, list[OutletStatus], int, list[OutletStatus], int]:
    """(outlets, the first never-visited, how many, the longest overdue, how many) of the outlets matching
    ``where``.

    Each outlet is classified from three values (``outlets.last_visit_on``, the WIB day of its latest visit;
    the start of its open assignment; its curriculum's overdue days), by the rule of
    :func:`lms.visits.status.is_overdue`; only the outlets the lists show get their whole status. The page
    built every outlet's status and listed them all: at 100,000 outlets, 21 s for the admin."""
    today = wib_today(now)
    rows = db.session.execute(
        sa.select(Outlet.id, Outlet.code, Outlet.last_visit_on, MentorAssignment.started_at)
        .outerjoin(MentorAssignment, open_assignment()).where(where)).all()
    limits = overdue_days_for(sa.select(Outlet.id).where(where))
    default = programme.default_curriculum().visit_overdue_days
    never: list[tuple[str, int]] = []
    overdue: list[tuple[int, str, int]] = []
    for oid, code, last_on, assigned_at in rows:
        if last_on is not None:
            since: int | None = (today - last_on).days
        else:
            never.append((code, oid))
            since = days_since_wib(assigned_at, now) if assigned_at is not None else None
        if since is not None and since >= limits.get(oid, default):
            overdue.append((-since, code, oid))
    never.sort()
    overdue.sort()
    shown = [oid for _code, oid in never[:LIST_LIMIT]] + [oid for *_key, oid in overdue[:LIST_LIMIT]]
    status = {s.outlet.id: s for s in outlet_statuses(Outlet.id.in_(shown), now)} if shown else {}
    return (len(rows), [status[oid] for _code, oid in never[:LIST_LIMIT]], len(never),
            [status[oid] for *_key, oid in overdue[:LIST_LIMIT]], len(overdue))
