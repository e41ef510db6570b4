"""A view inside (lms/ops): JSON logs with request ids and no personal data, the 500 page's
incident code, slow statements, /metrics (who may read it, what it counts, several gunicorn
workers added up) and /healthz, /readyz."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask import Blueprint
from prometheus_client.parser import text_string_to_metric_families

from lms import create_app
from lms.db import transaction
from lms.extensions import db as _db
from lms.ops import logs
from lms.permissions import PUBLIC, rule
from tests.notification_helpers import cert_event as _cert_event, noon_wib as _noon_wib
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
HEX16 = re.compile(r"[0-9a-f]{16}")

#: a test-only blueprint: a page that logs, one that fails, one that runs a slow statement
test_bp = Blueprint("obs_test", __name__)


@test_bp.route("/__obs__/log")
@rule(PUBLIC)
def log_something():  # type: ignore[no-untyped-def]
    logging.getLogger("lms.obs_test").warning("something worth a line")
    return "ok"


@test_bp.route("/__obs__/boom")
@rule(PUBLIC)
def boom():  # type: ignore[no-untyped-def]
    raise RuntimeError("the page broke")


@test_bp.route("/__obs__/slow")
@rule(PUBLIC)
def slow():  # type: ignore[no-untyped-def]
    secret = "rahasia.sekali@uji.example"
    if _db.engine.dialect.name == "postgresql":
        _db.session.execute(sa.text("SELECT pg_sleep(:s), CAST(:secret AS text)"), {"s": 0.12, "secret": secret})
    else:
        _db.session.execute(sa.text("SELECT obs_sleep(:ms), :secret"), {"ms": 120, "secret": secret})
    _db.session.execute(sa.text("SELECT 1"))  # quick: not logged
    return "ok"


def _sqlite_sleep(engine: sa.Engine) -> None:
    """A SQL function that sleeps (SQLite has none): obs_sleep(milliseconds)."""
    if engine.dialect.name != "sqlite":
        return

    def on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.create_function("obs_sleep", 1, lambda ms: time.sleep(ms / 1000) or 0)

    sa.event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections made from now on know the function


@pytest.fixture
def log_lines(app) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The app logging JSON into a buffer; returns a function giving the parsed lines so far."""
    app.register_blueprint(test_bp)
    app.config["LOG_FORMAT"] = "json"
    buf = io.StringIO()
    logs.configure_logging(app, stream=buf)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buf.getvalue().splitlines()]

    lines.raw = buf  # type: ignore[attr-defined]
    yield lines
    app.config["LOG_FORMAT"] = None
    logs.configure_logging(app)


def _access(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "lms.access"]


# --- logs ---------------------------------------------------------------------------------------------

def test_json_lines_carry_the_request_and_no_personal_data(app, client, factory, login_as, log_lines):
    trainee = factory.user("trainee", email="dewi.lestari.obs@uji.example", full_name="Dewi Lestari Obs",
                           phone="+6281377700042")
    login_as(trainee)
    client.get("/home")
    client.get("/__obs__/log")
    client.get("/verify/TIDAK-ADA-123")
    lines = log_lines()
    raw = log_lines.raw.getvalue()
    # nobody's name, e-mail or phone number, in any form, in any line (the sign-in POST among them)
    for secret in ("dewi.lestari.obs", "Dewi Lestari", "81377700042", "TIDAK-ADA-123", "uji.example"):
        assert secret not in raw, secret
    access = _access(lines)
    assert [a["route"] for a in access][-3:] == ["/home", "/__obs__/log", "/verify/<code>"]
    login_post = [a for a in access if a["method"] == "POST" and a["route"] == "/login"]
    assert login_post and login_post[0]["status"] == 302
    for a in access:
        assert set(a) >= {"ts", "level", "request_id", "user_id", "route", "method", "status", "duration_ms"}
        assert a["level"] == "INFO" and isinstance(a["duration_ms"], float) and a["duration_ms"] >= 0
        assert HEX16.fullmatch(a["request_id"])
    home, logged, missing = access[-3:]
    assert (home["status"], home["user_id"], home["method"]) == (200, trainee.id, "GET")
    assert (missing["status"], missing["user_id"]) == (404, trainee.id)
    # the line the page itself logged carries the same request id (and the user) as its access line
    [own] = [line for line in lines if line["logger"] == "lms.obs_test"]
    assert own["message"] == "something worth a line" and own["level"] == "WARNING"
    assert own["request_id"] == logged["request_id"] and own["user_id"] == trainee.id
    assert len({a["request_id"] for a in access}) == len(access)  # one id per request


def test_the_request_id_comes_back_and_a_safe_incoming_one_is_kept(app, client, log_lines):
    r = client.get("/healthz")
    assert HEX16.fullmatch(r.headers["X-Request-ID"])
    assert client.get("/healthz").headers["X-Request-ID"] != r.headers["X-Request-ID"]
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.91:x_2"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a.91:x_2"
    for unsafe in ("<script>", "a b", "x" * 65, "", "-starts-with-dash", "é"):
        r = client.get("/healthz", headers={"X-Request-ID": unsafe})
        assert HEX16.fullmatch(r.headers["X-Request-ID"]), unsafe
    assert _access(log_lines())[2]["request_id"] == "lb-7f3a.91:x_2"


def test_a_500_page_shows_the_request_id_that_the_log_lines_carry(app, client, log_lines):
    app.config["PROPAGATE_TEST_ERRORS"] = False
    r = client.get("/__obs__/boom")
    assert r.status_code == 500
    rid = r.headers["X-Request-ID"]
    html = r.get_data(as_text=True)
    assert f'<code class="request-id">{rid}</code>' in html and "sebutkan kode kejadian" in html
    assert "the page broke" not in html and "Traceback" not in html
    quoted = client.get("/__obs__/boom", headers={"X-Request-ID": "tiket-4242"})
    assert 'class="request-id">tiket-4242<' in quoted.get_data(as_text=True)
    lines = log_lines()
    [error] = [line for line in lines if line["level"] == "ERROR" and line["request_id"] == rid]
    assert "RuntimeError: the page broke" in error["exc"]
    [access] = [a for a in _access(lines) if a["request_id"] == rid]
    assert (access["route"], access["status"]) == ("/__obs__/boom", 500)


def test_an_error_page_that_is_not_500_shows_no_incident_code(client):
    html = client.get("/tidak-ada-halaman-ini").get_data(as_text=True)
    assert "request-id" not in html


def test_text_logs_by_default_and_json_from_the_environment(app, db_url, tmp_path, monkeypatch):
    buf = io.StringIO()
    logs.configure_logging(app, stream=buf)
    app.register_blueprint(test_bp)
    rid = app.test_client().get("/__obs__/log").headers["X-Request-ID"]
    text = buf.getvalue()
    assert f"WARNING lms.obs_test [{rid}] something worth a line" in text
    assert re.search(rf"INFO lms.access \[{rid}\] GET /__obs__/log 200 [\d.]+ ms user=-", text)
    monkeypatch.setenv("LMS_LOG_FORMAT", "json")
    other = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "json")})
    try:
        assert other.config["LOG_FORMAT"] == "json"
        handler = logs.installed_handler()
        assert handler is not None and isinstance(handler.formatter, logs.JsonFormatter)
        # one handler per process, however many apps were made
        assert sum(isinstance(h, logs.StderrHandler) for h in logging.getLogger().handlers) == 1
    finally:
        with other.app_context():
            _db.engine.dispose()
        logs.configure_logging(app)


def test_slow_statements_are_logged_without_their_values(db_url, tmp_path):
    slow_app = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "slow"),
                           "SLOW_QUERY_MS": 60, "LOG_FORMAT": "json"})
    slow_app.register_blueprint(test_bp)
    buf = io.StringIO()
    logs.configure_logging(slow_app, stream=buf)
    try:
        with slow_app.app_context():
            _sqlite_sleep(_db.engine)
        rid = slow_app.test_client().get("/__obs__/slow").headers["X-Request-ID"]
        lines = [json.loads(line) for line in buf.getvalue().splitlines()]
        slow_lines = [line for line in lines if line["logger"] == "lms.slow_query"]
        assert len(slow_lines) == 1, slow_lines  # the quick SELECT 1 is not there
        [line] = slow_lines
        assert line["level"] == "WARNING" and line["request_id"] == rid
        assert line["duration_ms"] >= 100
        assert "sleep" in line["statement"] and line["statement"] in line["message"]
        assert "rahasia" not in buf.getvalue()  # the bound values never
    finally:
        with slow_app.app_context():
            _db.session.remove()
            _db.engine.dispose()
        logs.configure_logging(slow_app)


def test_a_failed_statement_does_not_carry_its_values_into_the_log(app, db):
    with pytest.raises(sa.exc.DBAPIError) as e:
        db.session.execute(sa.text("SELECT * FROM no_such_table WHERE email = :email"),
                           {"email": "rahasia.sekali@uji.example"})
    db.session.rollback()
    assert "no_such_table" in str(e.value) and "rahasia" not in str(e.value)


# --- /metrics -----------------------------------------------------------------------------------------

def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def scrape(client, **kw: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:  # type: ignore[no-untyped-def]
    r = client.get("/metrics", **kw)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=")
    assert r.headers["Cache-Control"] == "no-store"
    return _samples(r.get_data(as_text=True))


def value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples.get((name, frozenset(labels.items())), 0.0)


OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def test_metrics_from_this_machine_only_without_a_token(app, client):
    assert client.get("/metrics").status_code == 200  # the test client connects from 127.0.0.1
    assert client.get("/metrics", environ_overrides={"REMOTE_ADDR": "::1"}).status_code == 200
    refused = client.get("/metrics", environ_overrides=OUTSIDE)
    assert refused.status_code == 404
    # the same page as any unknown address (which names its own path in the language form)
    unknown = client.get("/tidak-ada", environ_overrides=OUTSIDE)
    assert refused.get_data().replace(b"/metrics", b"/tidak-ada") == unknown.get_data()
    assert "lms_" not in refused.get_data(as_text=True)
    # a proxy on this machine relays outside requests from 127.0.0.1: its headers give it away
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 404
    assert client.get("/metrics", headers={"X-Real-IP": "203.0.113.9"}).status_code == 404


def test_a_trusted_proxy_does_not_open_metrics_to_the_outside(db_url, tmp_path):
    """With TRUSTED_PROXIES the app believes X-Forwarded-For for everything else; not here."""
    proxied = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "p"),
                          "TRUSTED_PROXIES": 1})
    try:
        c = proxied.test_client()
        assert c.get("/metrics", environ_overrides=OUTSIDE,
                     headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 404
    finally:
        with proxied.app_context():
            _db.engine.dispose()


def test_metrics_with_a_token(app, client):
    app.config["METRICS_TOKEN"] = "s3cr3t-metrics-token"
    good = {"Authorization": "Bearer s3cr3t-metrics-token"}
    assert client.get("/metrics", headers=good, environ_overrides=OUTSIDE).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "bearer s3cr3t-metrics-token"}).status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cr3t-metrics-token"},
                    {"Authorization": "Bearer s3cr3t-metrics-token-and-more"}):
        assert client.get("/metrics", headers=headers, environ_overrides=OUTSIDE).status_code == 404, headers
        # with a token set, this machine needs it too
        assert client.get("/metrics", headers=headers).status_code == 404, headers


def test_requests_are_counted_by_route_template_and_method(app, client):
    before = scrape(client)
    for _ in range(3):
        client.get("/verify/SERTIFIKAT-42")
    client.get("/healthz")
    client.open("/healthz", method="BREW")
    after = scrape(client)
    hist = "lms_http_request_duration_seconds_count"
    assert value(after, hist, route="/verify/<code>", method="GET") - value(before, hist, route="/verify/<code>",
                                                                            method="GET") == 3
    assert value(after, hist, route="/healthz", method="GET") - value(before, hist, route="/healthz",
                                                                      method="GET") == 1
    errors = "lms_http_errors_total"
    assert value(after, errors, route="/verify/<code>", method="GET", status="404") - value(
        before, errors, route="/verify/<code>", method="GET", status="404") == 3
    # an invented method is "OTHER" (a client cannot add label values); no rule matched it
    assert value(after, errors, route="<unmatched>", method="OTHER", status="405") - value(
        before, errors, route="<unmatched>", method="OTHER", status="405") == 1
    labels = {v for key in after for _k, v in key[1]}
    assert not any("SERTIFIKAT" in v or "BREW" in v for v in labels)  # templates, never paths


def test_messages_webhooks_and_the_notification_runs_are_counted(app, client, factory, channels, webhook_receiver):
    from lms.notifications import dispatch, events, services
    from lms.webhooks import services as webhook_services

    _smtp, wa = channels
    admin = factory.user("admin", region=None)
    webhook_services.create_endpoint(admin, webhook_services.EndpointInput(
        url=webhook_receiver.url("/hooks"), description="Portal uji", events=["certificate.issued"]))
    holder, cert = _cert_event(factory)
    with transaction():
        services.record_whatsapp_opt_in(holder, source="test")
    wa.invalid.add("6281234500001")  # this number is not on WhatsApp: a permanent failure
    before = scrape(client)
    with transaction():
        assert events.announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_noon_wib())
    after = scrape(client)
    assert len(webhook_receiver.received) == 1

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("lms_messages_total", channel="email", outcome="sent") == 1
    assert delta("lms_messages_total", channel="whatsapp", outcome="failed") == 1
    assert delta("lms_messages_total", channel="whatsapp", outcome="sent") == 0
    assert delta("lms_webhook_deliveries_total", outcome="delivered") == 1
    assert delta("lms_job_duration_seconds_count", job="notifications") == 1
    assert delta("lms_job_duration_seconds_sum", job="notifications") > 0


def test_certificate_renders_and_bulk_runs_are_counted(app, client, factory):
    """A render in the web process's render pool (the default without Redis) is counted as its
    result comes back; a render that fails, inline, is counted as a failure; a bulk run is timed."""
    from lms.certification import jobs, render

    app.config["CERTIFICATE_RENDER_PROCESSES"] = 1
    _holder, cert = _cert_event(factory)
    before = scrape(client)
    try:
        assert jobs.render_now(cert).startswith(b"%PDF")
    finally:
        render.shutdown_pool()
    failed = jobs.InlineRenderer().submit(str(Path(app.instance_path) / "no-such-design"), {}, 5)
    with pytest.raises(Exception):
        failed.result()
    jobs.process(987654321)  # a bulk run (here: one that no longer exists) is timed too
    deadline = time.monotonic() + 5  # the pool's own thread counts the render as its result arrives
    while value(scrape(client), "lms_certificates_rendered_total") == value(
            before, "lms_certificates_rendered_total") and time.monotonic() < deadline:
        time.sleep(0.05)
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("lms_certificates_rendered_total") == 1
    assert delta("lms_certificate_render_failures_total") == 1
    assert delta("lms_certificate_render_seconds_count") == 1
    assert 0 < delta("lms_certificate_render_seconds_sum") < 60
    assert delta("lms_job_duration_seconds_count", job="certificates") == 1


REDIS_URL = "redis://127.0.0.1:6379/0"


def test_rq_queue_lengths_are_asked_of_redis_at_scrape_time(app, client):
    import redis
    from rq import Queue

    suffix = os.urandom(4).hex()
    app.config.update(REDIS_URL=REDIS_URL, CERTIFICATE_QUEUE=f"obs-cert-{suffix}",
                      NOTIFICATIONS_QUEUE=f"obs-notif-{suffix}")
    conn = redis.Redis.from_url(REDIS_URL)
    certq = Queue(f"obs-cert-{suffix}", connection=conn)
    try:
        for i in range(2):
            certq.enqueue_call("lms.certification.jobs.rq_process", args=(0, [i]))
        got = scrape(client)
        assert value(got, "lms_rq_queue_length", queue=f"obs-cert-{suffix}") == 2
        assert ("lms_rq_queue_length", frozenset({("queue", f"obs-notif-{suffix}")})) in got
        assert value(got, "lms_rq_queue_length", queue=f"obs-notif-{suffix}") == 0
        assert value(got, "lms_rq_failed_jobs", queue=f"obs-cert-{suffix}") == 0
        assert value(got, "lms_redis_up") == 1
        certq.empty()
        assert value(scrape(client), "lms_rq_queue_length", queue=f"obs-cert-{suffix}") == 0
    finally:
        certq.delete(delete_jobs=True)
        Queue(f"obs-notif-{suffix}", connection=conn).delete(delete_jobs=True)
        conn.close()
    # Redis down: the scrape still answers, and says so
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    down = scrape(client)
    assert value(down, "lms_redis_up") == 0 and not any(k[0] == "lms_rq_queue_length" for k in down)


def test_without_redis_there_are_no_queue_metrics(app, client):
    assert not any(name.startswith(("lms_rq_", "lms_redis")) for name, _ in scrape(client))


#: the app gunicorn serves in the multiprocess test: the real one plus a page that says which
#: worker answered (slow enough that two requests at once go to two workers)
GUNICORN_APP = '''
import os, time
from flask import Blueprint
from lms import create_app
from lms.permissions import PUBLIC, rule

app = create_app()
bp = Blueprint("obs_pid", __name__)

@bp.route("/__obs__/pid")
@rule(PUBLIC)
def pid():
    time.sleep(0.25)
    return str(os.getpid())

@bp.route("/__obs__/frozen")
@rule(PUBLIC)
def frozen():
    import gc
    return f"{gc.get_freeze_count()} {len(app.jinja_env.cache)} {len(app.jinja_env.list_templates())}"

app.register_blueprint(bp)
'''


def _get(url: str, headers: dict[str, str] | None = None) -> str:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return str(r.read().decode())


def test_two_gunicorn_workers_are_added_up(db_url, tmp_path):
    """prometheus-client's multiprocess mode: each worker writes to PROMETHEUS_MULTIPROC_DIR, a
    scrape at either worker adds them all up."""
    started = time.monotonic()
    prom = tmp_path / "prom"
    prom.mkdir()
    stale = prom / "counter_1.db"  # a previous run's file: gunicorn's on_starting clears it
    stale.write_bytes(b"")
    (tmp_path / "obs_gunicorn_app.py").write_text(GUNICORN_APP, encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LMS_", "FLASK_", "PROMETHEUS", "GUNICORN", "WEB_CONCURRENCY"))}
    env.update(LMS_SECRET_KEY="m" * 64, LMS_DATABASE_URL=db_url, LMS_INSTANCE_PATH=str(tmp_path / "gu"),
               LMS_NOTIFICATIONS_WORKER="off", LMS_METRICS_TOKEN="tok-obs", PROMETHEUS_MULTIPROC_DIR=str(prom),
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
               # the production settings (gunicorn.conf.py, with its on_starting and child_exit hooks), two
               # workers, preloaded: the app is made once and the workers fork from it (half the start-up)
               GUNICORN_WORKERS="2", GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_PRELOAD="1")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    errors = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen([str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py"), "obs_gunicorn_app:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                _get(base + "/healthz")
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
                assert time.monotonic() - started < 60, "gunicorn did not answer"
                time.sleep(0.1)
        pids: list[str] = []
        lock = threading.Lock()

        def hit() -> None:
            got = _get(base + "/__obs__/pid")
            with lock:
                pids.append(got)

        while len(set(pids)) < 2:  # until both workers have answered (two at once: both are needed)
            batch = [threading.Thread(target=hit) for _ in range(4)]
            for t in batch:
                t.start()
            for t in batch:
                t.join()
            assert time.monotonic() - started < 90, f"only one worker answered: {set(pids)}"
        auth = {"Authorization": "Bearer tok-obs"}
        counts = set()
        for _ in range(4):  # whichever worker answers the scrape, it tells the sum of both
            samples = _samples(_get(base + "/metrics", auth))
            counts.add(value(samples, "lms_http_request_duration_seconds_count", route="/__obs__/pid", method="GET"))
        assert counts == {float(len(pids))}
        assert len(list(prom.glob("histogram_*.db"))) >= 2 and not stale.exists()  # one file per worker
        # post_worker_init compiled every template and froze the app's objects out of the garbage
        # collector's full passes (lms/ops/warm.py)
        frozen, compiled, templates = map(int, _get(base + "/__obs__/frozen").split())
        assert frozen > 50_000 and compiled >= templates > 100
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        errors.close()


# --- /healthz and /readyz ------------------------------------------------------------------------------

def test_healthz_and_readyz_when_all_is_well(app, client):
    r = client.get("/healthz")
    assert (r.status_code, r.get_data(as_text=True), r.mimetype) == (200, "ok", "text/plain")
    r = client.get("/readyz")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.json == {"status": "ready", "checks": {"database": "ok", "storage": "ok"}}
    app.config["REDIS_URL"] = REDIS_URL
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}


def _says_nothing_else(text: str) -> None:
    low = text.lower()
    for word in ("sqlite", "postgres", "127.0.0.1", "localhost", "error", "refused", "redis://", "version", "/"):
        assert word not in low, word


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_readyz_is_503_when_the_database_is_unreachable(tmp_path, kind):
    url = (f"sqlite:///{tmp_path}/no-such-folder/lms.sqlite3" if kind == "sqlite"
           else f"postgresql://postgres@127.0.0.1:{free_port()}/lms")
    broken = create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        c = broken.test_client()
        assert c.get("/healthz").status_code == 200  # alive: the process answers, whatever the database does
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json == {"status": "unavailable", "checks": {"database": "fail", "storage": "ok"}}
        _says_nothing_else(r.get_data(as_text=True))
    finally:
        with broken.app_context():
            _db.engine.dispose()


def test_readyz_is_503_when_redis_is_configured_but_down(app, client):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json == {"status": "unavailable", "checks": {"database": "ok", "redis": "fail", "storage": "ok"}}
    _says_nothing_else(r.get_data(as_text=True))


def test_readyz_is_503_when_the_file_store_is_unreachable(app, client, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    app.config["UPLOAD_DIR"] = str(blocker / "uploads")
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json["checks"] == {"database": "ok", "storage": "fail"}
    _says_nothing_else(r.get_data(as_text=True))


def test_the_probes_pass_every_gate(app, client, factory, login_as):
    """Signed in but not through the privacy notice, or a coordinator without a second factor: the
    probes still answer, no redirect; a POST is a 405, not a CSRF refusal."""
    from tests.conftest import TEST_PASSWORD

    login_as(factory.user("trainee", accepted_notice=False))
    assert client.get("/home").headers["Location"].startswith("/privasi/persetujuan")  # the gate is there
    for url in ("/healthz", "/readyz", "/metrics"):
        r = client.get(url)
        assert r.status_code == 200 and "Location" not in r.headers, url
        assert client.post(url).status_code == 405, url
    other = app.test_client()
    coordinator = factory.user("coordinator", enrol_2fa=False)
    assert other.form_post("/login", {"email": coordinator.email, "password": TEST_PASSWORD}).status_code == 302
    assert other.get("/home").headers["Location"] == "/account/two-factor"  # the gate is there
    for url in ("/healthz", "/readyz", "/metrics"):
        assert other.get(url).status_code == 200, url
