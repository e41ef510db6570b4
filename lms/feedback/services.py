"""Giving feedback and taking the pre/post tests: windows, saving, scoring.

Windows (all in UTC, shown in WIB):

* feedback: from the attendee's check-in (attendance present or late) until ``FEEDBACK_DAYS``
  after the session ends; one response per attendee, editable until then;
* pre-test: a registered trainee, until the session starts or they check in, whichever is first;
* post-test: an attendee, after check-in until the feedback closes.

The reports (what the answers show, never who gave them) are in :mod:`lms.feedback.reports`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from .. import permissions
from ..db import transaction, utcnow
from ..errors import DomainError, Invalid, NotAllowed
from ..extensions import db
from ..i18n import to_wib
from ..programme import services as programme
from ..sessions.models import SessionStatus, TrainingSession
from . import rules
from .models import FeedbackRating, FeedbackResponse, TestAnswer, TestAttempt, TestPhase
from .questions import SCALE_MAX, SCALE_MIN, SPEAKER_ITEM, KnowledgeTest, Questionnaire

#: the feedback form (and the post-test) close this long after the session ends
FEEDBACK_DAYS = 7
COMMENT_MAX = 2000


class Closed(DomainError):
    """The form or test is not open (yet or any more); ``message`` says which."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def _require(actor: Any, action: str, obj: Any) -> None:
    if not permissions.can(actor, action, obj):
        raise NotAllowed(action)


def _wib(value: datetime) -> str:
    return to_wib(value).strftime("%d-%m-%Y %H:%M") + " WIB"


# --- which questions a session asks --------------------------------------------------------

def assessments() -> dict[str, Any]:
    return current_app.extensions.get("lms.assessments", {})


def _stage(session: TrainingSession) -> Any:
    try:
        return programme.curriculum_for(session.cohort).stage(session.stage_key)
    except KeyError:
        return None


def questionnaire_for(session: TrainingSession) -> Questionnaire | None:
    stage = _stage(session)
    found = assessments().get(stage.questionnaire) if stage is not None and stage.questionnaire else None
    return found if isinstance(found, Questionnaire) else None


def test_for(session: TrainingSession) -> KnowledgeTest | None:
    stage = _stage(session)
    found = assessments().get(stage.knowledge_test) if stage is not None and stage.knowledge_test else None
    return found if isinstance(found, KnowledgeTest) else None


# --- windows -------------------------------------------------------------------------------

def feedback_closes(session: TrainingSession) -> datetime:
    try:
        return session.ends_at + timedelta(days=FEEDBACK_DAYS)
    except OverflowError:
        return datetime.max.replace(tzinfo=session.ends_at.tzinfo)


def feedback_problem(actor: Any, session: TrainingSession, now: datetime | None = None) -> str | None:
    """Why ``actor`` cannot give (or change) feedback now (None: they can). Attendance is the rule's."""
    now = now or utcnow()
    if questionnaire_for(session) is None:
        return _("Sesi ini tidak memakai formulir umpan balik.")
    if session.status is SessionStatus.CANCELLED:
        return _("Sesi ini dibatalkan.")
    if now > feedback_closes(session):
        return _("Umpan balik sesi ini sudah ditutup pada %(when)s.", when=_wib(feedback_closes(session)))
    return None


def pretest_problem(actor: Any, session: TrainingSession, now: datetime | None = None) -> str | None:
    now = now or utcnow()
    if test_for(session) is None:
        return _("Sesi ini tidak memakai tes pengetahuan.")
    if session.status is SessionStatus.CANCELLED:
        return _("Sesi ini dibatalkan.")
    if now >= session.starts_at or rules.attended(actor, session):
        return _("Pre-test hanya bisa dikerjakan sebelum sesi dimulai dan sebelum check-in.")
    return None


def posttest_problem(actor: Any, session: TrainingSession, now: datetime | None = None) -> str | None:
    now = now or utcnow()
    if test_for(session) is None:
        return _("Sesi ini tidak memakai tes pengetahuan.")
    if session.status is SessionStatus.CANCELLED:
        return _("Sesi ini dibatalkan.")
    if now > feedback_closes(session):
        return _("Post-test sesi ini sudah ditutup pada %(when)s.", when=_wib(feedback_closes(session)))
    return None


def test_problem(actor: Any, session: TrainingSession, phase: TestPhase, now: datetime | None = None) -> str | None:
    return (pretest_problem if phase is TestPhase.PRE else posttest_problem)(actor, session, now)


def phase_rule(phase: TestPhase) -> str:
    return "session.pretest" if phase is TestPhase.PRE else "session.posttest"


# --- feedback ------------------------------------------------------------------------------

def my_response(actor: Any, session: TrainingSession) -> FeedbackResponse | None:
    return db.session.scalar(sa.select(FeedbackResponse).where(
        FeedbackResponse.session_id == session.id, FeedbackResponse.user_id == actor.id)
        .options(selectinload(FeedbackResponse.ratings)))


def answers_of(response: FeedbackResponse | None) -> dict[str, int]:
    """The response's ratings as form data: ``{scale key: value, "speaker_<id>": value}``."""
    if response is None:
        return {}
    return {(f"{SPEAKER_ITEM}_{r.speaker_id}" if r.item == SPEAKER_ITEM else r.item): r.value
            for r in response.ratings}


@dataclass
class FeedbackInput:
    #: scale key (and ``speaker_<id>``) -> 1..5
    ratings: dict[str, Any]
    comment: str = ""


def _value(raw: Any) -> int | None:
    try:
        v = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return v if SCALE_MIN <= v <= SCALE_MAX else None


def save_feedback(actor: Any, session: TrainingSession, data: FeedbackInput, *,
                  now: datetime | None = None) -> FeedbackResponse:
    """Create or replace the attendee's one response. Invalid names every unanswered item."""
    _require(actor, "session.feedback", session)
    problem = feedback_problem(actor, session, now)
    if problem:
        raise Closed(problem)
    q = questionnaire_for(session)
    assert q is not None
    errors: dict[str, list[str]] = {}
    values: list[tuple[str, int, int]] = []
    for scale in q.scales:
        v = _value(data.ratings.get(scale.key))
        if v is None:
            errors[scale.key] = [_("Pilih nilai 1 sampai 5.")]
        values.append((scale.key, 0, v or 0))
    for sp in session.speakers:
        name = f"{SPEAKER_ITEM}_{sp.id}"
        v = _value(data.ratings.get(name))
        if v is None:
            errors[name] = [_("Pilih nilai 1 sampai 5.")]
        values.append((SPEAKER_ITEM, sp.id, v or 0))
    comment = (data.comment or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [_("Paling banyak %(n)d karakter.", n=COMMENT_MAX)]
    if errors:
        raise Invalid(errors)
    with transaction():
        resp = my_response(actor, session)
        if resp is None:
            resp = FeedbackResponse(session_id=session.id, user_id=actor.id, questionnaire_key=q.key)
            db.session.add(resp)
        else:
            resp.ratings.clear()
            db.session.flush()
            resp.updated_at = utcnow()
        resp.comment = comment
        resp.ratings.extend(FeedbackRating(item=item, speaker_id=sid, value=v) for item, sid, v in values)
    return resp


# --- pre- and post-tests -------------------------------------------------------------------

def attempt_of(actor: Any, session: TrainingSession, phase: TestPhase) -> TestAttempt | None:
    return db.session.scalar(sa.select(TestAttempt).where(
        TestAttempt.session_id == session.id, TestAttempt.user_id == actor.id, TestAttempt.phase == phase)
        .options(selectinload(TestAttempt.answers)))


def chosen(attempt: TestAttempt | None) -> dict[str, int]:
    return {a.question_key: a.choice for a in attempt.answers} if attempt else {}


def next_question(test: KnowledgeTest, attempt: TestAttempt | None) -> int | None:
    """The 1-based number of the first unanswered question (None: all answered)."""
    done = chosen(attempt)
    for i, q in enumerate(test.questions, start=1):
        if q.key not in done:
            return i
    return None


def answer(actor: Any, session: TrainingSession, phase: TestPhase, number: int, choice: Any, *,
           now: datetime | None = None) -> TestAttempt:
    """Store the answer to question ``number`` (1-based); the last answer finishes and scores the attempt.
    A finished attempt is final."""
    _require(actor, phase_rule(phase), session)
    problem = test_problem(actor, session, phase, now)
    if problem:
        raise Closed(problem)
    test = test_for(session)
    assert test is not None
    if not 1 <= number <= len(test.questions):
        raise Invalid({"choice": [_("Pertanyaan ini tidak ada.")]})
    question = test.questions[number - 1]
    try:
        index = int(str(choice))
    except (TypeError, ValueError):
        index = -1
    if not 0 <= index < len(question.options):
        raise Invalid({"choice": [_("Pilih salah satu jawaban.")]})
    with transaction():
        attempt = attempt_of(actor, session, phase)
        if attempt is None:
            attempt = TestAttempt(session_id=session.id, user_id=actor.id, phase=phase, test_key=test.key,
                                  started_at=now or utcnow(), total=len(test.questions))
            db.session.add(attempt)
        if attempt.finished_at is not None:
            raise Closed(_("Tes ini sudah selesai; jawaban tidak bisa diubah."))
        existing = {a.question_key: a for a in attempt.answers}
        row = existing.get(question.key)
        if row is None:
            attempt.answers.append(TestAnswer(question_key=question.key, choice=index,
                                              is_correct=index == question.correct))
        else:
            row.choice, row.is_correct = index, index == question.correct
        db.session.flush()
        if next_question(test, attempt) is None:
            score(attempt, test)
            attempt.finished_at = now or utcnow()
    return attempt


def score(attempt: TestAttempt, test: KnowledgeTest) -> None:
    """Count the correct answers against the test's questions (answers to removed questions do not count)."""
    keys = {q.key: q for q in test.questions}
    attempt.total = len(test.questions)
    attempt.correct = sum(1 for a in attempt.answers if a.question_key in keys and a.choice == keys[a.question_key].correct)


def passed(attempt: TestAttempt | None, threshold: float) -> bool:
    s = attempt.score if attempt is not None else None
    return s is not None and s + 1e-9 >= threshold


def post_scores(session_id: int, user_ids: list[int]) -> dict[int, TestAttempt]:
    """Finished post-tests of a session, by user (one query; for eligibility lists)."""
    if not user_ids:
        return {}
    rows = db.session.scalars(sa.select(TestAttempt).where(
        TestAttempt.session_id == session_id, TestAttempt.phase == TestPhase.POST,
        TestAttempt.finished_at.is_not(None), TestAttempt.user_id.in_(user_ids)))
    return {a.user_id: a for a in rows}


@dataclass
class TraineeState:
    """What the session page offers an attendee: links and their states (no query in templates)."""

    feedback_open: bool = False
    feedback_given: bool = False
    pretest_open: bool = False
    pretest_done: bool = False
    posttest_open: bool = False
    posttest_done: bool = False


def trainee_state(actor: Any, session: TrainingSession, now: datetime | None = None) -> TraineeState:
    st = TraineeState()
    if not permissions.can(actor, "session.pretest", session):
        return st
    now = now or utcnow()
    attempts = {a.phase: a for a in db.session.scalars(sa.select(TestAttempt).where(
        TestAttempt.session_id == session.id, TestAttempt.user_id == actor.id))}
    st.pretest_done = bool(attempts.get(TestPhase.PRE) and attempts[TestPhase.PRE].finished_at)
    st.posttest_done = bool(attempts.get(TestPhase.POST) and attempts[TestPhase.POST].finished_at)
    st.pretest_open = pretest_problem(actor, session, now) is None and not st.pretest_done
    if rules.attended(actor, session):
        st.feedback_open = feedback_problem(actor, session, now) is None
        st.posttest_open = posttest_problem(actor, session, now) is None
        st.feedback_given = db.session.scalar(sa.select(sa.literal(True)).where(
            FeedbackResponse.session_id == session.id, FeedbackResponse.user_id == actor.id)) is not None
    return st
