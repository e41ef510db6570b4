"""JSON API benchmark (``make bench``): list throughput as a ratio to a bare route.

The demo seed (253 managers, ``lms.seed.seed_all()``) in a fresh SQLite file under instance/bench/
(``--db URL`` for another database, e.g. the dashboard benchmark's large one), served by gunicorn
with 2 sync workers from ``tests/bench_wsgi.py`` (the app plus the bare route ``/_bench/bare``).
Threads with keep-alive connections request the bare route and each API list in alternating
windows, with an admin's read token (``Authorization: Bearer``): ``/api/v1/outlets?limit=50``,
``/api/v1/cohorts/<id>/enrolments?limit=50`` and ``/api/v1/sessions?limit=50`` (the demo seed has
10 sessions). The rate limits are counted but set out of reach.

Targets, from the work per request: the bare route answers "ok" with no database; an API page pays
a fixed floor (the token's lookup, both rate-limit windows, argument parsing, the ETag and the
JSON, about 1.2 ms of CPU in process against 0.25 ms for the bare route) plus its rows. Flat rows
(outlets, sessions: about 15 values each) must reach 0.20 x bare; enrolments, each with its seven
stages (about 45 values and 8 objects a row, two and a half times the JSON and twice the CPU of an
outlet page), 0.15 x bare. Measured on 2 cores after the lists read rows instead of ORM objects:
outlets 0.26-0.42, enrolments 0.18-0.28, sessions 0.37-0.48 (the bare route's rate, bounded by
the client's threads, varies most); before, 0.13, 0.05 and 0.13: an ORM cost per row, or a query
per request for reference data, fails these targets.

Prints a table and writes instance/bench/api.json. Run: ``python -m tests.bench api``.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
from typing import Any

from tests.bench_dashboard import (BENCH_DIR, Database, _app, _free_port, _remove_sqlite, _seed_small,
                                   _start_gunicorn, _stop)

#: the least throughput of each list as a share of the bare route's (see the module's docstring)
TARGETS = {"outlets": 0.20, "enrolments": 0.15, "sessions": 0.20}


def _start(db: Database, port: int, workers: int):  # type: ignore[no-untyped-def]
    # the rate limits are counted (their cost is part of every API request) but set out of reach:
    # the benchmark measures the lists, not the limiter's refusals
    return _start_gunicorn(db, port, workers, log_name="gunicorn-api.log", extra_env={
        "LMS_NOTIFICATIONS_WORKER": "off", "LMS_RETENTION_IN_WORKER": "false",
        "LMS_RATELIMIT_API": "100000000/minute", "LMS_RATELIMIT_API_ADDRESS": "100000000/minute"})


def _window(port: int, path: str, headers: dict[str, str], seconds: float, concurrency: int) -> tuple[int, int, float]:
    ok = [0] * concurrency
    bad = [0] * concurrency
    statuses: set[int] = set()
    start = time.perf_counter()
    stop = start + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop:
            try:
                conn.request("GET", path, headers={**headers, "Connection": "keep-alive"})
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    ok[i] += 1
                else:
                    bad[i] += 1
                    statuses.add(resp.status)
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                bad[i] += 1
                conn.close()
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if statuses:
        print(f"  {path}: answers other than 200: {sorted(statuses)}", flush=True)
    return sum(ok), sum(bad), time.perf_counter() - start


def _token_and_paths(db: Database) -> tuple[str, dict[str, str]]:
    import sqlalchemy as sa

    from lms.api import tokens
    from lms.extensions import db as _db
    from lms.people.models import Role, User
    from lms.permissions import SYSTEM
    from lms.programme.models import Cohort

    app = _app(db.url, db.instance)
    with app.app_context():
        admin = _db.session.scalar(sa.select(User).where(User.role == Role.ADMIN, User.active.is_(True)).limit(1))
        secret = tokens.create(SYSTEM, admin, name="bench", scopes=["read"], days=1, source="cli").secret
        cohort_id = _db.session.scalar(sa.select(Cohort.id).order_by(Cohort.id).limit(1))
        _db.session.remove()
        _db.engine.dispose()
    return secret, {"outlets": "/api/v1/outlets?limit=50",
                    "enrolments": f"/api/v1/cohorts/{cohort_id}/enrolments?limit=50",
                    "sessions": "/api/v1/sessions?limit=50"}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench api", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", help="database URL (default: a fresh demo seed in instance/bench/api.sqlite3)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--window", type=float, default=3.0, help="seconds per window (default 3)")
    p.add_argument("--rounds", type=int, default=2)
    args, _unknown = p.parse_known_args(argv)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    instance = BENCH_DIR / "api-instance"
    instance.mkdir(exist_ok=True)
    if args.db:
        db = Database("custom", "given", args.db, instance, "given")
    else:
        path = BENCH_DIR / "api.sqlite3"
        _remove_sqlite(path)
        url = f"sqlite:///{path}"
        print("api: seeding the demo data …", flush=True)
        db = Database("sqlite", "small", url, instance, f"built in {_seed_small(url, instance):.1f} s")
    secret, lists = _token_and_paths(db)
    port = _free_port()
    proc = _start(db, port, args.workers)
    try:
        paths = {"bare": "/_bench/bare", **lists}
        auth = {"Authorization": f"Bearer {secret}"}
        for name, path in paths.items():  # warm up; every list must answer 200
            ok, bad, _t = _window(port, path, auth, 1.0, args.concurrency)
            if bad:
                raise RuntimeError(f"{path}: {bad} failed requests")
        totals = {name: [0, 0, 0.0] for name in paths}
        for r in range(args.rounds):
            for name in (list(paths) if r % 2 == 0 else list(paths)[::-1]):
                ok, bad, elapsed = _window(port, paths[name], auth, args.window, args.concurrency)
                totals[name][0] += ok
                totals[name][1] += bad
                totals[name][2] += elapsed
    finally:
        _stop(proc)
    rps = {n: (ok / t if t else 0.0) for n, (ok, _b, t) in totals.items()}
    result: dict[str, Any] = {"db": db.note, "workers": args.workers, "concurrency": args.concurrency,
                              "window_s": args.window, "rounds": args.rounds, "cores": os.cpu_count(), "lists": {}}
    print(f"\nAPI benchmark: gunicorn {args.workers} sync workers, {args.concurrency} connections, "
          f"{args.rounds} x {args.window:.0f} s windows; database: {db.kind} {db.size} ({db.note})")
    print(f"  bare route: {rps['bare']:.1f} req/s")
    status = 0
    for name in lists:
        ratio = rps[name] / rps["bare"] if rps["bare"] else 0.0
        target = TARGETS[name]
        ok = ratio >= target and totals[name][1] == 0
        status |= 0 if ok else 1
        result["lists"][name] = {"path": paths[name], "rps": rps[name], "errors": totals[name][1], "ratio": ratio,
                                 "target": target, "pass": ok}
        print(f"  {paths[name]:<44} {rps[name]:>8.1f} req/s  {ratio:>5.2f} x bare  "
              f"{'PASS' if ok else 'FAIL'} (target >= {target})")
    result["bare_rps"] = rps["bare"]
    (BENCH_DIR / "api.json").write_text(json.dumps(result, indent=2))
    return status
