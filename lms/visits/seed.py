"""Demo caseloads and visits: the 2018 programme's, and today's. Idempotent and deterministic.

Called from ``lms/seed.py`` after the users, outlets, cohort and enrolments exist. The 2018
visits are fixed history; the follow-up visits of today (``seed_recent_visits``) and the
current cohort's (``seed_outlet_visits``) are dated relative to the day the demo is seeded.
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..db import transaction, utcnow
from ..extensions import db
from ..i18n import WIB, to_wib
from ..people.models import Role, User
from ..places.models import Outlet
from ..programme.models import Enrolment, EnrolmentStage, EnrolmentStatus
from ..programme.services import refresh_for_outlets, refresh_progress
from .models import ActionItem, MentorAssignment, Visit, VisitKind
from .status import open_assignment

#: the demo mentors: pendamping.<city><n>@demo.okoce.id
DEMO_MENTOR_EMAILS = "pendamping.%@demo.okoce.id"
#: caseloads start the Monday the programme opened, 08:00 WIB
ASSIGNED_AT = datetime(2018, 4, 2, 8, 0, tzinfo=WIB)
WINDOW = (date(2018, 4, 17), date(2018, 8, 31))
STALE_WINDOW = (date(2018, 4, 17), date(2018, 5, 31))
#: follow-ups of 2018 still open when the programme closed were closed then (16:00 WIB, 20 December 2018)
CLOSED_2018 = datetime(2018, 12, 20, 16, 0, tzinfo=WIB)

OBSERVATIONS = [
    "Stok beras dan minyak goreng cukup untuk penyaluran BPNT minggu ini.",
    "Pencatatan penjualan harian sudah rapi di buku kas.",
    "Rak sembako tertata, label harga terpasang.",
    "Pengelola sudah mulai memisahkan uang usaha dan uang pribadi.",
    "Antrean penerima BPNT tertib; mesin EDC berfungsi baik.",
    "Anggota KUBE aktif bergantian menjaga warung.",
    "Penjualan produk non-BPNT (gas, air galon) mulai naik.",
    "Pengelola sudah mengikuti grup WhatsApp pengelola e-Warong kecamatan.",
]
PROBLEMS = [
    "Masalah: stok telur sering habis sebelum akhir bulan.",
    "Masalah: mesin EDC sempat gangguan dua hari, transaksi dicatat manual.",
    "Masalah: buku kas belum diisi sejak minggu lalu.",
    "Masalah: pemasok terlambat mengirim beras.",
    "Masalah: belum ada papan nama e-Warong di depan warung.",
    "Masalah: dokumen perizinan belum lengkap (KTP anggota KUBE).",
    "Masalah: modal belanja stok terbatas menjelang penyaluran.",
    "",
]
STAFF_NOTES = [
    "Pengelola tampak kewalahan; pertimbangkan pendampingan lebih sering.",
    "Ada keluhan warga soal jam buka; dibicarakan baik-baik dengan ketua KUBE.",
    "Perlu dicek ulang kelengkapan data anggota KUBE di kelurahan.",
    "Pengelola berminat mengajukan KUR; siapkan rujukan ke BNI.",
]
ACTIONS = [
    ("Isi buku kas harian setiap sore", "Pengelola"),
    ("Pasang papan nama e-Warong", "Ketua KUBE"),
    ("Siapkan fotokopi KTP dan KK anggota untuk perizinan", "Pengelola"),
    ("Hubungi pemasok beras cadangan", "Pengelola"),
    ("Kirim laporan keuangan bulanan", "Pengelola"),
    ("Daftarkan produk ke toko online", "Pengelola"),
    ("Antar berkas izin ke PTSP kecamatan", "Pendamping"),
    ("Atur jadwal jaga anggota KUBE", "Ketua KUBE"),
]
STAGES_BY_MONTH = {4: ["pelatihan", "pendampingan"], 5: ["pendampingan", "perizinan"], 6: ["perizinan", "pemasaran"],
                   7: ["pemasaran", "pelaporan_keuangan"], 8: ["pelaporan_keuangan", "permodalan"]}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=WIB).astimezone(timezone.utc)


def _dates(rng: random.Random, n: int, window: tuple[date, date]) -> list[date]:
    span = (window[1] - window[0]).days
    picks = sorted(rng.sample(range(span + 1), n))
    return [window[0] + timedelta(days=d) for d in picks]


def _visit(rng: random.Random, outlet: Outlet, mentor_id: int, key: str, when: datetime, stages: list[str],
           now: datetime, closed: datetime | None = None) -> Visit:
    roll = rng.random()
    kind = VisitKind.FIELD_VISIT if roll < 0.75 else (VisitKind.PHONE_CALL if roll < 0.9 else VisitKind.GROUP_MEETING)
    minutes = {VisitKind.FIELD_VISIT: rng.choice([45, 60, 60, 90, 120]), VisitKind.PHONE_CALL: rng.choice([10, 15, 20, 30]),
               VisitKind.GROUP_MEETING: rng.choice([90, 120, 180])}[kind]
    obs = " ".join(rng.sample(OBSERVATIONS, rng.randint(1, 2)))
    problem = rng.choice(PROBLEMS)
    day = to_wib(when).date()
    v = Visit(outlet_id=outlet.id, mentor_id=mentor_id, region_id=outlet.region_id, visited_at=when,
              duration_minutes=minutes, kind=kind, stages=stages,
              observations=(obs + (" " + problem if problem else "")).strip(),
              staff_notes=rng.choice(STAFF_NOTES) if rng.random() < 0.3 else "",
              next_visit_on=day + timedelta(days=rng.randint(14, 30)), client_key=key)
    logged = min(when + timedelta(hours=rng.randint(1, 6)), now)
    v.created_at = v.updated_at = logged
    if kind is VisitKind.FIELD_VISIT and rng.random() < 0.6:
        v.latitude = round(rng.uniform(-6.35, -6.10), 6)
        v.longitude = round(rng.uniform(106.70, 106.97), 6)
        v.location_accuracy_m = round(rng.uniform(6, 40), 1)
    if rng.random() < 0.45:
        for desc, owner in rng.sample(ACTIONS, rng.randint(1, 2)):
            due = day + timedelta(days=rng.randint(7, 21))
            item = ActionItem(outlet_id=outlet.id, description=desc, owner=owner, due_on=due)
            done_day = due - timedelta(days=rng.randint(0, 5))
            done_at = max(_at(done_day, 16), when)
            if rng.random() < 0.65 and done_at <= now:
                item.done_at = done_at
            elif closed is not None and _at(due, 16) <= closed:
                item.done_at = closed
            v.action_items.append(item)
    return v


def seed_visits(now: datetime | None = None, outlet_codes: Iterable[str] | None = None) -> dict[str, int]:
    """Caseloads for the demo mentors and the 2018 history of visits; running it again adds nothing.

    Each city's outlets (those of ``outlet_codes`` when given) are shared round-robin among that
    city's demo mentors. Most outlets get 2–5 visits between mid-April and August 2018, one in
    ten only in April–May (stale) and one in sixteen none at all (spread over the mentors). Some
    visits agree action items: most were done by their due date, the rest were closed when the
    programme closed in December 2018. Progress is refreshed for the outlets touched. Nothing
    here depends on the day it runs (``seed_recent_visits`` adds today's side). Returns what was
    created.
    """
    now = now or utcnow()
    report = {"assignments": 0, "visits": 0, "action_items": 0}
    with transaction():
        mentors = db.session.scalars(
            sa.select(User).where(User.role == Role.MENTOR, User.active.is_(True),
                                  User.email.like(DEMO_MENTOR_EMAILS), User.region_id.is_not(None))
            .order_by(User.email)).all()
        by_region: dict[int, list[User]] = defaultdict(list)
        for m in mentors:
            by_region[m.region_id].append(m)  # type: ignore[index]
        if not by_region:
            return report
        where = [Outlet.region_id.in_(list(by_region)), Outlet.active.is_(True)]
        if outlet_codes is not None:
            where.append(Outlet.code.in_(list(outlet_codes)))
        outlets = db.session.scalars(sa.select(Outlet).where(*where).order_by(Outlet.code)).all()
        ids = [o.id for o in outlets]
        open_rows = {a.outlet_id: a for a in db.session.scalars(
            sa.select(MentorAssignment).where(MentorAssignment.outlet_id.in_(ids or [0]),
                                              MentorAssignment.ended_at.is_(None)))}
        position: dict[int, int] = defaultdict(int)
        place: dict[int, int] = {}
        for o in outlets:
            i = place[o.id] = position[o.region_id]
            position[o.region_id] += 1
            if o.id in open_rows:
                continue
            mentor = by_region[o.region_id][i % len(by_region[o.region_id])]
            a = MentorAssignment(outlet_id=o.id, mentor_id=mentor.id, started_at=ASSIGNED_AT)
            db.session.add(a)
            open_rows[o.id] = a
            report["assignments"] += 1
        db.session.flush()

        visited = set(db.session.scalars(sa.select(Visit.outlet_id).where(Visit.outlet_id.in_(ids or [0])).distinct()))
        touched: set[int] = set()
        for o in outlets:
            mentor_id = open_rows[o.id].mentor_id
            rng = random.Random(f"visits-{o.code}")
            new: list[Visit] = []
            if o.id not in visited:
                i = place[o.id]
                if i % 16 == 7:
                    days: list[date] = []  # never visited: one in sixteen
                elif i % 10 == 4:
                    days = _dates(rng, rng.randint(1, 2), STALE_WINDOW)  # stale: seen in April–May only
                else:
                    days = _dates(rng, rng.randint(2, 5), WINDOW)
                for j, d in enumerate(days, start=1):
                    when = _at(d, rng.randint(9, 15), rng.choice([0, 15, 30, 45]))
                    stages = rng.sample(STAGES_BY_MONTH[d.month], rng.randint(1, 2))
                    new.append(_visit(rng, o, mentor_id, f"seed-{o.code}-{j}", when, stages, now, CLOSED_2018))
            for v in new:
                db.session.add(v)
                report["visits"] += 1
                report["action_items"] += len(v.action_items)
                touched.add(o.id)
        db.session.flush()
        refresh_for_outlets(touched)
    return report


# --- today's side: dated relative to the day the demo is seeded --------------------------------

def start_of(today: date) -> datetime:
    """00:00 WIB of ``today``: whatever the demo dates before today happened before this instant."""
    return _at(today, 0)


def seed_outlet_visits(outlet: Outlet, mentor_id: int, today: date, days_ago: Sequence[int],
                       stages: Sequence[list[str]], actions: Sequence[tuple[str, str, int]] = ()) -> list[Visit]:
    """Visits to ``outlet`` ``days_ago`` days before ``today`` (any order; each at least 1), keyed
    ``seed-<code>-now-<n>`` oldest first, discussing ``stages[i]``. ``actions`` (description, owner,
    due in days from today) are agreed at the latest visit, open. Added inside the caller's
    transaction; the caller refreshes progress."""
    rng = random.Random(f"now-{outlet.code}")
    now = start_of(today)
    out: list[Visit] = []
    ordered = sorted(zip(days_ago, stages), key=lambda p: -p[0])
    for j, (ago, discussed) in enumerate(ordered, start=1):
        when = _at(today - timedelta(days=max(ago, 1)), rng.randint(9, 15), rng.choice([0, 15, 30, 45]))
        v = _visit(rng, outlet, mentor_id, f"seed-{outlet.code}-now-{j}", when, list(discussed), now)
        if j == len(ordered):
            for desc, owner, due_in in actions:
                v.action_items.append(ActionItem(outlet_id=outlet.id, description=desc, owner=owner,
                                                 due_on=today + timedelta(days=due_in)))
        db.session.add(v)
        out.append(v)
    return out


def seed_recent_visits(today: date, outlet_codes: Iterable[str] | None = None) -> dict[str, int]:
    """The caseloads today: every outlet with an open caseload of a demo mentor (among ``outlet_codes``
    when given) that has no visit of today's side yet gets a follow-up visit in the last weeks —
    one in four 31–58 days ago (so overdue), the rest 1–27 days ago — and every other one an
    earlier visit as well; their action items fall due around today. Keyed ``seed-<code>-now-<n>``:
    once an outlet has them, later runs add nothing, whatever the day. The progress the visits
    complete is dated on the outlet's latest visit. Returns what was created."""
    now = start_of(today)
    report = {"visits": 0, "action_items": 0}
    with transaction():
        q = (sa.select(Outlet, MentorAssignment)
             .join(MentorAssignment, open_assignment())
             .join(User, User.id == MentorAssignment.mentor_id)
             .where(User.email.like(DEMO_MENTOR_EMAILS), Outlet.active.is_(True)))
        if outlet_codes is not None:
            q = q.where(Outlet.code.in_(list(outlet_codes)))
        rows = db.session.execute(q.order_by(Outlet.code)).all()
        have = set(db.session.scalars(sa.select(Visit.outlet_id).where(Visit.client_key.like("seed-%-now-%"))))
        ids = [o.id for o, _a in rows if o.id not in have]
        stage_of = dict(db.session.execute(
            sa.select(Enrolment.outlet_id, Enrolment.current_stage)
            .where(Enrolment.outlet_id.in_(ids or [0]), Enrolment.status == EnrolmentStatus.ACTIVE)).all())
        latest: dict[int, datetime] = {}
        for outlet, assignment in rows:
            if outlet.id in have:
                continue
            rng = random.Random(f"follow-up-{outlet.code}")
            last = rng.randint(31, 58) if rng.random() < 0.25 else rng.randint(1, 27)
            days = [last] + ([last + rng.randint(18, 35)] if rng.random() < 0.5 else [])
            stage = stage_of.get(outlet.id) or "permodalan"
            visits = seed_outlet_visits(outlet, assignment.mentor_id, today, days, [[stage]] * len(days))
            latest[outlet.id] = visits[-1].visited_at
            report["visits"] += len(visits)
            report["action_items"] += sum(len(v.action_items) for v in visits)
        db.session.flush()
        enrolments = list(db.session.scalars(
            sa.select(Enrolment).where(Enrolment.outlet_id.in_(list(latest) or [0]),
                                       Enrolment.status == EnrolmentStatus.ACTIVE)
            .options(joinedload(Enrolment.user), joinedload(Enrolment.outlet), joinedload(Enrolment.cohort))))
        refresh_progress(enrolments, now=now)
        # a step the follow-up completed is dated on that visit, not on the day of seeding
        by_id = {e.id: e for e in enrolments}
        for row in db.session.scalars(sa.select(EnrolmentStage).where(
                EnrolmentStage.enrolment_id.in_(list(by_id) or [0]), EnrolmentStage.completed_at == now)):
            row.completed_at = latest[by_id[row.enrolment_id].outlet_id]
        for e in enrolments:
            when = latest[e.outlet_id]
            if e.progress_changed_at == now:
                e.progress_changed_at = when
            if e.completed_at == now:
                e.completed_at = when
    return report
