"""The demo's five April 2018 Bimtek: real dates, every manager registered and marked, idempotent."""
from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.i18n import to_wib
from lms.programme.models import Enrolment, EnrolmentStage
from lms.sessions import scheduling, services
from lms.sessions.models import Attendance, Registration, RegistrationStatus, SessionSpeaker, TrainingSession
from lms.sessions.seed import seed_sessions


def _snapshot(db):  # type: ignore[no-untyped-def]
    db.session.rollback()
    sessions = [(s.id, s.title, s.starts_at, s.ends_at, s.capacity, s.seats_taken, s.sequence, s.updated_at,
                 s.checkin_secret) for s in db.session.scalars(sa.select(TrainingSession).order_by(TrainingSession.id))]
    regs = [(r.id, r.session_id, r.user_id, r.status, r.attendance, r.updated_at)
            for r in db.session.scalars(sa.select(Registration).order_by(Registration.id))]
    stages = sorted((e.enrolment_id, e.stage_key, e.completed_at) for e in db.session.scalars(sa.select(EnrolmentStage)))
    speakers = db.session.scalar(sa.select(sa.func.count()).select_from(SessionSpeaker))
    audit = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    return sessions, regs, stages, speakers, audit


def test_the_april_2018_bimtek(app, db):
    from lms.seed import seed_cohort, seed_demo

    seed_demo()
    cohort = seed_cohort()
    assert seed_sessions(cohort) == 5
    sessions = list(db.session.scalars(sa.select(TrainingSession).order_by(TrainingSession.starts_at)))
    when = [(s.region.name, to_wib(s.starts_at).date(), to_wib(s.starts_at).strftime("%H:%M"),
             to_wib(s.ends_at).strftime("%H:%M")) for s in sessions]
    assert when == [("Jakarta Pusat", date(2018, 4, 10), "08:00", "16:00"),
                    ("Jakarta Utara", date(2018, 4, 11), "08:00", "16:00"),
                    ("Jakarta Barat", date(2018, 4, 12), "08:00", "16:00"),
                    ("Jakarta Selatan", date(2018, 4, 16), "08:00", "12:00"),
                    ("Jakarta Timur", date(2018, 4, 16), "12:00", "16:00")]
    assert sessions[3].venue_name != sessions[4].venue_name
    assert "Gunung Sahari II No. 5" in sessions[0].venue_address
    agencies = {sp.agency.value for s in sessions for sp in s.speakers}
    assert agencies == {"dinas_sosial", "bank_indonesia", "bni", "pgo_okoce"}
    for s in sessions:  # the schedule itself would pass the clash checks
        assert scheduling._clashes(s.starts_at, s.ends_at, services.fold(s.venue_name),
                                 {sp.name_key: sp.name for sp in s.speakers}, s.id) == []

    regs = list(db.session.scalars(sa.select(Registration)))
    assert len(regs) == 253 and len({r.user_id for r in regs}) == 253
    assert all(r.status is RegistrationStatus.REGISTERED and r.attendance is not None for r in regs)
    per_session = Counter(r.session_id for r in regs)
    for s in sessions:
        managers = db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
            Enrolment.cohort_id == cohort.id, Enrolment.region_id == s.region_id))
        assert per_session[s.id] == managers == s.seats_taken <= s.capacity
    marks = Counter(r.attendance for r in regs)
    assert marks[Attendance.PRESENT] > 200
    assert 0 < marks[Attendance.LATE] < 25
    assert 0 < marks[Attendance.EXCUSED] < 10 and 0 < marks[Attendance.ABSENT] < 10
    for s in sessions:  # every city has its few absentees
        assert any(r.attendance is Attendance.ABSENT for r in regs if r.session_id == s.id)

    # the training step follows the attendance, dated on the day of the session
    trained = {e.user_id: e for e in db.session.scalars(sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id))}
    attended = {r.user_id for r in regs if r.attendance in (Attendance.PRESENT, Attendance.LATE)}
    done = {uid for uid, e in trained.items() if any(st.stage_key == "pelatihan" for st in e.stage_dates)}
    assert done == attended
    some = next(iter(attended))
    stage = next(st for st in trained[some].stage_dates if st.stage_key == "pelatihan")
    assert to_wib(stage.completed_at).date() in {date(2018, 4, d) for d in (10, 11, 12, 16)}

    before = _snapshot(db)
    assert seed_sessions(cohort) == 0
    assert _snapshot(db) == before  # running it twice changes nothing
