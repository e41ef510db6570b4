"""The schedule lists (upcoming, past), the month calendar and one session's detail.
"""
from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence
import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from ..db import utcnow
from ..extensions import db
from ..i18n import to_wib
from . import rules
from .models import TrainingSession
from .common import wib_day_start


# --- schedule lists and the month calendar -------------------------------------------------------

def month_bounds(month: date) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    nxt = (first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1))
    return wib_day_start(first), wib_day_start(nxt)


#: the schedule's two tabs: sessions not over yet (earliest first) and sessions that ended (latest first)
UPCOMING = "upcoming"
PAST = "past"


def _schedule_where(actor: Any, region_id: int | None, stage: str | None, month: date | None,
                    now: datetime, when: str = UPCOMING) -> list[Any]:
    where: list[Any] = [rules.session_scope(actor)]
    if region_id:
        where.append(TrainingSession.region_id == region_id)
    if stage:
        where.append(TrainingSession.stage_key == stage)
    if month is not None:
        lo, hi = month_bounds(month)
        where += [TrainingSession.starts_at >= lo, TrainingSession.starts_at < hi]
    elif when == PAST:
        where.append(TrainingSession.ends_at < now)
    else:
        where.append(TrainingSession.ends_at >= now)
    return where


def _eager(q: sa.Select[Any]) -> sa.Select[Any]:
    return q.options(joinedload(TrainingSession.region), joinedload(TrainingSession.cohort),
                     selectinload(TrainingSession.speakers))


def schedule(actor: Any, *, region_id: int | None = None, stage: str | None = None, month: date | None = None,
             when: str = UPCOMING, page: int = 1, per_page: int = 25,
             now: datetime | None = None) -> tuple[list[TrainingSession], int]:
    """Sessions the actor may see, with the total: upcoming (not ended) earliest first, or ``PAST`` (ended)
    latest first; with ``month`` that month's, earliest first."""
    now = now or utcnow()
    where = _schedule_where(actor, region_id, stage, month, now, when)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession).where(*where)) or 0
    order = ((TrainingSession.starts_at.desc(), TrainingSession.id.desc()) if when == PAST and month is None
             else (TrainingSession.starts_at, TrainingSession.id))
    rows = db.session.scalars(_eager(sa.select(TrainingSession).where(*where))
                              .order_by(*order)
                              .limit(per_page).offset((max(page, 1) - 1) * per_page)).unique().all()
    return list(rows), total


def schedule_counts(actor: Any, *, region_id: int | None = None, stage: str | None = None,
                    now: datetime | None = None) -> dict[str, int]:
    """How many sessions each tab holds (one query)."""
    now = now or utcnow()
    where = _schedule_where(actor, region_id, stage, None, now)[:-1]  # without the upcoming condition
    upcoming, past = db.session.execute(
        sa.select(sa.func.count(sa.case((TrainingSession.ends_at >= now, TrainingSession.id))),
                  sa.func.count(sa.case((TrainingSession.ends_at < now, TrainingSession.id))))
        .select_from(TrainingSession).where(*where)).one()
    return {UPCOMING: upcoming or 0, PAST: past or 0}


def month_sessions(actor: Any, month: date, *, region_id: int | None = None,
                   stage: str | None = None) -> list[TrainingSession]:
    where = _schedule_where(actor, region_id, stage, month, utcnow())
    return list(db.session.scalars(_eager(sa.select(TrainingSession).where(*where))
                                   .order_by(TrainingSession.starts_at, TrainingSession.id)).unique())


@dataclass
class Day:
    date: date
    in_month: bool
    sessions: list[TrainingSession]
    today: bool = False


def month_grid(month: date, sessions: Sequence[TrainingSession], today: date | None = None) -> list[list[Day]]:
    """Weeks (Monday first) of the month, each day with its sessions (by WIB start date)."""
    by_day: dict[date, list[TrainingSession]] = {}
    for s in sessions:
        by_day.setdefault(to_wib(s.starts_at).date(), []).append(s)
    today = today or to_wib(utcnow()).date()
    weeks = _calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    return [[Day(d, d.month == month.month, by_day.get(d, []), d == today) for d in week] for week in weeks]


def session_detail(session_id: int) -> TrainingSession | None:
    return db.session.scalar(_eager(sa.select(TrainingSession).where(TrainingSession.id == session_id)))
