"""Fixtures: a migrated database (SQLite file, or PostgreSQL via LMS_TEST_DATABASE_URL),
the app, a client that fills in CSRF tokens, role factories and a query counter.

The schema is made only by the migrations, once per run; every test then starts from
that state (SQLite: a fresh copy of the migrated file; PostgreSQL: tables emptied).
"""
from __future__ import annotations

import contextvars
import os
import re
import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from lms import create_app
from lms.certification import jobs as certificate_jobs
from lms.extensions import db as _db

# CI runs two workers and PostgreSQL on two cores: a time limit per example would fail on the
# machine's load, not on the code (the properties themselves are unchanged)
settings.register_profile("lms", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lms")


def _share_url_builders() -> None:
    """Every test makes its own app, and Werkzeug compiles two URL-builder functions per route per
    app (about half of ``create_app``'s time). The function depends only on the rule, its defaults
    and ``append_unknown`` (it is bound to each rule afterwards), so the test run compiles each once."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    built: dict[tuple[Any, ...], Any] = {}

    def shared(self: Rule, append_unknown: bool = True):  # type: ignore[no-untyped-def]
        key = (self.rule, self.host, self.subdomain, tuple(self._trace),
               repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in built:
            built[key] = compile_builder(self, append_unknown)
        return built[key]

    Rule._compile_builder = shared  # type: ignore[method-assign]


def _share_compiled_templates() -> None:
    """Every test's app has its own Jinja environment, which would lex, parse and compile each template
    again: about 50 ms for a page's first request, a few ms after. All the test apps configure Jinja the
    same way, so their environments share one in-memory bytecode cache (Jinja keys it by the template's
    name and checks its source's hash, so an edited template is compiled again)."""
    import flask
    from jinja2 import BytecodeCache
    from jinja2.bccache import Bucket

    class MemoryBytecodeCache(BytecodeCache):
        def __init__(self) -> None:
            self.code: dict[str, tuple[str, Any]] = {}

        def load_bytecode(self, bucket: Bucket) -> None:
            found = self.code.get(bucket.key)
            if found is not None and found[0] == bucket.checksum:
                bucket.code = found[1]

        def dump_bytecode(self, bucket: Bucket) -> None:
            self.code[bucket.key] = (bucket.checksum, bucket.code)

    shared = MemoryBytecodeCache()
    create = flask.Flask.create_jinja_environment

    def create_jinja_environment(self):  # type: ignore[no-untyped-def]
        env = create(self)
        env.bytecode_cache = shared
        return env

    flask.Flask.create_jinja_environment = create_jinja_environment  # type: ignore[method-assign]


def _share_compiled_statements() -> None:
    """Every test's app makes its own engine, and SQLAlchemy keys its cache of compiled statements by the
    engine's dialect object, so each test compiled every statement it ran again: about a quarter of a
    typical test's time. Engines made with the same driver and options share one dialect and one cache
    (as the one engine of a production process does). Each test still has its own engine, pool and
    event listeners; the shared dialect was initialised by the first engine's first connection to the
    same kind of server, and the engines that follow initialise their own unused one."""
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy.util import LRUCache

    make_engine = SQLAlchemy._make_engine
    shared: dict[str, tuple[Any, Any]] = {}

    def _make_engine(self, bind_key, options, app):  # type: ignore[no-untyped-def]
        engine = make_engine(self, bind_key, options, app)
        key = repr((engine.url.get_backend_name(), engine.url.get_driver_name(),
                    sorted((k, repr(v)) for k, v in options.items() if k != "url")))
        dialect, cache = shared.setdefault(key, (engine.dialect, LRUCache(5000)))
        engine.dialect = dialect
        engine.pool._dialect = dialect
        engine._compiled_cache = cache
        return engine

    SQLAlchemy._make_engine = _make_engine  # type: ignore[method-assign]


_share_url_builders()
_share_compiled_templates()
_share_compiled_statements()

PG_URL = os.environ.get("LMS_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL (CI's second pass) only the tests that use the database run (``database`` is in
    their fixtures: every app, client and factory has it). The others (parsers, streams, file checks,
    pure functions) do the same on both passes and have run in the SQLite pass."""
    if not PG_URL:
        return
    keep = [item for item in items if "database" in getattr(item, "fixturenames", ())]
    if len(keep) < len(items):
        kept = set(keep)
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = keep
#: reference tables the migrations fill; kept between tests
REFERENCE_TABLES = {"alembic_version", "regions", "kecamatan"}
TEST_PASSWORD = "Uji-coba-7PAS-kuat"


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        upgrade()
        _db.engine.dispose()


def _pg_engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _pg_worker_url(url: str) -> str:
    """Under pytest-xdist each worker gets its own database next to the given one (``test_gw0``, …),
    created on first use, so workers never truncate each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = sa.engine.make_url(url)
    mine = base.set(database=f"{base.database}_{worker}")
    engine = _pg_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": mine.database}):
                conn.exec_driver_sql(f'CREATE DATABASE "{mine.database}"')
    except sa.exc.ProgrammingError as e:  # no CREATEDB privilege
        raise pytest.UsageError(
            f"cannot create the worker database {mine.database!r} ({str(e.orig).strip()}); grant CREATEDB "
            "or run the PostgreSQL tests in one process: make test-pg PG_WORKERS=0") from None
    finally:
        engine.dispose()
    return mine.render_as_string(hide_password=False)


#: what empties a test database in one round trip, with triggers and foreign keys off for the transaction
#: (``session_replication_role``, which needs a superuser, as CI's ``postgres`` is); the tables and
#: sequences are looked up each time, so a test that adds one is emptied too
_PG_EMPTY_SQL = """
SET LOCAL session_replication_role = replica;
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> ALL({keep}) LOOP
    EXECUTE format('DELETE FROM %%I', r.tablename);
  END LOOP;
  FOR r IN SELECT s.relname FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
           JOIN pg_depend d ON d.objid = s.oid AND d.deptype = 'a' JOIN pg_class t ON t.oid = d.refobjid
           WHERE s.relkind = 'S' AND n.nspname = 'public' AND t.relname <> ALL({keep}) LOOP
    EXECUTE format('ALTER SEQUENCE %%I RESTART', r.relname);
  END LOOP;
END $$;
"""
#: one kept engine per test database (made on first use, disposed when the run ends)
_PG_EMPTIERS: dict[str, sa.Engine] = {}


def _pg_emptier(url: str) -> sa.Engine:
    """The kept engine of a test database (made on first use)."""
    engine = _PG_EMPTIERS.get(url)
    if engine is None:
        engine = _PG_EMPTIERS[url] = _pg_engine(url)
    return engine


def _pg_empty(url: str) -> None:
    """Empty every table but the reference ones and restart the sequences.

    ``DELETE`` costs a few milliseconds on the small tables a test leaves; ``TRUNCATE`` makes new files
    for every table and index, about 100 ms a test. One statement block on a kept connection: about
    11 ms, where a new connection and a statement per table took 50. Without the superuser privilege
    the replication role needs, ``TRUNCATE`` it is."""
    engine = _pg_emptier(url)
    keep = "'{" + ",".join(sorted(REFERENCE_TABLES)) + "}'::text[]"
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(_PG_EMPTY_SQL.replace("{keep}", keep))  # (psycopg reads %% as %)
    except sa.exc.DBAPIError as e:
        if getattr(e.orig, "sqlstate", None) != "42501":  # insufficient_privilege: not a superuser
            raise
        with engine.begin() as conn:
            names = [r[0] for r in conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") if r[0] not in REFERENCE_TABLES]
            if names:
                conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")


def _pg_others(url: str) -> list[Any]:
    """Other connections to a test database with a transaction open: something a test started (a
    thread, a server) that is still writing, and would write into the next test once this one's
    tables are emptied."""
    engine = _pg_emptier(url)
    with engine.connect() as conn:
        return list(conn.exec_driver_sql(
            "SELECT state, left(query, 100) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"))


def _pg_dispose_emptiers() -> None:
    while _PG_EMPTIERS:
        _PG_EMPTIERS.popitem()[1].dispose()


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("db")
    if PG_URL:
        url = _pg_worker_url(PG_URL)
        engine = _pg_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
            # a throwaway database need not wait for the disk at every commit (new connections only)
            conn.exec_driver_sql(f'ALTER DATABASE "{sa.engine.make_url(url).database}" SET synchronous_commit TO off')
        engine.dispose()
        _migrate(url, base)
        yield {"kind": "postgresql", "url": url, "dir": base}
        _pg_dispose_emptiers()
        return
    template = base / "template.sqlite3"
    _migrate(f"sqlite:///{template}", base)
    con = sqlite3.connect(template)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    yield {"kind": "sqlite", "template": template, "dir": base}


@pytest.fixture
def db_url(database: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    if database["kind"] == "postgresql":
        yield database["url"]
        others = _pg_others(database["url"])
        _pg_empty(database["url"])
        assert not others, f"the test left work writing to the database after it ended: {others}"
        _assert_no_worker_left()
    else:
        path = tmp_path / "lms.sqlite3"
        shutil.copyfile(database["template"], path)
        yield f"sqlite:///{path}"
        _assert_no_worker_left()


def _assert_no_worker_left() -> None:
    """The notifications thread a test started (an app without ``NOTIFICATIONS_WORKER = "off"``, or a
    test of the thread itself) must be stopped by it: on PostgreSQL every test of a worker uses one
    database, and a thread left running would dispatch, remind and erase in the tests after it."""
    import threading

    left = [t.name for t in threading.enumerate() if t.name == "notifications-worker" and t.is_alive()]
    if left:
        from lms.notifications import worker

        worker.WORKER.stop()
    assert not left, "the test left the notifications worker thread running"


class Client(FlaskClient):
    """A test client that can fetch and send the CSRF token like a browser form would.

    Each request runs in a fresh context, as in production: its own app context, ``g``
    and database session. The test's session commits before and expires after, so the
    test sees what the request wrote.
    """

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def, override]
        _db.session.commit()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            _db.session.expire_all()

    def csrf_token(self) -> str:
        # every HTML page carries the language form, so a 404 page is the cheapest source
        html = self.get("/__csrf__").get_data(as_text=True)
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        assert m, "no CSRF token on the page"
        return m.group(1)

    def form_post(self, url: str, data: dict[str, Any] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kw)


@pytest.fixture
def app(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "PROPAGATE_TEST_ERRORS": True})
    app.test_client_class = Client
    ctx = app.app_context()
    ctx.push()
    yield app
    # a bulk certificate run the test started on the in-process worker finishes inside the test
    certificate_jobs.WORKER.join()
    _db.session.remove()
    _db.engine.dispose()
    ctx.pop()


@pytest.fixture
def client(app) -> Client:  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def db(app):  # type: ignore[no-untyped-def]
    return _db


# --- factories ---------------------------------------------------------------------

@pytest.fixture
def factory(app):  # type: ignore[no-untyped-def]
    from tests.factories import Factory

    return Factory(_db)


@pytest.fixture
def login_as(client: Client, factory):  # type: ignore[no-untyped-def]
    """login_as("coordinator", region="3171") → the signed-in user (through the real login form)."""

    def _login(role: str | Any, **kw: Any):  # type: ignore[no-untyped-def]
        user = role if not isinstance(role, str) else factory.user(role, **kw)
        resp = client.form_post("/login", {"email": user.email, "password": TEST_PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        if resp.headers["Location"] == "/login/code":  # staff with an authenticator (tests.factories.enrol_totp)
            resp = pass_code_step(client, user.email)
        return user

    return _login


def pass_code_step(client: Client, email: str):  # type: ignore[no-untyped-def]
    """Type the current authenticator code of a factory-made staff member on /login/code."""
    from tests.factories import totp_code

    resp = client.form_post("/login/code", {"code": totp_code(email)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp


# --- counting queries ----------------------------------------------------------------

class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):  # type: ignore[no-untyped-def]
    @contextmanager
    def _count() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def before(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
                counter.statements.append(statement)

        sa.event.listen(_db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            sa.event.remove(_db.engine, "before_cursor_execute", before)

    return _count


# --- a live server and a real browser ------------------------------------------------

class _Served:
    """The app as the test server runs it: file responses read at once, and requests counted so the
    server can be stopped only when none is running.

    A file response (static files, downloads) is read and closed before Werkzeug's server writes it.
    When a browser drops the connection while the test server drains it, Werkzeug's server leaves
    the response's file open (its close() comes after the drain), and the ResourceWarning fails
    whichever test is running then.

    Werkzeug's request threads are daemons that its ``shutdown()`` does not wait for: a request still
    running when a test ends (a client that gave up waiting, a browser's late fetch) would write into
    the database after the test's tables were emptied, into the next test. :meth:`close` refuses new
    requests and waits for the running ones.
    """

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        import threading

        self.app = app
        #: the requests running, by a token of each, with the server thread that serves it
        self.running: dict[object, threading.Thread] = {}
        self.closed = False
        self.idle = threading.Condition()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        import threading

        from werkzeug.wsgi import ClosingIterator

        token = object()
        with self.idle:
            if self.closed:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Connection", "close")])
                return [b"the test has ended"]
            self.running[token] = threading.current_thread()
        try:
            # every answer is read whole and its iterable closed here, before Werkzeug writes it: when the
            # browser resets a connection (a favicon still loading as the page moves on), Werkzeug's
            # server can end without closing the response (its drain of the socket raises before the
            # close), and a static file's handle, wrapped by the app's middleware, would be left for the
            # garbage collector (a ResourceWarning, an error in this suite)
            answer = self.app(environ, start_response)
            try:
                body = [b"".join(answer)]
            finally:
                if hasattr(answer, "close"):
                    answer.close()
        except BaseException:
            self._done(token)
            raise
        return ClosingIterator(body, [lambda: self._done(token)])

    def _done(self, token: object) -> None:
        with self.idle:
            self.running.pop(token, None)
            self.idle.notify_all()

    def close(self, timeout: float = 30) -> None:
        """Refuse new requests and wait for the running ones. A request whose thread has ended is over
        too: when the client resets the connection, Werkzeug's server can end without closing the
        response (its drain of the socket raises before the close)."""
        import time

        deadline = time.monotonic() + timeout
        with self.idle:
            self.closed = True
            while any(t.is_alive() for t in self.running.values()):
                if time.monotonic() > deadline:
                    raise AssertionError(f"{len(self.running)} request(s) still running {timeout:.0f} s after the test")
                self.idle.wait(0.05)


@pytest.fixture
def live_server(app):  # type: ignore[no-untyped-def]
    """The app served over HTTP on a free local port, in a thread."""
    import threading

    from werkzeug.serving import make_server

    served = _Served(app)
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(5)
        try:
            served.close()
        finally:
            server.server_close()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def _playwright():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                 args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                       "--disable-component-update", "--disable-sync", "--no-first-run",
                                       "--disable-quic"])
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def browser_page(_playwright, live_server):  # type: ignore[no-untyped-def]
    """A fresh browser context (desktop size) pointed at the live server."""
    context = _playwright.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(_playwright, live_server):  # type: ignore[no-untyped-def]
    """A fresh browser context the size of a 360 px phone."""
    context = _playwright.new_context(base_url=live_server.url, viewport={"width": 360, "height": 740},
                                      is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


# --- outside services: real local servers (tests/servers.py) -----------------------------

@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    from tests.servers import SMTPServer

    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def whatsapp_server():  # type: ignore[no-untyped-def]
    from tests.servers import WhatsAppServer

    server = WhatsAppServer().start()
    yield server
    server.stop()


@pytest.fixture
def webhook_receiver():  # type: ignore[no-untyped-def]
    """A local HTTP server that records webhook requests (tests/servers.py)."""
    from tests.servers import WebhookReceiver

    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server():  # type: ignore[no-untyped-def]
    """moto's S3 server in its own process (tests/servers.py), with its dummy AWS credentials in the
    environment for the whole run; each test makes its own bucket (``s3_server.bucket()``)."""
    from tests.servers import S3Server

    with pytest.MonkeyPatch.context() as mp:
        for name, value in S3Server.ENV.items():
            mp.setenv(name, value)
        server = S3Server().start()
        yield server
        server.stop()


@pytest.fixture
def channels(app, smtp_server, whatsapp_server):  # type: ignore[no-untyped-def]
    """E-mail and WhatsApp configured against the local servers."""
    app.config.update(smtp_server.config())
    app.config.update(whatsapp_server.config())
    return smtp_server, whatsapp_server
