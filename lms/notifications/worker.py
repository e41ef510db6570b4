"""Who runs the dispatch and the sending: never the request.

``LMS_NOTIFICATIONS_WORKER`` chooses:

* ``thread`` (the default without Redis): one daemon thread per process, woken after every
  commit that wrote an event, and at the next due retry or held message (at least every
  ``NOTIFICATIONS_POLL_SECONDS``). Several processes may run it side by side: events and
  deliveries are claimed with conditional UPDATEs.
* ``rq`` (the default when ``LMS_REDIS_URL`` is set): each wake-up enqueues a ``run`` job on
  the ``notifications`` queue for ``flask --app lms worker``; a run that leaves messages for
  later schedules itself for then (the worker runs RQ's scheduler).
* ``off``: nothing runs by itself; ``flask --app lms notifications run`` (cron) or a test calls
  :func:`dispatch.run_once`.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app, has_app_context

from ..db import utcnow

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
    from redis import Redis
    from rq import Queue

    return Queue(app.config.get("NOTIFICATIONS_QUEUE", QUEUE), connection=Redis.from_url(app.config["REDIS_URL"]))


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
            _rq_queue(app).enqueue_call("lms.notifications.worker.rq_run", result_ttl=0, failure_ttl=24 * 3600,
                                        description="notifications: dispatch and send")
        except Exception:  # Redis down: the change itself is committed; the next wake-up or cron run catches up
            log.exception("could not enqueue the notification run")


_rq_app: Flask | None = None


def rq_run() -> dict[str, int]:
    """The RQ job: one pass; if messages wait for later, run again then."""
    global _rq_app
    from . import dispatch

    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        result = dispatch.run_once()
    else:
        if _rq_app is None:
            from .. import create_app

            _rq_app = create_app()
        app = _rq_app
        with app.app_context():
            result = dispatch.run_once()
    with app.app_context():
        if app.config.get("RETENTION_IN_WORKER", True):
            run_retention_if_due()
        due = dispatch.next_due()
        if due is not None:
            at = max(due, datetime.now(timezone.utc) + timedelta(seconds=1))
            _rq_queue(app).enqueue_at(at, "lms.notifications.worker.rq_run", result_ttl=0,
                                      job_id="lms-notifications-next-run")
    return result
