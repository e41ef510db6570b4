"""Dashboard benchmark (``make bench``): does the coordinator dashboard stay fast at national scale?

Databases: SQLite (files under instance/bench/) and PostgreSQL when reachable (LMS_BENCH_PG_URL,
default postgresql://postgres@127.0.0.1:5432/lms_bench; the large data goes to that database
(other sizes to ``<name>_m<managers>_v<visits>``), the small to ``<name>_small``; each is
created when missing). Small: the demo seed
(``lms.seed.seed_all()``, 253 managers) in a freshly migrated database, built on every run.
Large: ``flask bench-data`` with 100,000 managers and 1,000,000 visits (BENCH_MANAGERS,
BENCH_VISITS override), generated once and reused while the parameters, the schema (the
migration head) and the generator stay the same.

1. Latency, in process: the Flask test client, signed in through the login form, 20 warm-up
   requests, then ``--requests`` GETs per case, small and large alternating so both see the same
   machine load. Cases: admin and the coordinator of 3171 on ``/dashboard``, with
   ``?cohort=&kecamatan=``, with ``?start=&end=``, and the funnel's click-through list
   ``/dashboard/managers?stage=``. Target: large p95 <= 3 x small p95 in every case. Once the apps
   are built, their objects are frozen out of the garbage collector's full passes, as an app
   server's worker does once it is up (lms/ops/heap.py).
   The dashboard keeps rendered views in a per-process cache (lms.dashboard.cache), so most of
   these requests are cache hits; informational passes show what a miss costs: the admin's
   dashboard on the large data right after a registration (only the sessions view is drawn
   again) and after a change of the numbers (every view is), then every case with the cache off
   (``DASHBOARD_CACHE_SECONDS=0``) at each size.
2. Throughput: gunicorn with 2 sync workers on the large database, serving
   ``tests/bench_wsgi.py`` (the app plus one bare route). Threads with keep-alive connections
   request the bare route and the admin's ``/dashboard`` in alternating windows on the same
   server, with the cookies a browser keeps after its first page. Target: dashboard >= 0.3 x bare.

Prints a summary table and writes it as JSON to instance/bench/dashboard.json.
Run: ``python -m tests.bench dashboard`` (or ``make bench``); ``--help`` lists the options.
"""
from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "instance" / "bench"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/lms_bench"
SECRET = secrets.token_hex(32)
DEFAULT_MANAGERS, DEFAULT_VISITS = 100_000, 1_000_000
LATENCY_TARGET = 3.0
THROUGHPUT_TARGET = 0.3
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- apps and databases ------------------------------------------------------------------------

def _config(url: str, instance: Path) -> dict[str, Any]:
    """Production settings (scrypt, no TESTING), except cookies over plain http and no notification worker
    thread in the measuring process (the demo seed's messages would be sent meanwhile, and on SQLite
    hold the write lock the sign-in needs)."""
    return {"DATABASE_URL": url, "INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET,
            "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False, "NOTIFICATIONS_WORKER": "off",
            "BASE_URL": "https://lms.dinsos.example.go.id"}


def _app(url: str, instance: Path):  # type: ignore[no-untyped-def]
    from lms import create_app

    return create_app(_config(url, instance))


def migration_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(ROOT / "lms" / "migrations")).get_current_head() or "none"


@dataclass
class Params:
    managers: int
    visits: int
    seed: int = 2025
    months: int = 24

    def prefix(self) -> str:
        return f"m{self.managers}-v{self.visits}-s{self.seed}-mo{self.months}"

    def key(self) -> str:
        from lms.benchdata import GENERATOR_VERSION

        return f"{self.prefix()}-{migration_head()}-g{GENERATOR_VERSION}"

    @property
    def default(self) -> bool:
        return (self.managers, self.visits) == (DEFAULT_MANAGERS, DEFAULT_VISITS)

    def as_dict(self) -> dict[str, int]:
        return {"managers": self.managers, "visits": self.visits, "seed": self.seed, "months": self.months}


@dataclass
class Database:
    kind: str  # sqlite | postgresql
    size: str  # small | large
    url: str
    instance: Path
    #: how it was obtained: seconds to build, or reused
    note: str = ""


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _remove_sqlite(path: Path) -> None:
    for p in _sqlite_files(path):
        p.unlink(missing_ok=True)


def _seed_small(url: str, instance: Path) -> float:
    from flask_migrate import upgrade

    from lms.extensions import db
    from lms.seed import seed_all

    t = time.perf_counter()
    app = _app(url, instance)
    with app.app_context():
        upgrade()
        seed_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        db.session.remove()
        db.engine.dispose()
    return time.perf_counter() - t


def _generate_large(url: str, instance: Path, params: Params) -> float:
    from flask_migrate import upgrade

    from lms.benchdata import format_report, generate
    from lms.extensions import db

    t = time.perf_counter()
    app = _app(url, instance)
    with app.app_context():
        upgrade()
        report = generate(params.managers, params.visits, seed=params.seed, months=params.months,
                          echo=lambda line: print("   " + line, flush=True))
        for line in format_report(report):
            print("   " + line, flush=True)
        db.session.remove()
        db.engine.dispose()
    return time.perf_counter() - t


def sqlite_small() -> Database:
    path = BENCH_DIR / "sqlite-small.sqlite3"
    _remove_sqlite(path)
    instance = BENCH_DIR / "instance-small"
    shutil.rmtree(instance, ignore_errors=True)
    print("  SQLite small: migrating and seeding the demo (253 managers) …", flush=True)
    s = _seed_small(f"sqlite:///{path}", instance)
    return Database("sqlite", "small", f"sqlite:///{path}", instance, f"demo seed built in {s:.1f} s")


def sqlite_large(params: Params) -> Database:
    key = params.key()
    path = BENCH_DIR / f"sqlite-large-{key}.sqlite3"
    instance = BENCH_DIR / "instance-large"
    if path.exists():
        return Database("sqlite", "large", f"sqlite:///{path}", instance, f"reused {path.name}")
    # the same parameters under an older schema or generator: stale (and large); other sizes are kept
    for old in BENCH_DIR.glob(f"sqlite-large-{params.prefix()}-*.sqlite3"):
        print(f"  removing stale {old.name}", flush=True)
        _remove_sqlite(old)
    tmp = BENCH_DIR / f"building-{key}.sqlite3"
    _remove_sqlite(tmp)
    print(f"  SQLite large: generating {params.managers:,} managers, {params.visits:,} visits "
          "(once; the file is reused on later runs) …", flush=True)
    s = _generate_large(f"sqlite:///{tmp}", instance, params)
    import sqlite3

    con = sqlite3.connect(tmp)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for suffix in ("-wal", "-shm"):
        tmp.with_name(tmp.name + suffix).unlink(missing_ok=True)
    tmp.rename(path)
    return Database("sqlite", "large", f"sqlite:///{path}", instance, f"generated in {s:.0f} s")


# --- PostgreSQL ----------------------------------------------------------------------------------

def _pg_parts(url: str) -> tuple[str, str]:
    """(the server URL with the maintenance database, the database name)."""
    parsed = urllib.parse.urlsplit(url)
    name = parsed.path.lstrip("/") or "lms_bench"
    return urllib.parse.urlunsplit(parsed._replace(path="/postgres")), name


def _pg_with_name(url: str, name: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parsed._replace(path="/" + name))


def pg_reachable(url: str) -> str | None:
    """None when the server answers; otherwise the reason."""
    import psycopg

    server, _name = _pg_parts(url)
    try:
        with psycopg.connect(server, connect_timeout=3):
            return None
    except Exception as e:  # the reason is printed, whatever it is
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"


def _pg_ensure(url: str) -> None:
    import psycopg
    from psycopg import sql

    server, name = _pg_parts(url)
    with psycopg.connect(server, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _pg_reset(url: str) -> None:
    import psycopg

    _pg_ensure(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def _pg_cached(url: str, params: Params) -> bool:
    """True when the database holds a finished bench-data run with these parameters and schema."""
    import psycopg

    from lms.benchdata import GENERATOR_VERSION

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            head = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            row = conn.execute("SELECT details FROM audit_log WHERE action = 'bench.generated' "
                               "ORDER BY id DESC LIMIT 1").fetchone()
    except Exception:
        return False
    if head is None or head[0] != migration_head() or row is None:
        return False
    details = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    want = dict(params.as_dict(), version=GENERATOR_VERSION)
    return all(details.get("params", {}).get(k) == v for k, v in want.items())


def pg_small(base_url: str) -> Database:
    _server, name = _pg_parts(base_url)
    url = _pg_with_name(base_url, name + "_small")
    instance = BENCH_DIR / "instance-pg-small"
    shutil.rmtree(instance, ignore_errors=True)
    print(f"  PostgreSQL small ({name}_small): migrating and seeding the demo …", flush=True)
    _pg_reset(url)
    s = _seed_small(url, instance)
    return Database("postgresql", "small", url, instance, f"demo seed built in {s:.1f} s")


def pg_large(base_url: str, params: Params) -> Database:
    """The national data set in the configured database; other sizes (BENCH_MANAGERS/BENCH_VISITS)
    in ``<name>_m<managers>_v<visits>``, so a quick run does not replace the big one."""
    instance = BENCH_DIR / "instance-pg-large"
    if not params.default:
        base_url = _pg_with_name(base_url, f"{_pg_parts(base_url)[1]}_m{params.managers}_v{params.visits}")
    _pg_ensure(base_url)
    if _pg_cached(base_url, params):
        return Database("postgresql", "large", base_url, instance, "reused")
    print(f"  PostgreSQL large ({_pg_parts(base_url)[1]}): generating {params.managers:,} managers, "
          f"{params.visits:,} visits (once; reused on later runs) …", flush=True)
    _pg_reset(base_url)
    s = _generate_large(base_url, instance, params)
    return Database("postgresql", "large", base_url, instance, f"generated in {s:.0f} s")


# --- latency, in process ------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    role: str  # admin | coordinator
    url: str


@dataclass
class Side:
    """One database's app, its signed-in clients and its case URLs."""

    db: Database
    app: Any
    clients: dict[str, Any] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)


def _accounts(size: str) -> dict[str, str]:
    if size == "small":
        from lms.seed_data import DEMO_ADMIN, demo_coordinators

        coordinator = next(c["email"] for c in demo_coordinators() if c["region_code"] == "3171")
        return {"admin": DEMO_ADMIN["email"], "coordinator": coordinator}
    from lms.benchdata import DOMAIN

    return {"admin": f"admin@{DOMAIN}", "coordinator": f"koordinator.3171@{DOMAIN}"}


def _password(size: str) -> str:
    if size == "small":
        from lms.seed import DEMO_PASSWORD

        return DEMO_PASSWORD
    from lms.benchdata import PASSWORD

    return PASSWORD


#: the benchmark's authenticator key for the bench-data coordinators and admin (two-factor is mandatory for them)
BENCH_TOTP = "BENCHSEVENPASOKOCEJAKARTAEWARONG"


def _totp_code(app: Any, email: str) -> str:
    """Enrol ``email`` with BENCH_TOTP (replacing any other key), forget its last used step (the benchmark signs the same
    person in more than once within 30 seconds), mark the privacy notice in force as accepted (the sign-in gate
    would send the page to the consent form) and return the current code."""
    import pyotp
    import sqlalchemy as sa

    from lms.db import transaction, utcnow
    from lms.extensions import db
    from lms.people.models import User
    from lms.people.security_models import TotpFactor
    from lms.people.twofactor import seal
    from lms.privacy.consent import current_version

    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.email == email)).one()
        with transaction():
            factor = db.session.scalars(sa.select(TotpFactor).where(TotpFactor.user_id == user.id)).first()
            if factor is None:
                db.session.add(TotpFactor(user_id=user.id, secret_sealed=seal(BENCH_TOTP), confirmed_at=utcnow()))
            else:  # the demo seed enrols its staff with the demo key: use the bench key instead
                factor.secret_sealed, factor.last_step = seal(BENCH_TOTP), None
            user.notice_version = current_version()
        db.session.remove()
    return pyotp.TOTP(BENCH_TOTP).now()


def _sign_in(app: Any, email: str, password: str) -> Any:
    code = _totp_code(app, email)
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    m = CSRF_RE.search(html)
    if not m:
        raise RuntimeError("no CSRF token on /login")
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": m.group(1)})
    if resp.status_code == 302 and resp.headers.get("Location") == "/login/code":
        # the password step starts a new session (and with it a new CSRF token): read the code form's
        m = CSRF_RE.search(client.get("/login/code").get_data(as_text=True))
        if not m:
            raise RuntimeError("no CSRF token on /login/code")
        resp = client.post("/login/code", data={"code": code, "csrf_token": m.group(1)})
    if resp.status_code != 302:
        raise RuntimeError(f"sign-in as {email} failed: HTTP {resp.status_code}")
    return client


def _case_urls(app: Any) -> list[Case]:
    """The same cases on every database; ids and dates chosen from that database's data."""
    import sqlalchemy as sa

    from lms.extensions import db
    from lms.i18n import to_wib
    from lms.places.models import Outlet, Region
    from lms.programme.models import Enrolment
    from lms.visits.models import Visit

    with app.app_context():
        cohort = db.session.scalar(sa.select(Enrolment.cohort_id).group_by(Enrolment.cohort_id)
                                   .order_by(sa.func.count().desc(), Enrolment.cohort_id).limit(1))
        kecamatan = db.session.scalar(
            sa.select(Outlet.kecamatan_id).join(Region, Region.id == Outlet.region_id).where(Region.code == "3171")
            .group_by(Outlet.kecamatan_id).order_by(sa.func.count().desc(), Outlet.kecamatan_id).limit(1))
        last = db.session.scalar(sa.select(Visit.visited_at).order_by(Visit.visited_at.desc()).limit(1))
        db.session.remove()
    end = to_wib(last).date() if last else datetime.now(timezone.utc).date()
    start = end - timedelta(days=182)
    filters = {"cohort": f"/dashboard?cohort={cohort}&kecamatan={kecamatan}",
               "dates": f"/dashboard?start={start.isoformat()}&end={end.isoformat()}"}
    cases = []
    for role, who in (("admin", "admin"), ("coordinator", "koord. 3171")):
        cases.append(Case(f"{who}: /dashboard", role, "/dashboard"))
        cases.append(Case(f"{who}: ?cohort&kecamatan", role, filters["cohort"]))
        cases.append(Case(f"{who}: ?start&end", role, filters["dates"]))
        cases.append(Case(f"{who}: managers?stage", role, "/dashboard/managers?stage=perizinan"))
    return cases


def _side(db: Database) -> Side:
    app = _app(db.url, db.instance)
    side = Side(db, app)
    accounts = _accounts(db.size)
    for role, email in accounts.items():
        side.clients[role] = _sign_in(app, email, _password(db.size))
    side.cases = _case_urls(app)
    return side


def _stats(times: list[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, max(0, int(round(0.95 * len(ms))) - 1))]
    return {"n": len(ms), "p50": statistics.median(ms), "p95": p95, "max": ms[-1], "mean": statistics.fmean(ms)}


def _get(side: Side, case: Case) -> float:
    client = side.clients[case.role]
    t = time.perf_counter()
    resp = client.get(case.url)
    elapsed = time.perf_counter() - t
    if resp.status_code != 200:
        raise RuntimeError(f"{side.db.kind} {side.db.size}: GET {case.url} as {case.role} gave HTTP {resp.status_code}")
    return elapsed


def dashboard_ready(side: Side) -> str | None:
    """None when /dashboard answers 200 for the admin; otherwise why not."""
    if "dashboard.index" not in side.app.view_functions and not any(
            r.rule == "/dashboard" for r in side.app.url_map.iter_rules()):
        return "no /dashboard route in the app yet"
    resp = side.clients["admin"].get("/dashboard")
    if resp.status_code != 200:
        return f"/dashboard answered HTTP {resp.status_code} for the admin"
    return None


def _clear_dashboard_cache(app: Any) -> None:
    found = app.extensions.get("lms.dashboard_cache")
    if found is not None:
        found.clear()


def miss_costs(large: Side, requests: int) -> dict[str, Any]:
    """What the admin's ``/dashboard`` costs on the large data right after a change, with the cache on:
    nothing changed (a hit), a registration (the sessions' version moves: the sessions view is drawn
    again), a change of the numbers (every view is). Each change is committed before each request."""
    import sqlalchemy as sa

    from lms.dashboard import summaries
    from lms.db import transaction
    from lms.extensions import db
    from lms.places.models import Region

    def change(metrics: tuple[str, ...]) -> None:
        with large.app.app_context():
            with transaction():
                ids = list(db.session.scalars(sa.select(Region.id)))
                for metric in metrics:
                    summaries.bump_versions(db.session, ids, metric)
            db.session.remove()

    case = Case("admin: /dashboard", "admin", "/dashboard")
    out: dict[str, Any] = {}
    for name, metrics in (("hit", ()), ("after a registration", (summaries.SESSIONS_VERSION,)),
                          ("after a change of the numbers", summaries.VERSIONS)):
        times = []
        for i in range(requests + 3):
            if metrics:
                change(metrics)
            elapsed = _get(large, case)
            if i >= 3:
                times.append(elapsed)
        out[name] = _stats(times)
        print(f"    {name:<32} p50 {out[name]['p50']:7.1f} ms  p95 {out[name]['p95']:7.1f} ms", flush=True)
    return out


def latency(small: Side, large: Side, requests: int, warmup: int) -> dict[str, Any]:
    """Each case on both databases, alternating request by request."""
    out: dict[str, Any] = {}
    for case_small, case_large in zip(small.cases, large.cases):
        for _ in range(warmup):
            _get(small, case_small)
            _get(large, case_large)
        t_small: list[float] = []
        t_large: list[float] = []
        for i in range(requests):
            pair = ((small, case_small, t_small), (large, case_large, t_large))
            for side, case, times in (pair if i % 2 == 0 else pair[::-1]):
                times.append(_get(side, case))
        s, l_ = _stats(t_small), _stats(t_large)
        ratio = l_["p95"] / s["p95"] if s["p95"] else float("inf")
        out[case_small.name] = {"small_url": case_small.url, "large_url": case_large.url, "small": s, "large": l_,
                                "ratio_p95": ratio, "pass": ratio <= LATENCY_TARGET}
        print(f"    {case_small.name:<32} small p95 {s['p95']:7.1f} ms  large p95 {l_['p95']:7.1f} ms  "
              f"ratio {ratio:4.2f}", flush=True)
    return out


# --- throughput under gunicorn -------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_env(db: Database, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process of the app (a server, a worker) on ``db``."""
    return dict(os.environ, LMS_DATABASE_URL=db.url, LMS_SECRET_KEY=SECRET, LMS_INSTANCE_PATH=str(db.instance),
                LMS_SESSION_COOKIE_SECURE="false", LMS_REMEMBER_COOKIE_SECURE="false", **(extra or {}))


def _start_gunicorn(db: Database, port: int, workers: int, *, extra_env: dict[str, str] | None = None,
                    log_name: str | None = None) -> subprocess.Popen[bytes]:
    """gunicorn serving tests.bench_wsgi on ``port``, once it answers the bare route."""
    env = app_env(db, extra_env)
    log = open(BENCH_DIR / (log_name or f"gunicorn-{db.kind}.log"), "wb")
    # gunicorn reads ./gunicorn.conf.py (the production settings); --max-requests 0: no worker is replaced
    # during a measurement (with the production 1000, each would restart every few seconds here, losing its
    # caches and spending a second or two of CPU on starting again)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
                             "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--log-level", "warning",
                             "--max-requests", "0", "tests.bench_wsgi:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log.name}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/_bench/bare")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    _stop(proc)
    raise RuntimeError("gunicorn did not answer within 90 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _cookies_from(resp: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for header in resp.headers.get_all("Set-Cookie") or []:
        c = SimpleCookie()
        c.load(header)
        for name, morsel in c.items():
            jar[name] = morsel.value


def _http_sign_in(port: int, email: str, password: str, code: str | None = None) -> str:
    """Sign in through the form over HTTP; the Cookie header of the signed-in session."""
    jar: dict[str, str] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    html = resp.read().decode()
    _cookies_from(resp, jar)
    m = CSRF_RE.search(html)
    if not m:
        raise RuntimeError("no CSRF token on /login")
    conn.close()
    body = urllib.parse.urlencode({"csrf_token": m.group(1), "email": email, "password": password})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded",
                                          "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 302:
        raise RuntimeError(f"sign-in over HTTP as {email} failed: HTTP {resp.status}")
    _cookies_from(resp, jar)
    if resp.getheader("Location", "").endswith("/login/code") and code is not None:
        # the password step starts a new session (and a new CSRF token): read the code form's
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/login/code", headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
        resp = conn.getresponse()
        m = CSRF_RE.search(resp.read().decode())
        _cookies_from(resp, jar)
        conn.close()
        if not m:
            raise RuntimeError("no CSRF token on /login/code")
        body = urllib.parse.urlencode({"csrf_token": m.group(1), "code": code})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/login/code", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                   "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status != 302:
            raise RuntimeError(f"authenticator step over HTTP as {email} failed: HTTP {resp.status}")
        _cookies_from(resp, jar)
    # the first page after signing in, whose cookies a browser keeps (the session's CSRF token among them)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/home", headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    _cookies_from(resp, jar)
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _window(port: int, path: str, cookie: str, seconds: float, concurrency: int) -> tuple[int, int, float]:
    """Requests answered 200 and failures by ``concurrency`` threads in ``seconds``; the elapsed time."""
    ok = [0] * concurrency
    bad = [0] * concurrency
    start = time.perf_counter()
    stop = start + seconds
    headers = {"Cookie": cookie, "Connection": "keep-alive"}

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop:
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    ok[i] += 1
                else:
                    bad[i] += 1
                if resp.will_close:
                    conn.close()  # sync workers close after each response; the next request reconnects
            except (OSError, http.client.HTTPException):
                bad[i] += 1
                conn.close()
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(ok), sum(bad), time.perf_counter() - start


def throughput(db: Database, *, workers: int, concurrency: int, window: float, rounds: int,
               with_dashboard: bool) -> dict[str, Any]:
    port = _free_port()
    admin = _accounts(db.size)["admin"]
    # the authenticator is set up before the server starts (a write: on SQLite it would wait for the workers)
    code = _totp_code(_app(db.url, db.instance), admin) if with_dashboard else None
    # no notification threads in the workers: they are not what is measured
    proc = _start_gunicorn(db, port, workers, extra_env={"LMS_NOTIFICATIONS_WORKER": "off"})
    try:
        paths = {"bare": "/_bench/bare"}
        cookie = ""
        if with_dashboard:
            cookie = _http_sign_in(port, admin, _password(db.size), code)
            paths["dashboard"] = "/dashboard"
        # warm both workers up (imports, caches, the first connections)
        for path in paths.values():
            _window(port, path, cookie, 1.0, concurrency)
        totals = {name: [0, 0, 0.0] for name in paths}
        for r in range(rounds):
            order = list(paths) if r % 2 == 0 else list(paths)[::-1]
            for name in order:
                ok, bad, elapsed = _window(port, paths[name], cookie, window, concurrency)
                totals[name][0] += ok
                totals[name][1] += bad
                totals[name][2] += elapsed
        out: dict[str, Any] = {"workers": workers, "concurrency": concurrency, "window_s": window, "rounds": rounds}
        for name, (ok, bad, elapsed) in totals.items():
            out[name] = {"requests": ok, "errors": bad, "seconds": elapsed, "rps": ok / elapsed if elapsed else 0.0}
        if with_dashboard:
            out["ratio"] = out["dashboard"]["rps"] / out["bare"]["rps"] if out["bare"]["rps"] else 0.0
            out["pass"] = out["ratio"] >= THROUGHPUT_TARGET and out["dashboard"]["errors"] == 0
        return out
    finally:
        _stop(proc)


# --- the run ---------------------------------------------------------------------------------------

def _print_summary(result: dict[str, Any]) -> None:
    p = result["params"]
    print()
    print(f"Dashboard benchmark summary: small = demo seed, large = {p['managers']:,} managers / "
          f"{p['visits']:,} visits; {result['cores']} cores")
    blocks = [(kind, block, "") for kind, block in result["latency"].items()]
    blocks += [(kind, block, ", dashboard cache off (informational, not a target)")
               for kind, block in result["latency_uncached"].items()]
    for kind, block, label in blocks:
        if "skipped" in block:
            print(f"  {kind}: latency skipped: {block['skipped']}")
            continue
        print(f"  {kind}: latency in process, {result['requests']} requests per case{label} (ms)")
        print(f"    {'case':<32}{'small p50':>10}{'p95':>8}{'max':>8}{'large p50':>11}{'p95':>8}{'max':>8}"
              f"{'p95 ratio':>11}")
        for name, c in block["cases"].items():
            s, l_ = c["small"], c["large"]
            verdict = ("PASS" if c["pass"] else "FAIL") if not label else ""
            print(f"    {name:<32}{s['p50']:>10.1f}{s['p95']:>8.1f}{s['max']:>8.1f}{l_['p50']:>11.1f}"
                  f"{l_['p95']:>8.1f}{l_['max']:>8.1f}{c['ratio_p95']:>7.2f} {verdict}")
    for kind, block in result["after_change"].items():
        print(f"  {kind}: admin /dashboard on the large data right after a change, cache on (ms, informational): "
              + ", ".join(f"{name} p50 {c['p50']:.1f} / p95 {c['p95']:.1f}" for name, c in block.items()))
    for kind, t in result["throughput"].items():
        if "skipped" in t:
            print(f"  {kind}: throughput skipped: {t['skipped']}")
            continue
        line = (f"  {kind}: gunicorn {t['workers']} sync workers, {t['concurrency']} connections, "
                f"{t['rounds']} x {t['window_s']:.0f} s windows each: bare {t['bare']['rps']:.1f} req/s")
        if "dashboard" in t:
            verdict = "PASS" if t["pass"] else "FAIL"
            line += (f", /dashboard {t['dashboard']['rps']:.1f} req/s ({t['dashboard']['errors']} errors), "
                     f"ratio {t['ratio']:.2f} (target >= {THROUGHPUT_TARGET}: {verdict})")
        print(line)
    for note in result["notes"]:
        print(f"  note: {note}")
    print(f"  overall: {'PASS' if result['pass'] else 'FAIL'}   (JSON: {result['json']})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench dashboard", description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=200, help="measured GETs per case (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="warm-up GETs per case (default 20)")
    p.add_argument("--window", type=float, default=5.0, help="seconds per throughput window (default 5)")
    p.add_argument("--rounds", type=int, default=3, help="windows per route (default 3)")
    p.add_argument("--concurrency", type=int, default=6, help="client connections (default 6)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    p.add_argument("--no-pg", action="store_true", help="SQLite only")
    p.add_argument("--no-uncached", action="store_true",
                   help="skip the informational latency pass with the dashboard's cache turned off")
    args = p.parse_args(argv)
    params = Params(managers=int(os.environ.get("BENCH_MANAGERS", DEFAULT_MANAGERS)),
                    visits=int(os.environ.get("BENCH_VISITS", DEFAULT_VISITS)))
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    print(f"Dashboard benchmark: small = demo seed (253 managers), large = {params.managers:,} managers, "
          f"{params.visits:,} visits", flush=True)
    result: dict[str, Any] = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cores": os.cpu_count(),
                              "params": params.as_dict(), "requests": args.requests, "warmup": args.warmup,
                              "databases": {}, "latency": {}, "latency_uncached": {}, "after_change": {},
                              "throughput": {},
                              "notes": [],
                              "json": str(BENCH_DIR / "dashboard.json")}
    kinds: list[tuple[str, Any]] = [("sqlite", None)]
    pg_url = os.environ.get("LMS_BENCH_PG_URL", PG_DEFAULT)
    if args.no_pg:
        result["latency"]["postgresql"] = {"skipped": "--no-pg"}
        result["throughput"]["postgresql"] = {"skipped": "--no-pg"}
    else:
        reason = pg_reachable(pg_url)
        if reason is None:
            kinds.append(("postgresql", pg_url))
        else:
            print(f"  PostgreSQL skipped: {pg_url} is not reachable ({reason})", flush=True)
            result["latency"]["postgresql"] = {"skipped": f"server not reachable: {reason}"}
            result["throughput"]["postgresql"] = {"skipped": f"server not reachable: {reason}"}

    ok = True
    for kind, url in kinds:
        if kind == "sqlite":
            small_db, large_db = sqlite_small(), sqlite_large(params)
        else:
            small_db, large_db = pg_small(url), pg_large(url, params)
        result["databases"][kind] = {"small": small_db.note, "large": large_db.note}
        print(f"  {kind}: small {small_db.note}; large {large_db.note}", flush=True)
        small, large = _side(small_db), _side(large_db)
        # as an app server's worker does once it has built the app (gunicorn.conf.py, post_worker_init)
        from lms.ops.heap import settle

        settle()
        missing = dashboard_ready(small) or dashboard_ready(large)
        if missing:
            ok = False
            result["latency"][kind] = {"skipped": missing}
            result["notes"].append(f"{kind}: the dashboard is not ready ({missing}); only the bare route was measured")
        else:
            print(f"  {kind}: latency ({args.requests} requests per case after {args.warmup} warm-up) …", flush=True)
            cases = latency(small, large, args.requests, args.warmup)
            result["latency"][kind] = {"cases": cases}
            ok &= all(c["pass"] for c in cases.values())
            print(f"  {kind}: the admin's dashboard on the large data after a change (cache on) …", flush=True)
            result["after_change"][kind] = miss_costs(large, max(args.requests // 2, 10))
            if not args.no_uncached:
                # the dashboard caches rendered views (lms.dashboard.cache) and the loop above mostly
                # hits that cache; this pass shows what a miss costs (the first view after a change)
                print(f"  {kind}: latency with the dashboard cache off (DASHBOARD_CACHE_SECONDS=0) …", flush=True)
                for side in (small, large):
                    side.app.config["DASHBOARD_CACHE_SECONDS"] = 0
                    _clear_dashboard_cache(side.app)  # entries made with the longer lifetime would still hit
                result["latency_uncached"][kind] = {"cases": latency(small, large, args.requests, args.warmup)}
        for side in (small, large):
            with side.app.app_context():
                from lms.extensions import db

                db.session.remove()
                db.engine.dispose()
        gc.unfreeze()  # these apps are done with: let them be collected
        print(f"  {kind}: throughput under gunicorn …", flush=True)
        t = throughput(large_db, workers=args.workers, concurrency=args.concurrency, window=args.window,
                       rounds=args.rounds, with_dashboard=not missing)
        result["throughput"][kind] = t
        ok &= bool(t.get("pass", False))
    result["pass"] = ok
    (BENCH_DIR / "dashboard.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    _print_summary(result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
