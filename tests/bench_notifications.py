"""Notifications benchmark (``make bench``): a coordinator moves a Bimtek with 253 registrants.

Side by side, in one run on a freshly migrated SQLite file: the coordinator's change to the
session (the service call a request makes) with the event announced (outbox row written in the
same transaction) and with events muted (the application before notifications), alternating,
``--rounds`` times each; then the worker's dispatch (253 in-app notifications + 253 e-mails with
the session's .ics) and the sending of the 253 e-mails to a local aiosmtpd server: the time
until the server holds them all, and the Python memory peak (tracemalloc) of the whole pass for
253 and for 2 × 253 registrants (flat per message when the peak does not grow with the count).

Run: ``python -m tests.bench notifications`` (``--registrants N``, ``--rounds N``).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any


def _world(n: int) -> tuple[Any, Any, Any]:
    import sqlalchemy as sa

    from lms.db import transaction
    from lms.extensions import db
    from lms.notifications import events
    from lms.sessions.models import Registration, RegistrationStatus, TrainingSession
    from tests.factories import Factory

    f = Factory(db)
    with events.muted():
        cohort = f.cohort(regions=("3171",))
        coordinator = f.user("coordinator", region="3171")
        s = f.training_session(cohort, "3171", capacity=n, starts_in=timedelta(days=3))
        users = f.enrolled_trainees(n, cohort, region="3171")
        with transaction():
            db.session.add_all([Registration(session_id=s.id, user_id=u.id, status=RegistrationStatus.REGISTERED)
                                for u in users])
            db.session.execute(sa.update(TrainingSession).where(TrainingSession.id == s.id).values(seats_taken=n))
    return coordinator, s, cohort


def _move(coordinator: Any, s: Any, minutes: int) -> float:
    from lms.sessions import services as sessions

    s = sessions.session_detail(s.id)
    data = sessions.SessionInput(
        title=s.title, stage_key=s.stage_key, cohort_id=s.cohort_id, region_id=s.region_id,
        venue_name=s.venue_name, venue_address=s.venue_address,
        starts_at=s.starts_at + timedelta(minutes=minutes), ends_at=s.ends_at + timedelta(minutes=minutes),
        capacity=s.capacity, certificate_kind=s.certificate_kind)
    t0 = time.perf_counter()
    sessions.update_session(coordinator, s, data)
    return time.perf_counter() - t0


def _run(n: int, rounds: int, tmp: Path) -> dict[str, Any]:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from lms import create_app
    from lms.extensions import db
    from lms.notifications import dispatch, events
    from lms.notifications.models import Delivery, OutboxEvent
    from tests.servers import SMTPServer

    smtp = SMTPServer().start()
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp / f'n{n}.sqlite3'}",
                      "INSTANCE_PATH": str(tmp / "instance"), **smtp.config()})
    out: dict[str, Any] = {"registrants": n}
    try:
        with app.app_context():
            upgrade()
            t = time.perf_counter()
            coordinator, s, _c = _world(n)
            print(f"    world of {n}: {time.perf_counter() - t:.1f} s", flush=True)
            with_events, muted = [], []
            for i in range(rounds):
                with events.muted():
                    muted.append(_move(coordinator, s, 5))
                with_events.append(_move(coordinator, s, -5))
            print(f"    {rounds} changes each way: done", flush=True)
            out["request_muted_ms"] = statistics.median(muted) * 1000
            out["request_events_ms"] = statistics.median(with_events) * 1000
            # only the last change's messages are sent: the earlier events are marked dispatched unsent
            last = db.session.scalar(sa.select(sa.func.max(OutboxEvent.id)))
            db.session.execute(sa.update(OutboxEvent).where(OutboxEvent.id != last).values(status="dispatched"))
            db.session.commit()
            tracemalloc.start()
            t0 = time.perf_counter()
            dispatch.run_once()
            while len(smtp.messages) < n and time.perf_counter() - t0 < 300:
                time.sleep(0.01)
            out["send_s"] = time.perf_counter() - t0
            print(f"    dispatch and send: {out['send_s']:.1f} s, {len(smtp.messages)} e-mails", flush=True)
            _cur, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out["peak_mb"] = peak / 1e6
            out["received"] = len(smtp.messages)
            out["sent_rows"] = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)
                                                 .where(Delivery.status == "sent"))
            db.session.remove()
            db.engine.dispose()
    finally:
        smtp.stop()
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench notifications", description=__doc__.split("\n")[0])
    p.add_argument("--registrants", type=int, default=253)
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args(argv)
    print(f"Notifications benchmark: a session with {args.registrants} registrants is moved "
          f"({args.rounds} rounds each, alternating)", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="lms-bench-notify-") as tmp:
        for n in (args.registrants, args.registrants * 2):
            results.append(_run(n, args.rounds, Path(tmp)))
            print(f"  {n} registrants: done", flush=True)
    print(f"\n  {'registrants':>11}{'change, muted ms':>18}{'change, event ms':>18}{'added ms':>10}"
          f"{'dispatch+send s':>17}{'e-mails':>9}{'peak MB':>9}{'KB/message':>12}")
    for r in results:
        print(f"  {r['registrants']:>11}{r['request_muted_ms']:>18.1f}{r['request_events_ms']:>18.1f}"
              f"{r['request_events_ms'] - r['request_muted_ms']:>10.1f}{r['send_s']:>17.2f}{r['received']:>9}"
              f"{r['peak_mb']:>9.1f}{r['peak_mb'] * 1000 / r['registrants']:>12.1f}")
    ok = all(r["received"] == r["registrants"] == r["sent_rows"] for r in results)
    if not ok:
        print("  ERROR: not every e-mail arrived")
    return 0 if ok else 1


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
