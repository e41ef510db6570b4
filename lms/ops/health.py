"""Readiness: can this process serve requests? Each check answers ok or fail, nothing more.

The answers say which part failed, never why: no error text, versions, host names or ports
(those go to the log, for the operator).
"""
from __future__ import annotations

import logging
from typing import Callable

import sqlalchemy as sa
from flask import current_app

log = logging.getLogger(__name__)

#: seconds Redis may take to answer PING
REDIS_TIMEOUT = 1.0


def check_database() -> None:
    from ..extensions import db

    with db.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def check_redis() -> None:
    from redis import Redis

    conn = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=REDIS_TIMEOUT,
                          socket_timeout=REDIS_TIMEOUT)
    try:
        if not conn.ping():
            raise ConnectionError("Redis did not answer PING")
    finally:
        conn.close()


def check_storage() -> None:
    from ..storage import storage

    storage().check()


def checks() -> dict[str, Callable[[], None]]:
    """The checks that apply to this installation (Redis only when it is configured)."""
    found: dict[str, Callable[[], None]] = {"database": check_database}
    if current_app.config.get("REDIS_URL"):
        found["redis"] = check_redis
    found["storage"] = check_storage
    return found


def readiness() -> tuple[bool, dict[str, str]]:
    """(all ok, {"database": "ok"|"fail", …})."""
    results: dict[str, str] = {}
    for name, check in checks().items():
        try:
            check()
            results[name] = "ok"
        except Exception:  # the point is to report, not to raise
            log.warning("readiness check %s failed", name, exc_info=True)
            results[name] = "fail"
    return all(v == "ok" for v in results.values()), results
