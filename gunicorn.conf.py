"""gunicorn settings for the app servers (``make serve``, or ``gunicorn -c gunicorn.conf.py``).

Several app servers may run side by side behind one proxy: they share PostgreSQL, Redis and the
object storage (README.md, "Production"), never anything in a process. Every setting below can be
changed by an environment variable (named beside it), or by ``GUNICORN_CMD_ARGS`` for the rest.
"""
from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (a container's limit)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


#: the application: the factory, configured by the LMS_* environment like every other entry point
wsgi_app = "lms:create_app()"

#: GUNICORN_BIND: where the proxy reaches this server. The default serves a proxy on the same
#: machine; a proxy elsewhere needs e.g. 0.0.0.0:8000, and then only the proxy may reach the port
#: (firewall), because the app believes the X-Forwarded-* headers of LMS_TRUSTED_PROXIES hops.
bind = [b.strip() for b in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",") if b.strip()]

#: GUNICORN_WORKERS (or WEB_CONCURRENCY): processes serving requests. Default 2 × cores + 1: a request
#: spends part of its time waiting for PostgreSQL, Redis or the object store, so a core can keep
#: about two processes busy; the +1 covers one that is restarting (max_requests below).
workers = _int("GUNICORN_WORKERS", _int("WEB_CONCURRENCY", 2 * _cores() + 1))

#: GUNICORN_THREADS: threads per process. 1 (the default) means gunicorn's "sync" worker: one
#: request at a time per process, which suits this app behind nginx, since nginx reads slow uploads
#: completely and takes the answer at once (proxy buffering), so no process waits for a phone on a
#: bad connection; and a stuck request is ended by ``timeout``. More than 1 switches to the
#: "gthread" worker (for a proxy that does not buffer): then ``timeout`` only catches a process
#: whose every thread is stuck, and each thread may hold a database connection.
threads = _int("GUNICORN_THREADS", 1)

#: GUNICORN_TIMEOUT: seconds a (sync) worker may spend on one request before gunicorn kills and
#: replaces it. Long work never runs in a request (bulk certificates, messages and "Data saya"
#: copies go to the RQ worker); the slowest requests (a ZIP of a whole bulk run, a large XLSX
#: export or import) take a few seconds, so 60 s only ends what is truly stuck. The proxy's
#: proxy_read_timeout must be a little longer (README's nginx example: 75 s).
timeout = _int("GUNICORN_TIMEOUT", 60)

#: GUNICORN_GRACEFUL_TIMEOUT: after SIGTERM (a deploy, a restart) or a max_requests restart, the
#: seconds a worker gets to finish the requests it is serving before it is killed.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)

#: GUNICORN_KEEPALIVE: seconds an idle kept-alive connection from the proxy stays open (gthread
#: only; the sync worker closes after each answer). Keep it above the proxy's upstream
#: keepalive_timeout, so that gunicorn never closes a connection the proxy is about to reuse.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

#: GUNICORN_MAX_REQUESTS: a worker is replaced (gracefully) after this many requests, which bounds
#: slow memory growth: WeasyPrint keeps native memory per certificate rendered on a first download,
#: and Python's allocator rarely returns memory to the system. The jitter (up to 10 %) keeps the
#: workers from all restarting at the same moment. 0: never.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max(1, max_requests // 10) if max_requests else 0)

#: not preloaded: each worker builds the app itself after the fork, so no database or Redis
#: connection, render process pool or thread made in the master is shared between workers (the code
#: assumes one app per process), and ``kill -HUP <master>`` reloads new code without a full restart.
#: The price is a second or so of start-up per worker and no memory shared between them.
preload_app = os.environ.get("GUNICORN_PRELOAD", "").lower() in ("1", "true", "yes")

#: the forwarded headers are read in ONE place: the app's ProxyFix, for exactly LMS_TRUSTED_PROXIES
#: proxies (X-Forwarded-For, -Proto and -Host; lms/__init__.py). gunicorn's own scheme headers are
#: switched off so that a client's forged X-Forwarded-Ssl cannot contradict the proxy's -Proto.
secure_scheme_headers: dict[str, str] = {}

#: the workers' heartbeat files on a RAM disk: a slow or full disk must not make gunicorn believe
#: that healthy workers hang (Docker's overlay file system is the usual case)
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

#: gunicorn's control socket (``gunicornc``) sits at one path per user by default, so a second
#: server on the same machine would take over the first one's; off unless GUNICORN_CONTROL_SOCKET
#: names a path for this server
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or None
control_socket_disable = not control_socket

#: errors and start/stop lines on stderr; requests are logged by the proxy (GUNICORN_ACCESSLOG=-
#: logs them here too)
errorlog = "-"
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    """Prometheus multi-process metrics (PROMETHEUS_MULTIPROC_DIR, /metrics): files left by the
    previous run would be added to this one's counts, so the folder starts empty."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder and os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.unlink(os.path.join(folder, name))


def post_worker_init(worker) -> None:  # type: ignore[no-untyped-def]
    """The worker has built the app and is about to serve: it compiles every template and loads the
    languages' locale data and catalogues now rather than in the first requests it serves, then
    moves the objects it holds for its whole life out of the garbage collector's full passes, which
    otherwise stop one request in a few hundred for over 100 ms (lms/ops/warm.py, lms/ops/heap.py)."""
    from lms.ops.warm import ready_to_serve

    ready_to_serve(getattr(worker, "wsgi", None))


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    """A worker ended: its live gauges stop counting (prometheus_client's multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
