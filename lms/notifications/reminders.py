"""Reminders on a schedule. Each one is an event with a key per period (``dedupe_key``), so
running the reminders twice in a period, from cron and the worker at once, tells nobody
twice. ``flask --app lms reminders run`` (cron, hourly) or the in-process worker (hourly)
calls :func:`run_all`.

* the day before a session (from 06:00 WIB) and its morning (06:00–start): its registrants;
* from the 1st of a month: trainees at the financial-reporting step who have not reported
  the month before;
* Mondays: each mentor a digest of overdue outlets and past-due action items;
* Mondays: each coordinator a summary of their review queue's age.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..db import transaction, utcnow
from ..extensions import db
from ..i18n import WIB
from ..people.models import Role, User
from . import events

MORNING = 6  # hour (WIB) before which no reminder is written


def _wib(now: datetime) -> datetime:
    return now.astimezone(WIB)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=WIB)
    return start, start + timedelta(days=1)


def session_reminders(now: datetime) -> int:
    from ..sessions.models import SessionStatus, TrainingSession

    local = _wib(now)
    if local.hour < MORNING:
        return 0
    n = 0
    for name, day in (("reminder.session_tomorrow", local.date() + timedelta(days=1)),
                      ("reminder.session_today", local.date())):
        lo, hi = _day_bounds(day)
        if name == "reminder.session_today":
            lo = max(lo, now)
        ids = db.session.scalars(sa.select(TrainingSession.id).where(
            TrainingSession.status == SessionStatus.SCHEDULED, TrainingSession.starts_at >= lo,
            TrainingSession.starts_at < hi)).all()
        for sid in ids:
            if events.announce(name, {"session_id": sid}, dedupe_key=f"{name}:{sid}:{day.isoformat()}"):
                n += 1
    return n


def report_reminders(now: datetime) -> int:
    from ..programme.models import Enrolment, EnrolmentStatus, FinancialReport

    local = _wib(now).date()
    last_month = (local.replace(day=1) - timedelta(days=1)).replace(day=1)
    reported = sa.select(FinancialReport.report_outlet_id).where(FinancialReport.month == last_month)
    rows = db.session.execute(sa.select(Enrolment.user_id).where(
        Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.current_stage == "pelaporan_keuangan",
        Enrolment.outlet_id.not_in(reported))).all()
    n = 0
    for (uid,) in rows:
        key = f"reminder.report_due:{uid}:{last_month:%Y-%m}"
        if events.announce("reminder.report_due", {"user_id": uid, "month": last_month.isoformat()}, dedupe_key=key):
            n += 1
    return n


def weekly_digests(now: datetime) -> int:
    from ..places.models import Outlet
    from ..programme import services as programme
    from ..programme.models import Evidence, EvidenceStatus
    from ..visits.models import ActionItem, MentorAssignment, Visit

    local = _wib(now)
    if local.weekday() != 0:
        return 0
    week = f"{local.isocalendar().year}-W{local.isocalendar().week:02d}"
    today = local.date()
    overdue_before = today - timedelta(days=programme.default_curriculum().visit_overdue_days)
    n = 0
    mentors = db.session.scalars(sa.select(User).where(User.role == Role.MENTOR, User.active.is_(True))).all()
    for m in mentors:
        outlets = db.session.execute(
            sa.select(Outlet.name).join(MentorAssignment, MentorAssignment.outlet_id == Outlet.id).where(
                MentorAssignment.mentor_id == m.id, MentorAssignment.ended_at.is_(None),
                sa.or_(Outlet.last_visit_on.is_(None), Outlet.last_visit_on < overdue_before))
            .order_by(Outlet.name).limit(50)).scalars().all()
        past_due = db.session.scalar(sa.select(sa.func.count()).select_from(ActionItem)
                                     .join(Visit, Visit.id == ActionItem.visit_id).where(
            Visit.mentor_id == m.id, ActionItem.done_at.is_(None), ActionItem.due_on < today)) or 0
        if not outlets and not past_due:
            continue
        if events.announce("reminder.mentor_digest",
                           {"user_id": m.id, "overdue": len(outlets), "past_due_actions": int(past_due),
                            "outlets": list(outlets)}, dedupe_key=f"reminder.mentor_digest:{m.id}:{week}"):
            n += 1
    coordinators = db.session.scalars(sa.select(User).where(User.role == Role.COORDINATOR,
                                                            User.active.is_(True))).all()
    for c in coordinators:
        q = sa.select(sa.func.count(), sa.func.min(Evidence.submitted_at)).where(
            Evidence.status == EvidenceStatus.SUBMITTED)
        if c.region_id is not None:
            q = q.where(Evidence.region_id == c.region_id)
        pending, oldest = db.session.execute(q).one()
        if not pending:
            continue
        days = (now - oldest).days if oldest else 0
        if events.announce("reminder.review_summary", {"user_id": c.id, "pending": int(pending), "oldest_days": days},
                           dedupe_key=f"reminder.review_summary:{c.id}:{week}"):
            n += 1
    return n


def action_item_reminders(now: datetime) -> int:
    """Action items due today, once each (to the mentor, or to the manager when theirs)."""
    from ..visits.models import ActionItem

    local = _wib(now)
    if local.hour < MORNING:
        return 0
    ids = db.session.scalars(sa.select(ActionItem.id).where(ActionItem.done_at.is_(None),
                                                            ActionItem.due_on == local.date())).all()
    return sum(1 for i in ids if events.announce("action_item.due", {"action_item_id": i},
                                                 dedupe_key=f"action_item.due:{i}"))


def run_all(now: datetime | None = None) -> dict[str, Any]:
    """Write this period's reminder events (each once); the worker sends them."""
    now = now or utcnow()
    with transaction():
        out = {"sessions": session_reminders(now), "reports": report_reminders(now),
               "digests": weekly_digests(now), "action_items": action_item_reminders(now)}
    return out
