"""Domain errors and the styled error pages."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """Base for errors raised by services."""


class NotAllowed(DomainError):
    """The acting user may not do this."""


class NotFound(DomainError):
    """The object does not exist or the acting user may not see it."""


class Invalid(DomainError):
    """The input breaks a business rule. ``reasons`` maps a field name (or "") to messages."""

    def __init__(self, reasons: dict[str, list[str]] | str):
        if isinstance(reasons, str):
            reasons = {"": [reasons]}
        self.reasons = reasons
        super().__init__("; ".join(m for ms in reasons.values() for m in ms))

    def apply_to_form(self, form) -> None:  # type: ignore[no-untyped-def]
        """Attach the reasons to a WTForms form's fields (or its form-level errors)."""
        for field_name, messages in self.reasons.items():
            field = getattr(form, field_name, None) if field_name else None
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + list(messages)
            else:
                form.form_errors.extend(messages)


class Throttled(DomainError):
    def __init__(self, retry_after_seconds: int):
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"retry after {retry_after_seconds}s")


ERROR_CODES = (400, 403, 404, 405, 413, 429, 500, 503)
#: seconds a client is asked to wait when the database was busy (Retry-After of the 503)
BUSY_RETRY_AFTER = 5


def is_lock_timeout(e: BaseException) -> bool:
    """The database stayed locked by another writer for longer than the lock timeout.

    SQLite says "database is locked" once its busy timeout has passed; PostgreSQL raises
    lock_not_available (SQLSTATE 55P03) once lock_timeout has passed.
    """
    orig = getattr(e, "orig", None) or e
    text = str(orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return True
    return getattr(orig, "sqlstate", None) == "55P03"


def init_app(app: Flask) -> None:
    def render_error(code: int, description: str | None = None, retry_after: int | None = None):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):  # the JSON API answers with RFC 9457 problems
            from .api.problems import problem

            return problem(code, headers={"Retry-After": str(retry_after)} if retry_after else None)
        if request.accept_mimetypes.best == "application/json":
            resp = app.make_response((jsonify(error=code, description=description), code))
        else:
            resp = app.make_response((render_template(f"errors/{code}.html", description=description,
                                                      retry_after=retry_after), code))
        if retry_after:
            resp.headers["Retry-After"] = str(retry_after)
        return resp

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):  # type: ignore[no-untyped-def]
        code = e.code or 500
        if code not in ERROR_CODES:
            code = 400 if 400 <= code < 500 else 500
        # a message of the app's own (``abort(403, _("…"))``) replaces the page's general one; Werkzeug's
        # English default text does not
        own = e.description if e.description and e.description != type(e).description else None
        retry = getattr(e, "retry_after", None)
        return render_error(code, own, retry if isinstance(retry, int) and retry > 0 else None)

    @app.errorhandler(NotFound)
    def _nf(e: NotFound):  # type: ignore[no-untyped-def]
        return render_error(404)

    @app.errorhandler(NotAllowed)
    def _na(e: NotAllowed):  # type: ignore[no-untyped-def]
        return render_error(403)

    @app.errorhandler(Throttled)
    def _th(e: Throttled):  # type: ignore[no-untyped-def]
        return render_error(429, retry_after=e.retry_after_seconds)

    @app.errorhandler(sa.exc.OperationalError)
    def _busy(e: sa.exc.OperationalError):  # type: ignore[no-untyped-def]
        if not is_lock_timeout(e):
            return _other(e)
        from .db import reset_write_intent, set_write_intent
        from .extensions import db

        app.logger.warning("database busy, answered 503 on %s %s: %s", request.method, request.path, e.orig)
        db.session.rollback()
        token = set_write_intent(False)  # the page itself only reads: it must not queue for the lock again
        try:
            return render_error(503, retry_after=BUSY_RETRY_AFTER)
        finally:
            reset_write_intent(token)

    @app.errorhandler(Exception)
    def _other(e: Exception):  # type: ignore[no-untyped-def]
        if isinstance(e, HTTPException):
            return _http(e)
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        from .extensions import db

        db.session.rollback()
        if app.testing and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise e
        return render_error(500)
