"""Declarative base, naming convention, column types and the transaction helper.

Every model inherits :class:`Base`. Datetimes are stored as naive UTC (SQLite has no
time zones) through :class:`UTCDateTime` and always come back timezone-aware.
"""
from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and returned as an aware UTC datetime."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


# --- statements built once ----------------------------------------------------------------

_BUILT: dict[tuple[Any, ...], Any] = {}


def contains_text(q: str, *columns: Any) -> Any:
    """Any of ``columns`` holds ``q`` (case-insensitive, matched literally: % and _ are not wildcards)."""
    text = q.strip().lower()
    return sa.or_(*[sa.func.lower(c).contains(text, autoescape=True) for c in columns])


def built(key: tuple[Any, ...], build: Any) -> Any:
    """The statement ``build()`` makes, built once per process and ``key`` (its shape) and shared by
    every request; its values are bound parameters, given when it runs.

    For the statements of the busiest pages: building a select with its options in SQLAlchemy and
    computing its cache key cost more than the database took to answer it. A built statement keeps its
    cache key, so it also skips that."""
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = build()
    return found


def constant(value: Any) -> Any:
    """One of the app's own constant words (a status, a metric's name; an enum member gives its value) or whole
    numbers (a LIMIT) written into the SQL instead of bound, for the statements run on every request.

    PostgreSQL plans a prepared statement once for all its runs (a generic plan) only when that plan looks no
    worse than planning for the values at hand; with a status bound it guesses the rows of an average status,
    often judges the generic plan worse, and plans the statement again at every run (the sign-in statement:
    0.6 ms instead of 0.25; the dashboard's longest-stuck list: 0.9 instead of 0.4)."""
    if isinstance(value, int) and not isinstance(value, bool):  # (a LIMIT: PostgreSQL plans a bound one for 10 %)
        return sa.literal_column(str(int(value)), sa.Integer)
    word = str(getattr(value, "value", value))
    if not word.replace("_", "").isalnum() or not word.isascii():
        raise ValueError(f"not a constant word: {word!r}")
    return sa.literal_column(f"'{word}'", sa.String)


class TimestampMixin:
    #: when the row was created (UTC)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    #: when the row was last changed (UTC)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


# --- write transactions -----------------------------------------------------------------
#
# On SQLite a deferred transaction that reads and later writes can fail with
# SQLITE_BUSY_SNAPSHOT when another writer committed in between; the busy timeout does
# not help there. Write transactions therefore start with BEGIN IMMEDIATE, which takes the
# write lock up front (and waits for it under the busy timeout). Reads stay deferred so
# that GET requests never queue behind writers. Unsafe HTTP methods, CLI commands and
# services using ``transaction()`` mark their transaction as a write.

_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("lms_write_intent", default=False)


def set_write_intent(value: bool) -> contextvars.Token[bool]:
    return _write_intent.set(value)


def reset_write_intent(token: contextvars.Token[bool]) -> None:
    _write_intent.reset(token)


def write_intent() -> bool:
    return _write_intent.get()


#: how long a statement waits for a lock held by another writer, unless configured
LOCK_TIMEOUT_MS = 10_000


def _lock_timeout_ms(config: Mapping[str, Any] | None) -> int:
    return max(0, int((config or {}).get("DATABASE_LOCK_TIMEOUT_MS", LOCK_TIMEOUT_MS)))


def install_sqlite_pragmas(engine: sa.Engine, config: Mapping[str, Any] | None = None) -> None:
    """WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE for writes on SQLite.

    The busy timeout (``DATABASE_LOCK_TIMEOUT_MS``) is read from ``config`` whenever a
    connection opens; past it the statement fails with "database is locked", which the
    error pages answer with a 503 and a Retry-After header.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own is unreliable).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {_lock_timeout_ms(config)}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database and engine.url.database != ":memory:":
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        immediate = write_intent()
        conn.info["immediate"] = immediate
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def install_lock_timeout(engine: sa.Engine, config: Mapping[str, Any] | None = None) -> None:
    """PostgreSQL: a statement waiting longer than ``DATABASE_LOCK_TIMEOUT_MS`` for a lock fails
    (lock_not_available, answered with a 503) instead of holding the request indefinitely."""
    if engine.dialect.name != "postgresql":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {_lock_timeout_ms(config)}")
        dbapi_conn.autocommit = autocommit


# --- how a request's reading transaction ends --------------------------------------------
#
# A request that only read ends its transaction with COMMIT rather than ROLLBACK: the same for the
# database (nothing was written), but psycopg forgets every prepared statement of a connection at each
# ROLLBACK (a rolled-back transaction may have undone a schema change). Ended with ROLLBACK, as
# SQLAlchemy ends a session, no statement was ever run the five times psycopg waits for before it
# prepares one, and PostgreSQL planned every statement of every page again. A transaction that wrote,
# holds changes not yet flushed, or noted work for its end (files to remove, events to send: anything in
# ``session.info``) is rolled back as before.

_WROTE = "lms.wrote"


def install_write_tracking(engine: sa.Engine) -> None:
    """Note on the connection whether its current transaction ran anything but SELECT (see :func:`end_reads`)."""

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.info.pop(_WROTE, None)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _on_execute(conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        head = statement.lstrip()[:6].upper()
        if head != "SELECT" and not head.startswith("BEGIN"):  # (SQLite's BEGIN IMMEDIATE writes nothing)
            conn.info[_WROTE] = True


def end_reads(session: Any) -> bool:
    """Commit the session's transaction if it only read (True); otherwise leave it to be rolled back."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    if any(value for value in session.info.values()):  # (inside transaction(), txn_depth is set)
        return False
    conn = session.connection()
    if conn.info.get(_WROTE) or conn.in_nested_transaction():
        return False
    expire, session.expire_on_commit = session.expire_on_commit, False  # (a streamed response may still read)
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
    return True


@contextlib.contextmanager
def unlocked() -> Iterator[None]:
    """Run slow work that needs no database (parsing an uploaded spreadsheet) without holding a lock.

    A POST request starts its first query with BEGIN IMMEDIATE, so on SQLite it holds the
    write lock from the moment it loads the signed-in user. This ends that transaction
    (it has nothing to write yet) and runs the block as a reader: everyone else may write
    meanwhile. Loaded objects refresh on their next use. Inside ``transaction()``, or with
    changes pending, the transaction is not ended (its work must stay whole): that is a
    programming error and raises RuntimeError.
    """
    from .extensions import db

    session = db.session()
    if session.info.get("txn_depth", 0) or session.new or session.dirty or session.deleted:
        raise RuntimeError("unlocked() inside a unit of work: do the slow part before it starts")
    if session.in_transaction():
        session.commit()
    token = set_write_intent(False)
    try:
        yield
    finally:
        reset_write_intent(token)


@contextlib.contextmanager
def transaction(*, keep_loaded: bool = False) -> Iterator[None]:
    """One unit of work: commit on success, roll back on any error.

    Services wrap each action in it, so an action is written whole or not at all.
    Nested calls join the outer unit of work. On SQLite the unit runs in a
    BEGIN IMMEDIATE transaction.

    ``keep_loaded``: the objects the session holds keep their values after the commit instead of being
    read again at their next use. For an action whose page is drawn right after it from the objects it
    wrote (a registration, a check-in): what they hold is what was just committed. Values changed by a
    bulk UPDATE in the unit must be expired by the action itself.
    """
    from .extensions import db

    session = db.session()  # the scoped session's current Session
    depth = session.info.get("txn_depth", 0)
    if depth:
        session.info["txn_depth"] = depth + 1
        try:
            yield
        finally:
            session.info["txn_depth"] = depth
        return

    token = set_write_intent(True)
    try:
        if session.in_transaction() and session.get_bind().dialect.name == "sqlite":
            conn = session.connection()
            if not conn.info.get("immediate") and not (session.new or session.dirty or session.deleted):
                # A read transaction is open (objects were loaded). End it so the writes
                # run under the write lock; loaded objects refresh on next access.
                session.commit()
        session.info["txn_depth"] = 1
        yield
        if keep_loaded:
            expire, session.expire_on_commit = session.expire_on_commit, False
            try:
                session.commit()
            finally:
                session.expire_on_commit = expire
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info["txn_depth"] = 0
        reset_write_intent(token)
