"""What the feedback and the tests show, never who gave them.

The anonymity rule: every figure is an aggregate of at least ``MIN_GROUP`` responses (or
finished attempts); a smaller group is *suppressed* (shown as "fewer than 5", its numbers
never computed into the page), per session, per speaker, per agency, per region and stage,
per gain quartile, and in the export. Coordinators see *who* responded (names) but never a
person's answers; free texts are shown only among at least MIN_GROUP responses, sorted by text.

Every report reads a fixed number of grouped queries, whatever the number of responses.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import permissions
from ..errors import NotAllowed
from ..extensions import db
from ..i18n import WIB, to_wib
from ..people.models import User
from ..places.models import Region
from ..programme.models import Cohort, Enrolment, EnrolmentStage
from ..sessions.models import Attendance, Registration, RegistrationStatus, SessionSpeaker, SpeakerAgency, TrainingSession
from .models import FeedbackRating, FeedbackResponse, TestAnswer, TestAttempt, TestPhase
from .questions import SCALE_MAX, SCALE_MIN, SPEAKER_ITEM, KnowledgeTest, Questionnaire
from .services import questionnaire_for, test_for

#: the smallest group whose aggregate is shown
MIN_GROUP = 5
ATTENDED = (Attendance.PRESENT, Attendance.LATE)


@dataclass
class Dist:
    """Ratings of one item: how many of each value 1..5."""

    counts: dict[int, int] = field(default_factory=lambda: {v: 0 for v in range(SCALE_MIN, SCALE_MAX + 1)})

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def shown(self) -> bool:
        return self.n >= MIN_GROUP

    @property
    def mean(self) -> float | None:
        return sum(v * c for v, c in self.counts.items()) / self.n if self.shown else None

    def share(self, v: int) -> float:
        return self.counts[v] / self.n if self.n else 0.0

    def add(self, value: int, count: int) -> None:
        if value in self.counts:
            self.counts[value] += count


@dataclass
class QuestionGain:
    key: str
    topic: str
    text: str
    pre: float | None
    post: float | None

    @property
    def gain(self) -> float | None:
        return None if self.pre is None or self.post is None else self.post - self.pre


@dataclass
class SessionReport:
    session: TrainingSession
    questionnaire: Questionnaire | None
    test: KnowledgeTest | None
    attendees: int
    respondents: list[str]
    scales: list[tuple[str, Dist]]
    speakers: list[tuple[SessionSpeaker, Dist]]
    agencies: list[tuple[str, Dist]]
    #: free texts, each once with how many gave it, sorted by text (never by who or when)
    comments: list[tuple[str, int]]
    pre_n: int
    post_n: int
    pre_mean: float | None
    post_mean: float | None
    questions: list[QuestionGain]

    @property
    def n(self) -> int:
        return len(self.respondents)

    @property
    def shown(self) -> bool:
        return self.n >= MIN_GROUP

    @property
    def response_rate(self) -> float | None:
        return self.n / self.attendees if self.attendees else None


def _lang() -> str:
    from flask_babel import get_locale

    try:
        loc = get_locale()
    except RuntimeError:
        return "id"
    return "en" if loc and loc.language == "en" else "id"


def agency_label(agency: SpeakerAgency, other: str = "") -> str:
    from ..sessions.services import AGENCY_LABELS

    return other if agency is SpeakerAgency.OTHER and other else str(AGENCY_LABELS[agency])


def session_report(actor: Any, session: TrainingSession) -> SessionReport:
    """Response rate, distributions per scale, speaker and agency, and pre→post gain per question."""
    if not permissions.can(actor, "session.feedback_report", session):
        raise NotAllowed("session.feedback_report")
    lang = _lang()
    q, test = questionnaire_for(session), test_for(session)
    attendees = db.session.scalar(sa.select(sa.func.count()).select_from(Registration).where(
        Registration.session_id == session.id, Registration.status == RegistrationStatus.REGISTERED,
        Registration.attendance.in_(ATTENDED))) or 0
    respondents = sorted(db.session.scalars(
        sa.select(User.full_name).join(FeedbackResponse, FeedbackResponse.user_id == User.id)
        .where(FeedbackResponse.session_id == session.id)), key=str.casefold)
    shown = len(respondents) >= MIN_GROUP
    scales: list[tuple[str, Dist]] = []
    speakers: list[tuple[SessionSpeaker, Dist]] = []
    agencies: list[tuple[str, Dist]] = []
    comments: list[tuple[str, int]] = []
    if shown and q is not None:
        dists: dict[tuple[str, int], Dist] = defaultdict(Dist)
        for item, sid, value, count in db.session.execute(
                sa.select(FeedbackRating.item, FeedbackRating.speaker_id, FeedbackRating.value, sa.func.count())
                .join(FeedbackResponse, FeedbackResponse.id == FeedbackRating.response_id)
                .where(FeedbackResponse.session_id == session.id)
                .group_by(FeedbackRating.item, FeedbackRating.speaker_id, FeedbackRating.value)):
            dists[(item, sid)].add(value, count)
        scales = [(s.text.get(lang), dists.get((s.key, 0), Dist())) for s in q.scales]
        by_agency: dict[str, Dist] = defaultdict(Dist)
        for sp in session.speakers:
            d = dists.get((SPEAKER_ITEM, sp.id), Dist())
            speakers.append((sp, d))
            label = agency_label(sp.agency, sp.agency_other)
            for v, c in d.counts.items():
                by_agency[label].add(v, c)
        agencies = sorted(by_agency.items(), key=lambda kv: kv[0].casefold())
        same: dict[str, int] = defaultdict(int)
        for c in db.session.scalars(sa.select(FeedbackResponse.comment).where(
                FeedbackResponse.session_id == session.id, FeedbackResponse.comment != "")):
            if c.strip():
                same[c.strip()] += 1
        comments = sorted(same.items(), key=lambda kv: kv[0].casefold())
    pre_n = post_n = 0
    pre_mean = post_mean = None
    questions: list[QuestionGain] = []
    if test is not None:
        counts = dict(db.session.execute(
            sa.select(TestAttempt.phase, sa.func.count()).where(
                TestAttempt.session_id == session.id, TestAttempt.finished_at.is_not(None))
            .group_by(TestAttempt.phase)).all())
        pre_n, post_n = counts.get(TestPhase.PRE, 0), counts.get(TestPhase.POST, 0)
        per: dict[tuple[TestPhase, str], float] = {}
        if pre_n >= MIN_GROUP or post_n >= MIN_GROUP:
            for phase, qkey, n, right in db.session.execute(
                    sa.select(TestAttempt.phase, TestAnswer.question_key, sa.func.count(),
                              sa.func.sum(sa.case((TestAnswer.is_correct, 1), else_=0)))
                    .join(TestAttempt, TestAttempt.id == TestAnswer.attempt_id)
                    .where(TestAttempt.session_id == session.id, TestAttempt.finished_at.is_not(None))
                    .group_by(TestAttempt.phase, TestAnswer.question_key)):
                if (pre_n if phase is TestPhase.PRE else post_n) >= MIN_GROUP and n:
                    per[(phase, qkey)] = (right or 0) / n
        total = len(test.questions)
        if pre_n >= MIN_GROUP:
            pre_mean = sum(per.get((TestPhase.PRE, qq.key), 0) for qq in test.questions) / total
        if post_n >= MIN_GROUP:
            post_mean = sum(per.get((TestPhase.POST, qq.key), 0) for qq in test.questions) / total
        questions = [QuestionGain(qq.key, qq.topic.get(lang), qq.text.get(lang), per.get((TestPhase.PRE, qq.key)),
                                  per.get((TestPhase.POST, qq.key))) for qq in test.questions]
    return SessionReport(session=session, questionnaire=q, test=test, attendees=attendees, respondents=respondents,
                         scales=scales, speakers=speakers, agencies=agencies, comments=comments, pre_n=pre_n,
                         post_n=post_n, pre_mean=pre_mean, post_mean=post_mean, questions=questions)


# --- the overview: per region and stage, and time to the next stage by gain quartile ---------------

@dataclass(frozen=True)
class Filters:
    region_ids: tuple[int, ...]
    cohort_id: int | None = None
    start: date | None = None
    end: date | None = None


@dataclass
class Cell:
    region: str
    stage_key: str
    sessions: int
    responses: int
    overall: float | None
    pre_n: int
    post_n: int
    pre: float | None
    post: float | None

    @property
    def gain(self) -> float | None:
        return None if self.pre is None or self.post is None else self.post - self.pre


@dataclass
class Quartile:
    number: int
    n: int
    gain_low: float | None
    gain_high: float | None
    #: of those who finished pelatihan, how many also finished the next stage
    reached: int | None
    median_days: float | None

    @property
    def shown(self) -> bool:
        return self.n >= MIN_GROUP


@dataclass
class Overview:
    cells: list[Cell]
    quartiles: list[Quartile]
    next_stage: str | None
    trainees_with_gain: int


def _session_where(f: Filters) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [TrainingSession.region_id.in_(list(f.region_ids))]
    if f.cohort_id:
        where.append(TrainingSession.cohort_id == f.cohort_id)
    if f.start:
        where.append(TrainingSession.starts_at >= datetime.combine(f.start, time(), WIB))
    if f.end:
        where.append(TrainingSession.starts_at < datetime.combine(f.end + timedelta(days=1), time(), WIB))
    return where


def overview(actor: Any, f: Filters, *, gain_stage: str = "pelatihan", next_stage: str | None = None) -> Overview:
    """Feedback (mean overall rating) and knowledge gain per region × stage; time from ``gain_stage`` to the
    next stage by quartile of the pre→post gain in ``gain_stage``'s sessions. Four queries."""
    if not permissions.can(actor, "feedback.overview"):
        raise NotAllowed("feedback.overview")
    where = _session_where(f)
    region_name = Region.name
    fb = {(r, s): (ns, n, avg) for r, s, ns, n, avg in db.session.execute(
        sa.select(region_name, TrainingSession.stage_key, sa.func.count(sa.distinct(TrainingSession.id)),
                  sa.func.count(sa.distinct(FeedbackResponse.id)), sa.func.avg(FeedbackRating.value))
        .select_from(TrainingSession).join(Region, Region.id == TrainingSession.region_id)
        .join(FeedbackResponse, FeedbackResponse.session_id == TrainingSession.id)
        .join(FeedbackRating, sa.and_(FeedbackRating.response_id == FeedbackResponse.id,
                                      FeedbackRating.item == "overall"))
        .where(*where).group_by(region_name, TrainingSession.stage_key))}
    score = sa.cast(TestAttempt.correct, sa.Float) / sa.func.nullif(TestAttempt.total, 0)
    tests: dict[tuple[str, str], dict[TestPhase, tuple[int, float]]] = defaultdict(dict)
    sessions_with_tests: dict[tuple[str, str], int] = {}
    for r, s, phase, n, avg, ns in db.session.execute(
            sa.select(region_name, TrainingSession.stage_key, TestAttempt.phase, sa.func.count(), sa.func.avg(score),
                      sa.func.count(sa.distinct(TrainingSession.id)))
            .select_from(TrainingSession).join(Region, Region.id == TrainingSession.region_id)
            .join(TestAttempt, TestAttempt.session_id == TrainingSession.id)
            .where(*where, TestAttempt.finished_at.is_not(None))
            .group_by(region_name, TrainingSession.stage_key, TestAttempt.phase)):
        tests[(r, s)][phase] = (n, float(avg or 0))
        sessions_with_tests[(r, s)] = max(sessions_with_tests.get((r, s), 0), ns)
    cells = []
    for key in sorted(set(fb) | set(tests)):
        ns, n, avg = fb.get(key, (0, 0, None))
        t = tests.get(key, {})
        pre_n, pre = t.get(TestPhase.PRE, (0, None))
        post_n, post = t.get(TestPhase.POST, (0, None))
        cells.append(Cell(region=key[0], stage_key=key[1], sessions=max(ns, sessions_with_tests.get(key, 0)),
                          responses=n, overall=float(avg) if n >= MIN_GROUP and avg is not None else None,
                          pre_n=pre_n, post_n=post_n, pre=pre if pre_n >= MIN_GROUP else None,
                          post=post if post_n >= MIN_GROUP else None))
    quartiles, with_gain = _quartiles(f, gain_stage, next_stage)
    return Overview(cells=cells, quartiles=quartiles, next_stage=next_stage, trainees_with_gain=with_gain)


def _quartiles(f: Filters, gain_stage: str, next_stage: str | None) -> tuple[list[Quartile], int]:
    """One row per trainee with a finished pre- and post-test in a ``gain_stage`` session (their latest), with the
    dates their enrolment completed ``gain_stage`` and ``next_stage``. Two queries."""
    where = _session_where(f) + [TrainingSession.stage_key == gain_stage, TestAttempt.finished_at.is_not(None)]
    scores: dict[tuple[int, int], dict[TestPhase, float]] = defaultdict(dict)
    cohort_of: dict[int, int] = {}
    for uid, sid, cohort_id, phase, correct, total in db.session.execute(
            sa.select(TestAttempt.user_id, TestAttempt.session_id, TrainingSession.cohort_id, TestAttempt.phase,
                      TestAttempt.correct, TestAttempt.total)
            .join(TrainingSession, TrainingSession.id == TestAttempt.session_id).where(*where)
            .order_by(TrainingSession.starts_at)):
        scores[(uid, sid)][phase] = correct / total if total else 0.0
        cohort_of[sid] = cohort_id
    gains: dict[tuple[int, int], float] = {}
    for (uid, sid), ph in scores.items():
        if TestPhase.PRE in ph and TestPhase.POST in ph:
            gains[(uid, cohort_of[sid])] = ph[TestPhase.POST] - ph[TestPhase.PRE]  # the latest session wins
    if not gains:
        return [], 0
    done: dict[tuple[int, int], dict[str, datetime]] = defaultdict(dict)
    if next_stage:
        stage_a = sa.orm.aliased(EnrolmentStage)
        users = sorted({u for u, _c in gains})
        q = (sa.select(Enrolment.user_id, Enrolment.cohort_id, stage_a.stage_key, stage_a.completed_at)
             .join(stage_a, stage_a.enrolment_id == Enrolment.id)
             .where(stage_a.stage_key.in_([gain_stage, next_stage])))
        if len(users) <= 900:
            q = q.where(Enrolment.user_id.in_(users))
        for uid, cid, skey, at in db.session.execute(q):
            if (uid, cid) in gains:
                done[(uid, cid)][skey] = at
    ordered = sorted(gains.items(), key=lambda kv: (kv[1], kv[0]))
    out = []
    n_all = len(ordered)
    for i in range(4):
        part = ordered[i * n_all // 4:(i + 1) * n_all // 4]
        n = len(part)
        if n < MIN_GROUP:
            out.append(Quartile(i + 1, n, None, None, None, None))
            continue
        days = []
        reached = 0
        for key, _g in part:
            d = done.get(key, {})
            if gain_stage in d and next_stage in d:
                reached += 1
                days.append(max((d[next_stage] - d[gain_stage]).total_seconds() / 86400, 0.0))
        out.append(Quartile(i + 1, n, part[0][1], part[-1][1], reached if next_stage else None,
                            statistics.median(days) if len(days) >= MIN_GROUP else None))
    return out, n_all


def data_version(f: Filters) -> tuple[Any, ...]:
    """Changes whenever a response or a finished attempt in scope is added or changed (the cache's key)."""
    where = _session_where(f)
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(FeedbackResponse.updated_at))
        .join(TrainingSession, TrainingSession.id == FeedbackResponse.session_id).where(*where)).first()
    row2 = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(TestAttempt.finished_at))
        .join(TrainingSession, TrainingSession.id == TestAttempt.session_id)
        .where(*where, TestAttempt.finished_at.is_not(None))).first()
    return tuple(row or ()) + tuple(row2 or ())


# --- export: anonymised responses ----------------------------------------------------------------

def export_rows(actor: Any, f: Filters, questionnaire: Questionnaire) -> tuple[list[str], Iterator[list[Any]]]:
    """One row per response, without names or ids; sessions with fewer than MIN_GROUP responses are left
    out entirely (not rounded). Rows are ordered by session, then by their answers, never by who or when."""
    if not permissions.can(actor, "exports.download"):
        raise NotAllowed("exports.download")
    where = _session_where(f)
    header = [_("Sesi"), _("Tanggal (WIB)"), _("Wilayah"), _("Langkah")] + \
        [s.key for s in questionnaire.scales] + [_("Rata-rata narasumber"), _("Komentar")]
    big = (sa.select(FeedbackResponse.session_id).join(TrainingSession, TrainingSession.id == FeedbackResponse.session_id)
           .where(*where, FeedbackResponse.questionnaire_key == questionnaire.key)
           .group_by(FeedbackResponse.session_id).having(sa.func.count() >= MIN_GROUP))

    def rows() -> Iterator[list[Any]]:
        responses = db.session.execute(
            sa.select(FeedbackResponse.id, TrainingSession.title, TrainingSession.starts_at, Region.name,
                      TrainingSession.stage_key, FeedbackResponse.comment, TrainingSession.id)
            .join(TrainingSession, TrainingSession.id == FeedbackResponse.session_id)
            .join(Region, Region.id == TrainingSession.region_id)
            .where(FeedbackResponse.session_id.in_(big))).all()
        ratings: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for rid, item, value in db.session.execute(
                sa.select(FeedbackRating.response_id, FeedbackRating.item, FeedbackRating.value)
                .where(FeedbackRating.response_id.in_(sa.select(FeedbackResponse.id).where(
                    FeedbackResponse.session_id.in_(big))))):
            ratings[rid][item].append(value)
        out = []
        for rid, title, starts, region, stage, comment, sid in responses:
            r = ratings[rid]
            sp = r.get(SPEAKER_ITEM, [])
            vals = [r[s.key][0] if r.get(s.key) else None for s in questionnaire.scales]
            out.append((to_wib(starts).date(), sid, vals, [title, to_wib(starts).date(), region, stage] + vals
                        + [round(sum(sp) / len(sp), 2) if sp else None, comment or ""]))
        out.sort(key=lambda t: (t[0], t[1], [v or 0 for v in t[2]], t[3][-1]))
        for *_k, row in out:
            yield row

    return header, rows()


def cohort_name(cohort_id: int | None) -> str | None:
    return db.session.scalar(sa.select(Cohort.name).where(Cohort.id == cohort_id)) if cohort_id else None
