"""Logs: one line per event, JSON or text, each carrying the request it belongs to.

``LOG_FORMAT`` (``LMS_LOG_FORMAT``) = ``json``: one JSON object per line (``ts``, ``level``,
``logger``, ``message``, ``request_id``, ``user_id`` when known, the event's own fields, ``exc``
for a traceback), for a log shipper; anything else: readable text. One handler on the root
logger writes to stderr (gunicorn and ``flask`` pass it on to the journal or the container log);
the ``lms`` loggers log from INFO up, other libraries from WARNING up.

Every request gets an id (:func:`request_id`): the caller's ``X-Request-ID`` when it is a short
safe token (a proxy's or load balancer's id joins the two logs), else a new one. It is returned in
the ``X-Request-ID`` response header, shown on the 500 page for the person to quote, and added to
every line logged while the request runs. One access line per request (logger ``lms.access``)
says who (the user id only: never a name, e-mail or phone number), which route (the URL rule
such as ``/outlets/<int:outlet_id>``, never the path with its ids or the query string), the
method, the status and the milliseconds taken.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from datetime import datetime, timezone
from typing import IO, Any

from flask import Flask, g, has_request_context, request
from flask.wrappers import Response

#: the header a request id comes in and goes out with
HEADER = "X-Request-ID"
#: an incoming id is kept only when it looks like an id: short, letters, digits and ``._-:``
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
ENV_ID = "lms.request_id"
ENV_START = "lms.request_start"
ENV_LOGGED = "lms.request_logged"
#: methods other than these are logged and counted as "OTHER" (a client may send any token)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: the route of a request no URL rule matched (a 404, a 405 before routing)
UNMATCHED = "<unmatched>"

access_log = logging.getLogger("lms.access")

#: the LogRecord attributes every record has; anything else on a record is an event's own field
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


# --- the request id -------------------------------------------------------------------------------

def new_id() -> str:
    """16 hexadecimal characters: unique enough, and short enough to read out on the phone."""
    return secrets.token_hex(8)


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    if not has_request_context():
        return None
    rid = request.environ.get(ENV_ID)
    if rid is None:  # a hook ran before ours (or ours was not installed): give it one now
        rid = request.environ[ENV_ID] = _incoming_or_new()
    return str(rid)


def _incoming_or_new() -> str:
    incoming = request.headers.get(HEADER, "")
    return incoming if SAFE_ID.fullmatch(incoming) else new_id()


def route() -> str:
    """The URL rule the request matched (its template: bounded, no ids), or ``<unmatched>``."""
    rule = request.url_rule if has_request_context() else None
    return rule.rule if rule is not None else UNMATCHED


def method() -> str:
    return request.method if request.method in METHODS else "OTHER"


def current_user_id() -> int | None:
    """The signed-in user's id if this request has loaded the user already (no query of its own)."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded for this request
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    # never through the attribute: an expired one would load the row, and a log line written while
    # the session is busy (e.g. the slow-query log inside a commit) must not use the session
    uid = vars(user).get("id")
    if uid is None:
        from sqlalchemy import inspect

        state = inspect(user, raiseerr=False)
        key = getattr(state, "key", None)
        uid = key[1][0] if key and key[1] else None
    return uid if isinstance(uid, int) else None


# --- formatting -------------------------------------------------------------------------------------

class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``user_id`` (when known) to every record logged during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        if not hasattr(record, "user_id"):
            record.user_id = current_user_id() if has_request_context() else None
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id and user_id (null outside a
    request or when nobody is signed in), the record's extra fields, and ``exc`` / ``stack`` for a
    traceback. Values that JSON cannot hold become strings."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        for key, value in _fields(record).items():
            if value is not None:
                out.setdefault(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``2026-12-01 09:30:00,123 WARNING lms.x [3f9a…] the message`` (``[-]`` outside a request)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when the line is written (a test's capture, gunicorn's
    redirected stream), or to a stream given with ``setStream``."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        logging.Handler.__init__(self)
        self._target = stream

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return self._target or sys.stderr

    @stream.setter
    def stream(self, value: IO[str] | None) -> None:
        self._target = value


def installed_handler() -> StderrHandler | None:
    """This process's log handler (on the root logger), once an app has been made."""
    for h in logging.getLogger().handlers:
        if isinstance(h, StderrHandler) and getattr(h, "_lms", False):
            return h
    return None


def configure_logging(app: Flask, stream: IO[str] | None = None) -> StderrHandler:
    """Install (or replace) the process's handler with the app's format, writing to ``stream``
    (default: stderr). Idempotent: the last app made sets the format, as there is one stderr per
    process. Other handlers on the root logger (a test's log capture, a CLI's) are left alone."""
    from flask.logging import default_handler

    root = logging.getLogger()
    old = installed_handler()
    if old is not None:
        root.removeHandler(old)
    handler = StderrHandler(stream)
    handler._lms = True  # type: ignore[attr-defined]
    json_format = str(app.config.get("LOG_FORMAT") or "").strip().lower() == "json"
    handler.setFormatter(JsonFormatter() if json_format else TextFormatter())
    handler.addFilter(RequestContextFilter())
    root.addHandler(handler)
    lms_logger = logging.getLogger("lms")
    lms_logger.removeHandler(default_handler)  # Flask's own handler would write every line twice
    if lms_logger.level == logging.NOTSET or lms_logger.level > logging.INFO:
        lms_logger.setLevel(logging.DEBUG if app.debug else logging.INFO)
    return handler


# --- the request hooks ------------------------------------------------------------------------------

def _start() -> None:
    request.environ[ENV_START] = time.perf_counter()
    request.environ[ENV_ID] = _incoming_or_new()


def elapsed_seconds() -> float:
    started = request.environ.get(ENV_START)
    return time.perf_counter() - started if started is not None else 0.0


def _access_line(status: int) -> None:
    """The one access line of this request (once, even if both hooks below run)."""
    if request.environ.get(ENV_LOGGED):
        return
    request.environ[ENV_LOGGED] = True
    seconds = elapsed_seconds()
    duration_ms = round(seconds * 1000, 1)
    the_route, the_method, uid = route(), method(), current_user_id()
    access_log.info("%s %s %s %.1f ms user=%s", the_method, the_route, status, duration_ms, uid or "-",
                    extra={"request_id": request_id(), "user_id": uid, "route": the_route, "method": the_method,
                           "status": status, "duration_ms": duration_ms})
    from . import metrics

    metrics.observe_request(the_route, the_method, status, seconds)


def init_request_hooks(app: Flask) -> None:
    """The request id first of all before-request hooks; the access line and the response header
    last of all after-request hooks (a teardown writes the line when no response was made)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    def _finish(resp: Response) -> Response:
        rid = request_id()
        if rid:
            resp.headers[HEADER] = rid
        _access_line(resp.status_code)
        return resp

    def _teardown(exc: BaseException | None) -> None:
        if exc is not None:
            _access_line(500)

    # after_request hooks run in reverse order of registration: inserted first, this one runs last
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)
    app.teardown_request(_teardown)

    @app.context_processor
    def _inject_request_id() -> dict[str, Any]:
        return {"request_id": request_id()}
