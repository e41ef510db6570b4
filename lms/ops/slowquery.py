"""Slow statements: each one slower than ``SLOW_QUERY_MS`` is logged (logger ``lms.slow_query``,
WARNING) with its milliseconds and its SQL text as the application wrote it: with placeholders,
never the bound values (which hold names, e-mail addresses, phone numbers). During a request the
line carries the request id like every other (lms/ops/logs.py)."""
from __future__ import annotations

import logging
import re
import time
import weakref
from typing import Any, Mapping

import sqlalchemy as sa

log = logging.getLogger("lms.slow_query")

#: longest SQL text written to one line (a bulk INSERT's placeholders can run to pages)
MAX_STATEMENT_CHARS = 2000
_START = "_lms_started"
_installed: "weakref.WeakSet[sa.Engine]" = weakref.WeakSet()


def threshold_seconds(config: Mapping[str, Any]) -> float | None:
    """SLOW_QUERY_MS as seconds; None (off) when it is 0, empty or not a number."""
    try:
        ms = float(config.get("SLOW_QUERY_MS") or 0)
    except (TypeError, ValueError):
        return None
    return ms / 1000 if ms > 0 else None


def statement_text(statement: str) -> str:
    text = re.sub(r"\s+", " ", statement).strip()
    return text if len(text) <= MAX_STATEMENT_CHARS else text[:MAX_STATEMENT_CHARS] + " …"


def install(engine: sa.Engine, config: Mapping[str, Any]) -> None:
    """Listen on ``engine`` (once per engine; the threshold is read when the app is made)."""
    threshold = threshold_seconds(config)
    if threshold is None or engine in _installed:
        return
    _installed.add(engine)

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if context is not None:
            setattr(context, _START, time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        started = getattr(context, _START, None) if context is not None else None
        if started is None:
            return
        seconds = time.perf_counter() - started
        if seconds >= threshold:
            duration_ms = round(seconds * 1000, 1)
            text = statement_text(statement)
            log.warning("slow query (%.1f ms): %s", duration_ms, text,
                        extra={"duration_ms": duration_ms, "statement": text, "executemany": executemany})

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
