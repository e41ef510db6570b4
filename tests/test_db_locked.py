"""A busy database is a short wait or a 503 with a retry hint, never a 500; slow parsing holds no lock.

SQLite: another connection holds the write lock (BEGIN IMMEDIATE) on the same file.
PostgreSQL: another connection holds an exclusive lock on the table the request writes.
"""
from __future__ import annotations

import io
import sqlite3
from contextlib import contextmanager
from typing import Iterator

import pytest
import sqlalchemy as sa

from lms.imports import parse, planning, services
from tests.test_import import HEADER, confirm, csv_bytes, row, token_of


@contextmanager
def write_lock_held_elsewhere(db) -> Iterator[None]:  # type: ignore[no-untyped-def]
    if db.engine.dialect.name == "sqlite":
        con = sqlite3.connect(db.engine.url.database, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            con.execute("ROLLBACK")
            con.close()
    else:
        engine = sa.create_engine(db.engine.url)
        with engine.connect() as conn:
            conn.exec_driver_sql("LOCK TABLE login_failures IN ACCESS EXCLUSIVE MODE")
            try:
                yield
            finally:
                conn.rollback()
        engine.dispose()


def can_write_now(db) -> bool:  # type: ignore[no-untyped-def]
    """Whether another connection could start writing this instant (without waiting)."""
    if db.engine.dialect.name != "sqlite":
        return True
    con = sqlite3.connect(db.engine.url.database, isolation_level=None, timeout=0)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()


@pytest.fixture
def short_waits(app, db):  # type: ignore[no-untyped-def]
    app.config["DATABASE_LOCK_TIMEOUT_MS"] = 300
    db.session.remove()  # no connection of the old pool stays checked out (psycopg warns when one is collected)
    db.engine.dispose()  # new connections take the short timeout
    yield


def test_busy_timeout_and_lock_timeout_come_from_the_configuration(app, db, short_waits):
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 300
        else:
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "300ms"


def test_a_locked_database_is_a_503_with_retry_after_not_a_500(client, factory, db, short_waits):
    email = factory.user("mentor").email
    token = client.csrf_token()
    with write_lock_held_elsewhere(db):
        r = client.post("/login", data={"email": email, "password": "Salah-sandi-123", "csrf_token": token})
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "5"
        html = r.get_data(as_text=True)
        assert "Sistem sedang sibuk" in html and "Coba lagi dalam beberapa detik" in html
        assert client.get("/login").status_code == 200  # reading goes on while another writes
        r = client.post("/login", data={"email": email, "password": "x", "csrf_token": token},
                        headers={"Accept": "application/json"})
        assert r.status_code == 503 and r.headers["Retry-After"] == "5" and r.get_json()["error"] == 503
    # once the lock is gone the same request works again
    r = client.post("/login", data={"email": email, "password": "Salah-sandi-123", "csrf_token": token})
    assert r.status_code == 200


def test_other_database_errors_are_still_errors(app, db):
    from lms.errors import is_lock_timeout

    locked = sa.exc.OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked"))
    broken = sa.exc.OperationalError("SELECT x", {}, sqlite3.OperationalError("no such table: x"))
    assert is_lock_timeout(locked) and not is_lock_timeout(broken)


def test_parsing_a_spreadsheet_holds_no_write_lock(client, login_as, db, monkeypatch):
    """The preview and the confirm both parse the file; meanwhile anyone else may write."""
    login_as("coordinator", region="3171")
    seen: list[tuple[bool, bool]] = []
    real_read = parse.read

    def probing_read(data, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((db.session().in_transaction(), can_write_now(db)))
        return real_read(data, *args, **kwargs)

    monkeypatch.setattr(parse, "read", probing_read)
    r = client.form_post("/import/outlets", {"file": (io.BytesIO(csv_bytes([HEADER, row(1)])), "a.csv"),
                                             "cohort": ""})
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    r = confirm(client, token_of(r))
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    assert seen == [(False, True), (False, True)]


def test_checking_the_rows_holds_no_write_lock(client, login_as, db, monkeypatch):
    """Checking every row (e-mail syntax, phone numbers, dates, kecamatan) is most of the work for a big
    file: the preview does it as a reader, the confirm before its write transaction."""
    login_as("coordinator", region="3171")
    free: list[bool] = []
    real_read_row = planning._read_row

    def probing_read_row(*args, **kwargs):  # type: ignore[no-untyped-def]
        free.append(can_write_now(db) and not services.db.session().info.get("txn_depth"))
        return real_read_row(*args, **kwargs)

    monkeypatch.setattr(planning, "_read_row", probing_read_row)
    r = client.form_post("/import/outlets", {"file": (io.BytesIO(csv_bytes([HEADER, row(1), row(2)])), "a.csv"),
                                             "cohort": ""})
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    r = confirm(client, token_of(r))
    assert r.status_code == 200 and "Impor selesai" in r.get_data(as_text=True), r.get_data(as_text=True)[:3000]
    assert free == [True, True, True, True]  # two rows, twice


def test_rows_are_checked_again_when_reference_data_changed_meanwhile(app, db, factory, monkeypatch):
    """The confirm reuses the rows checked before its transaction only when the kecamatan, regions,
    cohort and the importer's own region are still as they were."""
    from lms.permissions import SYSTEM
    from lms.places.models import Kecamatan

    calls: list[int] = []
    real_read_row = planning._read_row

    def counting_read_row(number, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(number)
        return real_read_row(number, *args, **kwargs)

    monkeypatch.setattr(planning, "_read_row", counting_read_row)
    data = csv_bytes([HEADER, row(1)])
    real_plan = planning._plan

    def plan_after_a_rename(*args, **kwargs):  # type: ignore[no-untyped-def]
        kec = db.session.scalar(sa.select(Kecamatan).where(Kecamatan.name == "Gambir"))
        kec.name = "Gambir Baru"  # inside the write transaction: the rows must be read again
        db.session.flush()
        return real_plan(*args, **kwargs)

    services.apply_import(SYSTEM, data, "a.csv")
    assert calls == [2]  # read once, before the transaction, and reused
    calls.clear()
    monkeypatch.setattr(planning, "_plan", plan_after_a_rename)
    with pytest.raises(services.ImportRejected) as e:
        services.apply_import(SYSTEM, csv_bytes([HEADER, row(2)]), "b.csv")
    assert calls == [2, 2]
    assert any("Gambir" in err.message and "tidak dikenal" in err.message for err in e.value.preview.errors)
