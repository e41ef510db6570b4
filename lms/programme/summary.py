"""Curricula by key, and the progress summary stored on each enrolment (derived from the evidence by lms/programme/progress.py, refreshed in the caller's transaction).
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload
from .. import outbox
from ..db import built, utcnow
from ..extensions import db
from .curriculum import Curriculum
from .models import Cohort, Enrolment, EnrolmentStage, EnrolmentStatus, Evidence
from .progress import Progress, evaluate, gather_facts


# --- curricula ------------------------------------------------------------------------

def curricula() -> dict[str, Curriculum]:
    return current_app.extensions["lms.curricula"]


def default_curriculum() -> Curriculum:
    cur = curricula()
    key = current_app.config.get("DEFAULT_CURRICULUM") or "okoce-7pas"
    return cur.get(key) or next(iter(cur.values()))


def curriculum_for(cohort: Cohort) -> Curriculum:
    return curricula().get(cohort.curriculum_key) or default_curriculum()


def curriculum_for_outlet(outlet_id: int) -> Curriculum:
    key = db.session.scalar(
        sa.select(Cohort.curriculum_key).join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(Enrolment.outlet_id == outlet_id, Enrolment.status == EnrolmentStatus.ACTIVE)
        .order_by(Enrolment.started_at.desc()).limit(1))
    return curricula().get(key or "") or default_curriculum()


# --- progress -------------------------------------------------------------------------

def progress_for(enrolment: Enrolment, evidence: Sequence[Evidence] | None = None) -> Progress:
    """``evidence``: the outlet's, when the caller has loaded it already (``outlet_evidence``)."""
    facts = gather_facts([enrolment], evidence)[enrolment.id]
    return evaluate(curriculum_for(enrolment.cohort), facts)


def refresh_progress(enrolments: Sequence[Enrolment], now: datetime | None = None) -> None:
    """Recompute and store the summary of ``enrolments`` (inside the caller's transaction)."""
    if not enrolments:
        return
    now = now or utcnow()
    facts = gather_facts(enrolments)
    ids = [e.id for e in enrolments]
    existing: dict[int, dict[str, EnrolmentStage]] = {i: {} for i in ids}
    for row in db.session.scalars(built(("refresh_progress.stages",), lambda: sa.select(EnrolmentStage).where(
            EnrolmentStage.enrolment_id.in_(sa.bindparam("ids", expanding=True)))), {"ids": ids}):
        existing[row.enrolment_id][row.stage_key] = row
    for e in enrolments:
        progress = evaluate(curriculum_for(e.cohort), facts[e.id])
        done = {s.stage.key for s in progress.stages if s.status == "done"}
        for key in done - set(existing[e.id]):
            db.session.add(EnrolmentStage(enrolment_id=e.id, stage_key=key, completed_at=now))
            outbox.announce("stage.completed", {"enrolment_id": e.id, "stage_key": key})
        for key in set(existing[e.id]) - done:
            db.session.delete(existing[e.id][key])
        if e.completed_count != progress.completed_count or e.current_stage != progress.current_stage:
            e.progress_changed_at = now
        e.completed_count = progress.completed_count
        e.current_stage = progress.current_stage
        if progress.complete and e.completed_at is None:
            e.completed_at = now
        elif not progress.complete:
            e.completed_at = None
    db.session.flush()


def _active_enrolments(by: str, ids: list[int]) -> list[Enrolment]:
    """The active enrolments whose ``by`` column ("user_id", "outlet_id") is one of ``ids``."""
    return list(db.session.scalars(built(("active_enrolments", by), lambda: (
        sa.select(Enrolment)
        .where(Enrolment.status == EnrolmentStatus.ACTIVE,
               getattr(Enrolment, by).in_(sa.bindparam("ids", expanding=True)))
        .options(joinedload(Enrolment.user), joinedload(Enrolment.outlet), joinedload(Enrolment.cohort)))),
        {"ids": ids}))


def refresh_for_outlets(outlet_ids: Iterable[int]) -> None:
    ids = list(set(outlet_ids))
    if ids:
        refresh_progress(_active_enrolments("outlet_id", ids))


def refresh_for_users(user_ids: Iterable[int]) -> None:
    ids = list(set(user_ids))
    if ids:
        refresh_progress(_active_enrolments("user_id", ids))
