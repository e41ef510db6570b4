"""Property-based tests of the 7 PAS progress rules (Hypothesis).

1. ``evaluate`` never completes a stage after an incomplete one, whatever the facts.
2. Random sequences of evidence, verifications, returns, attendance and visits, applied
   through the services, always leave the stored summary equal to a full recomputation.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms.errors import Invalid
from lms.permissions import SYSTEM
from lms.programme import services
from lms.programme.curriculum import load_file
from lms.programme.models import Enrolment, EnrolmentStage, Evidence, EvidenceStatus
from lms.programme.progress import EvidenceFact, Facts, evaluate, longest_consecutive_months

CURRICULUM = load_file("curricula/okoce-7pas.yaml")

evidence_facts = st.builds(
    EvidenceFact,
    id=st.integers(1, 10_000),
    type=st.sampled_from(["licence", "marketing", "financing", "financial_report"]),
    status=st.sampled_from(["draft", "submitted", "returned", "verified"]),
    attrs=st.fixed_dictionaries({"status": st.sampled_from(["draft", "submitted", "approved", "rejected", "disbursed"])}),
    month=st.dates(date(2018, 1, 1), date(2019, 12, 1)).map(lambda d: d.replace(day=1)),
)
facts_strategy = st.builds(
    Facts,
    profile_missing=st.lists(st.sampled_from(["user.phone", "outlet.address"]), max_size=2),
    attended=st.dictionaries(st.sampled_from(["pelatihan", "pemasaran"]), st.integers(0, 3)),
    visits=st.integers(0, 6),
    evidence=st.lists(evidence_facts, max_size=12),
)


@given(facts_strategy)
def test_no_completed_stage_after_an_incomplete_one(facts):
    progress = evaluate(CURRICULUM, facts)
    statuses = [s.status for s in progress.stages]
    first_open = next((i for i, s in enumerate(statuses) if s != "done"), len(statuses))
    assert all(s == "done" for s in statuses[:first_open])
    assert all(s != "done" for s in statuses[first_open:])
    if first_open < len(statuses):
        assert statuses[first_open] == "current"
        assert all(s == "locked" for s in statuses[first_open + 1:])
    # a done stage has every milestone met
    for s in progress.stages:
        if s.status == "done":
            assert s.all_met
    assert progress.completed_count == first_open


@given(st.lists(st.dates(date(2017, 1, 1), date(2020, 12, 28)), max_size=30))
def test_longest_consecutive_months_matches_brute_force(days):
    months = {d.replace(day=1) for d in days}
    ordinals = {m.year * 12 + m.month for m in months}
    brute = 0
    for o in ordinals:
        n = 0
        while o + n in ordinals:
            n += 1
        brute = max(brute, n)
    assert longest_consecutive_months(months) == brute


# --- through the services, on the real database ------------------------------------------------

OPS = st.one_of(
    st.tuples(st.just("licence"), st.sampled_from(["NIB", "IUMK"])),
    st.tuples(st.just("marketing"), st.sampled_from(["online_shop", "bazaar"])),
    st.tuples(st.just("report"), st.integers(0, 5)),
    st.tuples(st.just("financing"), st.sampled_from(["submitted", "approved", "disbursed", "rejected"])),
    st.tuples(st.just("verify"), st.integers(0, 20)),
    st.tuples(st.just("return"), st.integers(0, 20)),
    st.tuples(st.just("attend"), st.just(0)),
    st.tuples(st.just("visit"), st.just(0)),
    st.tuples(st.just("phone"), st.booleans()),
)


def _attend(db, factory, enrolment):
    from lms.sessions.models import Attendance, Registration, RegistrationStatus, TrainingSession

    start = datetime(2018, 4, 10, 1, 0, tzinfo=timezone.utc)
    s = TrainingSession(title="Bimtek", stage_key="pelatihan", cohort_id=enrolment.cohort_id,
                        region_id=enrolment.region_id, venue_name=f"Aula {secrets.token_hex(3)}", starts_at=start,
                        ends_at=start + timedelta(hours=8), capacity=50, seats_taken=1, checkin_secret="x" * 32)
    db.session.add(s)
    db.session.flush()
    db.session.add(Registration(session_id=s.id, user_id=enrolment.user_id, status=RegistrationStatus.REGISTERED,
                                attendance=Attendance.PRESENT))
    services.refresh_for_users([enrolment.user_id])


def _visit(db, enrolment, mentor):
    from lms.visits.models import Visit, VisitKind

    db.session.add(Visit(outlet_id=enrolment.outlet_id, mentor_id=mentor.id, region_id=enrolment.region_id,
                         visited_at=enrolment.started_at + timedelta(days=1), kind=VisitKind.FIELD_VISIT,
                         stages=["pendampingan"], client_key=secrets.token_hex(16)))
    services.refresh_for_outlets([enrolment.outlet_id])


def _assert_summary_matches(db, enrolment_id):
    db.session.expire_all()
    e = db.session.get(Enrolment, enrolment_id)
    progress = services.progress_for(e)
    assert e.current_stage == progress.current_stage
    assert e.completed_count == progress.completed_count
    stored = set(db.session.scalars(sa.select(EnrolmentStage.stage_key).where(EnrolmentStage.enrolment_id == e.id)))
    assert stored == {s.stage.key for s in progress.stages if s.status == "done"}
    statuses = [s.status for s in progress.stages]
    assert "done" not in statuses[statuses.index("current") + 1:] if "current" in statuses else True


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=1, max_size=14))
def test_stored_summary_always_equals_recomputation(app, db, factory, ops):
    from lms.db import transaction

    trainee = factory.user("trainee", phone="+6281200000001")
    coordinator = factory.user("coordinator", region="3171")
    mentor = factory.user("mentor", region="3171")
    enrolment = services.enrol_outlet(SYSTEM, factory.cohort(), trainee.managed_outlet)
    outlet = trainee.managed_outlet
    for op, arg in ops:
        if op == "licence":
            services.save_licence(trainee, outlet, services.LicenceInput(arg, "1234567890123" if arg == "NIB" else "510/IUMK/2018",
                                                                        date(2018, 3, 1), "OSS"),
                                  _upload())
        elif op == "marketing":
            services.save_marketing(trainee, outlet, services.MarketingInput(arg, "Jualan lewat toko online", None), None)
        elif op == "report":
            month = date(2018, 1 + arg, 1)
            try:
                services.save_report(trainee, outlet, services.ReportInput(month, 5_000_000, 3_000_000, 500_000))
            except Invalid as e:  # a second report for the same month is refused
                assert "month" in e.reasons
        elif op == "financing":
            services.save_financing(trainee, outlet, services.FinancingInput(
                "bank_dki", "", "KUR", 10_000_000, 10_000_000 if arg in ("approved", "disbursed") else None, arg,
                date(2018, 6, 1), date(2018, 7, 1) if arg in ("approved", "disbursed", "rejected") else None,
                date(2018, 7, 5) if arg == "disbursed" else None), None)
        elif op in ("verify", "return"):
            pending = list(db.session.scalars(sa.select(Evidence).where(Evidence.outlet_id == outlet.id,
                                                                        Evidence.status == EvidenceStatus.SUBMITTED)
                                              .order_by(Evidence.id)))
            if pending:
                ev = pending[arg % len(pending)]
                services.review(coordinator, ev, "verify" if op == "verify" else "return",
                                "" if op == "verify" else "Foto buram, mohon unggah ulang")
        elif op == "attend":
            with transaction():
                _attend(db, factory, enrolment)
        elif op == "visit":
            with transaction():
                _visit(db, enrolment, mentor)
        elif op == "phone":
            with transaction():
                trainee.phone = "+6281200000001" if arg else None
                db.session.flush()
                services.refresh_for_users([trainee.id])
        _assert_summary_matches(db, enrolment.id)
        _assert_preloaded_evidence_gives_the_same_facts(db, enrolment.id)


def _assert_preloaded_evidence_gives_the_same_facts(db, enrolment_id: int) -> None:  # type: ignore[no-untyped-def]
    """A page that shows the evidence passes it in (progress_for(enrolment, evidence)): the facts are
    the ones read from the tables, attributes, months and order included."""
    from lms.programme.progress import gather_facts

    db.session.expire_all()
    enrolment = db.session.get(Enrolment, enrolment_id)
    from_tables = gather_facts([enrolment])[enrolment_id]
    preloaded = gather_facts([enrolment], services.outlet_evidence(enrolment.outlet_id))[enrolment_id]
    assert preloaded == from_tables


def _upload():
    from lms.files import PDF, CheckedUpload
    from tests.factories import tiny_pdf

    return CheckedUpload(tiny_pdf(), PDF, "izin.pdf")
