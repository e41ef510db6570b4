"""Load benchmark (``make bench``): a Bimtek morning on PostgreSQL under gunicorn, driven by Locust.

The morning: the 253 managers of the demo programme sign in, open their progress, register for
today's Bimtek of their city and check in by QR, while the 15 mentors log visits with a photo
each and the 5 coordinators watch their 40-person attendance screen, keep the QR projector image
fresh and look at the dashboard. A real morning spreads the trainees' arrivals over about ten
minutes; here the same people and the same requests are compressed in time by ``--scale``
(default 2: arrivals within 300 s, every pause half a real one), so the server sees twice the
real request rate. The run ends when the last trainee is through (or at ``--run-time``). On two
cores, ``--scale 3`` and more saturate the server (every request then waits in one queue, and the
benchmark says so instead of reporting ratios near 1).

Data: a fresh PostgreSQL database ``<name>_load`` (LMS_BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432/lms_bench) with the demo seed (``lms.seed.seed_all()``) and,
starting 20 minutes after the build (inside the check-in window, registration still open), one
Bimtek per 40 managers of each city for the demo cohort. The database is dropped at the end
(``--keep-db`` keeps it). Without a reachable PostgreSQL the benchmark is skipped with a message.

The server: gunicorn with ``--workers`` sync workers (default 5, the 2 x cores + 1 of
gunicorn.conf.py on this two-core machine) through the dashboard benchmark's helper (no worker
replaced during the run), warmed up first with every page of the scenario a few times per worker
(a server that has been up since yesterday has its templates compiled), and, as deployed, one RQ worker
process (``flask --app lms worker``) that sends the morning's notifications through Redis (``--redis``, a
database of its own that the run empties; without Redis each gunicorn worker sends them from a thread of
its own, beside the requests it serves, and the summary says so). The sign-in limit per
address (RATELIMIT_LOGIN, 120/minute in production) would refuse a whole city signing in from one
address: for this run only it is set to 100000/minute in the server's environment.

The client: Locust in its own process (``tests/locustfile_bimtek.py``; never imported here), which
writes every request's timing. A probe requests the trivial route (``/healthz``: the app's
hooks and one ``SELECT 1``) twice a second throughout, so it is measured under the same load in
the same run. Per page: requests, errors, p50/p95/p99, and p95 / the trivial route's p95.
Targets: no errors (HTTP or content), every page's (GET's) p95 within 4 x the trivial route's.
The actions that do real work on purpose (a password hash at sign-in, a photo re-encoded) are
listed with their ratio too, not held to it. Afterwards the database is asked what happened:
every trainee registered and checked in, every logged visit stored.

Prints a table and writes JSON to instance/bench/load.json.
Run: ``python -m tests.bench load`` (or ``make bench``); ``--help`` lists the options.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.bench_dashboard import (BENCH_DIR, PG_DEFAULT, ROOT, Database, _app, _free_port, _pg_parts,
                                   _pg_with_name, _start_gunicorn, _stop, app_env, pg_reachable)

RATIO_TARGET = 4.0
#: the trivial route's median above this: the server was saturated (everything queued), the ratios say nothing
SATURATED_MS = 100.0
SEATS = 40
#: the session starts this long after the data is built: check-in is open (30 minutes before the
#: start), registration too (until the start)
STARTS_IN = timedelta(minutes=20)
LOCUSTFILE = ROOT / "tests" / "locustfile_bimtek.py"
#: requests that do expensive work on purpose: reported, not held to the page target
ACTIONS = ("POST /login (password)", "POST /login/code (authenticator)", "POST /visits/new (visit with photo)")


# --- the database ---------------------------------------------------------------------------------

def _pg_create(url: str) -> None:
    import psycopg
    from psycopg import sql

    server, name = _pg_parts(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _pg_drop(url: str) -> None:
    import psycopg
    from psycopg import sql

    server, name = _pg_parts(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def build(url: str, instance: Path) -> dict[str, Any]:
    """Migrate, seed the demo, schedule this morning's Bimtek; the plan for the Locust process."""
    from flask_migrate import upgrade

    from lms.extensions import db

    app = _app(url, instance)
    with app.app_context():
        upgrade()
        from lms.seed import seed_all

        seed_all()
        plan = _morning()
        _history_told()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        db.session.remove()
        db.engine.dispose()
    return plan


def _morning() -> dict[str, Any]:
    import sqlalchemy as sa

    from lms.db import transaction, utcnow
    from lms.extensions import db
    from lms.people.models import Role, User
    from lms.permissions import SYSTEM
    from lms.places.models import Region
    from lms.privacy.consent import current_version
    from lms.programme.models import Cohort
    from lms.seed import DEMO_COHORT, DEMO_PASSWORD, DEMO_TOTP_SECRET
    from lms.seed_data import demo_coordinators, demo_mentors, demo_outlets
    from lms.sessions import services as sessions
    from lms.sessions.common import CHECKIN_STEP, CHECKIN_TOKEN_LENGTH
    from lms.sessions.scheduling import SessionInput, SpeakerInput
    from lms.visits.models import MentorAssignment

    cohort = db.session.scalars(sa.select(Cohort).where(Cohort.name == DEMO_COHORT)).one()
    regions = {r.code: r for r in db.session.scalars(sa.select(Region))}
    users = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.is_not(None)))}
    with transaction():  # everyone has read the privacy notice (else the sign-in gate sends them there first)
        db.session.execute(sa.update(User).values(notice_version=current_version()))

    by_region: dict[str, list[str]] = {}
    for o in demo_outlets():
        by_region.setdefault(o["region_code"], []).append(o["manager"]["email"])
    start = utcnow().replace(second=0, microsecond=0) + STARTS_IN
    trainees, secrets, watched = [], {}, {}
    for code, emails in sorted(by_region.items()):
        region = regions[code]
        for k in range(math.ceil(len(emails) / SEATS)):
            group = emails[k * SEATS:(k + 1) * SEATS]
            [s] = sessions.create_sessions(SYSTEM, SessionInput(
                title=f"Bimtek 7 PAS {region.name} — kelas {k + 1}", stage_key="pelatihan", cohort_id=cohort.id,
                region_id=region.id, venue_name=f"Aula Suku Dinas Sosial {region.name}, ruang {k + 1}", venue_address="",
                starts_at=start, ends_at=start + timedelta(hours=4), capacity=SEATS,
                speakers=[SpeakerInput(f"Narasumber BI {region.name} {k + 1}", "bank_indonesia")]))
            secrets[str(s.id)] = s.checkin_secret
            if k == 0:
                watched[code] = [s.id]  # the coordinator's screen: the full (40-person) class
            trainees += [{"email": e, "session_id": s.id} for e in group]
    mentors = []
    for m in demo_mentors():
        uid = users[m["email"]].id
        outlets = list(db.session.scalars(sa.select(MentorAssignment.outlet_id).where(
            MentorAssignment.mentor_id == uid, MentorAssignment.ended_at.is_(None))))
        if outlets:
            mentors.append({"email": m["email"], "outlets": outlets})
    coordinators = [{"email": c["email"], "sessions": watched[c["region_code"]]} for c in demo_coordinators()
                    if users[c["email"]].role is Role.COORDINATOR and c["region_code"] in watched]
    from lms.seed_data import DEMO_ADMIN
    from lms.visits.models import Visit

    visit = db.session.scalar(sa.select(Visit.id).where(Visit.mentor_id == users[mentors[0]["email"]].id)
                              .order_by(Visit.id.desc()).limit(1)) if mentors else None
    warmup = {"admin": DEMO_ADMIN["email"], "visit": visit}
    return {"password": DEMO_PASSWORD, "totp": DEMO_TOTP_SECRET, "warmup": warmup, "trainees": trainees,
            "mentors": mentors,
            "coordinators": coordinators, "secrets": secrets, "checkin_step": CHECKIN_STEP,
            "checkin_token_length": CHECKIN_TOKEN_LENGTH, "starts_at": start.isoformat()}


def _history_told() -> None:
    """The demo's history (about 1,500 events: stages completed, certificates issued, sessions made) was
    announced long before this morning: mark it told, so the workers' notification threads serve the
    morning's events only instead of working through the seed's backlog during the run."""
    import sqlalchemy as sa

    from lms.db import transaction, utcnow
    from lms.extensions import db
    from lms.outbox.models import EventStatus, OutboxEvent

    with transaction():
        db.session.execute(sa.update(OutboxEvent).where(OutboxEvent.status == EventStatus.PENDING)
                           .values(status=EventStatus.DISPATCHED, dispatched_at=utcnow()))


def _outcome(url: str, instance: Path, plan: dict[str, Any], since: datetime) -> dict[str, int]:
    """What the database holds after the run."""
    import sqlalchemy as sa

    from lms.extensions import db
    from lms.sessions.models import Registration, RegistrationStatus
    from lms.visits.models import Visit, VisitPhoto

    app = _app(url, instance)
    ids = [int(s) for s in plan["secrets"]]
    with app.app_context():
        regs = db.session.execute(sa.select(
            sa.func.count().filter(Registration.status == RegistrationStatus.REGISTERED),
            sa.func.count().filter(Registration.checked_in_by_qr.is_(True)))
            .where(Registration.session_id.in_(ids))).one()
        visits = db.session.scalar(sa.select(sa.func.count()).select_from(Visit).where(Visit.created_at >= since))
        photos = db.session.scalar(sa.select(sa.func.count()).select_from(VisitPhoto)
                                   .join(Visit, Visit.id == VisitPhoto.visit_id).where(Visit.created_at >= since))
        db.session.remove()
        db.engine.dispose()
    return {"registered": int(regs[0]), "checked_in": int(regs[1]), "visits": int(visits or 0),
            "photos": int(photos or 0)}


# --- the notifications worker ---------------------------------------------------------------------

REDIS_DEFAULT = "redis://127.0.0.1:6379/13"


def _redis(url: str) -> str | None:
    """The Redis URL to use, emptied for this run, or None (none asked for, or not reachable)."""
    if not url or url.lower() == "none":
        return None
    import redis

    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=3)
        conn.flushdb()  # (a database of the benchmark's own: yesterday's queues and rate counts go)
        conn.close()
    except redis.RedisError as e:
        print(f"  Redis at {url} not reachable ({e}): notifications in each gunicorn worker's thread", flush=True)
        return None
    return url


def _start_worker(db: Database, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    """``flask --app lms worker --workers 1`` (RQ, with its scheduler) on the same database and Redis, as the
    README's deployment runs it beside the app servers."""
    log = open(BENCH_DIR / "worker-load.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "lms", "worker", "--workers", "1"],
                            cwd=ROOT, env=app_env(db, env_extra), stdout=log, stderr=subprocess.STDOUT)


# --- the run --------------------------------------------------------------------------------------

def _trivial_route(port: int) -> str:
    for path in ("/healthz", "/static/favicon.svg"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        ok = conn.getresponse().status == 200
        conn.close()
        if ok:
            return path
    return "/login"


def warm_up(port: int, plan: dict[str, Any], workers: int) -> int:
    """Before the morning: every page of the scenario three times in every worker, so that the measured requests
    find their templates compiled and their SQL prepared, as on a server that has been up for a while (the
    admin, one trainee and one mentor of the plan, reading only; the trainee's check-in page refuses, since
    they have not registered yet). Returns the number of requests."""
    import pyotp

    from tests.bench_dashboard import _http_sign_in

    sid = plan["trainees"][0]["session_id"]
    watched = plan["coordinators"][0]["sessions"][0] if plan["coordinators"] else sid
    admin = _http_sign_in(port, plan["warmup"]["admin"], plan["password"], pyotp.TOTP(plan["totp"]).now())
    at_code = _http_sign_in(port, plan["warmup"]["admin"], plan["password"])  # (the password step passed, no code yet)
    trainee = _http_sign_in(port, plan["trainees"][0]["email"], plan["password"])
    pages: list[tuple[str, str]] = [("", "/login"), ("", "/healthz"), (at_code, "/login/code"), (admin, "/dashboard"),
                                    (admin, "/home"),
                                    (admin, f"/sessions/{watched}/attendance"), (admin, f"/sessions/{watched}/qr.svg"),
                                    (trainee, "/home"), (trainee, "/progress"), (trainee, f"/sessions/{sid}"),
                                    (trainee, f"/checkin/{sid}/{'0' * int(plan['checkin_token_length'])}")]
    if plan["mentors"]:
        mentor = _http_sign_in(port, plan["mentors"][0]["email"], plan["password"])
        pages.append((mentor, f"/visits/new?outlet={plan['mentors'][0]['outlets'][0]}"))
        if plan["warmup"].get("visit"):
            pages.append((mentor, f"/visits/{plan['warmup']['visit']}"))
    n = 0
    for _round in range(3):
        for cookie, path in pages:
            n += _together(port, path, cookie, workers)
    return n


def _together(port: int, path: str, cookie: str, count: int) -> int:
    """``count`` requests of ``path`` at the same moment. A sync worker takes one request at a time, so
    while they overlap each goes to a different worker (40 rounds of 5 against 5 workers reached 5
    different workers every time), so every worker serves the page. One after the other, the kernel hands
    each request to whichever idle worker wakes first: a page asked 15 times then missed some worker with a
    chance of about 5 x (4/5)^15, one in six, and that worker compiled the page's statements during the
    morning, in a measured request. Returns the number of requests."""
    import threading

    start = threading.Barrier(count)
    failures: list[BaseException] = []

    def one() -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            start.wait(timeout=60)
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            conn.getresponse().read()
            conn.close()
        except BaseException as exc:  # reported below, in the benchmark's thread
            failures.append(exc)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return count


def _pct(ms: list[float], q: float) -> float:
    """The q-quantile, nearest rank (as the dashboard benchmark's p95)."""
    return ms[min(len(ms) - 1, max(0, int(math.ceil(q * len(ms))) - 1))]


def summarise(records: list[list[Any]], trivial_name: str) -> dict[str, Any]:
    by_name: dict[str, list[list[Any]]] = {}
    for r in records:
        by_name.setdefault(r[0], []).append(r)
    span = (max(r[5] for r in records) - min(r[5] for r in records)) if records else 0.0
    pages: dict[str, Any] = {}
    for name, rows in sorted(by_name.items()):
        ms = sorted(float(r[2]) for r in rows)
        errors = sum(1 for r in rows if not r[3])
        pages[name] = {"requests": len(rows), "errors": errors, "p50": statistics.median(ms), "p95": _pct(ms, 0.95),
                       "p99": _pct(ms, 0.99), "max": ms[-1], "mean": statistics.fmean(ms)}
    base = pages.get(trivial_name, {}).get("p95") or float("nan")
    for name, p in pages.items():
        p["ratio_p95"] = p["p95"] / base if base == base and base > 0 else float("nan")
        p["kind"] = "trivial" if name == trivial_name else ("action" if name in ACTIONS else "page")
        p["pass"] = p["errors"] == 0 and (p["kind"] != "page" or p["ratio_p95"] <= RATIO_TARGET)
    total = len(records)
    return {"pages": pages, "requests": total, "errors": sum(p["errors"] for p in pages.values()),
            "seconds": span, "throughput_rps": total / span if span else 0.0}


def _print(result: dict[str, Any]) -> None:
    s = result["summary"]
    print()
    print(f"Load benchmark: a Bimtek morning, {result['people']} on PostgreSQL, gunicorn {result['workers']} "
          f"sync workers, notifications by {result['notifications']}, {result['cores']} cores; time scale "
          f"1/{result['scale']:g} (arrivals within "
          f"{result['arrival_window_s']:.0f} s)")
    print(f"  {s['requests']} requests in {s['seconds']:.0f} s: {s['throughput_rps']:.1f} req/s, {s['errors']} errors")
    print(f"  {'request':<52}{'n':>6}{'err':>5}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'p95/triv':>10}")
    rows = sorted(s["pages"].items(), key=lambda kv: (kv[1]["kind"] != "trivial", kv[1]["kind"] == "action", kv[0]))
    for name, p in rows:
        verdict = {"trivial": "", "action": "(action)"}.get(p["kind"], "PASS" if p["pass"] else "FAIL")
        if p["kind"] == "action" and p["errors"]:
            verdict = "FAIL"
        print(f"  {name[:51]:<52}{p['requests']:>6}{p['errors']:>5}{p['p50']:>8.1f}{p['p95']:>8.1f}{p['p99']:>8.1f}"
              f"{p['max']:>8.0f}{p['ratio_p95']:>8.2f}  {verdict}")
    o = result["outcome"]
    print(f"  {result['journeys_completed']} of {result['trainees']} trainees went through the whole morning; the "
          f"database afterwards: {o['registered']} registered, {o['checked_in']} checked in by QR, {o['visits']} "
          f"visits with {o['photos']} photos ({result['visits_posted']} answered as saved)")
    for note in result["notes"]:
        print(f"  note: {note}")
    print(f"  overall: {'PASS' if result['pass'] else 'FAIL'}   (JSON: {result['json']})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench load", description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=2.0, help="time compression (default 2: a ten-minute "
                                                            "morning's arrivals within 300 s)")
    p.add_argument("--run-time", type=float, default=0.0,
                   help="seconds Locust runs (default: the arrival window plus the longest journey)")
    p.add_argument("--workers", type=int, default=5, help="gunicorn sync workers (default 5)")
    p.add_argument("--probes", type=int, default=3, help="users requesting the trivial route (default 3)")
    p.add_argument("--keep-db", action="store_true", help="keep the <name>_load database afterwards")
    p.add_argument("--redis", default=os.environ.get("LMS_BENCH_REDIS_URL", REDIS_DEFAULT),
                   help=f"a Redis database the run may empty (default {REDIS_DEFAULT}): the app servers hand the "
                        "notifications to one RQ worker process there, as deployed; 'none' (or Redis not reachable): "
                        "each gunicorn worker runs its own notifications thread")
    args = p.parse_args(argv)
    base = os.environ.get("LMS_BENCH_PG_URL", PG_DEFAULT)
    reason = pg_reachable(base)
    if reason is not None:
        print(f"Load benchmark skipped: it needs PostgreSQL, and {base} is not reachable ({reason}). "
              "Set LMS_BENCH_PG_URL to a server where it may create a database.", flush=True)
        return 0
    url = _pg_with_name(base, f"{_pg_parts(base)[1]}_load")
    instance = BENCH_DIR / "instance-load"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    arrival = 600.0 / args.scale
    # the longest trainee journey: the sum of its pauses' upper ends (real seconds), compressed, plus slack
    # (the run ends earlier, a few seconds after the last trainee's morning is over)
    run_time = args.run_time or arrival + 128.0 / args.scale + 120.0
    print(f"Load benchmark: building {_pg_parts(url)[1]} (demo seed and this morning's Bimtek) …", flush=True)
    _pg_create(url)
    proc = worker = None
    redis_url = _redis(args.redis)
    try:
        t = time.perf_counter()
        plan = build(url, instance)
        built = time.perf_counter() - t
        port = _free_port()
        db = Database("postgresql", "load", url, instance)
        server_env = {"LMS_RATELIMIT_LOGIN": "100000/minute", "LMS_BASE_URL": f"http://127.0.0.1:{port}",
                      **({"LMS_REDIS_URL": redis_url} if redis_url else {})}
        proc = _start_gunicorn(db, port, args.workers, log_name="gunicorn-load.log", extra_env=server_env)
        if redis_url:
            worker = _start_worker(db, server_env)
        trivial = _trivial_route(port)
        warmed = warm_up(port, plan, args.workers)
        plan.update(scale=args.scale, arrival_window_s=arrival, trivial=trivial, probes=args.probes)
        plan_file, results_file = BENCH_DIR / "load-plan.json", BENCH_DIR / "load-results.json"
        plan_file.write_text(json.dumps(plan), encoding="utf-8")
        results_file.unlink(missing_ok=True)
        users = len(plan["trainees"]) + len(plan["mentors"]) + len(plan["coordinators"]) + args.probes
        print(f"  built in {built:.0f} s; {len(plan['trainees'])} trainees in {len(plan['secrets'])} sessions, "
              f"{len(plan['mentors'])} mentors, {len(plan['coordinators'])} coordinators, {args.probes} probes on "
              f"{trivial}; {warmed} warm-up requests; Locust for at most {run_time:.0f} s …", flush=True)
        since = datetime.now(timezone.utc)
        env = dict(os.environ, LOAD_PLAN=str(plan_file), LOAD_RESULTS=str(results_file))
        log = open(BENCH_DIR / "locust-load.log", "wb")
        locust = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", f"http://127.0.0.1:{port}",
             "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{int(run_time)}s",
             "--stop-timeout", "15", "--csv", str(BENCH_DIR / "load"), "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=run_time + 180)
        log.close()
        if not results_file.exists():
            print(f"  Locust wrote no results (exit {locust.returncode}); see {log.name}", flush=True)
            return 1
        results = json.loads(results_file.read_text(encoding="utf-8"))
        records = results["records"]
    finally:
        if proc is not None:
            _stop(proc)
        if worker is not None:
            _stop(worker)
    try:
        outcome = _outcome(url, instance, plan, since)
    finally:
        if not args.keep_db:
            _pg_drop(url)
    summary = summarise(records, f"GET {trivial} (trivial route)")

    def answered(name: str) -> int:
        p = summary["pages"].get(name, {})
        return int(p.get("requests", 0) - p.get("errors", 0))

    visits_posted = answered("POST /visits/new (visit with photo)")
    completed = int(results.get("journeys_completed", 0))
    notes = []
    # what the clients were told is what the database holds (a visit still being sent when the run stopped
    # may be stored without its answer having been counted)
    checks_ok = (outcome["registered"] == answered("POST /sessions/<id>/register")
                 and outcome["checked_in"] == answered("POST /checkin/<id>/<token> (Saya hadir)")
                 and visits_posted <= outcome["visits"] <= visits_posted + len(plan["mentors"])
                 and outcome["photos"] == outcome["visits"])
    if not checks_ok:
        notes.append("the database does not hold what the clients were told (see the line above)")
    if completed < len(plan["trainees"]):
        notes.append(f"only {completed} of {len(plan['trainees'])} trainees finished their morning within "
                     f"{run_time:.0f} s")
    trivial_p50 = summary["pages"].get(f"GET {trivial} (trivial route)", {}).get("p50", float("inf"))
    saturated = not trivial_p50 < SATURATED_MS
    if saturated:
        notes.append(f"the server was saturated (the trivial route's p50 is {trivial_p50:.0f} ms): every request "
                     "waited in the same queue, so the ratios say nothing; run with a smaller --scale or on a "
                     "quieter machine")
    if not redis_url:
        notes.append("no Redis: each gunicorn worker sent the morning's notifications from its own thread, "
                     "beside the requests it served")
    result = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cores": os.cpu_count(),
              "notifications": "one RQ worker process (Redis)" if redis_url else "a thread in each gunicorn worker",
              "workers": args.workers, "scale": args.scale, "arrival_window_s": arrival, "run_time_s": run_time,
              "people": f"{len(plan['trainees'])} trainees, {len(plan['mentors'])} mentors, "
                        f"{len(plan['coordinators'])} coordinators",
              "trainees": len(plan["trainees"]), "journeys_completed": completed, "saturated": saturated,
              "trivial": trivial, "summary": summary, "outcome": outcome,
              "visits_posted": visits_posted, "locust_exit": locust.returncode, "notes": notes,
              "json": str(BENCH_DIR / "load.json")}
    result["pass"] = (summary["errors"] == 0 and checks_ok and not saturated and completed == len(plan["trainees"])
                      and all(p["pass"] for p in summary["pages"].values()))
    (BENCH_DIR / "load.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    _print(result)
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
