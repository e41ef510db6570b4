"""Backups that restore (lms/backup.py): the demo goes through `flask backup` and `flask restore` into a fresh,
empty database and an empty storage folder, and comes back table for table and file for file; damaged or
mismatched archives and non-empty targets are refused before anything is written.

Runs on SQLite, and on PostgreSQL when LMS_TEST_DATABASE_URL is set (the restore target is a second database,
``<test database>_restore``, created and dropped by each test). The demo is seeded once per module (about 10 s
on SQLite, 20 s on PostgreSQL).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from lms import create_app
from lms.extensions import db as _db
from tests.conftest import _pg_empty, _pg_engine

#: the module seeds the whole demo once (about 10 s on SQLite, 20 to 50 s on PostgreSQL)
pytestmark = pytest.mark.slow
DEMO_DAY = date(2026, 3, 2)


# --- independent measurements (not through lms.backup) ---------------------------------------

def _counts(engine: sa.Engine) -> dict[str, int]:
    names = sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        return {n: conn.scalar(sa.text(f'SELECT count(*) FROM "{n}"')) for n in names}


def _files(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """area/key → SHA-256 of every file in the app's storage folders."""
    from lms.storage import local_roots

    out = {}
    for area, root in local_roots(app).items():
        if root.is_dir():
            for path in root.rglob("*"):
                if path.is_file():
                    out[f"{area}/{path.relative_to(root).as_posix()}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@dataclass
class Demo:
    kind: str
    archive: Path
    counts: dict[str, int]
    files: dict[str, str]
    revision: str
    backup_seconds: float


@pytest.fixture(scope="module")
def demo(database: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo, seeded once, measured, and backed up with the CLI; then the source is emptied again."""
    from lms import outbox
    from lms.seed import seed_all

    base = tmp_path_factory.mktemp("backup_demo")
    if database["kind"] == "postgresql":
        url = database["url"]
    else:
        shutil.copyfile(database["template"], base / "source.sqlite3")
        url = f"sqlite:///{base / 'source.sqlite3'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(base / "source")})
    try:
        with app.app_context():
            with outbox.muted():
                seed_all(DEMO_DAY)
            _db.session.remove()
            counts = _counts(_db.engine)
            files = _files(app)
            with _db.engine.connect() as conn:
                revision = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            started = time.monotonic()
            result = app.test_cli_runner().invoke(args=["backup", "--output", str(base / "demo.tar")])
            seconds = time.monotonic() - started
            assert result.exit_code == 0, result.output
            _db.session.remove()
            _db.engine.dispose()
    finally:
        if database["kind"] == "postgresql":
            _pg_empty(url)
    assert counts["users"] > 300 and counts["audit_log"] > 0 and len(files) > 200  # the demo, really
    yield Demo(database["kind"], base / "demo.tar", counts, files, revision, seconds)


@contextmanager
def _target_app(database: dict[str, Any], folder: Path) -> Iterator[Any]:
    """An app on a brand-new empty database (no tables) and empty storage folders, its context pushed."""
    if database["kind"] == "postgresql":
        base = sa.engine.make_url(database["url"])
        name = f"{base.database}_restore"
        admin = _pg_engine(database["url"]).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{folder / 'restored.sqlite3'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(folder / "restored")})
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
    finally:
        _db.session.remove()
        _db.engine.dispose()
        ctx.pop()
        if database["kind"] == "postgresql":
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


@pytest.fixture
def target(database: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    with _target_app(database, tmp_path) as app:
        yield app


def _restore(app, archive: Path, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["restore", str(archive), *args])


def _untouched(app) -> None:  # type: ignore[no-untyped-def]
    """Nothing was written: still no tables, no stored file."""
    _db.session.remove()
    assert sa.inspect(_db.engine).get_table_names() == []
    assert _files(app) == {}


# --- the round trip ------------------------------------------------------------------------------

def test_the_demo_comes_back_table_for_table_and_file_for_file(demo: Demo, target) -> None:  # type: ignore[no-untyped-def]
    from lms.audit.models import AuditEntry
    from lms.people.models import User
    from lms.seed_today import current_logins

    started = time.monotonic()
    result = _restore(target, demo.archive)
    restore_seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "row counts match" in result.output and "checksums match" in result.output
    # every table's rows (the restore itself adds one audit entry) and every file's bytes
    counts = _counts(_db.engine)
    assert counts == {**demo.counts, "audit_log": demo.counts["audit_log"] + 1}
    assert _files(target) == demo.files
    # the restore is in the restored log, written through the restored sequence (PostgreSQL: pg_dump's SEQUENCE SET)
    entries = _db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(2)).all()
    assert entries[0].action == "system.restored" and entries[0].id > entries[1].id
    assert entries[0].details["files"] == len(demo.files) and entries[0].details["filename"] == "demo.tar"
    # and the log is still append-only (its triggers came back with the schema)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with _db.engine.begin() as conn:
            conn.execute(sa.update(AuditEntry).where(AuditEntry.id == entries[1].id).values(action="x"))
    # the app reads the restored data
    assert _db.session.scalar(sa.select(User).where(User.email == current_logins()[1][1])) is not None
    assert demo.backup_seconds < 60 and restore_seconds < 60, (demo.backup_seconds, restore_seconds)


def test_the_manifest_lists_counts_files_and_checksums(demo: Demo) -> None:
    from lms.backup import read_manifest

    m = read_manifest(demo.archive)
    assert m["database"]["kind"] == demo.kind
    assert m["database"]["tables"] == demo.counts
    assert m["database"]["rows"] == sum(demo.counts.values())
    assert m["app"]["alembic_revision"] == m["app"]["code_head"] == demo.revision
    created = datetime.fromisoformat(m["created_at"])
    assert timedelta(0) <= datetime.now(timezone.utc) - created < timedelta(minutes=30)
    assert {f"{f['area']}/{f['key']}": f["sha256"] for f in m["storage"]["files"]} == demo.files
    assert m["storage"]["file_count"] == len(demo.files) and m["storage"]["skipped"] == []
    with tarfile.open(demo.archive) as tar:
        names = tar.getnames()
        dump = tar.extractfile(m["database"]["member"]).read()  # type: ignore[union-attr]
        for f in m["storage"]["files"][:5]:
            data = tar.extractfile(f["member"]).read()  # type: ignore[union-attr]
            assert (len(data), hashlib.sha256(data).hexdigest()) == (f["size"], f["sha256"])
    assert names[-1] == "manifest.json" and len(names) == len(demo.files) + 2
    assert (len(dump), hashlib.sha256(dump).hexdigest()) == (m["database"]["size"], m["database"]["sha256"])
    assert dump.startswith(b"SQLite format 3\x00" if demo.kind == "sqlite" else b"PGDMP")


# --- refusals ------------------------------------------------------------------------------------

def test_restore_refuses_a_target_with_data_and_accepts_a_freshly_migrated_one(demo: Demo, target) -> None:  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade

    from lms.storage import storage

    upgrade()  # `flask db upgrade` first: only the reference tables the migrations fill have rows
    _db.session.remove()
    migrated = _counts(_db.engine)
    with _db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO login_failures (email, ip, at) VALUES ('x@example.org', '10.0.0.1', "
                             "'2026-01-01 00:00:00')"))
    result = _restore(target, demo.archive)
    assert result.exit_code == 1
    assert "the database is not empty: login_failures (1 rows)" in result.output
    assert "nothing was changed" in result.output
    assert _counts(_db.engine) == {**migrated, "login_failures": 1} and _files(target) == {}

    with _db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM login_failures"))
    storage().put("uploads", "mine/keep.txt", b"mine")
    result = _restore(target, demo.archive)
    assert result.exit_code == 1
    assert "the storage is not empty (uploads/mine/keep.txt exists" in result.output
    assert _counts(_db.engine) == migrated and _files(target) == {"uploads/mine/keep.txt": hashlib.sha256(b"mine").hexdigest()}

    storage().delete("uploads", "mine/keep.txt")
    result = _restore(target, demo.archive)  # over the freshly migrated schema (PostgreSQL: pg_restore --clean)
    assert result.exit_code == 0, result.output
    assert _counts(_db.engine) == {**demo.counts, "audit_log": demo.counts["audit_log"] + 1}
    assert _files(target) == demo.files


def _flip_byte(archive: Path, copy: Path, member: str) -> None:
    shutil.copyfile(archive, copy)
    with tarfile.open(copy) as tar:
        info = tar.getmember(member)
    with open(copy, "r+b") as f:
        f.seek(info.offset_data + info.size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x01]))


def test_a_corrupted_archive_is_refused_before_anything_is_written(demo: Demo, target, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lms.backup import read_manifest

    m = read_manifest(demo.archive)
    one_file = m["storage"]["files"][len(m["storage"]["files"]) // 2]["member"]
    for member in (one_file, m["database"]["member"]):
        bad = tmp_path / "bad.tar"
        _flip_byte(demo.archive, bad, member)
        result = _restore(target, bad)
        assert result.exit_code == 1
        assert "does not match its manifest; nothing was restored" in result.output
        assert f"{member}: " in result.output and "but the manifest says" in result.output
        _untouched(target)
    # cut short: the manifest (written last) is gone
    cut = tmp_path / "cut.tar"
    with open(demo.archive, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(demo.archive.stat().st_size // 2))
    result = _restore(target, cut)
    assert result.exit_code == 1 and ("no manifest.json" in result.output or "cannot be read" in result.output)
    _untouched(target)


def _with_manifest(archive: Path, copy: Path, **changes: Any) -> None:
    """A copy of the archive whose manifest has ``changes`` (dotted keys) applied."""
    with tarfile.open(archive) as src, tarfile.open(copy, "w", format=tarfile.PAX_FORMAT) as dst:
        for info in src:
            f = src.extractfile(info)
            if info.name == "manifest.json":
                m = json.load(f)  # type: ignore[arg-type]
                for dotted, value in changes.items():
                    *path, last = dotted.split(".")
                    node = m
                    for p in path:
                        node = node[p]
                    node[last] = value
                data = json.dumps(m).encode()
                info.size = len(data)
                dst.addfile(info, io.BytesIO(data))
            else:
                dst.addfile(info, f)


def test_restore_refuses_the_other_database_kind_and_a_foreign_revision(demo: Demo, target, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    from lms.backup import MIGRATIONS

    other = "postgresql" if demo.kind == "sqlite" else "sqlite"
    older = ScriptDirectory(str(MIGRATIONS)).get_revision(demo.revision).down_revision
    cases = [({"database.kind": other}, [f"holds a {other} database but this installation uses {demo.kind}",
                                          "not supported"]),
             ({"app.alembic_revision": "f00dfeed"}, ["revision f00dfeed is unknown to this code",
                                                     "Install that release"]),
             ({"app.alembic_revision": older}, [f"revision {older}, older than this code's {demo.revision}",
                                                "--allow-older"])]
    for changes, messages in cases:
        copy = tmp_path / "changed.tar"
        _with_manifest(demo.archive, copy, **changes)
        result = _restore(target, copy)
        assert result.exit_code == 1, result.output
        for message in messages:
            assert message in result.output
        _untouched(target)


# --- streaming and the SQLite WAL ----------------------------------------------------------------

def test_large_files_are_streamed_and_committed_wal_data_is_included(app, database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lms.backup import BackupError, create_backup, restore_backup
    from lms.storage import storage

    big = tmp_path / "big.bin"
    h = hashlib.sha256()
    with open(big, "wb") as f:
        for _ in range(32):
            chunk = os.urandom(1024 * 1024)
            h.update(chunk)
            f.write(chunk)
    storage().put_file("uploads", "big/scan.bin", big)
    with _db.engine.begin() as conn:  # committed, and on SQLite still in the WAL (the app holds it open)
        conn.execute(sa.text("INSERT INTO login_failures (email, ip, at) VALUES ('wal@example.org', '10.0.0.2', "
                             "'2026-01-01 00:00:00')"))
    if database["kind"] == "sqlite":
        assert Path(_db.engine.url.database + "-wal").stat().st_size > 0
    archive = tmp_path / "small.tar"
    tracemalloc.start()
    try:
        result = create_backup(archive)
        _current, backup_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert backup_peak < 8 * 1024 * 1024, backup_peak  # the 32 MB file never sat in memory
    assert result.manifest["database"]["tables"]["login_failures"] == 1
    from lms.audit.models import AuditEntry

    entry = _db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.action == "system.backup_created"
    assert entry.details["sha256"] == result.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(BackupError, match="exists already"):
        create_backup(archive)

    with _target_app(database, tmp_path / "target") as target:
        tracemalloc.start()
        try:
            restored = restore_backup(archive)
            _current, restore_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert restored.ok, restored.mismatches
        assert restore_peak < 8 * 1024 * 1024, restore_peak
        assert _files(target)["uploads/big/scan.bin"] == h.hexdigest()
        with _db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT email FROM login_failures")) == "wal@example.org"


def test_a_gzip_archive_restores_too(app, database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lms.backup import create_backup, restore_backup
    from lms.storage import storage

    storage().put("certificates", "2026/PAS-0001.pdf", b"%PDF-1.4 certificate")
    archive = tmp_path / "small.tar.gz"
    result = create_backup(archive)
    assert archive.read_bytes()[:2] == b"\x1f\x8b" and result.manifest["storage"]["file_count"] == 1
    with _target_app(database, tmp_path / "target") as target:
        restored = restore_backup(archive)
        assert restored.ok and restored.files_checked == 1, restored.mismatches
        assert _files(target) == {"certificates/2026/PAS-0001.pdf": hashlib.sha256(b"%PDF-1.4 certificate").hexdigest()}


def test_files_come_back_on_the_object_store_too(app, database, tmp_path: Path, s3_server) -> None:  # type: ignore[no-untyped-def]
    """Backup from an S3 bucket (moto's server), restore into another bucket; an occupied bucket is refused."""
    from lms.backup import BackupError, create_backup, restore_backup
    from lms.storage import storage

    app.config.update(s3_server.config(s3_server.bucket()))
    stored = {("uploads", "ab/scan.pdf"): os.urandom(70_000), ("certificates", "2026/PAS-0002.pdf"): b"%PDF-1.4 x",
              ("branding", "logo dinas.png"): b"\x89PNG logo"}
    for (area, key), data in stored.items():
        storage().put(area, key, data)
    archive = tmp_path / "s3.tar"
    manifest = create_backup(archive).manifest
    assert manifest["storage"]["backend"] == "s3" and manifest["storage"]["file_count"] == 3

    with _target_app(database, tmp_path / "target") as target:
        target.config.update(s3_server.config(s3_server.bucket(), prefix="restored"))
        storage().put("imports", "left/over.xlsx", b"old")
        with pytest.raises(BackupError, match=r"storage is not empty \(imports/left/over.xlsx exists, s3 backend\)"):
            restore_backup(archive)
        _db.session.remove()
        assert sa.inspect(_db.engine).get_table_names() == []
        storage().delete("imports", "left/over.xlsx")
        restored = restore_backup(archive)
        assert restored.ok and restored.files_checked == 3, restored.mismatches
        assert {(a, k): storage().get(a, k) for a, k in stored} == stored
        assert sorted(storage().keys("uploads")) == ["ab/scan.pdf"]
