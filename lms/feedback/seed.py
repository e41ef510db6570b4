"""Demo data: feedback and pre/post tests of the 2018 Bimtek, so the reports show something.

Deterministic (a random generator seeded by the session's day and the manager's outlet code),
idempotent (a session or person that already has rows is left alone) and fast (one transaction,
bulk inserts). How much a manager gained is made to follow how fast they later finished
mentoring (with noise), so the quartile view has a story to tell; the topic "Pembukuan"
is made hard so the per-question table shows a topic that did not land.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from ..db import transaction
from ..extensions import db
from ..places.models import Outlet
from ..programme.models import Enrolment, EnrolmentStage
from ..sessions.models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .models import FeedbackRating, FeedbackResponse, TestAnswer, TestAttempt, TestPhase
from .questions import SPEAKER_ITEM, KnowledgeTest, Questionnaire

#: how hard each question is (lower: fewer right answers)
EASE = {"pembukuan": -0.25, "bpnt": 0.2}
COMMENTS = (
    "Materi pembukuan terlalu cepat, mohon contoh soal lebih banyak.",
    "Sangat bermanfaat untuk mengelola stok e-Warong.",
    "Ruangan panas, tapi narasumber jelas.",
    "Mohon ada sesi lanjutan tentang pemasaran online.",
    "",
    "",
    "",
)


def _stage_of(session: TrainingSession):  # type: ignore[no-untyped-def]
    from ..programme import services as programme

    try:
        return programme.curriculum_for(session.cohort).stage(session.stage_key)
    except KeyError:
        return None


def seed_feedback(year: int = 2018) -> dict[str, int]:
    """Responses and pre/post attempts for the attendees of ``year``'s sessions that have none yet."""
    assessments = current_app.extensions.get("lms.assessments", {})
    counts = {"feedback": 0, "test": 0}
    start, end = datetime(year, 1, 1, tzinfo=timezone.utc), datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    with transaction():
        sessions = list(db.session.scalars(sa.select(TrainingSession).where(
            TrainingSession.status == SessionStatus.SCHEDULED, TrainingSession.starts_at >= start,
            TrainingSession.starts_at < end).order_by(TrainingSession.starts_at, TrainingSession.id)))
        if not sessions:
            return counts
        ids = [s.id for s in sessions]
        regs = db.session.execute(
            sa.select(Registration.session_id, Registration.user_id, Registration.attendance, Outlet.code)
            .join(Outlet, Outlet.manager_id == Registration.user_id, isouter=True)
            .where(Registration.session_id.in_(ids), Registration.status == RegistrationStatus.REGISTERED)
            .order_by(Registration.session_id, Outlet.code, Registration.user_id)).all()
        answered = {(s, u) for s, u in db.session.execute(sa.select(
            FeedbackResponse.session_id, FeedbackResponse.user_id).where(FeedbackResponse.session_id.in_(ids)))}
        tested = {(s, u, p) for s, u, p in db.session.execute(sa.select(
            TestAttempt.session_id, TestAttempt.user_id, TestAttempt.phase).where(TestAttempt.session_id.in_(ids)))}
        # how fast each manager went from pelatihan to pendampingan (their "pace", 0 fast .. 1 slow)
        done: dict[tuple[int, str], datetime] = {
            (u, k): at for u, k, at in db.session.execute(
                sa.select(Enrolment.user_id, EnrolmentStage.stage_key, EnrolmentStage.completed_at)
                .join(EnrolmentStage, EnrolmentStage.enrolment_id == Enrolment.id)
                .where(EnrolmentStage.stage_key.in_(["pelatihan", "pendampingan"])))}
        days = {u: (done[(u, "pendampingan")] - done[(u, "pelatihan")]).days
                for (u, k) in done if k == "pelatihan" and (u, "pendampingan") in done}
        ranked = sorted(days, key=lambda u: (days[u], u))
        pace = {u: i / max(len(ranked) - 1, 1) for i, u in enumerate(ranked)}
        by_id = {s.id: s for s in sessions}
        for sid, uid, attendance, code in regs:
            s = by_id[sid]
            stage = _stage_of(s)
            if stage is None:
                continue
            rng = random.Random(f"{s.starts_at.date().isoformat()}:{code or uid}")
            attended = attendance in (Attendance.PRESENT, Attendance.LATE)
            q = assessments.get(stage.questionnaire or "")
            t = assessments.get(stage.knowledge_test or "")
            # every decision is drawn up front, so a second run draws the same whatever it skips
            skill = rng.uniform(0.3, 0.6)
            gain = max(0.05, 0.45 - 0.35 * pace.get(uid, 0.5) + rng.uniform(-0.1, 0.1))
            takes_pre, takes_post, responds = rng.random() < 0.9, rng.random() < 0.85, rng.random() < 0.8
            seeds = [rng.random() for _ in range(3)]
            if isinstance(t, KnowledgeTest):
                if (sid, uid, TestPhase.PRE) not in tested and takes_pre:
                    db.session.add(_attempt(random.Random(seeds[0]), s, uid, TestPhase.PRE, t, skill,
                                            s.starts_at - timedelta(hours=20)))
                    counts["test"] += 1
                if attended and (sid, uid, TestPhase.POST) not in tested and takes_post:
                    db.session.add(_attempt(random.Random(seeds[1]), s, uid, TestPhase.POST, t, skill + gain,
                                            s.ends_at + timedelta(hours=1)))
                    counts["test"] += 1
            if attended and isinstance(q, Questionnaire) and (sid, uid) not in answered and responds:
                db.session.add(_response(random.Random(seeds[2]), s, uid, q))
                counts["feedback"] += 1
    return counts


def _attempt(rng: random.Random, s: TrainingSession, uid: int, phase: TestPhase, test: KnowledgeTest,
             p: float, at: datetime) -> TestAttempt:
    a = TestAttempt(session_id=s.id, user_id=uid, phase=phase, test_key=test.key, started_at=at,
                    finished_at=at + timedelta(minutes=6), total=len(test.questions))
    right = 0
    for q in test.questions:
        ok = rng.random() < min(max(p + EASE.get(q.key, 0.0), 0.05), 0.97)
        choice = q.correct if ok else rng.choice([i for i in range(len(q.options)) if i != q.correct])
        right += ok
        a.answers.append(TestAnswer(question_key=q.key, choice=choice, is_correct=ok))
    a.correct = right
    return a


def _response(rng: random.Random, s: TrainingSession, uid: int, q: Questionnaire) -> FeedbackResponse:
    mood = rng.choice((3, 4, 4, 4, 5, 5))
    r = FeedbackResponse(session_id=s.id, user_id=uid, questionnaire_key=q.key, comment=rng.choice(COMMENTS),
                         created_at=s.ends_at + timedelta(hours=rng.randint(1, 72)))
    r.updated_at = r.created_at

    def val(bias: int = 0) -> int:
        return min(5, max(1, mood + bias + rng.choice((-1, 0, 0, 0, 1))))

    for scale in q.scales:
        r.ratings.append(FeedbackRating(item=scale.key, speaker_id=0, value=val(-1 if scale.key == "venue" else 0)))
    for i, sp in enumerate(s.speakers):
        r.ratings.append(FeedbackRating(item=SPEAKER_ITEM, speaker_id=sp.id, value=val(1 if i == 0 else 0)))
    return r
