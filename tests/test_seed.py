"""The demo seed: the 2018 programme as fixed history, and a current cohort dated from the day it is seeded."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from lms.certification.models import Certificate
from lms.db import Base
from lms.i18n import to_wib
from lms.people.models import Role, User
from lms.places.models import Outlet
from lms.programme import services as programme
from lms.programme.models import Cohort, Enrolment, EnrolmentStage, Evidence, EvidenceStatus, FinancialReport
from lms.seed import seed_all
from lms.seed_today import CURRENT_PLAN, current_logins, find_current_cohort
from lms.seed_data import demo_current_outlets, demo_outlets
from lms.sessions import services as sessions
from lms.sessions.models import Registration, RegistrationStatus, SessionStatus, TrainingSession
from lms.sessions.seed import session_day
from lms.visits import services as visits
from lms.visits.models import ActionItem, Visit
from lms.visits.seed import start_of

#: kept by _wipe: the reference data, and the audit log (append-only: the database refuses deletes)
KEPT_TABLES = {"alembic_version", "regions", "kecamatan", "audit_log"}
NEW_YEAR_2019 = datetime(2019, 1, 1, tzinfo=timezone.utc)


def _wipe(db) -> None:  # type: ignore[no-untyped-def]
    """Empty every table but the reference data and the audit log (a fresh demo, within one test)."""
    db.session.rollback()
    for table in reversed(Base.metadata.sorted_tables):
        if table.name not in KEPT_TABLES:
            db.session.execute(table.delete())
    db.session.commit()


def _everything(db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A digest of every row of every table."""
    db.session.rollback()
    out = {}
    for table in Base.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        out[table.name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return out


def _history_2018(db) -> list:  # type: ignore[no-untyped-def]
    """The 2018 programme as facts that do not depend on ids or on the day of seeding."""
    db.session.rollback()
    email = dict(db.session.execute(sa.select(User.id, User.email)).all())
    code = dict(db.session.execute(sa.select(Outlet.id, Outlet.code)).all())
    cohort = db.session.scalar(sa.select(Cohort).where(Cohort.name == "e-Warong DKI Jakarta 2018"))
    old = sa.select(TrainingSession).where(TrainingSession.starts_at < NEW_YEAR_2019).order_by(TrainingSession.starts_at)
    facts: list = [(cohort.start_date, cohort.end_date, [r.code for r in cohort.regions])]
    facts += [(s.title, s.starts_at, s.ends_at, s.venue_name, s.capacity, s.seats_taken) for s in db.session.scalars(old)]
    facts += sorted((r.session.starts_at, email[r.user_id], r.status.value, r.attendance and r.attendance.value)
                    for r in db.session.scalars(sa.select(Registration).join(TrainingSession)
                                                .where(TrainingSession.starts_at < NEW_YEAR_2019)))
    facts += sorted((e.type, code[e.outlet_id], e.status.value, e.submitted_at, e.reviewed_at, e.review_comment)
                    for e in db.session.scalars(sa.select(Evidence).where(Evidence.submitted_at < NEW_YEAR_2019)))
    facts += sorted((code[v.outlet_id], email[v.mentor_id], v.visited_at, v.kind.value, v.observations,
                     [(a.description, a.due_on, a.done_at) for a in v.action_items])
                    for v in db.session.scalars(sa.select(Visit).where(Visit.visited_at < NEW_YEAR_2019)))
    facts += sorted((c.serial, email[c.holder_id], c.issued_at)
                    for c in db.session.scalars(sa.select(Certificate).where(Certificate.issued_at < NEW_YEAR_2019)))
    facts += sorted((email[e.user_id], st.stage_key, st.completed_at)
                    for e in db.session.scalars(sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id))
                    for st in e.stage_dates if st.completed_at < NEW_YEAR_2019)
    return facts


def _alive_on(db, today: date) -> None:  # type: ignore[no-untyped-def]
    """What each role finds to do on ``today`` (the day the demo was seeded)."""
    db.session.rollback()
    now = start_of(today)
    cohort = find_current_cohort()
    assert cohort is not None and cohort.start_date == today - timedelta(days=91)
    assert cohort.name == f"Angkatan {cohort.start_date.year} — Jakarta Pusat"
    assert cohort.start_date < today < cohort.end_date

    # sessions: the one of last week with attendance, three ahead open for registration, one of them full
    mine = list(db.session.scalars(sa.select(TrainingSession).where(TrainingSession.cohort_id == cohort.id)
                                   .order_by(TrainingSession.starts_at)))
    assert all(s.status is SessionStatus.SCHEDULED and to_wib(s.starts_at).weekday() < 5 for s in mine)
    past = [s for s in mine if s.starts_at < now]
    ahead = [s for s in mine if s.starts_at >= now]
    last_week = past[-1]
    assert 5 <= (today - to_wib(last_week.starts_at).date()).days <= 10
    regs = db.session.scalars(sa.select(Registration).where(Registration.session_id == last_week.id)).all()
    assert len(regs) >= 8 and all(r.attendance is not None and r.attendance_marked_at == last_week.ends_at for r in regs)
    assert len(ahead) == 3
    for s in ahead:
        days = (to_wib(s.starts_at).date() - today).days
        assert 1 <= days <= 28, days
        assert sessions.registration_open(s, now)
    waiting = sessions.waitlist_counts([s.id for s in ahead])
    assert any(s.seats_taken == s.capacity and waiting.get(s.id, 0) >= 2 for s in ahead)
    assert any(s.seats_taken < s.capacity for s in ahead)

    # visits: the newest yesterday or the day before, none after today, every outlet seen within months
    newest = db.session.scalar(sa.select(sa.func.max(Visit.visited_at)))
    assert 1 <= (today - to_wib(newest).date()).days <= 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit).where(Visit.visited_at >= now)) == 0
    mentor = db.session.scalar(sa.select(User).where(User.email == "pendamping.pusat1@demo.okoce.id"))
    caseload = visits.caseload(mentor, now)
    assert any(s.overdue for s in caseload) and any(s.never_visited and s.overdue for s in caseload)
    assert sum(s.days_since is not None and s.days_since <= 7 for s in caseload) >= 5
    assert max(s.days_since or 0 for s in caseload) < 100  # nothing reads thousands of days ago
    assert all(s.overdue_days == 30 for s in caseload)
    items = db.session.scalars(sa.select(ActionItem).where(ActionItem.done_at.is_(None))).all()
    assert items and all(i.due_on >= today - timedelta(days=100) for i in items)  # no 2018 follow-up left open
    assert any(today < i.due_on <= today + timedelta(days=7) for i in items)

    # the review queues: evidence sent in the last days, none left from 2018
    coordinator = db.session.scalar(sa.select(User).where(User.email == "koordinator.pusat@demo.okoce.id"))
    queue, total = programme.review_queue(coordinator, per_page=100)
    assert total >= 6 and {e.type for e in queue} >= {"licence", "marketing", "financial_report"}
    assert all(now - timedelta(days=35) < e.submitted_at < now for e in queue)
    assert programme.review_queue(mentor, per_page=1)[1] >= 1
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
    assert programme.review_queue(admin, per_page=1)[1] == total  # the other cities have nothing left from 2018
    returned = db.session.scalars(sa.select(Evidence).where(Evidence.status == EvidenceStatus.RETURNED,
                                                            Evidence.reviewed_at >= now - timedelta(days=7))).all()
    assert len(returned) == 1 and returned[0].review_comment
    months = {r.month for r in db.session.scalars(sa.select(FinancialReport).where(FinancialReport.region_id == cohort.regions[0].id,
                                                                                    FinancialReport.submitted_at >= now - timedelta(days=150)))}
    last_month = (date(today.year, today.month, 1) - timedelta(days=1)).replace(day=1)
    assert last_month in months and len(months) == 3

    # the managers stand at every step of the programme but the last one's end, each step dated in the past
    enrolments = db.session.scalars(sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id)).all()
    assert len(enrolments) == len(CURRENT_PLAN) == len(demo_current_outlets())
    assert {e.current_stage for e in enrolments} == {"pendaftaran", "pelatihan", "pendampingan", "perizinan",
                                                     "pemasaran", "pelaporan_keuangan", "permodalan"}
    stamps = db.session.scalars(sa.select(EnrolmentStage.completed_at).join(Enrolment)
                                .where(Enrolment.cohort_id == cohort.id)).all()
    assert stamps and all(start_of(cohort.start_date) <= t < now for t in stamps)
    assert all(e.progress_changed_at < now for e in enrolments)

    # the README's trainee: licence returned, a licensing clinic ahead to register for, her mentor pusat1
    email = current_logins()[0][1]
    trainee = db.session.scalar(sa.select(User).where(User.email == email))
    enrolment = programme.current_enrolment(trainee)
    assert enrolment.cohort_id == cohort.id and enrolment.current_stage == "perizinan"
    assert visits.current_assignment(enrolment.outlet_id).mentor_id == mentor.id
    home = sessions.trainee_home(trainee, now)
    assert home["open_session_count"] >= 1 and home["upcoming_sessions"] == []
    other = db.session.scalar(sa.select(User).where(User.email == current_logins()[1][1]))
    assert programme.current_enrolment(other).current_stage == "pelatihan"
    assert sessions.trainee_home(other, now)["open_session_count"] == 3
    # managers without e-mail (no password either): the README's one signs in with her number and a code
    no_email = db.session.scalars(sa.select(User).join(Enrolment, Enrolment.user_id == User.id)
                                  .where(Enrolment.cohort_id == cohort.id, User.email.is_(None))).all()
    assert len(no_email) == CURRENT_PLAN.count("next") >= 3
    assert all(u.phone and u.password_hash is None for u in no_email)
    from lms.people.phone import normalize_phone
    from lms.people.phone_codes import trainee_by_phone

    by_phone = trainee_by_phone(normalize_phone(current_logins()[2][1]) or "")
    assert by_phone is not None and by_phone.email is None


@pytest.mark.slow
def test_the_demo_is_alive_on_the_day_it_is_seeded_and_2018_stays_history(app, db):
    histories = []
    for today in (date(2026, 3, 2), date(2031, 8, 17)):  # a Monday; a Sunday, in another year
        _wipe(db)
        seed_all(today)
        _alive_on(db, today)
        histories.append(_history_2018(db))
    assert histories[0] == histories[1]  # the 2018 programme does not depend on the day of seeding
    history = histories[0]
    assert len([f for f in history if len(f) == 6 and isinstance(f[0], str) and f[0].startswith("Bimtek")]) == 5
    db.session.rollback()
    cohort_2018 = db.session.scalar(sa.select(Cohort).where(Cohort.name == "e-Warong DKI Jakarta 2018"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)
                             .where(Enrolment.cohort_id == cohort_2018.id)) == len(demo_outlets()) == 253
    # the 2018 programme closed with its queue empty and its follow-ups closed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence).where(
        Evidence.status == EvidenceStatus.SUBMITTED, Evidence.submitted_at < NEW_YEAR_2019)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActionItem).join(Visit).where(
        ActionItem.done_at.is_(None), Visit.visited_at < NEW_YEAR_2019)) == 0

    # running it again, even on a later day, changes nothing
    before = _everything(db)
    seed_all(date(2031, 9, 30))
    assert _everything(db) == before


def test_sessions_fall_on_weekdays():
    monday = date(2026, 12, 7)
    assert session_day(monday, 5) == date(2026, 12, 14)  # Saturday 12th -> the Monday after
    assert session_day(monday, -2) == date(2026, 12, 4)  # Saturday 5th -> the Friday before
    assert session_day(monday, -1) == date(2026, 12, 4)  # Sunday 6th -> the Friday before
    assert session_day(monday, 3) == date(2026, 12, 10)  # a Thursday stays
