"""National-scale synthetic data for the benchmarks: ``flask --app lms bench-data``.

``generate(managers=100_000, visits=1_000_000)`` fills a migrated database with a believable
programme run at national scale: an admin, a coordinator per region and one for all of DKI,
mentors (one per ~60 outlets), outlets with their managers spread over the 44 kecamatan,
two cohorts with a realistic spread of progress over the seven steps, Bimtek sessions with
registrations and attendance, mentor visits with action items, completion certificates and
a modest audit log. Afterwards the dashboard's maintained summaries are rebuilt and the
planner statistics refreshed (``ANALYZE``).

It is written for speed, not through the services: rows are built as plain dicts and written
with Core ``insert()`` executemany in batches of 10,000, ids are assigned here (so no
``RETURNING`` round trips), one password hash is shared by every account, and on SQLite the
connection runs with ``synchronous=OFF`` and a large page cache while generating. Every
constraint, unique index, CHECK and partial unique index of the schema holds, and every
foreign key points at a row that exists.

The same ``seed`` gives the same data (``random.Random(seed)``), except for the secrets a
real issue would draw from :mod:`secrets` (session tokens, certificate verification codes,
check-in secrets): they are random on every run, so a published bench database does not
hand out predictable credentials. ``now`` is the end of the generated history (default: the
current time).
"""
from __future__ import annotations

import contextlib
import math
import random
import secrets
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from flask import current_app

from .db import transaction, utcnow
from .extensions import db
from .benchdata_shape import (ACTION_SHARE, ASSIGNED_SHARE, ATTENDED, CERTIFIED_SHARE, COMPLETED_WEIGHTS, DONE_SHARE,
                              FIRST_COHORT_SHARE, KUBE_NAMES, MANAGERS_PER_SESSION, MOBILE, NOT_ATTENDED,
                              OUTLETS_PER_MENTOR, REGION_WEIGHT, REVOCATION_REASON, REVOKED_SHARE, SPEAKERS, STREETS,
                              STUCK_DAYS, STUCK_SHARE, VENUES, VISIT_KINDS, _pick, _split, _wib_at, _wib_day)
from .benchdata_writing import BATCH, FastSQLite, Report, Writer, format_report  # noqa: F401  (format_report: the CLI's)
from .i18n import to_wib

#: raised when what the generator writes changes, so that cached bench databases are rebuilt
GENERATOR_VERSION = 3
#: every generated e-mail ends with this domain
DOMAIN = "bench.example"
#: the password of every generated account (the demo's)
PASSWORD = "Ewarong-7PAS-2018"
#: visits written per transaction
VISITS_PER_TRANSACTION = 250_000


class BenchDataError(Exception):
    """The database is not in a state the generator can fill (not migrated, or not empty)."""


# --- the generator ---------------------------------------------------------------------------

class _Generator:
    def __init__(self, seed: int, months: int, now: datetime, report: Report, echo: Callable[[str], None]) -> None:
        from .programme.services import curricula, default_curriculum

        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now
        self.today = to_wib(now).date()
        self.window_start = self.today - timedelta(days=max(1, round(months * 30.44)))
        self.span = (self.today - self.window_start).days
        self.base_utc = _wib_at(self.window_start, 0)
        self.report = report
        self.echo = echo
        self.curriculum = curricula().get(current_app.config.get("DEFAULT_CURRICULUM") or "") or default_curriculum()
        self.stage_keys = self.curriculum.stage_keys
        self.writer = Writer(report.tables)
        self.dialect = db.engine.dialect.name

    # --- state of the database --------------------------------------------------------------

    def inspect(self, append: bool) -> None:
        from .certification.models import CertificateCounter
        from .people.models import User
        from .places.models import Kecamatan, Outlet, Region
        from .programme.models import Cohort

        s = db.session
        self.regions = [tuple(r) for r in s.execute(sa.select(Region.id, Region.code, Region.name).order_by(Region.code))]
        self.kecamatan = [tuple(k) for k in s.execute(
            sa.select(Kecamatan.id, Kecamatan.code, Kecamatan.name, Kecamatan.region_id).order_by(Kecamatan.code))]
        if len(self.regions) != 6 or len(self.kecamatan) != 44:
            raise BenchDataError("the reference data (6 regions, 44 kecamatan) is missing: "
                                 "run `flask --app lms db upgrade` first")
        outlets = s.scalar(sa.select(sa.func.count()).select_from(Outlet)) or 0
        if outlets and not append:
            raise BenchDataError(f"the database already has {outlets:,} outlets; bench-data fills an empty database "
                                 "(after `flask --app lms db upgrade`). Use --append to add to the data that is there.")
        self.next_id = {}
        for name in ("users", "outlets", "outlet_manager_terms", "mentor_assignments", "cohorts", "enrolments",
                     "training_sessions", "session_speakers", "registrations", "visits", "action_items",
                     "certificates", "audit_log"):
            t = db.metadata.tables[name]
            self.next_id[name] = int(s.scalar(sa.select(sa.func.max(t.c.id))) or 0) + 1
        self.existing_users = {e: i for e, i in s.execute(
            sa.select(User.email, User.id).where(User.email.like(f"%@{DOMAIN}"),
                                                 ~User.email.like("pengelola.%"), ~User.email.like("pendamping.%")))}
        self.existing_cohorts = {n: i for n, i in s.execute(sa.select(Cohort.name, Cohort.id))}
        self.counters = {(k, y): n for k, y, n in s.execute(
            sa.select(CertificateCounter.kind, CertificateCounter.year, CertificateCounter.last_number))}
        s.commit()  # end the read transaction before the writes

    def take_id(self, table: str) -> int:
        i = self.next_id[table]
        self.next_id[table] = i + 1
        return i

    # --- phases ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """One big transaction; its rows are all written (flushed) before it commits."""
        t = time.perf_counter()
        with transaction():
            if self.dialect == "postgresql":
                db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
            yield
            self.writer.flush()
        self.report.phases[name] = self.report.phases.get(name, 0.0) + time.perf_counter() - t

    def run(self, managers: int, visits: int) -> None:
        from .people.passwords import hash_password

        self.password_hash = hash_password(PASSWORD)  # one hash for every account
        with self.phase("people and outlets"):
            self.people_and_outlets(managers)
        self.echo(f"  people and outlets: {self.report.phases['people and outlets']:.1f} s")
        with self.phase("programme"):
            self.programme()
        self.echo(f"  cohorts and enrolments: {self.report.phases['programme']:.1f} s")
        with self.phase("sessions"):
            self.sessions()
        self.echo(f"  training sessions: {self.report.phases['sessions']:.1f} s")
        self.visits(visits)
        self.echo(f"  visits: {self.report.phases.get('visits', 0.0):.1f} s")
        with self.phase("certificates and audit"):
            self.certificates()
            self.audit()
            self.writer.flush()
            self.fix_sequences()
        self.echo(f"  certificates and audit log: {self.report.phases['certificates and audit']:.1f} s")
        self.summaries()

    # --- people, outlets, caseloads ------------------------------------------------------------

    def person_name(self, female_share: float) -> str:
        from .seed_data import FIRST_NAMES_F, FIRST_NAMES_M, LAST_NAMES, MARGA, SECOND_NAMES_F

        rng = self.rng
        if rng.random() < female_share:
            return f"{rng.choice(FIRST_NAMES_F)} {rng.choice(MARGA) if rng.random() < 0.25 else rng.choice(SECOND_NAMES_F)}"
        return f"{rng.choice(FIRST_NAMES_M)} {rng.choice(LAST_NAMES)}"

    def phone(self, rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        return f"+62{rng.choice(MOBILE)}{rng.randrange(10**7, 10**8)}"

    def user(self, email: str, full_name: str, role: str, region_id: int | None, created: datetime,
             phone: str | None = None, rng: random.Random | None = None) -> int:
        uid = self.take_id("users")
        rng = rng or self.rng
        last_login = None
        if rng.random() < 0.9:
            last_login = max(created, self.now - timedelta(minutes=rng.randrange(0, 90 * 24 * 60)))
        self.writer.add("users", {
            "id": uid, "email": email, "full_name": full_name, "phone": phone, "role": role, "region_id": region_id,
            "active": True, "password_hash": self.password_hash, "session_token": secrets.token_urlsafe(32),
            "locale": None, "last_login_at": last_login, "created_at": created, "updated_at": created,
            # an established programme: everyone has accepted the privacy notice in force (lms/privacy)
            "notice_version": current_app.config["PRIVACY_NOTICE_VERSION"]})
        if last_login is not None:
            self.logins.append((uid, last_login))
        return uid

    def staff(self, email: str, full_name: str, role: str, region_id: int | None) -> int:
        if email in self.existing_users:
            return self.existing_users[email]
        # their own Random: whether they exist already (--append) does not shift the main sequence
        rng = random.Random(f"{self.seed}-{email}")
        created = _wib_at(self.window_start - timedelta(days=420), 9)
        uid = self.user(email, full_name, role, region_id, created, self.phone(rng), rng)
        self.existing_users[email] = uid
        return uid

    def people_and_outlets(self, n: int) -> None:
        from .places.reference import KELURAHAN

        rng = self.rng
        self.logins: list[tuple[int, datetime]] = []
        region_code = {rid: code for rid, code, _n in self.regions}
        self.region_name = {rid: name for rid, _c, name in self.regions}
        self.admin_id = self.staff(f"admin@{DOMAIN}", "Admin Bench DKI", "admin", None)
        self.coordinator = {rid: self.staff(f"koordinator.{code}@{DOMAIN}", f"Koordinator {name}", "coordinator", rid)
                            for rid, code, name in self.regions}
        self.coordinator_all = self.staff(f"koordinator.dki@{DOMAIN}", "Koordinator DKI Jakarta", "coordinator", None)

        # outlets per kecamatan: the region's share, then a seeded density per kecamatan
        kec_weight = [REGION_WEIGHT.get(region_code[k[3]], 1) * rng.uniform(0.4, 1.6) for k in self.kecamatan]
        region_total: dict[int, float] = defaultdict(float)
        for k, w in zip(self.kecamatan, kec_weight):
            region_total[k[3]] += w
        weights = [REGION_WEIGHT.get(region_code[k[3]], 1) * w / region_total[k[3]]
                   for k, w in zip(self.kecamatan, kec_weight)]
        per_kec = _split(n, weights, minimum=1)
        kec_of = [i for i, count in enumerate(per_kec) for _ in range(count)]
        rng.shuffle(kec_of)  # ids interleave the kecamatan, as real sign-ups would

        # mentors: one per ~60 outlets of a region, each with a block of neighbouring outlets
        by_region: dict[int, list[int]] = defaultdict(list)
        for idx, ki in enumerate(kec_of):
            by_region[self.kecamatan[ki][3]].append(idx)
        mentor_of = [0] * n
        for rid, _code, _name in self.regions:
            idxs = sorted(by_region.get(rid, []), key=lambda i: (kec_of[i], i))
            if not idxs:
                continue
            count = max(1, math.ceil(len(idxs) / OUTLETS_PER_MENTOR))
            created = _wib_at(self.window_start - timedelta(days=400), 9)
            mentors = []
            for _ in range(count):
                uid_preview = self.next_id["users"]
                mentors.append(self.user(f"pendamping.{region_code[rid]}.{uid_preview}@{DOMAIN}",
                                         self.person_name(0.5), "mentor", rid, created, self.phone()))
            for pos, idx in enumerate(idxs):
                mentor_of[idx] = mentors[pos * count // len(idxs)]

        # outlets, each with its manager, the manager's open term and (mostly) an open mentor assignment
        self.o_id = [0] * n
        self.o_region = [0] * n
        self.o_kec = [0] * n
        self.o_mentor = mentor_of
        self.o_manager = [0] * n
        self.o_name = [""] * n
        self.o_code = [""] * n
        self.o_until: list[int | None] = [None] * n  # day offset before which the (ended) mentor visited
        self.m_name = [""] * n
        w = self.writer
        for idx in range(n):
            kid, kcode, _kname, rid = self.kecamatan[kec_of[idx]]
            oid = self.take_id("outlets")
            created = _wib_at(self.window_start - timedelta(days=rng.randint(30, 400)), 9, rng.randrange(0, 60, 5))
            name = self.person_name(0.8)
            uid = self.user(f"pengelola.{oid}@{DOMAIN}", name, "trainee", rid, created, self.phone())
            base = rng.choice(KUBE_NAMES)
            code = f"BW-{region_code[rid]}-{oid:07d}"
            outlet_name = f"e-Warong KUBE {base} {oid}"
            kel = rng.choice(KELURAHAN[kcode])
            w.add("outlets", {
                "id": oid, "code": code, "name": outlet_name, "kube_name": f"KUBE {base} {oid}",
                "address": f"Jl. {rng.choice(STREETS)} No. {rng.randint(1, 120)}, RT {rng.randint(1, 16):03d}/RW {rng.randint(1, 12):02d}",
                "kelurahan": kel, "kecamatan_id": kid, "region_id": rid, "phone": self.phone(), "active": True,
                "last_visit_on": None, "manager_id": uid, "created_at": created, "updated_at": created})
            w.add("outlet_manager_terms", {"id": self.take_id("outlet_manager_terms"), "outlet_id": oid,
                                           "user_id": uid, "started_at": created, "ended_at": None})
            assigned = created + timedelta(days=rng.randint(0, 20))
            ended = None
            if rng.random() >= ASSIGNED_SHARE:  # the mentor moved on; nobody has taken over yet
                back = rng.randint(max(1, min(20, self.span - 1)), max(1, min(300, self.span - 1)))
                ended = _wib_at(self.today - timedelta(days=back), 10)
                self.o_until[idx] = self.span - back
            w.add("mentor_assignments", {"id": self.take_id("mentor_assignments"), "outlet_id": oid,
                                         "mentor_id": mentor_of[idx], "started_at": assigned, "ended_at": ended,
                                         "assigned_by_id": self.coordinator[rid]})
            self.o_id[idx], self.o_region[idx], self.o_kec[idx], self.o_manager[idx] = oid, rid, kid, uid
            self.o_name[idx], self.o_code[idx], self.m_name[idx] = outlet_name, code, name

    # --- cohorts, enrolments ---------------------------------------------------------------------

    def programme(self) -> None:
        rng = self.rng
        w = self.writer
        n = len(self.o_id)
        starts = [self.window_start, self.window_start + timedelta(days=self.span // 2)]
        names = [f"Bench {starts[0].year}", f"Bench {starts[1].year}"]
        if names[0] == names[1]:
            names[1] += " gelombang 2"
        self.cohorts: list[tuple[int, str, date, date]] = []
        for name, start in zip(names, starts):
            end = start + timedelta(days=600)
            cid = self.existing_cohorts.get(name)
            if cid is None:
                cid = self.take_id("cohorts")
                created = _wib_at(start - timedelta(days=30), 9)
                w.add("cohorts", {"id": cid, "name": name, "curriculum_key": self.curriculum.key,
                                  "start_date": start, "end_date": end, "created_at": created, "updated_at": created})
                for rid, _c, _n in self.regions:
                    w.add("cohort_regions", {"cohort_id": cid, "region_id": rid})
                self.existing_cohorts[name] = cid
            self.cohorts.append((cid, name, start, end))

        keys = self.stage_keys
        total = len(keys)
        self.o_cohort = [0] * n
        self.o_done = [0] * n
        self.o_enrolment = [0] * n
        self.completed: list[tuple[int, datetime]] = []  # (outlet index, completed_at)
        stages: dict[str, int] = defaultdict(int)
        now = self.now
        for idx in range(n):
            ci = 0 if rng.random() < FIRST_COHORT_SHARE else 1
            cid, _name, cstart, _cend = self.cohorts[ci]
            k = rng.choices(range(total + 1), weights=COMPLETED_WEIGHTS[ci][: total + 1])[0]
            opened = _wib_at(cstart, 8)
            room = max(0.0, (now - opened).total_seconds() - 3600)
            started = opened + timedelta(seconds=room * rng.uniform(0, 0.08))
            if k == total:
                changed = started + timedelta(seconds=(now - started).total_seconds() * rng.uniform(0.35, 0.98))
            else:
                age_days = (now - started).total_seconds() / 86400
                if rng.random() < STUCK_SHARE and age_days > STUCK_DAYS + 2:
                    changed = now - timedelta(days=rng.uniform(STUCK_DAYS + 1, age_days))
                else:
                    changed = now - timedelta(days=rng.uniform(0, min(STUCK_DAYS - 1, age_days)))
                changed = max(changed, started)
                if k == 0:
                    started = changed  # enrolled then, profile still incomplete
            eid = self.take_id("enrolments")
            current = keys[k] if k < total else None
            stages[current or ""] += 1
            w.add("enrolments", {
                "id": eid, "cohort_id": cid, "user_id": self.o_manager[idx], "outlet_id": self.o_id[idx],
                "region_id": self.o_region[idx], "status": "active", "started_at": started, "ended_at": None,
                "current_stage": current, "completed_count": k, "progress_changed_at": changed,
                "completed_at": changed if k == total else None, "created_at": started, "updated_at": changed})
            if k:
                span = (changed - started).total_seconds()
                dates = [started] if k > 1 else []
                dates += sorted(started + timedelta(seconds=span * rng.random()) for _ in range(max(0, k - 2)))
                dates.append(changed)
                for key, at in zip(keys, dates):
                    w.add("enrolment_stages", {"enrolment_id": eid, "stage_key": key, "completed_at": at})
            if k == total:
                self.completed.append((idx, changed))
            self.o_cohort[idx], self.o_done[idx], self.o_enrolment[idx] = ci, k, eid
        self.report.stages = {key: stages[key] for key in (*keys, "") if key in stages}

    # --- training sessions ---------------------------------------------------------------------

    def sessions(self) -> None:
        from .sessions.seed import DESCRIPTION
        from .sessions.services import fold

        rng = self.rng
        w = self.writer
        n = len(self.o_id)
        region_code = {rid: code for rid, code, _n in self.regions}
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for idx in range(n):
            groups[(self.o_cohort[idx], self.o_region[idx])].append(idx)
        # about one session per 40 managers, at least one in every region, shared by the cohorts there
        count = max(len(self.regions), round(n / MANAGERS_PER_SESSION))
        region_ids = [rid for rid, _c, _n in self.regions]
        per_region = _split(count, [sum(len(groups[(ci, rid)]) for ci in range(2)) for rid in region_ids], minimum=1)
        plan: list[tuple[tuple[int, int], int]] = []
        for rid, in_region in zip(region_ids, per_region):
            for ci, k in enumerate(_split(in_region, [len(groups[(0, rid)]), len(groups[(1, rid)])], minimum=1)):
                if k:
                    plan.append(((ci, rid), k))
        now = self.now
        for g, sessions in plan:
            ci, rid = g
            cid, cname, cstart, cend = self.cohorts[ci]
            members = groups[g]
            trained = [i for i in members if self.o_done[i] >= 2]
            learners = [i for i in members if self.o_done[i] == 1]
            beginners = [i for i in members if self.o_done[i] == 0]
            for pool in (trained, learners, beginners):
                rng.shuffle(pool)
            first = max(cstart, self.window_start) + timedelta(days=7)
            last = self.today - timedelta(days=1)
            venue, address = VENUES.get(region_code[rid], ("Aula Kantor Walikota", "Jakarta"))
            coordinator = self.coordinator[rid]
            for number in range(1, sessions + 1):
                upcoming = rng.random() < 0.12 or first > last
                if upcoming:
                    day = self.today + timedelta(days=rng.randint(1, 60))
                    while day.weekday() >= 5:
                        day += timedelta(days=1)
                else:
                    day = first + timedelta(days=rng.randint(0, (last - first).days))
                    while day.weekday() >= 5 and day > first:
                        day -= timedelta(days=1)
                half = rng.random() < 0.2
                starts = _wib_at(day, 8)
                ends = _wib_at(day, 12 if half else 16)
                past = ends < now
                cancelled = rng.random() < 0.03
                capacity = rng.randrange(30, 61, 5)
                created = min(starts - timedelta(days=rng.randint(10, 30)), now - timedelta(hours=1))
                sid = self.take_id("training_sessions")
                regs: list[dict[str, Any]] = []

                def register(i: int, status: str, attendance: str | None) -> None:
                    signed = created + timedelta(seconds=max(0.0, (min(starts, now) - created).total_seconds()) * rng.random())
                    marked = ends if attendance else None
                    regs.append({
                        "id": self.take_id("registrations"), "session_id": sid, "user_id": self.o_manager[i],
                        "status": status, "waitlisted_at": signed if status == "waitlisted" else None,
                        "attendance": attendance, "attendance_marked_at": marked,
                        "attendance_marked_by_id": coordinator if attendance else None,
                        "checked_in_by_qr": bool(attendance == "present" and rng.random() < 0.4),
                        "created_at": signed, "updated_at": marked or signed})

                if past and not cancelled:
                    fill = round(capacity * rng.uniform(0.7, 1.0))
                    missed = min(round(fill * 0.08), len(learners) + len(beginners))
                    for _ in range(fill - missed):
                        if not trained:
                            break
                        register(trained.pop(), "registered", _pick(rng, ATTENDED))
                    for _ in range(missed):
                        register((learners or beginners).pop(), "registered", _pick(rng, NOT_ATTENDED))
                else:
                    fill = round(capacity * rng.uniform(0.3, 1.0))
                    for _ in range(fill):
                        pool = learners or beginners
                        if not pool:
                            break
                        register(pool.pop(), "registered", None)
                    if fill == capacity and (learners or beginners):
                        for _ in range(rng.randint(1, 5)):
                            pool = learners or beginners
                            if not pool:
                                break
                            register(pool.pop(), "waitlisted", None)
                seats = sum(1 for r in regs if r["status"] == "registered")
                w.add("training_sessions", {
                    "id": sid, "title": f"Bimtek Pengelola e-Warong {self.region_name[rid]} ({cname}) #{number}",
                    "stage_key": "pelatihan" if "pelatihan" in self.stage_keys else self.stage_keys[0],
                    "cohort_id": cid, "region_id": rid, "venue_name": venue, "venue_address": address,
                    "starts_at": starts, "ends_at": ends, "capacity": capacity, "seats_taken": seats,
                    "description": DESCRIPTION, "status": "cancelled" if cancelled else "scheduled",
                    "cancelled_at": (created + (min(starts, now) - created) * rng.uniform(0.5, 1.0)) if cancelled else None,
                    "series_id": None, "sequence": 1 if cancelled else 0, "checkin_secret": secrets.token_hex(32),
                    "created_by_id": coordinator, "created_at": created, "updated_at": created})
                for pos, (speaker, agency) in enumerate(SPEAKERS):
                    w.add("session_speakers", {"id": self.take_id("session_speakers"), "session_id": sid,
                                               "name": speaker, "name_key": fold(speaker), "agency": agency,
                                               "agency_other": "", "position": pos})
                for r in regs:
                    w.add("registrations", r)

    # --- visits and action items ------------------------------------------------------------------

    def visits(self, total: int) -> None:
        from .visits.seed import ACTIONS, OBSERVATIONS, PROBLEMS, STAFF_NOTES

        rng = self.rng
        n = len(self.o_id)
        if not total or not n:
            return
        # how often each outlet is visited: ~5 % never, the rest skewed (a few outlets very often)
        weights = [0.0 if rng.random() < 0.05 else min(rng.paretovariate(2.0), 30.0) for _ in range(n)]
        if not any(weights):
            weights[0] = 1.0
        cum: list[float] = []
        acc = 0.0
        for x in weights:
            acc += x
            cum.append(acc)
        keys = self.stage_keys
        last_stage = len(keys) - 1
        kinds = VISIT_KINDS
        minutes_by_kind = {"field_visit": (45, 60, 60, 90, 120), "phone_call": (10, 15, 20, 30),
                           "group_meeting": (90, 120, 180)}
        problems = [p for p in PROBLEMS if p]
        now, base, span = self.now, self.base_utc, self.span
        o_id, o_region, o_mentor, o_until, o_done = self.o_id, self.o_region, self.o_mentor, self.o_until, self.o_done
        add = self.writer.add
        random_ = rng.random
        randrange = rng.randrange
        randint = rng.randint
        choice = rng.choice
        # client keys from their own stream, seeded by where this run's ids start: the same seed
        # gives the same keys in an empty database, and new ones when appending
        getrandbits = random.Random(f"{self.seed}-visits-{self.next_id['visits']}").getrandbits
        td = timedelta
        made = 0
        while made < total:
            chunk = min(VISITS_PER_TRANSACTION, total - made)
            with self.phase("visits"):
                done_in_chunk = 0
                while done_in_chunk < chunk:
                    k = min(BATCH, chunk - done_in_chunk)
                    for idx in rng.choices(range(n), cum_weights=cum, k=k):
                        until = o_until[idx]
                        end = span if until is None else max(0, until - 1)
                        day_off = min(end, int((end + 1) * random_() ** 0.85))  # a little busier lately
                        visited = base + td(days=day_off, minutes=480 + randrange(0, 480, 5))
                        earlier = randint(5, 600)  # drawn always: the sequence does not depend on the clock
                        if visited > now:
                            visited = now - td(minutes=earlier)
                        roll = random_()
                        kind = kinds[0][0] if roll < 0.75 else (kinds[1][0] if roll < 0.9 else kinds[2][0])
                        cur = min(o_done[idx], last_stage)
                        stages = [keys[cur]] if cur == 0 or random_() < 0.5 else [keys[cur - 1], keys[cur]]
                        obs = choice(OBSERVATIONS)
                        if random_() < 0.4:
                            obs += " " + choice(problems)
                        day = _wib_day(visited)
                        lat = lon = acc_m = None
                        if kind == "field_visit" and random_() < 0.6:
                            lat = round(-6.35 + random_() * 0.25, 6)
                            lon = round(106.70 + random_() * 0.27, 6)
                            acc_m = round(6 + random_() * 34, 1)
                        logged = visited + td(minutes=randint(30, 360))
                        if logged > now:
                            logged = now
                        vid = self.take_id("visits")
                        add("visits", {
                            "id": vid, "outlet_id": o_id[idx], "mentor_id": o_mentor[idx], "region_id": o_region[idx],
                            "visited_at": visited, "duration_minutes": choice(minutes_by_kind[kind]), "kind": kind,
                            "stages": stages, "observations": obs,
                            "staff_notes": choice(STAFF_NOTES) if random_() < 0.3 else "",
                            "next_visit_on": day + td(days=randint(14, 30)), "latitude": lat, "longitude": lon,
                            "location_accuracy_m": acc_m, "client_key": uuid.UUID(int=getrandbits(128), version=4).hex,
                            "created_at": logged, "updated_at": logged})
                        if random_() < ACTION_SHARE:
                            for desc, owner in (choice(ACTIONS),) if random_() < 0.65 else rng.sample(ACTIONS, 2):
                                due = day + td(days=randint(7, 21))
                                done_at = None
                                if random_() < DONE_SHARE:
                                    done_at = _wib_at(due - td(days=randint(0, 5)), 16)
                                    if done_at < visited:
                                        done_at = visited + td(hours=1)
                                    if done_at > now:
                                        done_at = None
                                add("action_items", {"id": self.take_id("action_items"), "visit_id": vid,
                                                     "outlet_id": o_id[idx], "description": desc, "owner": owner,
                                                     "due_on": due, "done_at": done_at})
                    done_in_chunk += k
            made += chunk
            self.echo(f"    {made:,} of {total:,} visits ({self.report.phases['visits']:.0f} s)")

    # --- certificates, audit log --------------------------------------------------------------------

    def certificates(self) -> None:
        from .certification.services import design_for, format_serial

        try:
            design = design_for("completion")
        except Exception:  # no completion design installed: nothing to issue
            return
        rng = self.rng
        w = self.writer
        now = self.now
        programme = self.curriculum.name.id
        issued: list[tuple[datetime, int, datetime]] = []
        for idx, completed_at in self.completed:
            if rng.random() >= CERTIFIED_SHARE:
                continue
            at = completed_at + timedelta(days=rng.uniform(1, 20))
            if at > now:
                at = completed_at + (now - completed_at) / 2
            issued.append((at, idx, completed_at))
        issued.sort()
        self.issued_audit: list[dict[str, Any]] = []
        for at, idx, completed_at in issued:
            year = to_wib(at).year
            number = self.counters.get((design.kind, year), 0) + 1
            self.counters[(design.kind, year)] = number
            self.touched_counters.add((design.kind, year))
            cid, cname, cstart, cend = self.cohorts[self.o_cohort[idx]]
            rid = self.o_region[idx]
            coordinator = self.coordinator[rid]
            revoked_at = None
            if rng.random() < REVOKED_SHARE:
                revoked_at = min(at + timedelta(days=rng.uniform(1, 30)), now)
            cert_id = self.take_id("certificates")
            serial = format_serial(design.serial_prefix, year, number)
            eid = self.o_enrolment[idx]
            w.add("certificates", {
                "id": cert_id, "kind": design.kind, "design": design.key, "serial": serial, "year": year,
                "number": number, "verification_code": secrets.token_urlsafe(24),
                "status": "revoked" if revoked_at else "active", "holder_id": self.o_manager[idx],
                "holder_name": self.m_name[idx], "subject_type": "enrolment", "subject_key": f"enrolment:{eid}",
                "session_id": None, "enrolment_id": eid, "cohort_id": cid, "region_id": rid,
                "outlet_id": self.o_id[idx], "outlet_name": self.o_name[idx], "outlet_code": self.o_code[idx],
                "subject_title": programme,
                "details": {"cohort": cname, "programme": programme, "cohort_start": cstart.isoformat(),
                            "cohort_end": cend.isoformat(), "completed_at": completed_at.isoformat()},
                "issued_at": at, "issued_by_id": coordinator, "revoked_at": revoked_at,
                "revoked_by_id": coordinator if revoked_at else None,
                "revocation_reason": REVOCATION_REASON if revoked_at else None, "replaces_id": None,
                "pdf_path": None, "pdf_sha256": None, "pdf_size": None, "rendered_at": None,
                "updated_at": revoked_at or at})
            self.issued_audit.append({"at": at, "actor_id": coordinator, "action": "certificate.issued",
                                      "target_type": "certificate", "target_id": str(cert_id), "ip": None,
                                      "details": {"serial": serial, "kind": design.kind,
                                                  "holder_id": self.o_manager[idx],
                                                  "subject": f"enrolment:{eid}", "replaces": None}})
            if revoked_at:
                self.issued_audit.append({"at": revoked_at, "actor_id": coordinator, "action": "certificate.revoked",
                                          "target_type": "certificate", "target_id": str(cert_id), "ip": None,
                                          "details": {"serial": serial, "reason": REVOCATION_REASON}})

    def counters_upsert(self) -> None:
        from .certification.models import CertificateCounter

        t = CertificateCounter.__table__
        for kind, year in sorted(self.touched_counters):
            last = self.counters[(kind, year)]
            updated = db.session.execute(sa.update(t).where(t.c.kind == kind, t.c.year == year)
                                         .values(last_number=sa.func.max(t.c.last_number, last)
                                                 if self.dialect == "sqlite" else sa.func.greatest(t.c.last_number, last)))
            if not updated.rowcount:
                self.writer.add("certificate_counters", {"kind": kind, "year": year, "last_number": last})

    def audit(self) -> None:
        rng = self.rng
        w = self.writer
        self.counters_upsert()
        rows = [{"at": at, "actor_id": uid, "action": "auth.login", "target_type": "user", "target_id": str(uid),
                 "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}", "details": {}}
                for uid, at in self.logins]
        rows += getattr(self, "issued_audit", [])
        rows.sort(key=lambda r: r["at"])
        for r in rows:
            r["id"] = self.take_id("audit_log")
            w.add("audit_log", r)
        w.flush()
        counts = {name: stat.rows for name, stat in self.report.tables.items()}
        w.add("audit_log", {"id": self.take_id("audit_log"), "at": self.now, "actor_id": None,
                            "action": "bench.generated", "target_type": None, "target_id": None, "ip": None,
                            "details": {"rows": counts, "params": self.params}})

    def fix_sequences(self) -> None:
        """PostgreSQL: ids were given explicitly, so move each id sequence past the largest id."""
        if self.dialect != "postgresql":
            return
        for name in self.next_id:
            db.session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {name}), 1), (SELECT MAX(id) FROM {name}) IS NOT NULL)"))

    # --- the dashboard's summaries, planner statistics -------------------------------------------------

    def summaries(self) -> None:
        from .dashboard.summaries import rebuild_all

        t = time.perf_counter()
        with transaction():
            rebuild_all()
        self.report.phases["dashboard summaries"] = time.perf_counter() - t
        self.echo(f"  dashboard summaries: {self.report.phases['dashboard summaries']:.1f} s")
        t = time.perf_counter()
        if self.dialect == "postgresql":
            # VACUUM as well: a bulk-loaded table has no visibility map until autovacuum gets to it, and until
            # then an index-only scan reads the table too (a database in service has been vacuumed)
            db.session.remove()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with transaction():
                db.session.execute(sa.text("ANALYZE"))
        self.report.phases["analyze"] = time.perf_counter() - t
        self.echo(f"  {'VACUUM ANALYZE' if self.dialect == 'postgresql' else 'ANALYZE'}: "
                  f"{self.report.phases['analyze']:.1f} s")


def generate(managers: int, visits: int, *, seed: int = 2025, months: int = 24, append: bool = False,
             now: datetime | None = None, echo: Callable[[str], None] | None = None) -> Report:
    """Fill the configured database with ``managers`` outlets/managers and ``visits`` visits.

    Raises :class:`BenchDataError` when the reference data is missing or (without ``append``)
    when the database already has outlets.
    """
    if managers < 1:
        raise BenchDataError("--managers must be at least 1")
    if visits < 0:
        raise BenchDataError("--visits must not be negative")
    if months < 1:
        raise BenchDataError("--months must be at least 1")
    t = time.perf_counter()
    report = Report()
    gen = _Generator(seed, months, now or utcnow(), report, echo or (lambda _line: None))
    gen.touched_counters = set()
    gen.params = {"managers": managers, "visits": visits, "seed": seed, "months": months, "append": append,
                  "version": GENERATOR_VERSION}
    gen.inspect(append)
    with FastSQLite(db.engine):
        gen.run(managers, visits)
    report.seconds = time.perf_counter() - t
    return report
