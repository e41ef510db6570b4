"""Metrics for Prometheus (prometheus-client), served at ``/metrics`` (lms/ops/views.py).

What is measured (every label has a small, fixed set of values: URL rule templates, never paths;
no names, no addresses, no user ids):

``lms_http_request_duration_seconds{route, method}``
    histogram of the time each request took, per URL rule (``/outlets/<int:outlet_id>``) and method
``lms_http_errors_total{route, method, status}``
    answers with a 4xx or 5xx status, by exact status
``lms_messages_total{channel, outcome}``
    e-mail and WhatsApp deliveries settled as ``sent`` or ``failed`` (lms/notifications/dispatch.py)
``lms_webhook_deliveries_total{outcome}``
    webhook attempts settled: ``delivered``, ``failed``, ``retry``, ``skipped`` (lms/webhooks/delivery.py)
``lms_certificates_rendered_total``, ``lms_certificate_render_failures_total``,
``lms_certificate_render_seconds``
    certificate PDFs rendered, renders that failed, and the time from handing a certificate to
    the renderer to its PDF (in the render pool this includes a short wait for a free process)
``lms_job_duration_seconds{job}``
    background work where it runs: ``certificates`` (a bulk run, or one RQ chunk of it),
    ``notifications`` (one dispatch-and-send pass)
``lms_rq_queue_length{queue}``, ``lms_rq_failed_jobs{queue}``, ``lms_redis_up``
    asked of Redis at scrape time, when ``REDIS_URL`` is set

Several processes: when ``PROMETHEUS_MULTIPROC_DIR`` is set (gunicorn with several workers, and
``flask worker`` given the same folder, on the same machine) every process writes its values to
files there and a scrape adds them up (prometheus-client's multiprocess mode); gunicorn.conf.py
empties the folder when gunicorn starts (``on_starting``) and marks ended workers (``child_exit``).
Without it, each process counts in its own memory (``flask run``, one worker).
"""
from __future__ import annotations

import functools
import logging
import os
import time
from concurrent.futures import Future
from typing import Any, Callable, Iterable, TypeVar

from flask import current_app, has_app_context
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: the metrics of this process (single-process mode); multiprocess scrapes read the files instead
REGISTRY = CollectorRegistry()

REQUEST_SECONDS = Histogram(
    "lms_http_request_duration_seconds", "Time to answer a request, by URL rule and method.",
    ["route", "method"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
HTTP_ERRORS = Counter(
    "lms_http_errors", "Answers with a 4xx or 5xx status, by URL rule, method and status.",
    ["route", "method", "status"], registry=REGISTRY)
MESSAGES = Counter(
    "lms_messages", "E-mail and WhatsApp messages settled, by channel and outcome (sent, failed).",
    ["channel", "outcome"], registry=REGISTRY)
WEBHOOKS = Counter(
    "lms_webhook_deliveries", "Webhook attempts settled, by outcome (delivered, failed, retry, skipped).",
    ["outcome"], registry=REGISTRY)
CERTIFICATES_RENDERED = Counter(
    "lms_certificates_rendered", "Certificate PDFs rendered.", registry=REGISTRY)
CERTIFICATE_RENDER_FAILURES = Counter(
    "lms_certificate_render_failures", "Certificate renders that failed (an error or a time limit).",
    registry=REGISTRY)
CERTIFICATE_RENDER_SECONDS = Histogram(
    "lms_certificate_render_seconds", "Time from handing a certificate to the renderer to its PDF.",
    registry=REGISTRY, buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0))
JOB_SECONDS = Histogram(
    "lms_job_duration_seconds", "Background work, by job (certificates, notifications).",
    ["job"], registry=REGISTRY, buckets=(0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0))

#: label values outside these sets are counted as "other" (bounded cardinality, whatever a caller passes)
CHANNELS = frozenset({"email", "whatsapp", "sms", "in_app"})
MESSAGE_OUTCOMES = frozenset({"sent", "failed"})
WEBHOOK_OUTCOMES = {"delivered": "delivered", "failed": "failed", "pending": "retry", "skipped": "skipped"}
JOBS = frozenset({"certificates", "notifications"})


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


# --- recording --------------------------------------------------------------------------------------

def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """One answered request (called with the access line, lms/ops/logs.py)."""
    try:
        REQUEST_SECONDS.labels(route, method).observe(seconds)
        if status >= 400:
            HTTP_ERRORS.labels(route, method, str(status)).inc()
    except Exception:  # a full disk in multiprocess mode must not turn an answer into an error
        log.warning("could not record request metrics", exc_info=True)


def count_message(channel: str, outcome: str) -> None:
    """A delivery settled (lms/notifications/dispatch.py)."""
    MESSAGES.labels(channel if channel in CHANNELS else "other",
                    outcome if outcome in MESSAGE_OUTCOMES else "other").inc()


def count_webhook(status: str) -> None:
    """A webhook attempt settled with this WebhookStatus value (lms/webhooks/delivery.py)."""
    WEBHOOKS.labels(WEBHOOK_OUTCOMES.get(status, "other")).inc()


def observe_render(fut: Future[bytes], started: float) -> Future[bytes]:
    """Count the render behind ``fut`` when it completes, and its time since ``started``
    (``time.perf_counter()`` when it was handed over). Returns ``fut``."""

    def done(f: Future[bytes]) -> None:
        if f.cancelled() or f.exception() is not None:
            CERTIFICATE_RENDER_FAILURES.inc()
            return
        CERTIFICATES_RENDERED.inc()
        CERTIFICATE_RENDER_SECONDS.observe(time.perf_counter() - started)

    fut.add_done_callback(done)
    return fut


def timed_job(job: str) -> Callable[[F], F]:
    """Decorate the function a background job runs: its duration goes to lms_job_duration_seconds."""
    histogram = JOB_SECONDS.labels(job if job in JOBS else "other")

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        return wrapped  # type: ignore[return-value]

    return decorate


# --- at scrape time ---------------------------------------------------------------------------------

class QueueCollector(Collector):
    """RQ queue lengths and failed jobs, asked of Redis at each scrape (when REDIS_URL is set)."""

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        if not has_app_context():
            return []
        cfg = current_app.config
        url = cfg.get("REDIS_URL")
        if not url:
            return []
        from redis import Redis
        from rq import Queue

        names = sorted({str(cfg.get("CERTIFICATE_QUEUE") or "certificates"),
                        str(cfg.get("NOTIFICATIONS_QUEUE") or "notifications")})
        length = GaugeMetricFamily("lms_rq_queue_length", "Jobs waiting in each RQ queue.", labels=["queue"])
        failed = GaugeMetricFamily("lms_rq_failed_jobs", "Jobs in each RQ queue's failed registry.",
                                   labels=["queue"])
        up = GaugeMetricFamily("lms_redis_up", "1 when Redis answered this scrape, else 0.")
        conn = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            for name in names:
                q = Queue(name, connection=conn)
                length.add_metric([name], q.count)
                failed.add_metric([name], q.failed_job_registry.count)
        except Exception as e:
            log.warning("metrics: Redis did not answer: %s", type(e).__name__)
            up.add_metric([], 0)
            return [up]
        finally:
            conn.close()
        up.add_metric([], 1)
        return [length, failed, up]


QUEUES = QueueCollector()
REGISTRY.register(QUEUES)


def exposition() -> bytes:
    """The text the scrape gets: this process's metrics, or all processes' in multiprocess mode."""
    path = multiprocess_dir()
    if not path:
        return generate_latest(REGISTRY)
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    registry.register(QUEUES)
    return generate_latest(registry)
