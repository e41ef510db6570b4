"""The demo's current cohort: what the demo shows happening today (seeded relative to the day of seeding).

The 2018 programme (its history) is lms/seed.py; ``seed.seed_all`` runs both. Idempotent.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .audit.services import record
from .db import transaction
from .extensions import db
from .people.models import Role, User
from .people.phone import normalize_phone
from .places.models import Kecamatan, Outlet, OutletManagerTerm, Region

if TYPE_CHECKING:
    from .programme.models import Cohort

#: the one password of every demo account (printed by the command, listed in the README)
from .seed import SeedReport, demo_scan, store_demo_scan, demo_password_hash



#: what each manager of the current cohort is doing today, in the order of ``demo_current_outlets()``;
#: the city's three demo mentors take them in turn (pendamping.<city>1 the 1st, 4th, 7th, …)
CURRENT_PLAN: tuple[str, ...] = (
    "licence_returned", "licence_sent", "licence_sent", "new", "reports", "marketing_sent",
    "trained", "next", "waitlist", "mentoring", "financing", "trained",
    "next", "licence_due", "profile", "trained", "marketing_due", "next",
    "absent", "trained", "reports", "licence_sent", "next", "trained",
    "excused", "marketing_sent", "trained", "next", "mentoring", "trained",
    "waitlist", "next", "trained", "reports", "profile", "next",
)
#: attended the cohort's first Bimtek, eleven weeks ago
FIRST_WAVE = {"mentoring", "licence_due", "licence_sent", "licence_returned", "marketing_due", "marketing_sent",
              "reports", "financing"}
#: the step each scenario stands at (what their latest visits discuss)
SCENARIO_STAGE = {"profile": "pendaftaran", "new": "pelatihan", "next": "pelatihan", "waitlist": "pelatihan",
                  "absent": "pelatihan", "excused": "pelatihan", "trained": "pendampingan", "mentoring": "pendampingan",
                  "licence_due": "perizinan", "licence_sent": "perizinan", "licence_returned": "perizinan",
                  "marketing_due": "pemasaran", "marketing_sent": "pemasaran", "reports": "pelaporan_keuangan",
                  "financing": "permodalan"}
#: the cohort started this many days before the day of seeding
CURRENT_STARTED_DAYS_AGO = 91
#: the managers of these scenarios have no e-mail (and no password): they sign in by phone number
NO_EMAIL_SCENARIOS = frozenset({"next"})
RETURN_COMMENT = ("Nomor NIB harus 13 digit, yang diisi baru 12 digit. Pindaiannya juga buram: mohon perbaiki "
                  "nomornya dan unggah ulang pindaian yang terbaca.")


def current_cohort_name(today: date) -> str:
    from .places.reference import REGIONS
    from .seed_data import CURRENT_REGION

    start = today - timedelta(days=CURRENT_STARTED_DAYS_AGO)
    return f"Angkatan {start.year} — {dict(REGIONS)[CURRENT_REGION]}"


def current_logins() -> list[tuple[str, str, str]]:
    """The current cohort's demo trainees worth signing in as (README: the "current" story)."""
    from .people.phone import display_phone
    from .seed_data import demo_current_outlets

    outlets = demo_current_outlets()
    return [("trainee", outlets[CURRENT_PLAN.index("licence_returned")]["manager"]["email"],
             "angkatan sekarang: izin dikembalikan, klinik NIB"),
            ("trainee", outlets[CURRENT_PLAN.index("new")]["manager"]["email"],
             "angkatan sekarang: belum ikut Bimtek"),
            ("trainee", display_phone(normalize_phone(outlets[CURRENT_PLAN.index("next")]["manager"]["phone"])),
             "angkatan sekarang: tanpa e-mail, masuk dengan nomor HP + kode (/login/phone)")]


def find_current_cohort() -> "Cohort | None":
    """The current cohort once seeded (found through its first outlet, whatever the day it was seeded)."""
    from .programme.models import Cohort, Enrolment
    from .seed_data import demo_current_outlets

    code = demo_current_outlets()[0]["code"]
    return db.session.scalar(sa.select(Cohort).join(Enrolment, Enrolment.cohort_id == Cohort.id)
                             .join(Outlet, Outlet.id == Enrolment.outlet_id).where(Outlet.code == code).limit(1))


def seed_current(today: date, report: SeedReport | None = None) -> "Cohort":
    """The current cohort of one city, alive on ``today``: written whole, once.

    Thirty-six newer e-Warong (``demo_current_outlets``) and their managers enrolled 13 weeks ago;
    a first Bimtek 11 weeks ago and a second one last week (attendance taken, certificates of the
    first issued, those of last week left to issue); Bimtek ahead (next week's full with a waitlist,
    another in three weeks) and a licensing clinic in two weeks, open for registration; mentor
    visits over the weeks with overdue and never-visited outlets and action items due around
    today; licences, marketing steps and monthly reports submitted in the last days awaiting
    review, one licence returned with a comment; steps dated by the facts that completed them.
    Each manager follows ``CURRENT_PLAN``. If the cohort exists (seeded on any day), nothing changes.
    """
    from datetime import datetime, time, timezone

    from .certification.seed import seed_certificates
    from .i18n import WIB
    from .programme.models import (Cohort, Enrolment, EnrolmentStage, EvidenceReview, EvidenceStatus,
                                   FinancialReport, Financing, FinancingStatus, Lender, Licence, LicenceType,
                                   MarketingKind, MarketingStep, ReviewDecision, StoredFile)
    from .programme.services import new_enrolment, refresh_progress
    from .seed_data import CURRENT_REGION, demo_current_outlets
    from .sessions.models import Attendance, RegistrationStatus
    from .sessions.seed import seed_current_sessions
    from .visits.models import MentorAssignment
    from .visits.seed import seed_outlet_visits, start_of

    report = report if report is not None else SeedReport()
    report.logins.extend(current_logins())
    specs = demo_current_outlets()
    assert len(specs) == len(CURRENT_PLAN)
    kth = [CURRENT_PLAN[:i].count(scenario) for i, scenario in enumerate(CURRENT_PLAN)]  # the k-th of its scenario

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=WIB).astimezone(timezone.utc)

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    with transaction():
        existing = find_current_cohort()
        if existing is not None:
            return existing
        now = start_of(today)
        region = db.session.scalar(sa.select(Region).where(Region.code == CURRENT_REGION))
        kecs = {k.code: k for k in db.session.scalars(sa.select(Kecamatan).where(Kecamatan.region_id == region.id))}
        staff = {u.email: u for u in db.session.scalars(sa.select(User).where(
            User.role.in_([Role.COORDINATOR, Role.MENTOR]), User.region_id == region.id, User.email.like("%@demo.okoce.id")))}
        coordinator = min((u for u in staff.values() if u.role is Role.COORDINATOR), key=lambda u: u.email)
        mentors = sorted((u for u in staff.values() if u.role is Role.MENTOR), key=lambda u: u.email)
        started = ago(CURRENT_STARTED_DAYS_AGO)
        cohort = Cohort(name=current_cohort_name(today), curriculum_key="okoce-7pas", start_date=started,
                        end_date=started + timedelta(days=273), regions=[region])
        cohort.created_at = cohort.updated_at = at(started - timedelta(days=9), 9)
        db.session.add(cohort)
        db.session.flush()

        # outlets, managers, enrolments and caseloads
        people: list[tuple[str, Outlet, User, Enrolment, User]] = []
        for i, (spec, scenario) in enumerate(zip(specs, CURRENT_PLAN)):
            joined = ago(20) if scenario == "profile" else started  # the two late joiners
            registered_at = at(joined - timedelta(days=7), 10)
            kec = kecs[spec["kecamatan_code"]]
            outlet = Outlet(code=spec["code"], name=spec["name"], kube_name=spec["kube_name"], address=spec["address"],
                            kelurahan=spec["kelurahan"], kecamatan_id=kec.id, region_id=region.id,
                            phone=None if scenario == "profile" else normalize_phone(spec["phone"]), active=True,
                            created_at=registered_at, updated_at=registered_at)
            m = spec["manager"]
            # managers without an e-mail they read: they sign in with their phone number and a code
            no_email = scenario in NO_EMAIL_SCENARIOS
            manager = User(email=None if no_email else m["email"], full_name=m["full_name"], role=Role.TRAINEE,
                           phone=normalize_phone(m["phone"]), region_id=region.id,
                           password_hash=None if no_email else demo_password_hash(), created_at=registered_at,
                           updated_at=registered_at)
            db.session.add_all([outlet, manager])
            db.session.flush()
            outlet.manager_id = manager.id
            db.session.add(OutletManagerTerm(outlet_id=outlet.id, user_id=manager.id, started_at=registered_at))
            enrolment = new_enrolment(cohort, outlet, manager, now=at(joined, 8))
            mentor = mentors[i % len(mentors)]
            db.session.add(MentorAssignment(outlet_id=outlet.id, mentor_id=mentor.id, started_at=at(joined, 9),
                                            assigned_by_id=coordinator.id))
            people.append((scenario, outlet, manager, enrolment, mentor))
        db.session.flush()
        report.add("outlet", len(people))
        report.add("trainee", len(people))

        # sessions: who sat where, how it went
        places: dict[str, list] = {}
        for i, (scenario, _o, user, _e, _m) in enumerate(people):
            k = kth[i]
            if scenario in FIRST_WAVE:
                places.setdefault("gelombang1", []).append((user, Attendance.LATE if i in (10, 25) else Attendance.PRESENT))
            if scenario == "trained":
                if k == 0:
                    places.setdefault("gelombang1", []).append((user, Attendance.ABSENT))
                places.setdefault("gelombang2", []).append((user, Attendance.LATE if k == 5 else Attendance.PRESENT))
            if scenario in ("absent", "excused"):
                places.setdefault("gelombang2", []).append(
                    (user, Attendance.ABSENT if scenario == "absent" else Attendance.EXCUSED))
            if scenario in ("next", "absent"):
                places.setdefault("gelombang3", []).append((user, RegistrationStatus.REGISTERED))
            if scenario == "licence_due" or (scenario == "licence_sent" and k == 2):
                places.setdefault("klinik-nib", []).append((user, RegistrationStatus.REGISTERED))
            if scenario == "excused":
                places.setdefault("gelombang4", []).append((user, RegistrationStatus.REGISTERED))
        for scenario, _o, user, _e, _m in people:  # next week's Bimtek filled up first
            if scenario == "waitlist":
                places["gelombang3"].append((user, RegistrationStatus.WAITLISTED))
        sessions = seed_current_sessions(cohort, today, places, organiser=coordinator)
        report.add("session", len(sessions))
        trained_at = {u.id: sessions[key].ends_at for key in ("gelombang1", "gelombang2") for u, p in places[key]
                      if p in (Attendance.PRESENT, Attendance.LATE)}

        # visits
        plan_visits = {"new": [12], "waitlist": [15], "absent": [35], "excused": [40],
                       "licence_due": [70, 45, 21, 3], "licence_returned": [72, 50, 26, 3],
                       "marketing_due": [74, 52, 30, 8], "financing": [80, 60, 35, 12]}
        stage_dates: dict[int, dict[str, datetime]] = {}
        n_visits = n_items = 0
        for i, (scenario, outlet, user, enrolment, mentor) in enumerate(people):
            k = kth[i]
            days = plan_visits.get(scenario)
            if days is None:
                days = {"profile": [], "next": [] if k % 3 == 0 else [8 + k],
                        "trained": [[], [9], [25, 4], [44]][k % 4], "mentoring": [[50, 20], [62, 38]][k % 2],
                        "licence_sent": [68, 44, 18, 2 + k], "marketing_sent": [73, 49, 28, 6 + k],
                        "reports": [76, 55, 33, 10 + k]}[scenario]
            stage = SCENARIO_STAGE[scenario]
            actions: list[tuple[str, str, int]] = []
            if scenario == "licence_returned":
                actions = [("Perbaiki nomor NIB dan unggah ulang pindaian yang terbaca", "Pengelola", 2),
                           ("Daftar Klinik Perizinan NIB di jadwal Bimtek", "Pengelola", 5)]
            elif scenario == "new":
                actions = [("Daftar Bimtek gelombang berikutnya", "Pengelola", 4)]
            days = sorted(days, reverse=True)
            visits = seed_outlet_visits(outlet, mentor.id, today, days,
                                        [["pendampingan"] if d > 40 else [stage] for d in days], actions)
            n_visits += len(visits)
            n_items += sum(len(v.action_items) for v in visits)
            dates = stage_dates[enrolment.id] = {"pendaftaran": enrolment.started_at}
            if user.id in trained_at:
                dates["pelatihan"] = trained_at[user.id]
            if len(visits) >= 3:
                dates["pendampingan"] = visits[2].visited_at
        report.add("visits", n_visits)
        report.add("action_items", n_items)

        # evidence: licences, marketing steps, monthly reports, financing
        scan = demo_scan()
        month = date(today.year, today.month, 1)
        months = []
        for _n in range(3):
            month = (month - timedelta(days=1)).replace(day=1)
            months.insert(0, month)
        n_evidence = 0

        def evidence(ev, outlet: Outlet, manager: User, submitted: datetime, status: EvidenceStatus,
                     reviewer: User | None = None, reviewed: datetime | None = None, comment: str | None = None) -> None:
            nonlocal n_evidence
            ev.outlet_id, ev.region_id = outlet.id, outlet.region_id
            ev.status = status
            ev.submitted_by_id, ev.submitted_at = manager.id, submitted
            ev.created_at = submitted - timedelta(minutes=20)
            ev.updated_at = reviewed or submitted
            ev.reviews.append(EvidenceReview(decision=ReviewDecision.SUBMITTED, by_id=manager.id, at=submitted))
            if reviewer is not None and reviewed is not None:
                ev.reviewed_by_id, ev.reviewed_at, ev.review_comment = reviewer.id, reviewed, comment
                ev.reviews.append(EvidenceReview(decision=ReviewDecision(status.value), by_id=reviewer.id, at=reviewed,
                                                 comment=comment))
            db.session.add(ev)
            n_evidence += 1

        def licence(outlet: Outlet, number: str, issued: date) -> Licence:
            store_demo_scan(f"{outlet.code}-nib.pdf", scan[1])
            return Licence(stage_key="perizinan", licence_type=LicenceType.NIB, number=number, issued_on=issued,
                           issuing_office="OSS",
                           file=StoredFile(path=f"demo/{outlet.code}-nib.pdf", sha256=scan[0], size=len(scan[1]),
                                           content_type="application/pdf", original_name="nib.pdf",
                                           uploaded_by_id=outlet.manager_id))

        def report_of(outlet: Outlet, month: date, seq: int) -> FinancialReport:
            base = 9_000_000 + (int(outlet.code[-3:]) * 731_000) % 20_000_000
            turnover = base + seq * 650_000
            return FinancialReport(stage_key="pelaporan_keuangan", report_outlet_id=outlet.id, month=month,
                                   turnover=turnover, cost_of_goods=turnover * 79 // 100 // 1000 * 1000,
                                   operating_expenses=850_000 + seq * 50_000,
                                   notes="Penjualan naik saat penyaluran BPNT." if seq == 2 else "")

        def submitted_for(m: date, k: int) -> datetime:
            nxt = (m + timedelta(days=32)).replace(day=1)
            return at(min(nxt + timedelta(days=3 + k), ago(2)), 19, 30)

        for i, (scenario, outlet, user, enrolment, mentor) in enumerate(people):
            k = kth[i]
            dates = stage_dates[enrolment.id]
            code_n = int(outlet.code[-3:])
            nib = f"912{code_n:03d}{(code_n * 7919) % 10**7:07d}"
            if scenario == "licence_returned":
                evidence(licence(outlet, nib[:12], ago(12)), outlet, user, at(ago(6), 20, 15), EvidenceStatus.RETURNED,
                         coordinator, at(ago(4), 10, 5), RETURN_COMMENT)
            elif scenario == "licence_sent":
                evidence(licence(outlet, nib, ago(9 + k)), outlet, user, at(ago(1 + k), 19 + k, 10), EvidenceStatus.SUBMITTED)
            elif scenario in ("marketing_due", "marketing_sent", "reports", "financing"):
                reviewer = mentor if k % 2 == 0 else coordinator
                reviewed = at(ago(36 - k), 11)
                evidence(licence(outlet, nib, ago(45 + k)), outlet, user, at(ago(39 - k), 20), EvidenceStatus.VERIFIED,
                         reviewer, reviewed)
                dates["perizinan"] = reviewed
            if scenario == "marketing_sent":
                step = MarketingStep(stage_key="pemasaran", kind=MarketingKind.ONLINE_SHOP if k == 0 else MarketingKind.MARKETING_PLAN,
                                     description="Membuka toko online untuk paket sembako dan produk UMKM warga." if k == 0 else
                                     "Rencana pemasaran: paket sembako hemat untuk warga RW sekitar, promosi lewat grup WhatsApp RT.",
                                     link=f"https://toko.example/ewarong-{outlet.code.lower()}" if k == 0 else None)
                evidence(step, outlet, user, at(ago(1 + k), 21), EvidenceStatus.SUBMITTED)
            elif scenario in ("reports", "financing"):
                reviewed = at(ago(21), 14)
                step = MarketingStep(stage_key="pemasaran", kind=MarketingKind.BAZAAR,
                                     description="Ikut bazar kelurahan dengan produk olahan anggota KUBE.")
                evidence(step, outlet, user, at(ago(24), 20), EvidenceStatus.VERIFIED, coordinator, reviewed)
                dates["pemasaran"] = reviewed
                verified = months if scenario == "financing" else (months[:2] if k < 2 else months[1:2])
                for seq, m in enumerate(months):
                    if scenario == "reports" and k == 2 and seq == 0:
                        continue
                    sub = submitted_for(m, k)
                    if m in verified:
                        done = min(sub + timedelta(days=2), at(ago(1), 9))
                        evidence(report_of(outlet, m, seq), outlet, user, sub, EvidenceStatus.VERIFIED,
                                 mentor if seq % 2 else coordinator, done)
                        if seq == 2:
                            dates["pelaporan_keuangan"] = done
                    else:
                        evidence(report_of(outlet, m, seq), outlet, user, sub, EvidenceStatus.SUBMITTED)
                if scenario == "financing":
                    fin = Financing(stage_key="permodalan", outlet_id=outlet.id, region_id=outlet.region_id,
                                    lender=Lender.BANK_DKI, product="Kredit Monas Pemula", amount_requested=10_000_000,
                                    application_status=FinancingStatus.SUBMITTED, applied_on=ago(10),
                                    status=EvidenceStatus.DRAFT)
                    fin.created_at = fin.updated_at = at(ago(10), 16)
                    db.session.add(fin)
                    n_evidence += 1
        report.add("evidence", n_evidence)
        db.session.flush()

        # progress, each step dated by the fact that completed it
        enrolments = [e for _s, _o, _u, e, _m in people]
        refresh_progress(enrolments, now=now)
        order = ["pendaftaran", "pelatihan", "pendampingan", "perizinan", "pemasaran", "pelaporan_keuangan", "permodalan"]
        rows = db.session.scalars(sa.select(EnrolmentStage).where(EnrolmentStage.enrolment_id.in_([e.id for e in enrolments])))
        by_enrolment: dict[int, list[EnrolmentStage]] = {}
        for row in rows:
            by_enrolment.setdefault(row.enrolment_id, []).append(row)
        for e in enrolments:
            done = sorted(by_enrolment.get(e.id, []), key=lambda r: order.index(r.stage_key))
            last = e.started_at
            for row in done:
                last = max(last, stage_dates[e.id].get(row.stage_key, last))
                row.completed_at = last
            e.progress_changed_at = last

        n = seed_certificates(session_ids=[sessions["gelombang1"].id], now=now)
        if n:
            report.add("certificate", n)
        record("demo.seeded", actor=None, cohort=cohort.name, today=today.isoformat(),
               created={"outlet": len(people), "trainee": len(people), "session": len(sessions), "visits": n_visits,
                        "evidence": n_evidence, "certificate": n})
    return cohort
