"""An outlet's timeline: visits, milestones, evidence and mentor changes in one list.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from ..db import built
from ..extensions import db
from ..people.models import User
from ..places.models import Outlet
from ..programme import services as programme
from ..programme.models import Enrolment, EnrolmentStage, Evidence, EvidenceReview
from .models import MentorAssignment, Visit


# --- the outlet's timeline -------------------------------------------------------------------

@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # visit | milestone | evidence | assignment
    visit: Visit | None = None
    stage_name: str = ""
    person: User | None = None
    evidence: Evidence | None = None
    review: EvidenceReview | None = None
    assignment: MentorAssignment | None = None

    @property
    def sort_key(self) -> tuple[datetime, int]:
        order = {"assignment": 0, "visit": 1, "evidence": 2, "milestone": 3}
        return self.at, order.get(self.kind, 9)


def outlet_timeline(outlet: Outlet, lang: str = "id") -> list[TimelineEntry]:
    """Visits, completed stages, evidence decisions and mentor changes, newest first (six queries)."""
    entries: list[TimelineEntry] = []
    visits = db.session.scalars(
        sa.select(Visit).where(Visit.outlet_id == outlet.id)
        .options(joinedload(Visit.mentor), selectinload(Visit.action_items),
                 selectinload(Visit.photos))).all()
    entries += [TimelineEntry(at=v.visited_at, kind="visit", visit=v, person=v.mentor) for v in visits]
    stages = db.session.scalars(
        sa.select(EnrolmentStage).join(Enrolment, Enrolment.id == EnrolmentStage.enrolment_id)
        .where(Enrolment.outlet_id == outlet.id)
        .options(joinedload(EnrolmentStage.enrolment).joinedload(Enrolment.cohort),
                 joinedload(EnrolmentStage.enrolment).joinedload(Enrolment.user))).all()
    for st in stages:
        cur = programme.curriculum_for(st.enrolment.cohort)
        try:
            s = cur.stage(st.stage_key)
            name = f"{s.number}. {s.name.get(lang)}"
        except KeyError:
            name = st.stage_key
        entries.append(TimelineEntry(at=st.completed_at, kind="milestone", stage_name=name, person=st.enrolment.user))
    reviews = db.session.scalars(
        sa.select(EvidenceReview).join(Evidence, Evidence.id == EvidenceReview.evidence_id)
        .where(Evidence.outlet_id == outlet.id)
        .options(joinedload(EvidenceReview.by), joinedload(EvidenceReview.evidence))).all()
    entries += [TimelineEntry(at=r.at, kind="evidence", review=r, evidence=r.evidence, person=r.by) for r in reviews]
    assignments = db.session.scalars(
        sa.select(MentorAssignment).where(MentorAssignment.outlet_id == outlet.id)
        .options(joinedload(MentorAssignment.mentor))).all()
    entries += [TimelineEntry(at=a.started_at, kind="assignment", assignment=a, person=a.mentor) for a in assignments]
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    return entries


def current_assignment(outlet_id: int) -> MentorAssignment | None:
    return db.session.scalar(built(("current_assignment",), lambda: (
        sa.select(MentorAssignment)
        .where(MentorAssignment.outlet_id == sa.bindparam("outlet_id"), MentorAssignment.ended_at.is_(None))
        .options(joinedload(MentorAssignment.mentor)))), {"outlet_id": outlet_id})
