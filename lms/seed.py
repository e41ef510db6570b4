"""The demo programme: DKI Jakarta's 2018 e-Warong 7 PAS run. Idempotent."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .audit.services import record
from .db import transaction, utcnow
from .extensions import db
from .people.models import Role, User
from .people.passwords import hash_password
from .people.phone import normalize_phone
from .places.models import Kecamatan, Outlet, OutletManagerTerm, Region
from .seed_data import DEMO_ADMIN, demo_coordinators, demo_mentors, demo_outlets

if TYPE_CHECKING:
    from .programme.models import Cohort

#: the one password of every demo account (printed by the command, listed in the README)
DEMO_PASSWORD = "Ewarong-7PAS-2018"


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, kind: str, n: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + n


_HASHES: dict[str, str] = {}


#: the authenticator key of every demo coordinator and admin (README); with LMS_DEMO_SHOW_CODES the
#: code step also shows the current code
DEMO_TOTP_SECRET = "DEMOSEVENPASOKOCEJAKARTAEWARONGX"


def demo_password_hash() -> str:
    """One hash for all demo accounts (hashing 300 passwords one by one takes a minute), made when first needed."""
    from flask import current_app

    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _HASHES:
        _HASHES[method] = hash_password(DEMO_PASSWORD)
    return _HASHES[method]


def is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def seed_demo() -> SeedReport:
    """Create what is missing of the demo data; running it again changes nothing."""
    report = SeedReport()
    with transaction():
        regions = {r.code: r for r in db.session.scalars(sa.select(Region))}
        kecs = {k.code: k for k in db.session.scalars(sa.select(Kecamatan))}
        if len(regions) != 6 or len(kecs) != 44:
            raise RuntimeError("reference data missing: run the migrations first (flask --app lms db upgrade)")
        existing = set(db.session.scalars(sa.select(User.email)))
        outlets_by_code = {o.code: o for o in db.session.scalars(sa.select(Outlet))}

        def user(email: str, full_name: str, role: Role, phone: str | None, region: Region | None) -> User | None:
            if email in existing:
                return None
            u = User(email=email, full_name=full_name, role=role, phone=normalize_phone(phone),
                     region_id=region.id if region else None, password_hash=demo_password_hash())
            db.session.add(u)
            existing.add(email)
            report.add(role.value)
            if role in (Role.ADMIN, Role.COORDINATOR):
                # two-factor sign-in is mandatory for them: enrolled with the one documented demo key
                from .people.security_models import TotpFactor
                from .people.twofactor import seal

                db.session.flush()
                db.session.add(TotpFactor(user_id=u.id, secret_sealed=seal(DEMO_TOTP_SECRET), confirmed_at=utcnow()))
            return u

        user(DEMO_ADMIN["email"], DEMO_ADMIN["full_name"], Role.ADMIN, DEMO_ADMIN.get("phone"), None)
        report.logins.append(("admin", DEMO_ADMIN["email"], "seluruh DKI"))
        for c in demo_coordinators():
            region = regions[c["region_code"]]
            user(c["email"], c["full_name"], Role.COORDINATOR, c.get("phone"), region)
            report.logins.append(("coordinator", c["email"], region.name))
        first_mentor: dict[str, str] = {}
        for m in demo_mentors():
            region = regions[m["region_code"]]
            user(m["email"], m["full_name"], Role.MENTOR, m.get("phone"), region)
            first_mentor.setdefault(m["region_code"], m["email"])
        for code, email in first_mentor.items():
            report.logins.append(("mentor", email, regions[code].name))

        first_trainee = None
        for o in demo_outlets():
            outlet = outlets_by_code.get(o["code"])
            kec = kecs[o["kecamatan_code"]]
            if outlet is None:
                outlet = Outlet(code=o["code"], name=o["name"], kube_name=o["kube_name"], address=o["address"],
                                kelurahan=o["kelurahan"], kecamatan_id=kec.id, region_id=kec.region_id,
                                phone=normalize_phone(o["phone"]), active=True)
                db.session.add(outlet)
                report.add("outlet")
            m = o["manager"]
            manager = user(m["email"], m["full_name"], Role.TRAINEE, m.get("phone"), regions[o["region_code"]])
            if manager is not None and outlet.manager_id is None:
                db.session.flush()
                outlet.manager_id = manager.id
                db.session.add(OutletManagerTerm(outlet_id=outlet.id, user_id=manager.id))
            if first_trainee is None:
                first_trainee = (m["email"], regions[o["region_code"]].name)
        if first_trainee:
            report.logins.append(("trainee", first_trainee[0], first_trainee[1]))
        if report.created:
            record("demo.seeded", actor=None, created=report.created)
    return report


# --- the 7 PAS journey of the 2018 programme ------------------------------------------------

DEMO_COHORT = "e-Warong DKI Jakarta 2018"
#: the last working day of the 2018 programme: its review queue and open follow-ups were closed by then
PROGRAMME_2018_CLOSED = date(2018, 12, 20)


def seed_cohort() -> "Cohort":
    """The 2018 cohort over the five cities, with every demo manager enrolled (idempotent)."""
    from datetime import date, datetime, timezone

    from .programme.models import Cohort, Enrolment, EnrolmentStatus
    from .programme.services import curriculum_for, new_enrolment

    with transaction():
        cohort = db.session.scalar(sa.select(Cohort).where(Cohort.name == DEMO_COHORT))
        if cohort is None:
            regions = list(db.session.scalars(sa.select(Region).where(Region.code != "3101").order_by(Region.code)))
            cohort = Cohort(name=DEMO_COHORT, curriculum_key="okoce-7pas", start_date=date(2018, 4, 2),
                            end_date=date(2018, 12, 21), regions=regions)
            db.session.add(cohort)
            db.session.flush()
        enrolled = set(db.session.scalars(sa.select(Enrolment.outlet_id).where(
            Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE)))
        start = datetime(2018, 4, 2, 1, 0, tzinfo=timezone.utc)  # 08:00 WIB
        demo_codes = [o["code"] for o in demo_outlets()]
        outlets = db.session.scalars(sa.select(Outlet).where(Outlet.code.in_(demo_codes), Outlet.manager_id.is_not(None))
                                     .options(sa.orm.joinedload(Outlet.manager)))
        for outlet in outlets:
            if outlet.id not in enrolled:
                new_enrolment(cohort, outlet, outlet.manager, now=start)  # type: ignore[arg-type]
        curriculum_for(cohort)  # fails loudly if the curriculum is missing
    return cohort


def seed_evidence(cohort: "Cohort") -> int:
    """Licences, marketing steps, monthly reports and financing for a believable spread of progress.

    Deterministic (seeded per outlet code); outlets that already have evidence are left alone.
    Returns the number of evidence records created.
    """
    import random
    from datetime import date, datetime, timedelta, timezone

    from .programme.models import (Enrolment, EnrolmentStatus, Evidence, EvidenceReview, EvidenceStatus,
                                   FinancialReport, Financing, FinancingStatus, Lender, Licence, LicenceType,
                                   MarketingKind, MarketingStep, ReviewDecision, StoredFile)

    created = 0
    with transaction():
        rows = db.session.execute(
            sa.select(Enrolment, Outlet).join(Outlet, Outlet.id == Enrolment.outlet_id)
            .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE)
            .order_by(Outlet.code)).all()
        has_evidence = set(db.session.scalars(sa.select(Evidence.outlet_id).distinct()))
        coordinators = {u.region_id: u for u in db.session.scalars(sa.select(User).where(User.role == Role.COORDINATOR))}
        scan = demo_scan()

        def at(d: date, hour: int = 3) -> datetime:
            return datetime(d.year, d.month, d.day, hour, 0, tzinfo=timezone.utc)

        def decided(ev: Evidence, outlet: Outlet, status: EvidenceStatus, when: date, submitted: date,
                    comment: str | None = None) -> None:
            if status is EvidenceStatus.SUBMITTED:
                # the programme closed with an empty queue: what was still waiting got verified by then
                status = EvidenceStatus.VERIFIED
                when = min(submitted + timedelta(days=12 + int(outlet.code[-3:]) % 17), PROGRAMME_2018_CLOSED)
            ev.status = status
            ev.submitted_by_id = outlet.manager_id
            ev.submitted_at = at(submitted)
            ev.created_at = ev.updated_at = at(submitted)
            ev.reviews.append(EvidenceReview(decision=ReviewDecision.SUBMITTED, by_id=outlet.manager_id, at=at(submitted)))
            if status in (EvidenceStatus.VERIFIED, EvidenceStatus.RETURNED):
                reviewer = coordinators.get(outlet.region_id)
                ev.reviewed_by_id = reviewer.id if reviewer else None
                ev.reviewed_at = at(when, 7)
                ev.review_comment = comment
                ev.reviews.append(EvidenceReview(decision=ReviewDecision(status.value), by_id=ev.reviewed_by_id,
                                                 at=at(when, 7), comment=comment))

        for enrolment, outlet in rows:
            if outlet.id in has_evidence:
                continue
            rng = random.Random(f"evidence-{outlet.code}")
            roll = rng.random()
            base = dict(outlet_id=outlet.id, region_id=outlet.region_id)
            # perizinan: most outlets record a licence
            if roll < 0.82:
                issued = date(2018, rng.randint(1, 5), rng.randint(1, 28))
                nib = roll < 0.5
                lic = Licence(stage_key="perizinan", licence_type=LicenceType.NIB if nib else LicenceType.IUMK,
                              number=f"9120{rng.randint(10**8, 10**9 - 1)}" if nib else f"510/{rng.randint(100, 999)}/IUMK/2018",
                              issued_on=issued, issuing_office="OSS" if nib else f"PTSP Kecamatan {outlet.kecamatan.name}",
                              file=StoredFile(path=f"demo/{outlet.code}-izin.pdf", sha256=scan[0], size=len(scan[1]),
                                              content_type="application/pdf", original_name="izin.pdf"), **base)
                store_demo_scan(f"{outlet.code}-izin.pdf", scan[1])
                sub = date(2018, 5, rng.randint(2, 28))
                if roll < 0.70:
                    decided(lic, outlet, EvidenceStatus.VERIFIED, sub + timedelta(days=rng.randint(1, 9)), sub)
                elif roll < 0.76:
                    decided(lic, outlet, EvidenceStatus.SUBMITTED, sub, sub)
                else:
                    decided(lic, outlet, EvidenceStatus.RETURNED, sub + timedelta(days=3), sub,
                            "Pindaian izin kurang jelas; mohon unggah ulang yang terbaca.")
                db.session.add(lic)
                created += 1
            # pemasaran
            if roll < 0.55:
                kind = rng.choice(list(MarketingKind))
                mk = MarketingStep(stage_key="pemasaran", kind=kind, **base,
                                   description={"marketing_plan": "Rencana pemasaran: promosi paket sembako hemat ke warga RW sekitar lewat grup WhatsApp.",
                                                "online_shop": "Membuka toko online di marketplace untuk sembako dan produk UMKM warga.",
                                                "bazaar": "Ikut bazar Ramadan kelurahan dengan produk olahan anggota KUBE.",
                                                "okoce_mart": "Produk kue kering anggota KUBE masuk rak OK OCE Mart."}[kind.value],
                                   link="https://toko.example/ewarong-" + outlet.code.lower() if kind is MarketingKind.ONLINE_SHOP else None)
                sub = date(2018, 7, rng.randint(1, 25))
                decided(mk, outlet, EvidenceStatus.VERIFIED if roll < 0.47 else EvidenceStatus.SUBMITTED,
                        sub + timedelta(days=rng.randint(1, 6)), sub)
                db.session.add(mk)
                created += 1
            # pelaporan keuangan: monthly reports from May, more months the further along
            months = 0 if roll >= 0.6 else (5 if roll < 0.3 else rng.randint(1, 4))
            for i in range(months):
                month = date(2018, 5 + i, 1)
                turnover = rng.randrange(8_000_000, 40_000_000, 50_000)
                cogs = int(turnover * rng.uniform(0.72, 0.86)) // 1000 * 1000
                opex = rng.randrange(400_000, 2_500_000, 50_000)
                rep = FinancialReport(stage_key="pelaporan_keuangan", report_outlet_id=outlet.id, month=month,
                                      turnover=turnover, cost_of_goods=cogs, operating_expenses=opex,
                                      notes="" if rng.random() < 0.7 else "Penjualan naik saat penyaluran BPNT.", **base)
                sub = date(month.year, month.month + 1, rng.randint(1, 10)) if month.month < 12 else date(2019, 1, 5)
                verified = roll < 0.45 or i < months - 1
                decided(rep, outlet, EvidenceStatus.VERIFIED if verified else EvidenceStatus.SUBMITTED,
                        sub + timedelta(days=rng.randint(1, 5)), sub)
                db.session.add(rep)
                created += 1
            # permodalan
            if roll < 0.22:
                approved = roll < 0.16
                lender = rng.choice([Lender.BANK_DKI, Lender.BNI])
                amount = rng.choice([5_000_000, 10_000_000, 15_000_000, 25_000_000])
                fin = Financing(stage_key="permodalan", lender=lender, **base,
                                product="Kredit Monas Pemula" if lender is Lender.BANK_DKI else "KUR Mikro",
                                amount_requested=amount, amount_approved=amount if approved else None,
                                application_status=FinancingStatus.DISBURSED if approved and roll < 0.1
                                else (FinancingStatus.APPROVED if approved else FinancingStatus.SUBMITTED),
                                applied_on=date(2018, 9, rng.randint(1, 20)),
                                decided_on=date(2018, 10, rng.randint(1, 25)) if approved else None,
                                disbursed_on=date(2018, 11, rng.randint(1, 20)) if approved and roll < 0.1 else None)
                if approved:
                    decided(fin, outlet, EvidenceStatus.VERIFIED if roll < 0.13 else EvidenceStatus.SUBMITTED,
                            date(2018, 11, rng.randint(21, 30)), date(2018, 11, rng.randint(1, 20)))
                else:
                    fin.status = EvidenceStatus.DRAFT
                    fin.created_at = fin.updated_at = at(date(2018, 9, 21))
                db.session.add(fin)
                created += 1
    return created


def demo_scan() -> tuple[str, bytes]:
    """A blank one-page PDF standing in for the demo licence scans."""
    import hashlib

    data = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    return hashlib.sha256(data).hexdigest(), data


def store_demo_scan(name: str, data: bytes) -> None:
    """A demo scan as the StoredFile ``demo/<name>`` of the area ``uploads`` (lms/storage.py)."""
    from .files import AREA
    from .storage import storage

    storage().put(AREA, f"demo/{name}", data)


def seed_history(cohort: "Cohort") -> None:
    """Recompute the summaries and date each completed stage from its evidence (demo history)."""
    from datetime import datetime, timedelta, timezone

    from .programme.models import Enrolment, EnrolmentStage, EnrolmentStatus
    from .programme.services import refresh_progress

    with transaction():
        enrolments = list(db.session.scalars(
            sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE)
            .options(sa.orm.joinedload(Enrolment.user), sa.orm.joinedload(Enrolment.outlet),
                     sa.orm.joinedload(Enrolment.cohort))))
        refresh_progress(enrolments)
        # the programme's own calendar in 2018: when each step was typically completed
        typical = {"pendaftaran": (4, 2), "pelatihan": (4, 16), "pendampingan": (6, 15), "perizinan": (7, 2),
                   "pemasaran": (8, 6), "pelaporan_keuangan": (10, 12), "permodalan": (11, 28)}
        for e in enrolments:
            last = None
            for row in db.session.scalars(sa.select(EnrolmentStage).where(EnrolmentStage.enrolment_id == e.id)):
                m, d = typical.get(row.stage_key, (12, 1))
                when = datetime(2018, m, d, 3, tzinfo=timezone.utc) + timedelta(days=int(e.outlet.code[-3:]) % 9)
                row.completed_at = when
                last = max(last, when) if last else when
            e.progress_changed_at = last or e.started_at
            if e.completed_at is not None and last is not None:
                e.completed_at = last


def wib_today() -> date:
    from .db import utcnow
    from .i18n import to_wib

    return to_wib(utcnow()).date()


def seed_all(today: date | None = None) -> SeedReport:
    """Everything the demo needs, in order; each part is idempotent.

    The 2018 programme is fixed history. ``today`` (default: today in WIB) dates the rest: the
    mentors' follow-up visits of the 2018 outlets and the current cohort (``seed_current``).
    Once written, a later run changes nothing, whatever its day.
    """
    today = today or wib_today()
    report = seed_demo()
    cohort = seed_cohort()
    from .sessions.seed import seed_sessions

    n = seed_sessions(cohort)
    if n:
        report.add("session", n)
    n = seed_evidence(cohort)
    if n:
        report.add("evidence", n)
    from .visits.seed import seed_recent_visits, seed_visits

    codes_2018 = [o["code"] for o in demo_outlets()]
    for kind, count in seed_visits(outlet_codes=codes_2018).items():
        if count:
            report.add(kind, count)
    if report.created:  # the 2018 part was (re)written: date its steps (never again: later steps are today's)
        seed_history(cohort)
    from .certification.branding import seed_branding
    from .certification.seed import seed_certificates

    n = seed_branding()  # placeholder logos and signatures (certificates/_placeholders), before any certificate
    if n:
        report.add("certificate_branding", n)
    n = seed_certificates()
    if n:
        report.add("certificate", n)
    from .feedback.seed import seed_feedback

    for kind, count in seed_feedback(2018).items():  # feedback and pre/post tests of the 2018 Bimtek
        if count:
            report.add(kind, count)
    for kind, count in seed_recent_visits(today, outlet_codes=codes_2018).items():
        if count:
            report.add(kind, count)
    from .seed_today import seed_current

    seed_current(today, report)  # and what the demo shows happening today
    return report
