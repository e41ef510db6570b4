"""The application factory, configuration, health check, error pages and the database setup."""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import pytest
import sqlalchemy as sa
from flask import Blueprint

from lms import ConfigError, create_app
from lms.extensions import db as _db
from lms.permissions import PUBLIC, rule
from tests.conftest import TEST_PASSWORD


@contextmanager
def _fresh_app(db_url: str, tmp_path, **config) -> Iterator:  # type: ignore[no-untyped-def]
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "fresh"), **config})
    try:
        yield app
    finally:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


# --- configuration -------------------------------------------------------------------------------

def test_refuses_to_start_without_a_secret_key(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError) as e:
        create_app({"SECRET_KEY": None, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "p")})
    assert "LMS_SECRET_KEY" in str(e.value)


def test_starts_with_a_secret_key_from_the_environment(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_SECRET_KEY", "s" * 64)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "p")})
    try:
        assert app.config["SECRET_KEY"] == "s" * 64 and not app.testing
    finally:
        with app.app_context():
            _db.engine.dispose()


def test_the_key_make_run_wrote_is_read_when_the_environment_has_none(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    instance = tmp_path / "p"
    instance.mkdir()
    (instance / "secret_key").write_text("k" * 64 + "\n")
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(instance)})
    try:
        assert app.config["SECRET_KEY"] == "k" * 64 and not app.testing and not app.debug
    finally:
        with app.app_context():
            _db.engine.dispose()
    # the environment still wins over the file
    monkeypatch.setenv("LMS_SECRET_KEY", "e" * 64)
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(instance)})
    try:
        assert app.config["SECRET_KEY"] == "e" * 64
    finally:
        with app.app_context():
            _db.engine.dispose()


def _flask_command(db_url: str, instance, *args: str):  # type: ignore[no-untyped-def]
    """``flask --app lms ARGS`` in a fresh process, as typed in a checkout: nothing exported."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "FLASK_"))}
    env.update(LMS_DATABASE_URL=db_url, LMS_INSTANCE_PATH=str(instance))
    return subprocess.run([sys.executable, "-m", "flask", "--app", "lms", *args], env=env, capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parent.parent, timeout=120)


@pytest.mark.slow
def test_readme_commands_work_after_make_run_without_exporting_anything(db_url, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    # production: no LMS_SECRET_KEY and no key file: the command refuses to start
    r = _flask_command(db_url, instance, "db", "current")
    assert r.returncode != 0 and "LMS_SECRET_KEY is not set" in r.stderr, (r.stdout, r.stderr)
    # after `make run` (which wrote instance/secret_key) the same command just works
    (instance / "secret_key").write_text("f" * 64 + "\n")
    r = _flask_command(db_url, instance, "db", "current")
    assert r.returncode == 0, (r.stdout, r.stderr)
    # and every command the README shows is there
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"flask --app lms ([a-z][a-z-]+)", readme))
    assert {"seed-demo", "import", "curriculum", "db", "user", "dashboard", "bench-data"} <= shown
    r = _flask_command(db_url, instance, "--help")
    assert r.returncode == 0, r.stderr
    listed = set(re.findall(r"^  ([a-z][a-z-]+)", r.stdout, flags=re.M))
    assert shown <= listed, shown - listed


def test_testing_mode_makes_up_a_key(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    with _fresh_app(db_url, tmp_path, SECRET_KEY=None) as app:
        assert app.config["SECRET_KEY"]


def test_lms_environment_variables_override_defaults(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_PAGE_SIZE", "7")
    monkeypatch.setenv("LMS_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")
    monkeypatch.setenv("LMS_BASE_URL", "https://7pas.example")
    with _fresh_app(db_url, tmp_path) as app:
        assert app.config["PAGE_SIZE"] == 7
        assert app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] == 3
        assert app.config["BASE_URL"] == "https://7pas.example"
    # and the explicit config given to create_app wins over the environment
    with _fresh_app(db_url, tmp_path, PAGE_SIZE=11) as app:
        assert app.config["PAGE_SIZE"] == 11


def test_page_size_from_the_environment_is_used(db_url, tmp_path, monkeypatch, factory):
    monkeypatch.setenv("LMS_PAGE_SIZE", "2")
    admin = factory.user("admin")
    for _ in range(4):
        factory.user("mentor")
    factory.db.session.commit()
    with _fresh_app(db_url, tmp_path) as app:
        from tests.conftest import Client

        app.test_client_class = Client
        c = app.test_client()
        assert c.form_post("/login", {"email": admin.email, "password": TEST_PASSWORD}).status_code == 302
        from tests.conftest import pass_code_step

        pass_code_step(c, admin.email)  # the admin's second factor
        assert "Halaman 1 dari 3" in c.get("/users").get_data(as_text=True)


# --- health ----------------------------------------------------------------------------------------

def test_healthz_and_readyz(client, db):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_data(as_text=True) == "ok"
    r = client.get("/readyz")
    assert r.status_code == 200 and r.is_json
    assert r.json == {"status": "ready", "checks": {"database": "ok", "storage": "ok"}}
    # which database (or version) runs behind the site is nobody's business
    body = r.get_data(as_text=True).lower()
    assert db.engine.dialect.name not in body and "sqlite" not in body and "postgres" not in body


# --- error pages -----------------------------------------------------------------------------------

def _styled(html: str, code: int) -> None:
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html
    assert f'<p class="error-code" aria-hidden="true">{code}</p>' in html
    assert "Traceback" not in html and 'File "' not in html
    assert "Kembali ke beranda" in html


def test_404_page(client):
    r = client.get("/tidak-ada-halaman-ini")
    assert r.status_code == 404
    _styled(r.get_data(as_text=True), 404)


def test_403_page(client, login_as):
    login_as("trainee")
    r = client.get("/users")
    assert r.status_code == 403
    _styled(r.get_data(as_text=True), 403)


def test_405_page(client):
    r = client.get("/logout")
    assert r.status_code == 405
    _styled(r.get_data(as_text=True), 405)


def test_400_page(client):
    r = client.post("/login", data={"email": "x@uji.example", "password": "x"})
    assert r.status_code == 400
    _styled(r.get_data(as_text=True), 400)


def test_429_page(client, factory, app):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 1
    user = factory.user("mentor")
    client.form_post("/login", {"email": user.email, "password": "Salah-sandi-123"})
    r = client.form_post("/login", {"email": user.email, "password": TEST_PASSWORD})
    assert r.status_code == 429
    html = r.get_data(as_text=True)
    _styled(html, 429)
    assert "Terlalu banyak percobaan" in html and int(r.headers["Retry-After"]) > 0


def test_json_errors_for_json_clients(client):
    r = client.get("/tidak-ada", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.json == {"error": 404, "description": None}


def test_500_page_is_styled_and_hides_the_error(db_url, tmp_path):
    with _fresh_app(db_url, tmp_path, PROPAGATE_TEST_ERRORS=False) as app:
        bp = Blueprint("boom", __name__)

        @bp.route("/boom")
        @rule(PUBLIC)
        def boom():  # type: ignore[no-untyped-def]
            raise RuntimeError("kaboom: rahasia-dalam-pesan-error")

        app.register_blueprint(bp)
        r = app.test_client().get("/boom")
        assert r.status_code == 500
        html = r.get_data(as_text=True)
        _styled(html, 500)
        assert "Terjadi kesalahan" in html
        assert "kaboom" not in html and "RuntimeError" not in html


def test_errors_propagate_in_tests_by_default(db_url, tmp_path):
    """The suite's own app raises instead of hiding a bug behind a 500 page."""
    with _fresh_app(db_url, tmp_path, PROPAGATE_TEST_ERRORS=True) as app:
        bp = Blueprint("boom", __name__)

        @bp.route("/boom")
        @rule(PUBLIC)
        def boom():  # type: ignore[no-untyped-def]
            raise RuntimeError("kaboom")

        app.register_blueprint(bp)
        with pytest.raises(RuntimeError):
            app.test_client().get("/boom")


def test_security_headers(client):
    r = client.get("/login")
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def _no_versions(headers) -> None:  # type: ignore[no-untyped-def]
    for name, value in headers.items():
        assert not re.search(r"werkzeug|python|flask|\d+\.\d+", value, re.I) or name.lower() in (
            "date", "content-length", "expires", "last-modified", "set-cookie", "content-disposition",
            "retry-after"), (name, value)


def test_the_app_sets_no_server_header_and_no_versions(client):
    for path in ("/login", "/healthz", "/tidak-ada"):
        r = client.get(path)
        assert "Server" not in r.headers and "X-Powered-By" not in r.headers, path
        _no_versions(r.headers)


def test_the_development_server_header_is_neutral(live_server):
    """`flask run` and the browser tests' server (Werkzeug) said "Werkzeug/3.x Python/3.x"."""
    import urllib.request

    with urllib.request.urlopen(live_server.url + "/healthz") as r:
        assert r.headers.get_all("Server") == ["7pas-lms"]
        _no_versions(dict(r.headers.items()))


def test_gunicorn_names_itself_without_a_version(db_url, tmp_path):
    """Production runs gunicorn, which always writes "Server: gunicorn" (no version; it cannot be
    changed) and would repeat any Server header the app set: so the app sets none."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "FLASK_"))}
    env.update(LMS_SECRET_KEY="g" * 64, LMS_DATABASE_URL=db_url, LMS_INSTANCE_PATH=str(tmp_path / "gu"))
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "lms:create_app()"],
                            cwd=Path(__file__).resolve().parent.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    assert r.headers.get_all("Server") == ["gunicorn"]
                    _no_versions(dict(r.headers.items()))
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()  # type: ignore[union-attr]


# --- the database ----------------------------------------------------------------------------------

def test_database_settings(db):
    backend = db.engine.dialect.name
    if backend == "sqlite":
        assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(sa.text("PRAGMA busy_timeout")).scalar() > 0
    else:
        assert backend == "postgresql"
        assert db.engine.dialect.driver == "psycopg"
        assert int(db.session.execute(sa.text("SHOW server_version_num")).scalar()) >= 150000
    db.session.rollback()


def test_foreign_keys_are_enforced(db, factory):
    from lms.places.models import Outlet

    kec = factory.kecamatan("3171")
    db.session.add(Outlet(code="EW-FK-1", name="FK", kecamatan_id=kec.id, region_id=999999))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def _capture(db):  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement.strip())

    sa.event.listen(db.engine, "before_cursor_execute", before)
    return statements, lambda: sa.event.remove(db.engine, "before_cursor_execute", before)


def test_writes_begin_immediate_and_reads_stay_deferred(client, db, factory):
    email = factory.user("mentor").email
    token = client.csrf_token()
    statements, stop = _capture(db)  # from here on, only the requests touch the database
    try:
        r = client.post("/login", data={"email": email, "password": "Salah-sandi-123", "csrf_token": token})
        assert r.status_code == 200
    finally:
        stop()
    post_statements = list(statements)
    assert client.post("/login", data={"email": email, "password": TEST_PASSWORD, "csrf_token": token}).status_code == 302
    statements, stop = _capture(db)
    try:
        assert client.get("/home").status_code == 200
    finally:
        stop()
    get_statements = list(statements)
    assert any(re.match(r"INSERT INTO login_failures", s) for s in post_statements), post_statements
    assert any(s.startswith("SELECT") for s in get_statements)
    if db.engine.dialect.name == "sqlite":
        begins = [s for s in post_statements if s.upper().startswith("BEGIN")]
        assert begins and all(s.upper() == "BEGIN IMMEDIATE" for s in begins), begins
        assert [s for s in get_statements if s.upper().startswith("BEGIN")] == ["BEGIN"], get_statements
    else:
        assert not any("IMMEDIATE" in s.upper() for s in post_statements + get_statements)
