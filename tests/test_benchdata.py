"""``flask --app lms bench-data``: synthetic national-scale data for the benchmarks, at a small size."""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.benchdata import DOMAIN, PASSWORD, BenchDataError, generate
from lms.certification.models import Certificate, CertificateCounter, CertificateStatus
from lms.dashboard.models import DashboardCount
from lms.dashboard.summaries import rebuild_all, snapshot
from lms.db import transaction
from lms.i18n import to_wib
from lms.people.models import Role, User
from lms.places.models import Outlet, OutletManagerTerm, Region
from lms.programme.models import Cohort, Enrolment, EnrolmentStage, EnrolmentStatus, cohort_regions
from lms.programme.services import curricula
from lms.sessions.models import Registration, RegistrationStatus, SessionSpeaker, SessionStatus, TrainingSession
from lms.visits.models import ActionItem, MentorAssignment, Visit

NOW = datetime(2026, 6, 15, 5, 30, tzinfo=timezone.utc)
MANAGERS, VISITS = 300, 2000


def _count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def generated(app, db):  # type: ignore[no-untyped-def]
    report = generate(MANAGERS, VISITS, seed=7, months=24, now=NOW)
    db.session.expire_all()
    return report


def _orphans(db) -> list[str]:  # type: ignore[no-untyped-def]
    """Every foreign key of the schema whose value points at no row (as 'table.column')."""
    bad = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            child, parent = fk.parent, fk.column
            alias = parent.table.alias()
            q = (sa.select(sa.func.count()).select_from(table.outerjoin(alias, child == alias.c[parent.name]))
                 .where(child.is_not(None), alias.c[parent.name].is_(None)))
            if db.session.scalar(q):
                bad.append(f"{table.name}.{child.name}")
    return bad


def test_counts_and_shape(generated, db):
    keys = curricula()["okoce-7pas"].stage_keys
    assert _count(db, Outlet) == MANAGERS
    assert _count(db, User, User.role == Role.TRAINEE) == MANAGERS
    assert _count(db, User, User.role == Role.ADMIN) == 1
    coordinators = db.session.scalars(sa.select(User.email).where(User.role == Role.COORDINATOR)).all()
    assert sorted(coordinators) == sorted([f"koordinator.{c}@{DOMAIN}" for c in
                                           ("3101", "3171", "3172", "3173", "3174", "3175")] + [f"koordinator.dki@{DOMAIN}"])
    # outlets spread over all 44 kecamatan, more in the bigger regions
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(Outlet.kecamatan_id)))) == 44
    per_region = dict(db.session.execute(sa.select(Region.code, sa.func.count()).join(Outlet, Outlet.region_id == Region.id)
                                         .group_by(Region.code)).all())
    assert per_region["3175"] > per_region["3171"] > per_region["3101"]
    # every outlet: a trainee manager of its region, one open term, mentors one per ~60 outlets
    rows = db.session.execute(sa.select(Outlet.region_id, User.region_id, User.role)
                              .join(User, User.id == Outlet.manager_id)).all()
    assert len(rows) == MANAGERS and all(o == u and role is Role.TRAINEE for o, u, role in rows)
    assert _count(db, OutletManagerTerm, OutletManagerTerm.ended_at.is_(None)) == MANAGERS
    expected_mentors = sum(-(-n // 60) for n in per_region.values())
    assert _count(db, User, User.role == Role.MENTOR) == expected_mentors
    open_assignments = _count(db, MentorAssignment, MentorAssignment.ended_at.is_(None))
    assert 0.8 * MANAGERS < open_assignments < MANAGERS
    assert _count(db, MentorAssignment) == MANAGERS
    # mentors work in the region of their outlets
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MentorAssignment)
                             .join(Outlet, Outlet.id == MentorAssignment.outlet_id)
                             .join(User, User.id == MentorAssignment.mentor_id)
                             .where(User.region_id != Outlet.region_id)) == 0

    # two cohorts over all six regions, one active enrolment per manager in the outlet's region
    assert _count(db, Cohort) == 2
    assert _count(db, cohort_regions) == 12
    assert _count(db, Enrolment, Enrolment.status == EnrolmentStatus.ACTIVE) == MANAGERS
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).join(Outlet, Outlet.id == Enrolment.outlet_id)
                             .where(sa.or_(Outlet.region_id != Enrolment.region_id,
                                           Outlet.manager_id != Enrolment.user_id))) == 0
    stages = Counter(db.session.scalars(sa.select(Enrolment.current_stage)))
    assert set(stages) <= set(keys) | {None} and len(stages) == len(keys) + 1  # every step, and done
    assert sum(generated.stages.values()) == MANAGERS and generated.stages[""] == stages[None]

    # the summary columns agree with the stage rows: a prefix of the curriculum, dated in order
    stage_rows: dict[int, list[tuple[str, datetime]]] = {}
    for eid, key, at in db.session.execute(sa.select(EnrolmentStage.enrolment_id, EnrolmentStage.stage_key,
                                                     EnrolmentStage.completed_at)):
        stage_rows.setdefault(eid, []).append((key, at))
    stuck = incomplete = 0
    for e in db.session.scalars(sa.select(Enrolment)):
        done = sorted(stage_rows.get(e.id, []), key=lambda r: keys.index(r[0]))
        assert [k for k, _at in done] == list(keys[:e.completed_count])
        assert e.current_stage == (keys[e.completed_count] if e.completed_count < len(keys) else None)
        assert (e.completed_at is not None) == (e.completed_count == len(keys))
        dates = [at for _k, at in done]
        assert dates == sorted(dates) and all(e.started_at <= at <= NOW for at in dates)
        if dates:
            assert dates[-1] == e.progress_changed_at
        if e.completed_at:
            assert e.completed_at == e.progress_changed_at
        else:
            incomplete += 1
            stuck += e.progress_changed_at < NOW - timedelta(days=60)
    assert 0.07 < stuck / incomplete < 0.3  # ~15 % stuck


def test_sessions_and_registrations(generated, db):
    sessions = db.session.scalars(sa.select(TrainingSession)).all()
    assert len(sessions) == round(MANAGERS / 40)  # about one per 40 managers
    regs = db.session.scalars(sa.select(Registration)).all()
    by_session: dict[int, list[Registration]] = {}
    for r in regs:
        by_session.setdefault(r.session_id, []).append(r)
    assert {s.region_id for s in sessions} == {r.id for r in db.session.scalars(sa.select(Region))}
    assert any(s.starts_at > NOW for s in sessions) and any(s.ends_at < NOW for s in sessions)
    for s in sessions:
        rs = by_session.get(s.id, [])
        assert 30 <= s.capacity <= 60 and s.seats_taken <= s.capacity
        assert s.seats_taken == sum(r.status is RegistrationStatus.REGISTERED for r in rs)
        assert (s.cancelled_at is not None) == (s.status is SessionStatus.CANCELLED)
        for r in rs:
            if r.attendance is not None:
                assert s.ends_at < NOW and s.status is SessionStatus.SCHEDULED and r.attendance_marked_at == s.ends_at
            if r.status is RegistrationStatus.WAITLISTED:
                assert r.waitlisted_at is not None and s.seats_taken == s.capacity
    marks = Counter(r.attendance.value for r in regs if r.attendance)
    assert set(marks) == {"present", "late", "excused", "absent"} and marks["present"] > sum(marks.values()) / 2
    assert _count(db, SessionSpeaker) == 4 * len(sessions)
    # at most one registration per manager
    assert len({r.user_id for r in regs}) == len(regs)


def test_visits_and_action_items(generated, db):
    assert _count(db, Visit) == VISITS
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(Visit.client_key)))) == VISITS
    assert all(re.fullmatch(r"[0-9a-f]{32}", k) for k in db.session.scalars(sa.select(Visit.client_key).limit(50)))
    # the visitor is the outlet's mentor (open assignment or the one who moved on), in the outlet's region
    mismatched = db.session.scalar(
        sa.select(sa.func.count()).select_from(Visit)
        .join(MentorAssignment, MentorAssignment.outlet_id == Visit.outlet_id)
        .join(Outlet, Outlet.id == Visit.outlet_id)
        .where(sa.or_(MentorAssignment.mentor_id != Visit.mentor_id, Outlet.region_id != Visit.region_id,
                      sa.and_(MentorAssignment.ended_at.is_not(None), Visit.visited_at >= MentorAssignment.ended_at))))
    assert mismatched == 0
    first, last = db.session.execute(sa.select(sa.func.min(Visit.visited_at), sa.func.max(Visit.visited_at))).one()
    first, last = (datetime.fromisoformat(v) if isinstance(v, str) else v for v in (first, last))
    first, last = (v if v.tzinfo else v.replace(tzinfo=timezone.utc) for v in (first, last))
    assert NOW - timedelta(days=24 * 31) <= first and last <= NOW
    # skewed: ~5 % of outlets never visited, some visited far more often than the mean
    per_outlet = Counter(db.session.scalars(sa.select(Visit.outlet_id)))
    never = MANAGERS - len(per_outlet)
    assert 0.01 * MANAGERS <= never <= 0.12 * MANAGERS
    assert max(per_outlet.values()) > 3 * VISITS / MANAGERS
    # action items on ~60 % of visits, due after the visit, ~90 % done
    items = db.session.execute(sa.select(ActionItem, Visit.visited_at, Visit.outlet_id)
                               .join(Visit, Visit.id == ActionItem.visit_id)).all()
    with_items = len({i.visit_id for i, _at, _o in items})
    assert 0.5 * VISITS < with_items < 0.7 * VISITS
    done = 0
    for item, visited_at, outlet_id in items:
        assert item.outlet_id == outlet_id and item.due_on > to_wib(visited_at).date()
        if item.done_at:
            done += 1
            assert visited_at <= item.done_at <= NOW
    assert 0.8 < done / len(items) < 0.95
    today = to_wib(NOW).date()
    assert any(i.done_at is None and i.due_on < today for i, _at, _o in items)  # some open past their date


def test_certificates_as_the_service_would_issue_them(generated, db):
    certs = db.session.scalars(sa.select(Certificate)).all()
    completed = _count(db, Enrolment, Enrolment.completed_at.is_not(None))
    assert certs and 0.1 * completed < len(certs) < 0.45 * completed
    by_year: dict[int, list[int]] = {}
    for c in certs:
        e = db.session.get(Enrolment, c.enrolment_id)
        assert e.completed_at is not None and e.completed_at <= c.issued_at <= NOW
        assert c.kind == "completion" and c.design == "completion" and c.subject_type == "enrolment"
        assert c.subject_key == f"enrolment:{e.id}" and c.holder_id == e.user_id and c.region_id == e.region_id
        assert c.year == to_wib(c.issued_at).year and c.serial == f"7PAS/{c.year}/{c.number:06d}"
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", c.verification_code) and c.pdf_path is None
        assert c.holder_name == e.user.full_name and c.outlet_code == e.outlet.code
        assert (c.status is CertificateStatus.REVOKED) == (c.revoked_at is not None)
        by_year.setdefault(c.year, []).append(c.number)
    for year, numbers in by_year.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))  # no gaps, no repeats
        counter = db.session.get(CertificateCounter, ("completion", year))
        assert counter.last_number == len(numbers)
    # numbers follow the issue date within a year
    for year in by_year:
        ordered = [c.number for c in sorted((c for c in certs if c.year == year), key=lambda c: c.issued_at)]
        assert ordered == sorted(ordered)


def test_every_foreign_key_and_constraint_holds(generated, db, factory):
    assert _orphans(db) == []
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    # the audit log: a sign-in per user who signed in, the issued certificates, the run itself
    logins = _count(db, AuditEntry, AuditEntry.action == "auth.login")
    assert logins == _count(db, User, User.last_login_at.is_not(None)) > 0.8 * MANAGERS
    assert _count(db, AuditEntry, AuditEntry.action == "certificate.issued") == _count(db, Certificate)
    run = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "bench.generated"))
    assert run.details["params"]["managers"] == MANAGERS and run.details["rows"]["visits"] == VISITS
    # ids were given by the generator: rows made the ordinary way still get the next id (PostgreSQL sequences)
    users = _count(db, User)
    outlet = factory.outlet("3171")
    user = factory.user("mentor")
    assert outlet.id == MANAGERS + 1 and user.id == users + 1


def test_dashboard_summaries_are_rebuilt(generated, db):
    t = DashboardCount.__table__
    totals = dict(db.session.execute(sa.select(t.c.metric, sa.func.sum(t.c.n)).group_by(t.c.metric)).all())
    assert totals["stage"] == MANAGERS and totals["outlets"] == MANAGERS
    visited = db.session.scalar(sa.select(sa.func.count(sa.distinct(Visit.outlet_id))))
    assert totals["visited"] == visited == _count(db, Outlet, Outlet.last_visit_on.is_not(None))
    before = snapshot(db.session)
    with transaction():
        rebuild_all()
    assert snapshot(db.session) == before


def test_dashboard_renders_for_admin_and_coordinator(generated, client, db):
    from lms.db import transaction
    from lms.people.models import User
    from tests.conftest import pass_code_step
    from tests.factories import enrol_totp

    for email in (f"admin@{DOMAIN}", f"koordinator.3171@{DOMAIN}", f"koordinator.dki@{DOMAIN}"):
        with transaction():  # coordinators and admins sign in with an authenticator
            enrol_totp(db, db.session.scalars(sa.select(User).where(User.email == email)).one())
        resp = client.form_post("/login", {"email": email, "password": PASSWORD})
        assert resp.status_code == 302 and resp.headers["Location"] == "/login/code", email
        pass_code_step(client, email)
        cohort = db.session.scalar(sa.select(Cohort.id).order_by(Cohort.id))
        kecamatan = db.session.scalar(sa.select(Outlet.kecamatan_id).join(Region, Region.id == Outlet.region_id)
                                      .where(Region.code == "3171").limit(1))
        for url in ("/dashboard", f"/dashboard?cohort={cohort}&kecamatan={kecamatan}",
                    "/dashboard?start=2026-01-01&end=2026-06-15", "/dashboard/managers?stage=perizinan"):
            resp = client.get(url)
            assert resp.status_code == 200, (email, url)
        client.form_post("/logout")


def test_same_seed_same_data(app, db):
    first = generate(120, 600, seed=11, now=NOW)
    # again into the same database (--append): the same random sequence, so the same spread
    second = generate(120, 600, seed=11, now=NOW, append=True)
    assert second.stages == first.stages
    for table in ("outlets", "enrolments", "enrolment_stages", "visits", "action_items", "registrations",
                  "training_sessions", "certificates"):
        assert second.rows(table) == first.rows(table), table
    assert second.rows("users") == first.rows("users") - 8  # the admin and coordinators exist already
    db.session.expire_all()
    assert _count(db, Outlet) == 240 and _count(db, Cohort) == 2
    # the second run's certificates continue the numbering of each year
    by_year: dict[int, list[int]] = {}
    for year, number in db.session.execute(sa.select(Certificate.year, Certificate.number)):
        by_year.setdefault(year, []).append(number)
    for year, numbers in by_year.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        assert db.session.get(CertificateCounter, ("completion", year)).last_number == len(numbers)
    assert _orphans(db) == []
    other = generate(120, 600, seed=12, now=NOW, append=True)
    assert other.stages != first.stages


def test_refuses_a_database_with_outlets(app, db, factory):
    factory.outlet("3172")
    with pytest.raises(BenchDataError, match="already has 1 outlets"):
        generate(10, 10, now=NOW)
    assert _count(db, Outlet) == 1 and _count(db, User) == 0


def test_cli(app, db, factory):
    runner = app.test_cli_runner()
    db.session.commit()
    result = runner.invoke(args=["bench-data", "--managers", "50", "--visits", "300", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert re.search(r"visits\s+300\s", result.output) and re.search(r"outlets\s+50\s", result.output)
    assert "total" in result.output and PASSWORD in result.output
    again = runner.invoke(args=["bench-data", "--managers", "50", "--visits", "300"])
    assert again.exit_code == 1
    assert "already has 50 outlets" in again.output and "--append" in again.output
    more = runner.invoke(args=["bench-data", "--managers", "20", "--visits", "100", "--append"])
    assert more.exit_code == 0, more.output
    db.session.expire_all()
    assert _count(db, Outlet) == 70 and _count(db, Visit) == 400
    bad = runner.invoke(args=["bench-data", "--managers", "0", "--visits", "10"])
    assert bad.exit_code == 2 and "--managers" in bad.output
