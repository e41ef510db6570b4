"""Bearer tokens on every operation, scopes per operation, and the rulebook for the token's user.

A session cookie never authenticates the API: for every /api request Flask-Login's user is set to
the anonymous user before anything else runs (``install``), so only ``Authorization: Bearer``
counts. The token's user then meets the same rules as on the pages (``lms.permissions.can``):
404 for what they may not see, 403 for what they see but may not do, and 403 for an operation
whose scope the token lacks.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from flask import Flask, g, request
from flask_babel import gettext as _

from .. import permissions
from ..forms_common import int_or_none
from ..permissions import AUTHENTICATED, PUBLIC
from . import problems, tokens

F = TypeVar("F", bound=Callable[..., Any])

#: the security scheme's name in the OpenAPI document
SCHEME = "bearerAuth"


class ApiProblem(Exception):
    """Raised inside an API view: answered with its problem response."""

    def __init__(self, status: int, *, slug: str | None = None, detail: str | None = None,
                 errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail or slug or str(status))
        self.status, self.slug, self.detail, self.errors, self.headers, self.extra = (
            status, slug, detail, errors, headers, extra)

    def response(self):  # type: ignore[no-untyped-def]
        return problems.problem(self.status, slug=self.slug, detail=self.detail, errors=self.errors,
                                headers=self.headers, **self.extra)


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def bearer_secret() -> str | None:
    """The token in ``Authorization: Bearer …`` (None without one)."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def token_key() -> str | None:
    """A stable, non-secret key of the request's token (rate limits per token): its hash's start."""
    secret = bearer_secret()
    return tokens.hash_token(secret)[:32] if secret else None


def _unauthorized(error: str | None, detail: str) -> ApiProblem:
    challenge = 'Bearer realm="api"' + (f', error="{error}"' if error else "")
    return ApiProblem(401, slug="unauthorized", detail=detail, headers={"WWW-Authenticate": challenge})


def authenticate(scope: str) -> tuple[Any, Any]:
    """The request's (user, token) for an operation needing ``scope``; ApiProblem 401/403 otherwise."""
    if "api_user" in g:
        user, token = g.api_user, g.api_token
    else:
        secret = bearer_secret()
        if secret is None:
            raise _unauthorized(None, _("Kirim token API di header Authorization: Bearer <token>."))
        found = tokens.authenticate(secret)
        if found is None:
            raise _unauthorized("invalid_token", _("Token ini tidak dikenal, sudah kedaluwarsa atau dicabut, "
                                                   "atau pemiliknya sudah nonaktif."))
        user, token = found
        g.api_user, g.api_token = user, token
    if scope not in (token.scopes or []):
        raise ApiProblem(403, slug="insufficient-scope",
                         detail=_("Operasi ini memerlukan cakupan %(scope)s.", scope=scope),
                         headers={"WWW-Authenticate": f'Bearer realm="api", error="insufficient_scope", scope="{scope}"'},
                         required_scope=scope)
    return user, token


def actor() -> Any:
    """The token's user (inside an authenticated operation)."""
    return g.api_user


def allowed(action: str, obj: Any = None) -> bool:
    return permissions.can(g.api_user, action, obj)


def not_found() -> ApiProblem:
    return ApiProblem(404)


def forbidden(detail: str | None = None) -> ApiProblem:
    return ApiProblem(403, slug="forbidden", detail=detail)


def authorize(obj: Any, view_action: str, action: str | None = None) -> Any:
    """404 when the token's user may not see ``obj``; 403 when they may see but not ``action`` it."""
    if obj is None or not allowed(view_action, obj):
        raise not_found()
    if action is not None and not allowed(action, obj):
        raise forbidden()
    return obj


def load(model: type, ident: Any, view_action: str, action: str | None = None, options: Any = ()) -> Any:
    from ..extensions import db

    pk = int_or_none(ident)
    obj = db.session.get(model, pk, options=list(options)) if pk is not None else None
    return authorize(obj, view_action, action)


def operation(scope: str | None, rule: str = AUTHENTICATED) -> Callable[[F], F]:
    """Declare an API operation: the token scope it needs (None: public, no token) and the rule its
    user must pass first (object rules are the view's, through :func:`load`)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if scope is not None:
                user, _token = authenticate(scope)
                if rule not in (AUTHENTICATED, PUBLIC) and not permissions.can(user, rule):
                    raise forbidden()
            return view(*args, **kwargs)

        wrapped._lms_rule = PUBLIC if scope is None else rule  # type: ignore[attr-defined]
        wrapped._api_scope = scope  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def install(app: Flask) -> None:
    """Before everything else: an /api request is anonymous to Flask-Login (cookies never count)."""

    def _no_cookie_user(_endpoint: str | None, _values: Any) -> None:
        if is_api_request():
            g._login_user = app.login_manager.anonymous_user()  # type: ignore[attr-defined]

    app.url_value_preprocessors.setdefault(None, []).insert(0, _no_cookie_user)
