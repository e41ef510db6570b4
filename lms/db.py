"""Declarative base, naming convention, column types and the transaction helper.

Every model inherits :class:`Base`. Datetimes are stored as naive UTC (SQLite has no
time zones) through :class:`UTCDateTime` and always come back timezone-aware.
"""
from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime, timezone
from typing import Iterator

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


def install_sqlite_pragmas(engine: sa.Engine) -> None:
    """WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE for writes on SQLite."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own is unreliable).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 10000")
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


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """One unit of work: commit on success, roll back on any error.

    Services wrap each action in it, so an action is written whole or not at all.
    Nested calls join the outer unit of work. On SQLite the unit runs in a
    BEGIN IMMEDIATE transaction.
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
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info["txn_depth"] = 0
        reset_write_intent(token)
