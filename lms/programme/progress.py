"""Progress through a curriculum, derived from the records.

``gather_facts`` reads what the rules need for many enrolments in a fixed number of
queries; ``evaluate`` is a pure function of a curriculum and those facts. Nothing else
decides whether a stage is complete.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from itertools import zip_longest
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from ..db import built
from ..extensions import db
from .curriculum import Curriculum, Milestone, Stage

ATTENDED = ("present", "late")


@dataclass(frozen=True)
class EvidenceFact:
    id: int
    type: str
    status: str  # draft | submitted | returned | verified
    attrs: dict[str, str] = field(default_factory=dict)
    month: date | None = None  # financial reports


@dataclass
class Facts:
    """What the rules look at for one enrolment."""

    profile_missing: list[str] = field(default_factory=list)
    #: stage key → number of sessions of that stage attended (present or late)
    attended: dict[str, int] = field(default_factory=dict)
    #: mentor visits to the outlet since the enrolment started
    visits: int = 0
    evidence: list[EvidenceFact] = field(default_factory=list)

    @property
    def profile_complete(self) -> bool:
        return not self.profile_missing


@dataclass(frozen=True)
class MilestoneState:
    milestone: Milestone
    met: bool
    count: int
    threshold: int
    #: for verified milestones: none | draft | submitted | returned | verified
    evidence_state: str | None = None
    evidence_id: int | None = None
    detail: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageState:
    stage: Stage
    status: str  # done | current | locked
    milestones: tuple[MilestoneState, ...]

    @property
    def all_met(self) -> bool:
        return all(m.met for m in self.milestones)


@dataclass(frozen=True)
class Progress:
    stages: tuple[StageState, ...]

    @property
    def completed_count(self) -> int:
        return sum(1 for s in self.stages if s.status == "done")

    @property
    def current_stage(self) -> str | None:
        for s in self.stages:
            if s.status != "done":
                return s.stage.key
        return None

    @property
    def complete(self) -> bool:
        return self.current_stage is None


def longest_consecutive_months(months: Iterable[date]) -> int:
    ordinals = sorted({m.year * 12 + m.month - 1 for m in months})
    best = run = 0
    prev = None
    for o in ordinals:
        run = run + 1 if prev is not None and o == prev + 1 else 1
        best = max(best, run)
        prev = o
    return best


def _evaluate_milestone(m: Milestone, stage: Stage, facts: Facts) -> MilestoneState:
    if m.kind == "automatic":
        if m.rule == "profile_complete":
            return MilestoneState(m, facts.profile_complete, int(facts.profile_complete), 1,
                                  detail=tuple(facts.profile_missing))
        if m.rule == "sessions_attended":
            n = facts.attended.get(stage.key, 0)
            return MilestoneState(m, n >= m.threshold, n, m.threshold)
        if m.rule == "mentor_visits":
            return MilestoneState(m, facts.visits >= m.threshold, facts.visits, m.threshold)
        if m.rule == "consecutive_reports":
            months = [e.month for e in facts.evidence
                      if e.type == "financial_report" and e.status in m.statuses and e.month is not None]
            n = longest_consecutive_months(months)
            return MilestoneState(m, n >= m.threshold, n, m.threshold)
        raise ValueError(f"unknown rule {m.rule}")
    # verified evidence
    matching = [e for e in facts.evidence if e.type == m.evidence
                and all(e.attrs.get(k) in allowed for k, allowed in m.accept.items())]
    verified = [e for e in matching if e.status == "verified"]
    of_type = [e for e in facts.evidence if e.type == m.evidence]
    if verified:
        state, ev = "verified", verified[-1]
    elif any(e.status == "submitted" for e in matching):
        state, ev = "submitted", [e for e in matching if e.status == "submitted"][-1]
    elif any(e.status == "returned" for e in of_type):
        state, ev = "returned", [e for e in of_type if e.status == "returned"][-1]
    elif of_type:
        state, ev = "draft", of_type[-1]
    else:
        state, ev = "none", None
    return MilestoneState(m, len(verified) >= m.threshold, len(verified), m.threshold,
                          evidence_state=state, evidence_id=ev.id if ev else None)


def evaluate(curriculum: Curriculum, facts: Facts) -> Progress:
    """A stage is done when all its milestones are met and the stage before it is done."""
    states: list[StageState] = []
    previous_done = True
    for stage in curriculum.stages:
        ms = tuple(_evaluate_milestone(m, stage, facts) for m in stage.milestones)
        done = previous_done and all(x.met for x in ms)
        status = "done" if done else ("current" if previous_done else "locked")
        states.append(StageState(stage, status, ms))
        previous_done = done
    return Progress(tuple(states))


# --- reading the facts ------------------------------------------------------------------

_CHUNK = 500


def _chunks(seq: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(seq), _CHUNK):
        yield seq[i:i + _CHUNK]


def profile_missing(user, outlet) -> list[str]:  # type: ignore[no-untyped-def]
    missing = []
    # a person erased at their request (lms/privacy/erasure.py) has no number any more, nor has the outlet
    # when it was theirs: their progress stays as it was, not undone by the erasure
    erased = getattr(user, "erased_at", None) is not None
    if not user.phone and not erased:
        missing.append("user.phone")
    if not (outlet.address or "").strip():
        missing.append("outlet.address")
    if not (outlet.kelurahan or "").strip():
        missing.append("outlet.kelurahan")
    if not outlet.phone and not erased:
        missing.append("outlet.phone")
    if not outlet.active:
        missing.append("outlet.active")
    return missing


def evidence_facts(evidence: Sequence) -> list[EvidenceFact]:  # type: ignore[type-arg]
    """The facts of evidence rows already loaded as objects (``outlet_evidence``: every subtype's columns),
    as ``gather_facts`` reads them from the tables, in the same order."""
    from ..programme.models import FinancialReport, Financing, Licence, MarketingStep

    facts = []
    for ev in sorted(evidence, key=lambda e: e.id):
        attrs = {}
        if isinstance(ev, Licence):
            attrs["type"] = ev.licence_type.value
        elif isinstance(ev, MarketingStep):
            attrs["kind"] = ev.kind.value
        elif isinstance(ev, Financing):
            attrs["status"] = ev.application_status.value
        month = ev.month if isinstance(ev, FinancialReport) else None
        facts.append(EvidenceFact(ev.id, ev.type, ev.status.value, attrs, month))
    return facts


def _counts_statement(users: bool, ids: bool) -> Any:
    """Attended sessions per user (``users``) and stage, and visits per enrolment (``ids``): a UNION ALL
    of the parts asked for, with the ids as expanding bound parameters."""
    from ..programme.models import Enrolment
    from ..sessions.models import Registration, SessionStatus, TrainingSession
    from ..visits.models import Visit

    parts = []
    if users:
        parts.append(
            sa.select(sa.literal("attended", sa.String), Registration.user_id, TrainingSession.stage_key,
                      sa.func.count())
            .select_from(Registration)
            .join(TrainingSession, TrainingSession.id == Registration.session_id)
            .where(Registration.user_id.in_(sa.bindparam("users", expanding=True)),
                   Registration.attendance.in_(ATTENDED), TrainingSession.status != SessionStatus.CANCELLED)
            .group_by(Registration.user_id, TrainingSession.stage_key))
    if ids:
        parts.append(
            sa.select(sa.literal("visits", sa.String), Enrolment.id, sa.literal("", sa.String),
                      sa.func.count(Visit.id))
            .select_from(Enrolment)
            .join(Visit, sa.and_(Visit.outlet_id == Enrolment.outlet_id, Visit.visited_at >= Enrolment.started_at))
            .where(Enrolment.id.in_(sa.bindparam("ids", expanding=True)))
            .group_by(Enrolment.id))
    return sa.union_all(*parts) if len(parts) > 1 else parts[0]


def _evidence_statement() -> Any:
    """The evidence of some outlets (``outlets``, an expanding bound parameter), each row with its subtype's
    fact columns."""
    from ..programme.models import Evidence, FinancialReport, Financing, Licence, MarketingStep

    ev_t, lic_t, mkt_t = Evidence.__table__, Licence.__table__, MarketingStep.__table__
    fin_t, rep_t = Financing.__table__, FinancialReport.__table__
    return (sa.select(ev_t.c.id, ev_t.c.type, ev_t.c.outlet_id, Evidence.status.expression,
                      Licence.licence_type.expression, MarketingStep.kind.expression,
                      Financing.application_status.expression, rep_t.c.month)
            .select_from(ev_t)
            .outerjoin(lic_t, lic_t.c.id == ev_t.c.id)
            .outerjoin(mkt_t, mkt_t.c.id == ev_t.c.id)
            .outerjoin(fin_t, fin_t.c.id == ev_t.c.id)
            .outerjoin(rep_t, rep_t.c.id == ev_t.c.id)
            .where(ev_t.c.outlet_id.in_(sa.bindparam("outlets", expanding=True)))
            .order_by(ev_t.c.id))


def gather_facts(enrolments: Sequence, evidence: Sequence | None = None) -> dict[int, Facts]:  # type: ignore[type-arg]
    """Facts for each enrolment (which must have .user and .outlet loaded or loadable).

    ``evidence``: with one enrolment, its outlet's evidence already loaded by the caller (a page that
    shows it too), so it is not read a second time."""
    facts: dict[int, Facts] = {e.id: Facts(profile_missing=profile_missing(e.user, e.outlet)) for e in enrolments}
    if not enrolments:
        return facts
    ids = [e.id for e in enrolments]
    by_user: dict[int, list[int]] = defaultdict(list)
    by_outlet: dict[int, list[int]] = defaultdict(list)
    for e in enrolments:
        by_user[e.user_id].append(e.id)
        by_outlet[e.outlet_id].append(e.id)

    # attended sessions per user and stage, and visits per enrolment: one statement (UNION ALL) per chunk
    user_chunks, id_chunks = list(_chunks(list(by_user))), list(_chunks(ids))
    for users_part, ids_part in zip_longest(user_chunks, id_chunks):
        shape = (bool(users_part), bool(ids_part))
        statement = built(("gather_facts.counts", *shape), partial(_counts_statement, *shape))
        for kind, key_id, stage_key, n in db.session.execute(statement, {"users": users_part, "ids": ids_part}):
            if kind == "attended":
                for eid in by_user[key_id]:
                    facts[eid].attended[stage_key] = n
            else:
                facts[key_id].visits = n

    if evidence is not None:
        if len(enrolments) != 1:
            raise ValueError("preloaded evidence is for one enrolment")
        facts[enrolments[0].id].evidence = evidence_facts(evidence)
        return facts
    outlet_ids = list(by_outlet)
    for chunk in _chunks(outlet_ids):
        rows = db.session.execute(built(("gather_facts.evidence",), _evidence_statement), {"outlets": chunk}).all()
        for ev_id, ev_type, outlet_id, status, ltype, mkind, fstatus, month in rows:
            attrs = {}
            if ltype is not None:
                attrs["type"] = ltype.value
            if mkind is not None:
                attrs["kind"] = mkind.value
            if fstatus is not None:
                attrs["status"] = fstatus.value
            fact = EvidenceFact(ev_id, ev_type, status.value, attrs, month)
            for eid in by_outlet[outlet_id]:
                facts[eid].evidence.append(fact)
    return facts
