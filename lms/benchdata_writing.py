"""Writing the benchmark data fast (lms/benchdata.py): rows buffered per table and written in
batches, parents first (Core executemany on SQLite, ``COPY`` on PostgreSQL), and SQLite's
connections tuned while generating; and the run's report (rows and seconds per table, seconds per
phase) that ``flask bench-data`` prints."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any, Callable, Iterator

import sqlalchemy as sa

from .extensions import db

#: rows per batch
BATCH = 10_000


@dataclass
class TableStat:
    rows: int = 0
    #: seconds spent writing this table's rows (executemany)
    seconds: float = 0.0


#: parents before children: flushing writes every buffer in this order
TABLE_ORDER = ("users", "outlets", "outlet_manager_terms", "mentor_assignments", "cohorts", "cohort_regions",
               "enrolments", "enrolment_stages", "training_sessions", "session_speakers", "registrations",
               "visits", "action_items", "certificates", "certificate_counters", "audit_log")


class Writer:
    """Buffers rows per table and writes them in batches, parents first.

    SQLite: Core ``insert()`` executemany (the sqlite3 module runs it in C). PostgreSQL:
    ``COPY … FROM STDIN``: psycopg sends an executemany row by row (about 70 µs a row, over
    7 minutes for the national data set), COPY streams the batch; values are converted
    exactly as the column types would bind them (UTC timestamps stored naive, JSON as text).
    """

    def __init__(self, stats: dict[str, TableStat]) -> None:
        self.stats = stats
        self.buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_ORDER}
        self.tables = {name: db.metadata.tables[name] for name in TABLE_ORDER}
        self.copy = db.engine.dialect.name == "postgresql"

    def add(self, table: str, row: dict[str, Any]) -> None:
        buf = self.buffers[table]
        buf.append(row)
        if len(buf) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for name in TABLE_ORDER:
            rows = self.buffers[name]
            if not rows:
                continue
            t = time.perf_counter()
            if self.copy:
                self._copy(name, rows)
            else:
                db.session.execute(sa.insert(self.tables[name]), rows)
            stat = self.stats.setdefault(name, TableStat())
            stat.seconds += time.perf_counter() - t
            stat.rows += len(rows)
            self.buffers[name] = []

    def _copy(self, name: str, rows: list[dict[str, Any]]) -> None:
        from psycopg import sql

        from .db import UTCDateTime

        table = self.tables[name]
        columns = list(rows[0])
        convert: list[Callable[[Any], Any] | None] = []
        for c in columns:
            type_ = table.c[c].type
            if isinstance(type_, UTCDateTime):
                convert.append(lambda v: None if v is None else v.astimezone(timezone.utc).replace(tzinfo=None))
            elif isinstance(type_, sa.JSON):
                convert.append(json.dumps)
            else:
                convert.append(None)
        pairs = list(zip(columns, convert))
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(name), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        raw = db.session.connection().connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] if f is None else f(row[c]) for c, f in pairs])


class FastSQLite:
    """On SQLite: synchronous=OFF, a 256 MB page cache and in-memory temp tables for every connection
    checked out while generating; afterwards the pool is emptied so later connections get the
    app's settings again (lms.db.install_sqlite_pragmas)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.on = engine.dialect.name == "sqlite"

    @staticmethod
    def _checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous = OFF")
        cur.execute("PRAGMA cache_size = -262144")
        cur.execute("PRAGMA temp_store = MEMORY")
        cur.close()

    def __enter__(self) -> "FastSQLite":
        if self.on:
            db.session.close()
            sa.event.listen(self.engine, "checkout", self._checkout)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.on:
            db.session.close()
            sa.event.remove(self.engine, "checkout", self._checkout)
            self.engine.dispose()


# --- what a run reports ----------------------------------------------------------------------

@dataclass
class Report:
    tables: dict[str, TableStat] = field(default_factory=dict)
    #: wall-clock seconds per phase, in order
    phases: dict[str, float] = field(default_factory=dict)
    #: active enrolments per current stage ('' for all steps done)
    stages: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def rows(self, table: str) -> int:
        return self.tables[table].rows if table in self.tables else 0


def format_report(report: Report) -> Iterator[str]:
    """The lines ``flask bench-data`` prints: rows and write time per table, time per phase."""
    yield f"  {'table':<24}{'rows':>12}{'write s':>10}"
    for name in TABLE_ORDER:
        stat = report.tables.get(name)
        if stat:
            yield f"  {name:<24}{stat.rows:>12,}{stat.seconds:>10.1f}"
    yield "  phases: " + ", ".join(f"{name} {s:.1f} s" for name, s in report.phases.items())
    yield "  active enrolments by current stage: " + ", ".join(
        f"{k or 'all done'} {v:,}" for k, v in report.stages.items())
    yield f"  total {report.seconds:.1f} s"
