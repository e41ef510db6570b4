"""Demo caseloads and visits for the 2018 programme. Idempotent and deterministic.

Called from ``lms/seed.py`` after the users, outlets, cohort and enrolments exist.
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from ..db import transaction, utcnow
from ..extensions import db
from ..i18n import WIB, to_wib
from ..people.models import Role, User
from ..places.models import Outlet
from ..programme.services import refresh_for_outlets
from .models import ActionItem, MentorAssignment, Visit, VisitKind

#: the demo mentors: pendamping.<city><n>@demo.okoce.id
DEMO_MENTOR_EMAILS = "pendamping.%@demo.okoce.id"
#: caseloads start the Monday the programme opened, 08:00 WIB
ASSIGNED_AT = datetime(2018, 4, 2, 8, 0, tzinfo=WIB)
WINDOW = (date(2018, 4, 17), date(2018, 8, 31))
STALE_WINDOW = (date(2018, 4, 17), date(2018, 5, 31))

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
           now: datetime) -> Visit:
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
            v.action_items.append(item)
    return v


def seed_visits(now: datetime | None = None) -> dict[str, int]:
    """Caseloads for the demo mentors and a believable history of visits; running it again adds nothing.

    Each city's outlets are shared round-robin among that city's demo mentors. Most outlets
    get 2–5 visits between mid-April and August 2018, one in ten only in April–May (stale)
    and one in sixteen none at all (spread over the mentors); about four in ten also get one
    recent visit (relative to ``now``) so that today's caseloads are not all overdue. Some
    visits agree action items, most done, some left open past their due date. Progress is
    refreshed for the outlets touched. Returns what was created.
    """
    now = now or utcnow()
    today = to_wib(now).date()
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
        outlets = db.session.scalars(sa.select(Outlet).where(Outlet.region_id.in_(list(by_region)),
                                                            Outlet.active.is_(True)).order_by(Outlet.code)).all()
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
        keys = set(db.session.scalars(sa.select(Visit.client_key).where(Visit.client_key.like("seed-%"))))
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
                    new.append(_visit(rng, o, mentor_id, f"seed-{o.code}-{j}", when, stages, now))
                recent_rng = random.Random(f"recent-{o.code}")
                key = f"seed-{o.code}-recent"
                if days and recent_rng.random() < 0.4 and key not in keys:
                    d = today - timedelta(days=recent_rng.randint(1, 25))
                    new.append(_visit(recent_rng, o, mentor_id, key, _at(d, 10, 30),
                                      ["pelaporan_keuangan", "permodalan"][:recent_rng.randint(1, 2)], now))
            for v in new:
                db.session.add(v)
                report["visits"] += 1
                report["action_items"] += len(v.action_items)
                touched.add(o.id)
        db.session.flush()
        refresh_for_outlets(touched)
    return report
