"""Who runs the dispatch and the sending: never the request.

``LMS_NOTIFICATIONS_WORKER`` chooses:

* ``thread`` (the default without Redis): one daemon thread per process, woken after every
  commit that wrote an event, and at the next due retry or held message (at least every
  ``NOTIFICATIONS_POLL_SECONDS``). Several processes may run it side by side: events and
  deliveries are claimed with conditional UPDATEs.
* ``rq`` (the default when ``LMS_REDIS_URL`` is set): a wake-up enqueues a ``run`` job on the
  ``notifications`` queue for ``flask --app lms worker``, unless one is already waiting there
  (PENDING_SECONDS); a run that leaves messages for later schedules itself for then (the worker
  runs RQ's scheduler).
* ``off``: nothing runs by itself; ``flask --app lms notifications run`` (cron) or a test calls
  :func:`dispatch.run_once`.

Without the thread (``rq``, ``off``) the hourly reminders and the daily retention run come from
``flask --app lms scheduler`` (:func:`run_scheduler`), which also starts a notifications run every
``NOTIFICATIONS_POLL_SECONDS``: one such process per deployment, beside ``flask --app lms worker``.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app, has_app_context

from ..db import utcnow
from ..ops.redis_client import client as redis_client

log = logging.getLogger(__name__)

QUEUE = "notifications"


def mode(app: Flask) -> str:
    chosen = app.config.get("NOTIFICATIONS_WORKER")
    if chosen:
        return str(chosen)
    return "rq" if app.config.get("REDIS_URL") else "thread"


class _ThreadWorker:
    def __init__(self) -> None:
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.idle = threading.Event()
        self.app: Flask | None = None
        self.stopping = False

    def kick(self, app: Flask) -> None:
        with self.lock:
            self.app = app
            self.stopping = False
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="notifications-worker", daemon=True)
                self.thread.start()
        self.idle.clear()
        self.wake.set()

    def _run(self) -> None:
        from . import dispatch, reminders

        last_reminders: datetime | None = None
        last_retention: datetime | None = None
        while not self.stopping:
            app = self.app
            assert app is not None
            self.wake.clear()
            poll = float(app.config.get("NOTIFICATIONS_POLL_SECONDS", 60))
            timeout = poll
            try:
                with app.app_context():
                    dispatch.run_once()
                    now = utcnow()
                    if app.config.get("NOTIFICATIONS_REMINDERS_IN_WORKER", True) and (
                            last_reminders is None or now - last_reminders > timedelta(hours=1)):
                        reminders.run_all(now)
                        last_reminders = now
                        dispatch.run_once()
                    if app.config.get("RETENTION_IN_WORKER", True) and (
                            last_retention is None or now - last_retention > timedelta(hours=1)):
                        last_retention = now
                        run_retention_if_due()
                    due = dispatch.next_due()
                    if due is not None:
                        timeout = max(0.5, min(poll, (due - utcnow()).total_seconds()))
            except Exception:
                log.exception("notification worker pass failed")
            self.idle.set()
            self.wake.wait(timeout)

    def stop(self, timeout: float = 10) -> None:
        """Let the thread finish its pass and end (tests; a process shutting down)."""
        self.stopping = True
        self.wake.set()
        thread = self.thread
        if thread is not None:
            thread.join(timeout)
        self.thread = None

    def wait_idle(self, timeout: float = 10) -> bool:
        """Wait until the worker has finished a pass after the last wake-up (tests, benchmarks)."""
        return self.idle.wait(timeout)


WORKER = _ThreadWorker()


def run_retention_if_due() -> None:
    """The personal-data retention rules, at most once a day (lms/privacy/retention.py); the worker
    asks hourly. A failure is logged and never stops the sending."""
    try:
        from ..privacy import retention

        retention.run_if_due()
    except Exception:
        log.exception("retention run failed")


def _rq_queue(app: Flask):  # type: ignore[no-untyped-def]
    from rq import Queue

    return Queue(app.config.get("NOTIFICATIONS_QUEUE", QUEUE), connection=redis_client(app))


#: While this Redis key exists, a wake-up run waits in the queue, and a commit's wake-up need not
#: enqueue another: the waiting run will read its events. The run deletes the key as it starts, so
#: an event committed after that enqueues a new run. A morning of registrations and check-ins thus
#: costs the request one SET, not a job each, and the worker one run per burst. The key expires by
#: itself: a run lost before it started (a worker killed, a flushed Redis) holds the next wake-up
#: back by at most this long, and the scheduler's poll catches up meanwhile.
PENDING_SECONDS = 60


def _pending_key(app: Flask) -> str:
    return f"lms:{app.config.get('NOTIFICATIONS_QUEUE', QUEUE)}:wake-up-pending"


def kick() -> None:
    """Called after a commit that wrote events."""
    if not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    how = mode(app)
    if how == "thread":
        WORKER.kick(app)
    elif how == "rq":
        try:
            conn, key = redis_client(app), _pending_key(app)
            if conn.set(key, "1", nx=True, ex=PENDING_SECONDS):
                try:
                    _rq_queue(app).enqueue_call("lms.notifications.worker.rq_run", result_ttl=0,
                                                failure_ttl=24 * 3600, description="notifications: dispatch and send")
                except Exception:
                    conn.delete(key)
                    raise
        except Exception:  # Redis down: the change itself is committed; the next wake-up or cron run catches up
            log.exception("could not enqueue the notification run")


def _started(app: Flask) -> None:
    """A run starts: events committed from now on need a run of their own (see PENDING_SECONDS)."""
    if mode(app) == "rq" and app.config.get("REDIS_URL"):
        try:
            redis_client(app).delete(_pending_key(app))
        except Exception:  # the key expires by itself
            log.exception("could not clear the pending wake-up")


_rq_app: Flask | None = None


def rq_run() -> dict[str, int]:
    """The RQ job: one pass; if messages wait for later, run again then."""
    global _rq_app
    from . import dispatch

    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        _started(app)
        result = dispatch.run_once()
    else:
        if _rq_app is None:
            from .. import create_app

            _rq_app = create_app()
        app = _rq_app
        with app.app_context():
            _started(app)
            result = dispatch.run_once()
    with app.app_context():
        if app.config.get("RETENTION_IN_WORKER", True):
            run_retention_if_due()
        due = dispatch.next_due()
        if due is not None:
            from rq import get_current_job

            at = max(due, datetime.now(timezone.utc) + timedelta(seconds=1))
            # one job per due second, so runs scheduled for the same moment collapse into one; never
            # this run's own id: RQ deletes a finished result_ttl=0 job by its id, and the new
            # schedule with it (a run that started a moment early, on a clock behind the scheduler's)
            current = get_current_job()
            if current is not None and current.id == _run_at_id(at):
                at += timedelta(seconds=1)
            _rq_queue(app).enqueue_at(at, "lms.notifications.worker.rq_run", result_ttl=0, job_id=_run_at_id(at))
    return result


def _run_at_id(at: datetime) -> str:
    return f"lms-notifications-run-at-{int(at.timestamp())}"


# --- the periodic work without the thread: ``flask --app lms scheduler`` ------------------------------

#: the id of the scheduler's notifications run on RQ (at most one waits in the queue)
PERIODIC_JOB_ID = "lms-notifications-periodic-run"
HOURLY = timedelta(hours=1)


def enqueue_periodic_run(app: Flask) -> bool:
    """Put one notifications run on RQ unless the previous one is still waiting or running (a worker
    that is down does not find a pile of them when it comes back). True when enqueued."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    q = _rq_queue(app)
    try:
        job = Job.fetch(PERIODIC_JOB_ID, connection=q.connection)
        if job.get_status() in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
            return False
        job.delete()
    except NoSuchJobError:
        pass
    q.enqueue_call("lms.notifications.worker.rq_run", job_id=PERIODIC_JOB_ID, result_ttl=0, failure_ttl=3600,
                   description="notifications: periodic dispatch and send")
    return True


def periodic_pass(app: Flask, last: dict[str, datetime], now: datetime | None = None) -> dict[str, object]:
    """One pass of the scheduler, the in-process thread's timetable without the thread: the
    reminders (hourly), the retention rules (asked hourly, run daily), and a notifications run
    (enqueued on RQ in ``rq`` mode, so the sending stays in the worker; done here otherwise), which
    also catches a wake-up lost while Redis was away. ``last`` remembers the hourly tasks between
    passes. Every task is idempotent (reminders have a key per period, retention checks its last
    run, sending claims rows), so a second scheduler by mistake repeats only harmless work."""
    from . import dispatch, reminders

    now = now or utcnow()
    out: dict[str, object] = {}
    with app.app_context():
        if "reminders" not in last or now - last["reminders"] >= HOURLY:
            last["reminders"] = now
            try:
                out["reminders"] = reminders.run_all(now)
            except Exception:
                log.exception("reminders run failed")
        if "retention" not in last or now - last["retention"] >= HOURLY:
            last["retention"] = now
            run_retention_if_due()
        try:
            out["run"] = enqueue_periodic_run(app) if mode(app) == "rq" else dispatch.run_once()
        except Exception:
            log.exception("periodic notifications run failed")
    return out


def run_scheduler(app: Flask, *, stop: threading.Event | None = None) -> None:
    """``flask --app lms scheduler``: :func:`periodic_pass` every ``NOTIFICATIONS_POLL_SECONDS``
    until SIGTERM or SIGINT (or ``stop`` is set)."""
    import signal

    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    last: dict[str, datetime] = {}
    while not stop.is_set():
        out = periodic_pass(app, last)
        log.info("scheduler pass: %s", out)
        stop.wait(float(app.config.get("NOTIFICATIONS_POLL_SECONDS", 60)))
