"""Rate limits that hold across workers (Flask-Limiter on the ``limits`` library).

The counts live in Redis when ``LMS_REDIS_URL`` is set (or ``LMS_RATELIMIT_STORAGE_URI``), so the
four workers of ``gunicorn -w 4`` share one budget instead of four; without Redis they are kept in
each process's memory (development, a single worker).

What is limited, each a moving window ("at most N within any minute"), by the client's address as
the app's trusted-proxy handling gives it (``TRUSTED_PROXIES``: a forged ``X-Forwarded-For`` moves
nothing when no proxy is trusted):

- ``verify``: the public certificate verify page, its JSON twin (/api/v1/certificates/verify/…) and
  the credential check (/kredensial/periksa), one budget per address: RATELIMIT_VERIFY (unset:
  CERTIFICATE_VERIFY_PER_MINUTE per minute);
- ``login``: sign-in POSTs (password, phone code request, code entry, second-factor step), one
  budget per address: RATELIMIT_LOGIN;
- ``api``: every request under /api/, per Bearer token (the start of its SHA-256), per address
  without one: RATELIMIT_API;
- ``api-address``: every request under /api/, per address whatever the token: RATELIMIT_API_ADDRESS.

The sign-in ceiling comes on top of the per-account and per-address failure throttles kept in the
database (lms/people/services.py, phone_codes.py, twofactor.py): those count failures, this
counts every POST, and is checked before any password is hashed.

An answer over a limit is a 429 with ``Retry-After``: the HTML pages get the friendly error page,
the API gets RFC 9457 ``application/problem+json`` in Indonesian or English by ``Accept-Language``.
API responses carry ``X-RateLimit-Limit/Remaining/Reset`` for the per-token limit (or the one
breached).

When Redis cannot be reached the limiter logs a warning and falls back to per-process memory
counts (Flask-Limiter's in-memory fallback) until Redis answers again: requests are still served.

The limits are declared here, by endpoint and path, so no view (nor the API blueprint) needs a
decorator; ``limiter`` is the current app's :class:`flask_limiter.Limiter` (one per app, so two
apps in one process — tests — keep their own storage).
"""
from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from flask import Flask, current_app, g, render_template, request
from flask.wrappers import Response
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded, RequestLimit
from werkzeug.local import LocalProxy

log = logging.getLogger(__name__)

EXTENSION = "lms.limiter"

#: the current app's limiter
limiter: Limiter = cast(Limiter, LocalProxy(lambda: current_app.extensions[EXTENSION]))

#: the sign-in steps whose POSTs count against RATELIMIT_LOGIN (one budget for all of them)
LOGIN_ENDPOINTS = frozenset({
    "people.login",             # e-mail and password
    "people.login_phone",       # ask for a code by phone number
    "people.login_phone_code",  # enter that code
    "security.verify",          # the second factor after the password
})
#: the public certificate verification, as a page and as JSON, and the credential check (one budget for all)
VERIFY_ENDPOINTS = frozenset({"certification.verify", "api.certificate_verify", "credentials.verify_page",
                              "certification.verify_file"})  # and the PDF check ("Periksa berkas")
API_PREFIX = "/api/"


# --- keys ------------------------------------------------------------------------------------

def address_key() -> str:
    """The client's address as the app sees it (after ProxyFix when TRUSTED_PROXIES is set). An
    IPv6 client is keyed by its /64: one subscriber line gets a whole /64, so keying single
    addresses would give it 2^64 budgets."""
    key = g.get("lms_rate_address")
    if key is None:
        key = g.lms_rate_address = _address_key()
    return key  # type: ignore[no-any-return]


def _address_key() -> str:
    from .people.auth import client_ip

    raw = client_ip()
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def token_key() -> str:
    """The API caller: the start of its Bearer token's SHA-256 (lms/api/auth.py ``token_key``; the
    stored ``ApiToken.token_hash`` starts with it), so two tokens have separate budgets and one token
    has one budget on every worker; a request without a Bearer token is keyed by its address. The
    token is not looked up: an invented token gets a budget of its own, which the per-address
    ceiling bounds."""
    from .api.auth import token_key as api_token_key

    key = api_token_key()
    return "token:" + key if key else "address:" + address_key()


# --- which requests ----------------------------------------------------------------------------

def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith(API_PREFIX)


def _is_login() -> bool:
    return request.method == "POST" and request.endpoint in LOGIN_ENDPOINTS


def _is_verify() -> bool:
    return request.endpoint in VERIFY_ENDPOINTS


@dataclass(frozen=True)
class Rule:
    scope: str
    #: the config key holding the limit ("30/minute", "600/minute;10000/hour"; empty: no limit)
    config_key: str
    key: Callable[[], str]
    applies: Callable[[], bool]


RULES = (
    Rule("verify", "RATELIMIT_VERIFY", address_key, _is_verify),
    Rule("login", "RATELIMIT_LOGIN", address_key, _is_login),
    Rule("api", "RATELIMIT_API", token_key, is_api_request),
    Rule("api-address", "RATELIMIT_API_ADDRESS", address_key, is_api_request),
)


def limit_value(config_key: str) -> str:
    """The limit string in force for ``config_key`` (read per request, so a changed config counts)."""
    value = current_app.config.get(config_key)
    if config_key == "RATELIMIT_VERIFY" and not value:  # the older name still works
        per_minute = current_app.config.get("CERTIFICATE_VERIFY_PER_MINUTE")
        value = f"{int(per_minute)}/minute" if per_minute else ""
    return str(value or "")


def _application_limit(rule: Rule) -> ApplicationLimit:
    return ApplicationLimit(
        # nothing to parse for the requests the rule is not about
        limit_provider=lambda: limit_value(rule.config_key) if rule.applies() else "",
        key_function=rule.key,
        scope=rule.scope,
        exempt_when=lambda: not rule.applies(),
    )


# --- set-up -------------------------------------------------------------------------------------

def storage_uri(config: Any) -> str:
    """RATELIMIT_STORAGE_URI if set, else REDIS_URL, else this process's memory."""
    return str(config.get("RATELIMIT_STORAGE_URI") or config.get("REDIS_URL") or "memory://")


def init_app(app: Flask) -> Limiter:
    uri = storage_uri(app.config)
    options: dict[str, Any] = {}
    if uri.startswith(("redis", "rediss", "valkey")):
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # a slow or unreachable Redis must not hold requests up: short timeouts, one quick retry,
        # then the in-memory fallback takes over (and the limiter retries Redis now and then)
        timeout = float(app.config.get("RATELIMIT_REDIS_TIMEOUT") or 0.5)
        options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "retry": Retry(NoBackoff(), 1)}
    lim = Limiter(
        address_key,
        application_limits=[_application_limit(r) for r in RULES],
        storage_uri=uri,
        storage_options=options,
        strategy=app.config.get("RATELIMIT_STRATEGY") or "moving-window",
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX") or "lms",
        # requests that match no route (a 404 under /api/) are counted too
        request_identifier=lambda: request.endpoint or "unrouted",
        headers_enabled=False,  # X-RateLimit-* only on the API, below
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        on_breach=_remember_breach,
    )
    # Flask-Limiter's own request hooks would run on every request (resolving and parsing every
    # limit: about 0.15 ms of CPU each); marking it as installed makes init_app leave them out, and
    # the hook below calls its check only for the requests a rule is about. Its after-request hook
    # (headers, conditional deductions) and teardown are not needed: neither feature is used, and
    # its per-request state lives on the request context.
    app.extensions.setdefault("limiter", set()).add(lim)
    lim.init_app(app)
    app.extensions[EXTENSION] = lim

    @app.before_request
    def _rate_limit() -> None:
        if lim.enabled and any(rule.applies() for rule in RULES):
            lim._check_request_limit()

    app.register_error_handler(RateLimitExceeded, _too_many)
    app.after_request(_api_headers)
    return lim


# --- answers --------------------------------------------------------------------------------------

def _remember_breach(limit: RequestLimit) -> None:
    g.lms_rate_limit = limit


def _retry_after(limit: RequestLimit | None, exc: RateLimitExceeded) -> int:
    """Seconds until the breached limit lets a request through again (at least 1)."""
    if limit is not None:
        try:
            return max(1, math.ceil(limit.window[0] - time.time()))
        except Exception:  # the storage went away between the hit and this question
            log.warning("rate limit storage unreachable while computing Retry-After", exc_info=True)
    return max(1, int(exc.limit.limit.get_expiry()))


def _too_many(exc: RateLimitExceeded) -> Response:
    limit: RequestLimit | None = g.pop("lms_rate_limit", None)
    retry_after = _retry_after(limit, exc)
    if is_api_request():
        resp = _problem(retry_after)
    else:
        template = "certification/verify_throttled.html" if _is_verify() else "errors/429.html"
        resp = current_app.make_response((render_template(template, retry_after=retry_after), 429))
    resp.headers["Retry-After"] = str(retry_after)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _problem(retry_after: int) -> Response:
    """RFC 9457 problem details like every other API error (lms/api/problems.py), in the language
    the client accepts."""
    from flask_babel import gettext as _

    from .api import problems

    return problems.problem(
        429, slug="rate-limited",
        detail=_("Terlalu banyak permintaan dalam waktu singkat. Coba lagi dalam %(seconds)d detik.",
                 seconds=retry_after),
        retry_after=retry_after)


def _api_headers(resp: Response) -> Response:
    """X-RateLimit-Limit/Remaining/Reset on API responses: the per-token limit (the one a client
    paces itself by), or the limit that was breached. One storage round trip."""
    if not is_api_request() or not current_app.config.get("RATELIMIT_API_HEADERS", True):
        return resp
    lim: Limiter | None = current_app.extensions.get(EXTENSION)
    if lim is None or not lim.enabled:
        return resp
    try:
        current = lim.current_limits
        if not current:
            return resp
        breached = [rl for rl in current if rl.breached]
        shown = breached[0] if breached else next((rl for rl in current if rl.request_args[-1] == "api"), current[0])
        resp.headers["X-RateLimit-Limit"] = str(shown.limit.amount)
        resp.headers["X-RateLimit-Remaining"] = str(max(0, shown.remaining))
        resp.headers["X-RateLimit-Reset"] = str(shown.reset_at)
    except Exception:  # storage unreachable: the answer goes out without the headers
        log.warning("rate limit storage unreachable while writing X-RateLimit headers", exc_info=True)
    return resp
