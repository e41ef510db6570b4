"""Backups that restore: one archive with the database, every stored file and a manifest.

``flask --app lms backup [--output PATH]`` writes ONE tar archive (``.tar``; gzip-compressed when
PATH ends in ``.tar.gz`` or ``.tgz``; default ``instance/backups/lms-backup-<UTC time>.tar``)::

    database/lms.sqlite3   SQLite: a consistent copy made with the online backup API (the app may
                           keep running; committed data still in the WAL is included)
    database/lms.pgdump    PostgreSQL: ``pg_dump --format=custom``, taken in the same snapshot as the
                           row counts of the manifest (``pg_export_snapshot``)
    files/<area>/<key>     every stored file of every storage area (lms/storage.py), from the local
                           folders or the object store, streamed (never a whole file in memory)
    manifest.json          written last: created_at, the schema revision (alembic) and git commit,
                           the database kind, each table's row count, and size + SHA-256 of the dump
                           and of every file

The database is dumped first and the files copied after it, so a file uploaded meanwhile is at
worst an unreferenced extra; rows never point at a file the archive lacks unless it was deleted
during the backup (then listed under ``storage.skipped``).

``flask --app lms restore ARCHIVE`` restores into an EMPTY database and EMPTY storage:

1. reads the manifest; refuses an archive of the other database kind (SQLite ↔ PostgreSQL is not
   supported) and a schema revision this code does not have (an older one only with
   ``--allow-older``, followed by ``flask db upgrade``);
2. refuses a target with data: any stored key, or any table with rows other than what the
   migrations themselves write (``alembic_version``, ``regions``, ``kecamatan``, ``dashboard_counts``)
   — so a brand-new database and a freshly migrated one are both accepted;
3. verifies the size and SHA-256 of every member against the manifest before writing anything;
4. restores the database (SQLite: the backup API in reverse; PostgreSQL: ``pg_restore`` in a single
   transaction, ``--clean`` over a freshly migrated schema), then the files through ``storage()``
   (into whichever backend is configured now);
5. counts every table's rows and hashes every restored file, compares them with the manifest and
   reports, and records the restore in the audit log of the restored database.

PostgreSQL sequences come back with the dump (``SEQUENCE SET``); the audit log's append-only
triggers fire only on UPDATE/DELETE, so neither the COPY of its rows nor the backup API trips them.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable

import sqlalchemy as sa
from flask import current_app

from .extensions import db
from .storage import AREAS, NotStored, check_area, check_key, storage

FORMAT = "7pas-lms-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/lms.sqlite3"
PG_MEMBER = "database/lms.pgdump"
FILES_PREFIX = "files/"
CHUNK = 1024 * 1024
#: tables the migrations fill themselves (reference data, and the dashboard summaries' version rows the
#: summaries migration writes): rows there do not make a target "not empty"
REFERENCE_TABLES = frozenset({"alembic_version", "regions", "kecamatan", "dashboard_counts",
                              "dashboard_region_counts"})
MIGRATIONS = Path(__file__).parent / "migrations"

Progress = Callable[[str], None]


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    #: bytes of the archive
    size: int
    #: SHA-256 of the whole archive (to check a copy kept elsewhere)
    sha256: str
    seconds: float


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    tables_checked: int
    files_checked: int
    rows: int
    #: what differs from the manifest after the restore (empty: everything matches)
    mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: the archive's schema is older than the code's: run ``flask db upgrade`` now
    upgrade_needed: bool = False

    @property
    def ok(self) -> bool:
        return not self.mismatches


# --- small helpers ---------------------------------------------------------------------------

class _HashingReader:
    """Reads through ``f`` while counting and hashing (tarfile pulls the member's bytes through it)."""

    def __init__(self, f: IO[bytes]):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.h.update(data)
        self.n += len(data)
        return data


def _copy(src: IO[bytes], dst: IO[bytes] | None = None) -> tuple[int, str]:
    """Stream ``src`` (into ``dst`` when given); its size and SHA-256."""
    h, n = hashlib.sha256(), 0
    for chunk in iter(lambda: src.read(CHUNK), b""):
        h.update(chunk)
        n += len(chunk)
        if dst is not None:
            dst.write(chunk)
    return n, h.hexdigest()


def _hash_path(path: Path) -> tuple[int, str]:
    with open(path, "rb") as f:
        return _copy(f)


def _kind() -> str:
    name = db.engine.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"unsupported database {name!r}: backups know SQLite and PostgreSQL")
    return name


def _tables(conn: sa.Connection) -> list[tuple[str, str]]:
    """(name in the manifest, quoted SQL name) of every table, system catalogues excepted."""
    q = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite^_%' ESCAPE '^'")
        return sorted((r[0], q(r[0])) for r in rows)
    rows = conn.exec_driver_sql(
        "SELECT schemaname, tablename FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")
    return [(t if s == "public" else f"{s}.{t}", q(t) if s == "public" else f"{q(s)}.{q(t)}") for s, t in rows]


def _table_counts(conn: sa.Connection) -> dict[str, int]:
    return {name: int(conn.exec_driver_sql(f"SELECT count(*) FROM {sql}").scalar_one())
            for name, sql in _tables(conn)}


def _revision(conn: sa.Connection, tables: dict[str, int]) -> str | None:
    if "alembic_version" not in tables:
        return None
    revs = sorted(r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version"))
    return ",".join(revs) or None


def _script():  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def code_head() -> str:
    """The schema revision this code's migrations end at."""
    return ",".join(sorted(_script().get_heads()))


def _known_revisions() -> set[str]:
    return {r.revision for r in _script().walk_revisions()}


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _lock_timeout_s() -> float:
    return max(1.0, int(current_app.config.get("DATABASE_LOCK_TIMEOUT_MS") or 10_000) / 1000)


def _sqlite_path() -> Path:
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("the SQLite database must be a file (LMS_DATABASE_URL=sqlite:///path)")
    return Path(name)


def _server_major(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000


def _pg_tool(name: str, server_major: int | None) -> str:
    """``pg_dump`` / ``pg_restore``: LMS_PG_BIN_DIR, else the server's major version's Debian folder,
    else the one on PATH, else the newest in /usr/lib/postgresql."""
    configured = current_app.config.get("PG_BIN_DIR")
    candidates: list[Path] = []
    if configured:
        candidates.append(Path(configured) / name)
    else:
        if server_major:
            candidates.append(Path(f"/usr/lib/postgresql/{server_major}/bin/{name}"))
        on_path = shutil.which(name)
        if on_path:
            candidates.append(Path(on_path))
        found = [p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}") if p.parent.parent.name.isdigit()]
        candidates += sorted(found, key=lambda p: -int(p.parent.parent.name))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise BackupError(f"{name} not found: install the PostgreSQL {server_major or ''} client programs "
                      "(Debian: postgresql-client) or set LMS_PG_BIN_DIR to their folder")


def _libpq(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it (not on argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except OSError as e:
        raise BackupError(f"{what} could not start: {e}") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise BackupError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return done


def _audit(action: str, **details: Any) -> None:
    from .audit.services import record
    from .db import transaction
    from .permissions import SYSTEM

    with transaction():
        record(action, actor=SYSTEM, **details)


# --- backup ----------------------------------------------------------------------------------

def default_output() -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%SZ")
    return Path(current_app.instance_path) / "backups" / f"lms-backup-{stamp}.tar"


def _sqlite_dump(dest: Path) -> dict[str, Any]:
    path = _sqlite_path()
    if not path.is_file():
        raise BackupError(f"the SQLite database {path} does not exist")
    src = sqlite3.connect(str(path), timeout=_lock_timeout_s())
    try:
        dst = sqlite3.connect(str(dest))
        try:
            src.backup(dst)  # one step: a consistent snapshot, writers are not blocked (WAL)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            problems = [r[0] for r in dst.execute("PRAGMA quick_check")]
            version = dst.execute("SELECT sqlite_version()").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if problems != ["ok"]:
        raise BackupError("the SQLite database fails its quick_check: " + "; ".join(problems[:5]))
    engine = sa.create_engine(f"sqlite:///{dest}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = _table_counts(conn)
            revision = _revision(conn, tables)
    finally:
        engine.dispose()
    return {"format": "sqlite (online backup API)", "server_version": version, "tables": tables,
            "revision": revision}


def _pg_dump(dest: Path) -> dict[str, Any]:
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            tables = _table_counts(conn)  # the very snapshot pg_dump dumps
            revision = _revision(conn, tables)
            major = _server_major(conn)
            version = conn.exec_driver_sql("SHOW server_version").scalar_one()
            uri, env = _libpq(db.engine.url)
            _run([_pg_tool("pg_dump", major), "--format=custom", "--no-password", f"--snapshot={snapshot}",
                  f"--file={dest}", f"--dbname={uri}"], env, "pg_dump")
    return {"format": "pg_dump custom", "server_version": version, "tables": tables, "revision": revision}


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(time.time())
    return info


def _add_stream(tar: tarfile.TarFile, name: str, f: IO[bytes], size: int) -> tuple[int, str]:
    reader = _HashingReader(f)
    tar.addfile(_tarinfo(name, size), reader)  # type: ignore[arg-type]
    return reader.n, reader.h.hexdigest()


def _add_storage(tar: tarfile.TarFile, tmp: Path, say: Progress) -> tuple[list[dict[str, Any]], list[str]]:
    """Every stored file: copied to a spooled temporary file first (its exact size goes into the tar
    header before its bytes), hashed on the way."""
    store = storage()
    files: list[dict[str, Any]] = []
    skipped: list[str] = []
    for area in AREAS:
        keys = sorted(store.keys(area))
        if keys:
            say(f"  {area}: {len(keys)} files")
        for key in keys:
            member = f"{FILES_PREFIX}{area}/{key}"
            with tempfile.SpooledTemporaryFile(max_size=2 * CHUNK, dir=tmp) as spool:
                try:
                    with store.open(area, key) as src:
                        size, sha = _copy(src, spool)
                except NotStored:
                    skipped.append(f"{area}/{key}")  # deleted while the backup ran
                    continue
                spool.seek(0)
                _add_stream(tar, member, spool, size)
            files.append({"area": area, "key": key, "size": size, "sha256": sha, "member": member})
    return files, skipped


def create_backup(output: Path | str | None = None, *, progress: Progress | None = None) -> BackupResult:
    """Write the archive (see the module's docstring); refuses to overwrite an existing file."""
    say = progress or (lambda _m: None)
    started = time.monotonic()
    kind = _kind()
    output = Path(output) if output else default_output()
    if output.exists():
        raise BackupError(f"{output} exists already: choose another --output")
    output.parent.mkdir(parents=True, exist_ok=True)
    compress = output.name.endswith((".tar.gz", ".tgz"))
    part = output.with_name(f".{output.name}.part")
    db.session.remove()  # no transaction of ours may hold locks while the dump runs
    try:
        with tempfile.TemporaryDirectory(prefix=".lms-backup-", dir=output.parent) as tmp, \
                tarfile.open(part, "w:gz" if compress else "w", format=tarfile.PAX_FORMAT,
                             **({"compresslevel": 6} if compress else {})) as tar:
            dump = Path(tmp) / "dump"
            say(f"dumping the {kind} database …")
            database = _sqlite_dump(dump) if kind == "sqlite" else _pg_dump(dump)
            member = SQLITE_MEMBER if kind == "sqlite" else PG_MEMBER
            with open(dump, "rb") as f:
                size, sha = _add_stream(tar, member, f, dump.stat().st_size)
            dump.unlink()
            say(f"copying the stored files ({storage().kind}) …")
            files, skipped = _add_storage(tar, Path(tmp), say)
            revision = database.pop("revision")
            tables = database.pop("tables")
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "app": {"alembic_revision": revision, "code_head": code_head(), "git_commit": _git_commit()},
                "database": {"kind": kind, "member": member, **database, "size": size, "sha256": sha,
                             "rows": sum(tables.values()), "tables": tables},
                "storage": {"backend": storage().kind, "areas": list(AREAS), "file_count": len(files),
                            "bytes": sum(f["size"] for f in files), "skipped": skipped, "files": files},
            }
            data = json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")
            tar.addfile(_tarinfo(MANIFEST, len(data)), io.BytesIO(data))
        os.replace(part, output)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    total, archive_sha = _hash_path(output)
    _audit("system.backup_created", filename=output.name, sha256=archive_sha, rows=manifest["database"]["rows"],
           files=len(files))
    return BackupResult(output, manifest, total, archive_sha, time.monotonic() - started)


# --- restore ---------------------------------------------------------------------------------

def read_manifest(archive: Path | str) -> dict[str, Any]:
    """The archive's manifest; BackupError when the file is not one of our archives."""
    archive = Path(archive)
    try:
        with tarfile.open(archive, "r:*") as tar:
            try:
                f = tar.extractfile(tar.getmember(MANIFEST))
            except KeyError:
                raise BackupError(f"{archive.name} has no {MANIFEST}: not a backup of this application") from None
            manifest = json.load(f) if f else None
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BackupError(f"{archive.name} cannot be read as a tar archive ({e})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise BackupError(f"the manifest of {archive.name} is damaged ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive.name} is not a backup of this application (no {FORMAT} manifest)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"backup format version {manifest.get('format_version')} is not known to this code "
                          f"(it reads version {FORMAT_VERSION}): restore with the release that wrote it")
    return manifest


def _expected(manifest: dict[str, Any]) -> tuple[dict[str, tuple[int, str]], dict[str, dict[str, Any]]]:
    """member → (size, sha256) for every member the manifest lists, and member → file entry."""
    try:
        database = manifest["database"]
        expected = {database["member"]: (int(database["size"]), str(database["sha256"]))}
        files: dict[str, dict[str, Any]] = {}
        for f in manifest["storage"]["files"]:
            area, key = check_area(f["area"]), check_key(f["key"])
            member = f"{FILES_PREFIX}{area}/{key}"
            if f["member"] != member or member in expected:
                raise ValueError(f"bad or repeated member {f['member']!r}")
            expected[member] = (int(f["size"]), str(f["sha256"]))
            files[member] = f
        if database["member"] not in (SQLITE_MEMBER, PG_MEMBER):
            raise ValueError(f"bad database member {database['member']!r}")
        if database["kind"] not in ("sqlite", "postgresql") or not isinstance(database["tables"], dict):
            raise ValueError("bad database kind or table counts")
        manifest["app"]["alembic_revision"]  # noqa: B018 - present (None when the database had no schema)
    except (KeyError, TypeError, ValueError, NotStored) as e:
        raise BackupError(f"the manifest is damaged ({e.__class__.__name__}: {e})") from None
    return expected, files


def _check_compatible(manifest: dict[str, Any], kind: str, allow_older: bool) -> bool:
    """Refuse the other database kind and an unknown schema; True when an upgrade must follow."""
    theirs = manifest["database"]["kind"]
    if theirs != kind:
        raise BackupError(
            f"this archive holds a {theirs} database but this installation uses {kind} (LMS_DATABASE_URL). "
            f"Restore it into a {theirs} database: moving data between SQLite and PostgreSQL is not supported "
            "by restore.")
    app_info = manifest.get("app") if isinstance(manifest.get("app"), dict) else {}
    revision, head = app_info.get("alembic_revision"), code_head()
    if revision == head:
        return False
    if revision and revision in _known_revisions():
        if allow_older:
            return True
        raise BackupError(
            f"the archive's schema is at revision {revision}, older than this code's {head}. Either restore it "
            "with the release that made it, or run restore again with --allow-older and then "
            "`flask --app lms db upgrade`.")
    raise BackupError(
        f"the archive's schema revision {revision} is unknown to this code (head {head}): it was made by "
        f"another (probably newer) release{' at git commit ' + app_info['git_commit'] if app_info.get('git_commit') else ''}. "
        "Install that release to restore it.")


def _check_empty(revision: str | None) -> bool:
    """Refuse a target holding data; True when it has a (freshly migrated) schema to replace."""
    with db.engine.connect() as conn:
        counts = _table_counts(conn)
        target_revision = _revision(conn, counts)
    busy = sorted(t for t, n in counts.items() if n and t not in REFERENCE_TABLES)
    if busy:
        shown = ", ".join(f"{t} ({counts[t]} rows)" for t in busy[:8]) + (
            f" and {len(busy) - 8} more tables" if len(busy) > 8 else "")
        raise BackupError(f"the database is not empty: {shown}. Restore only into an empty database "
                          "(a new one: createdb, or a new SQLite file in LMS_DATABASE_URL); nothing was changed.")
    if counts and target_revision != revision:
        raise BackupError(f"the target database already has a schema at revision {target_revision}, the archive "
                          f"is at {revision}: restore into a new, empty database; nothing was changed.")
    store = storage()
    for area in AREAS:
        for key in store.keys(area):
            raise BackupError(f"the storage is not empty ({area}/{key} exists, {store.kind} backend). Restore only "
                              "into empty storage (new folders or a new bucket/prefix); nothing was changed.")
    return bool(counts)


def verify_archive(archive: Path | str, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stream every member through SHA-256 and compare with the manifest; BackupError listing what differs."""
    archive = Path(archive)
    manifest = manifest or read_manifest(archive)
    expected, _files = _expected(manifest)
    seen: dict[str, tuple[int, str]] = {}
    problems: list[str] = []
    try:
        with tarfile.open(archive, "r:*") as tar:
            for m in tar:
                if m.name == MANIFEST:
                    continue
                if m.name not in expected or not m.isfile():
                    problems.append(f"{m.name}: not listed in the manifest")
                    continue
                if m.name in seen:
                    problems.append(f"{m.name}: appears twice")
                    continue
                f = tar.extractfile(m)
                seen[m.name] = _copy(f) if f else (-1, "")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BackupError(f"{archive.name} is damaged: {e}; nothing was restored") from None
    for name, want in expected.items():
        got = seen.get(name)
        if got is None:
            problems.append(f"{name}: missing from the archive")
        elif got != want:
            problems.append(f"{name}: {got[0]} bytes, SHA-256 {got[1][:16]}… but the manifest says "
                            f"{want[0]} bytes, {want[1][:16]}…")
    if problems:
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise BackupError(f"{archive.name} does not match its manifest; nothing was restored:\n  "
                          + "\n  ".join(problems[:20]) + more)
    return manifest


def _extract_checked(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, want: tuple[int, str]) -> None:
    """Extract to ``dest``, checking again (the archive could have changed since it was verified)."""
    f = tar.extractfile(member)
    if f is None:
        raise BackupError(f"{member.name}: not a file")
    with open(dest, "wb") as out:
        got = _copy(f, out)
    if got != want:
        raise BackupError(f"{member.name} changed since it was verified: restore stopped")


def _sqlite_restore(dump: Path) -> None:
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    db.session.remove()
    db.engine.dispose()
    src = sqlite3.connect(str(dump))
    try:
        dst = sqlite3.connect(str(target), timeout=_lock_timeout_s())
        try:
            # the backup API refuses a WAL destination with another page size: leave WAL meanwhile
            dst.execute("PRAGMA journal_mode = DELETE")
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = WAL")
        finally:
            dst.close()
    except sqlite3.Error as e:
        raise BackupError(f"restoring the SQLite database into {target} failed: {e} (is the app still running?)") \
            from None
    finally:
        src.close()


#: TOC lines about the ``public`` schema itself (dumped when it was re-created): it exists already
_PUBLIC_SCHEMA = re.compile(r"^\s*\d+;\s+\d+\s+\d+\s+(SCHEMA - public|COMMENT - SCHEMA public)\s")


def _pg_restore(dump: Path, tmp: Path, clean: bool) -> None:
    with db.engine.connect() as conn:
        major = _server_major(conn)
    db.session.remove()
    db.engine.dispose()  # no connection of ours may hold a lock pg_restore waits for
    tool = _pg_tool("pg_restore", major)
    uri, env = _libpq(db.engine.url)
    listing = _run([tool, "--list", str(dump)], env, "pg_restore --list").stdout
    use_list = tmp / "toc.list"
    use_list.write_text("".join(line + "\n" for line in listing.splitlines() if not _PUBLIC_SCHEMA.match(line)),
                        encoding="utf-8")
    cmd = [tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "--no-password",
           f"--use-list={use_list}", f"--dbname={uri}", str(dump)]
    if clean:  # a freshly migrated schema (no data): replaced object by object, in the same transaction
        cmd[1:1] = ["--clean", "--if-exists"]
    _run(cmd, env, "pg_restore")
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def _compare(manifest: dict[str, Any], files: dict[str, dict[str, Any]]) -> tuple[list[str], int]:
    mismatches: list[str] = []
    with db.engine.connect() as conn:
        counts = _table_counts(conn)
    for table, n in manifest["database"]["tables"].items():
        if counts.get(table) != n:
            mismatches.append(f"table {table}: {counts.get(table, 'missing')} rows, the manifest says {n}")
    for table in sorted(set(counts) - set(manifest["database"]["tables"])):
        mismatches.append(f"table {table}: not in the archive")
    store = storage()
    for f in files.values():
        try:
            with store.open(f["area"], f["key"]) as src:
                got = _copy(src)
        except NotStored:
            mismatches.append(f"file {f['area']}/{f['key']}: missing after the restore")
            continue
        if got != (f["size"], f["sha256"]):
            mismatches.append(f"file {f['area']}/{f['key']}: differs from the manifest")
    return mismatches, sum(counts.values())


def restore_backup(archive: Path | str, *, allow_older: bool = False,
                   progress: Progress | None = None) -> RestoreResult:
    """Restore the archive into this app's (empty) database and (empty) storage; see the module's docstring."""
    say = progress or (lambda _m: None)
    started = time.monotonic()
    archive = Path(archive)
    manifest = read_manifest(archive)
    kind = _kind()
    expected, files = _expected(manifest)
    upgrade_needed = _check_compatible(manifest, kind, allow_older)
    db.session.remove()
    replace_schema = _check_empty(manifest["app"]["alembic_revision"])
    say(f"verifying {len(expected)} checksums …")
    verify_archive(archive, manifest)
    db_member = manifest["database"]["member"]
    with tempfile.TemporaryDirectory(prefix="lms-restore-") as tmp_name, tarfile.open(archive, "r:*") as tar:
        tmp = Path(tmp_name)
        dump = tmp / "dump"
        _extract_checked(tar, tar.getmember(db_member), dump, expected[db_member])
        say(f"restoring the {kind} database …")
        if kind == "sqlite":
            _sqlite_restore(dump)
        else:
            _pg_restore(dump, tmp, replace_schema)
        dump.unlink()
        say(f"restoring {len(files)} files into the {storage().kind} storage …")
        store = storage()
        for m in tar:
            entry = files.get(m.name)
            if entry is None:
                continue
            part = tmp / "file"
            _extract_checked(tar, m, part, expected[m.name])
            store.put_file(entry["area"], entry["key"], part)
            part.unlink()
    say("comparing row counts and checksums with the manifest …")
    db.session.remove()
    db.engine.dispose()
    mismatches, rows = _compare(manifest, files)
    if not upgrade_needed:  # an older schema may not fit today's audit model: upgrade first
        _audit("system.restored", filename=archive.name, created=manifest.get("created_at"), rows=rows,
               files=len(files))
    return RestoreResult(manifest, len(manifest["database"]["tables"]), len(files), rows, mismatches,
                         time.monotonic() - started, upgrade_needed)
