"""Bulk runs in the background, and where certificates are rendered.

Two ways to run a bulk job:

* ``LMS_REDIS_URL`` set: the job's items are enqueued on RQ in chunks, so several RQ
  workers (``flask --app lms worker``, two by default) share the run; each work horse
  renders in its own main thread with a CPU-time limit.
* otherwise (the default SQLite set-up): one worker thread per process takes jobs from a
  queue, writes to the database itself and hands rendering to a small process pool
  (``CERTIFICATE_RENDER_PROCESSES``, two by default), which keeps both cores busy.

Each item is issued (one transaction), rendered, and stored (one transaction that also
counts it done); an item that fails is counted failed with its reason and the others go
on. A retry puts failed items back. Counting uses conditional UPDATEs, so an item that two
workers happen to process is still counted once.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable

import click
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from ..db import transaction, utcnow
from ..extensions import db
from ..ops import metrics
from .models import Certificate, CertificateJob, CertificateJobItem, JobItemStatus

log = logging.getLogger(__name__)


# --- rendering: inline or in the pool --------------------------------------------------------

class InlineRenderer:
    """Render in this thread (RQ work horses, and CERTIFICATE_RENDER_PROCESSES = 0)."""

    processes = 1

    def submit(self, design_path: str, context: dict[str, Any], time_limit: float | None) -> Future[bytes]:
        from .render import render_pdf

        fut: Future[bytes] = Future()
        started = time.perf_counter()
        try:
            fut.set_result(render_pdf(design_path, context, time_limit))
        except Exception as e:
            fut.set_exception(e)
        return metrics.observe_render(fut, started)  # counted and timed on /metrics


class PoolRenderer:
    """Render in this process's render pool."""

    def __init__(self, processes: int, max_tasks_per_child: int | None):
        from . import render

        self.pool = render.pool(processes, max_tasks_per_child)
        self.processes = processes

    def submit(self, design_path: str, context: dict[str, Any], time_limit: float | None) -> Future[bytes]:
        started = time.perf_counter()
        return metrics.observe_render(self.pool.submit(design_path, context, time_limit), started)


def renderer(app: Flask | None = None) -> InlineRenderer | PoolRenderer:
    app = app or current_app
    n = int(app.config.get("CERTIFICATE_RENDER_PROCESSES", 2) or 0)
    if n <= 0:
        return InlineRenderer()
    return PoolRenderer(n, app.config.get("CERTIFICATE_RENDER_MAX_TASKS_PER_CHILD") or None)


def _limits() -> tuple[float, float]:
    cpu = float(current_app.config.get("CERTIFICATE_RENDER_TIME_LIMIT", 20))
    return cpu, cpu * 3 + 15  # CPU seconds per render; wall-clock backstop (includes waiting in the pool)


def _result(fut: Future[bytes], wall: float) -> bytes:
    from . import render

    try:
        return fut.result(timeout=wall)
    except FutureTimeout:
        # a render process is stuck beyond its own CPU limit: kill the pool, make a new one next time
        render.reset_pool()
        raise render.RenderTimeout(f"no result after {wall:g} s") from None
    except render.RenderError:
        raise
    except Exception as e:  # a worker died (BrokenProcessPool), or the pool was reset
        render.reset_pool() if "Broken" in type(e).__name__ else None
        raise render.RenderError(f"{type(e).__name__}: {e}") from None


def render_context(cert: Certificate) -> dict[str, Any]:
    """What a render process gets: the printed texts, the key to sign with and the credential to attach
    (made here, before the render: signing.render_extras)."""
    from . import services, signing

    return {**services.render_context(cert), **signing.render_extras(cert)}


def render_now(cert: Certificate) -> bytes:
    """Render one certificate and wait (lazy rendering on first download)."""
    from . import services

    design = services.design_for(cert.kind)
    cpu, wall = _limits()
    fut = renderer().submit(str(design.path), render_context(cert), cpu)
    return _result(fut, wall)


# --- processing a job -------------------------------------------------------------------------

def _finish(job_id: int, item_id: int, cert_id: int | None, error: str | None) -> None:
    """Record an item's outcome and count it, once (a conditional UPDATE on the pending item)."""
    ok = error is None
    with transaction():
        n = db.session.execute(
            sa.update(CertificateJobItem)
            .where(CertificateJobItem.id == item_id, CertificateJobItem.status == JobItemStatus.PENDING)
            .values(status=JobItemStatus.DONE if ok else JobItemStatus.FAILED, certificate_id=cert_id,
                    error=None if ok else error[:500], attempts=CertificateJobItem.attempts + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        if n:
            counter = CertificateJob.done if ok else CertificateJob.failed
            db.session.execute(sa.update(CertificateJob).where(CertificateJob.id == job_id)
                               .values({counter: counter + 1}).execution_options(synchronize_session=False))
            db.session.execute(sa.update(CertificateJob).where(
                CertificateJob.id == job_id, CertificateJob.finished_at.is_(None),
                CertificateJob.done + CertificateJob.failed >= CertificateJob.total)
                .values(finished_at=utcnow()).execution_options(synchronize_session=False))


def _error_text(e: BaseException) -> str:
    from ..errors import Invalid

    if isinstance(e, Invalid):
        return str(e)
    return f"{type(e).__name__}: {e}" if not str(e).startswith(type(e).__name__) else str(e)


def _issue_item(actor: Any, item: CertificateJobItem, job: CertificateJob) -> Certificate:
    from ..people.models import User
    from ..programme.models import Enrolment
    from ..sessions.models import TrainingSession
    from . import services

    design = services.design_for(job.kind)
    if job.scope == "session":
        session = db.session.get(TrainingSession, item.subject_id)
        holder = db.session.get(User, item.holder_id)
        assert session is not None and holder is not None
        return services.issue_for_session(actor, design, session, holder).certificate
    enrolment = db.session.get(Enrolment, item.subject_id)
    assert enrolment is not None
    return services.issue_for_enrolment(actor, design, enrolment).certificate


@metrics.timed_job("certificates")
def process(job_id: int, item_ids: list[int] | None = None, *, render_with: Any = None) -> None:
    """Issue and render the job's pending items (all, or ``item_ids``). Runs inside an app context."""
    from ..permissions import SYSTEM
    from . import services

    job = db.session.get(CertificateJob, job_id)
    if job is None:
        return
    actor = job.created_by if job.created_by is not None and job.created_by.active else SYSTEM
    design = services.design_for(job.kind)
    render_with = render_with or renderer()
    cpu, wall = _limits()
    hook: Callable[[Certificate], None] | None = current_app.config.get("CERTIFICATE_RENDER_HOOK")
    with transaction():
        db.session.execute(sa.update(CertificateJob).where(CertificateJob.id == job_id,
                                                           CertificateJob.started_at.is_(None))
                           .values(started_at=utcnow()).execution_options(synchronize_session=False))
    q = sa.select(CertificateJobItem.id).where(CertificateJobItem.job_id == job_id,
                                               CertificateJobItem.status == JobItemStatus.PENDING)
    if item_ids is not None:
        q = q.where(CertificateJobItem.id.in_(item_ids))
    ids = list(db.session.scalars(q.order_by(CertificateJobItem.id)))
    in_flight: deque[tuple[int, int, Future[bytes]]] = deque()
    window = max(2, 2 * getattr(render_with, "processes", 1))

    def collect(entry: tuple[int, int, Future[bytes]]) -> None:
        item_id, cert_id, fut = entry
        try:
            services.store_pdf(cert_id, _result(fut, wall), then=lambda: _finish(job_id, item_id, cert_id, None))
        except Exception as e:
            log.warning("certificate job %s item %s: render failed: %s", job_id, item_id, e)
            db.session.rollback()
            _finish(job_id, item_id, cert_id, _error_text(e))

    for item_id in ids:
        try:
            item = db.session.get(CertificateJobItem, item_id)
            if item is None or item.status is not JobItemStatus.PENDING:
                continue
            cert = _issue_item(actor, item, job)
            if hook is not None:
                hook(cert)
            if cert.pdf_path:
                _finish(job_id, item_id, cert.id, None)
                continue
            fut = render_with.submit(str(design.path), render_context(cert), cpu)
        except Exception as e:
            log.warning("certificate job %s item %s failed: %s", job_id, item_id, e)
            db.session.rollback()
            _finish(job_id, item_id, None, _error_text(e))
            continue
        in_flight.append((item_id, cert.id, fut))
        while len(in_flight) >= window:
            collect(in_flight.popleft())
        db.session.expire_all()
    while in_flight:
        collect(in_flight.popleft())
    db.session.expire_all()


# --- the in-process worker (no Redis) -----------------------------------------------------------

class _Worker:
    """One thread per process: takes (app, job id, item ids) from a queue and processes them in order."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[Flask, int, list[int] | None]] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, app: Flask, job_id: int, item_ids: list[int] | None = None) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="certificate-worker", daemon=True)
                self.thread.start()
        self.queue.put((app, job_id, item_ids))

    def _run(self) -> None:
        while True:
            app, job_id, item_ids = self.queue.get()
            try:
                with app.app_context():
                    process(job_id, item_ids, render_with=renderer(app))
            except Exception:
                log.exception("certificate job %s stopped", job_id)
            finally:
                self.queue.task_done()

    def join(self) -> None:
        """Wait until every submitted job has been processed (tests, the benchmark)."""
        self.queue.join()


WORKER = _Worker()


# --- RQ -------------------------------------------------------------------------------------------

#: items per RQ job: small enough that two workers share a run of 253
RQ_CHUNK = 16


def _rq_queue(app: Flask):  # type: ignore[no-untyped-def]
    from rq import Queue

    from ..ops.redis_client import client

    return Queue(app.config.get("CERTIFICATE_QUEUE", "certificates"), connection=client(app))


def dispatch(job_id: int, item_ids: list[int] | None = None) -> None:
    """Hand a job (its pending items) to RQ when LMS_REDIS_URL is set, else to this process's worker thread."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        WORKER.submit(app, job_id, item_ids)
        return
    if item_ids is None:
        item_ids = list(db.session.scalars(sa.select(CertificateJobItem.id).where(
            CertificateJobItem.job_id == job_id, CertificateJobItem.status == JobItemStatus.PENDING)
            .order_by(CertificateJobItem.id)))
    q = _rq_queue(app)
    cpu, wall = _limits()
    for i in range(0, len(item_ids), RQ_CHUNK):
        chunk = item_ids[i:i + RQ_CHUNK]
        q.enqueue_call("lms.certification.jobs.rq_process", args=(job_id, chunk),
                       timeout=int(wall * len(chunk) + 60), result_ttl=3600, failure_ttl=7 * 24 * 3600,
                       description=f"certificates job {job_id} ({len(chunk)} items)")


_rq_app: Flask | None = None


def rq_process(job_id: int, item_ids: list[int]) -> None:
    """The RQ job: process a chunk of a bulk run, rendering inline (CPU-time limited)."""
    global _rq_app
    if has_app_context():
        process(job_id, item_ids, render_with=InlineRenderer())
        return
    if _rq_app is None:
        from .. import create_app

        _rq_app = create_app()
    with _rq_app.app_context():
        process(job_id, item_ids, render_with=InlineRenderer())


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="RQ worker processes (one per core).")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(workers: int, burst: bool) -> None:
    """Run RQ workers, with RQ's scheduler, on the app's queues: bulk certificate runs, and the
    notifications queue (messages, webhooks, "Data saya" copies). Needs LMS_REDIS_URL; the hourly
    and daily work comes from `flask --app lms scheduler`."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("LMS_REDIS_URL is not set: without Redis, bulk runs use the in-process worker")
    from . import render, signing  # noqa: F401  (import WeasyPrint and pyHanko once, before the work horses fork)

    try:  # and load the signing key once: every work horse inherits it
        signing.load(signing.signer_spec())
    except signing.SigningError as e:
        click.echo(f"warning: certificates cannot be signed: {e}", err=True)

    # bulk certificates, and the notifications' dispatch and sending (lms/notifications/worker.py)
    names = [current_app.config.get("CERTIFICATE_QUEUE", "certificates"),
             current_app.config.get("NOTIFICATIONS_QUEUE", "notifications")]
    from redis import Redis

    conn = Redis.from_url(url)
    # a forked process (a work horse, a WorkerPool's worker) never uses a database connection of the one it was
    # forked from: the notifications jobs run in this process and open some (lms.certification.rq_worker)
    engine = db.engine
    engine.dispose()
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    from .rq_worker import LmsWorker

    # the notifications run in the worker itself, without a fork, in a context of this app
    LmsWorker.inline_queues = frozenset({names[1]})
    LmsWorker.app = current_app._get_current_object()  # type: ignore[attr-defined]
    nice = max(0, min(int(current_app.config.get("WORKER_NICE") or 0), 19))
    if nice:
        os.nice(nice)  # the app servers' requests first (config.py, WORKER_NICE); the horses inherit it
    from ..ops.warm import ready_to_serve

    # the templates (messages) compiled, the languages loaded, the app's objects out of the collector's
    # full passes (lms/ops/warm.py); the horses inherit all three
    ready_to_serve(current_app._get_current_object())  # type: ignore[attr-defined]
    if workers <= 1:
        # with RQ's scheduler: messages held for quiet hours or a retry are enqueued at their time
        LmsWorker(names, connection=conn).work(burst=burst, with_scheduler=True)
    else:
        from rq.worker_pool import WorkerPool

        WorkerPool(names, connection=conn, num_workers=workers,  # runs the scheduler too
                   worker_class=LmsWorker).start(burst=burst)
