"""/healthz, /readyz and /metrics: for the load balancer, the orchestrator and Prometheus.

All three are outside sign-in, the privacy-notice and second-factor gates (their exemption lists
name them), the rate limits (no limit rule covers them) and CSRF (GET only, and exempt).
"""
from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, abort, current_app, jsonify, request

from ..permissions import PUBLIC, rule

bp = Blueprint("ops", __name__)

#: the endpoints, for the gates' exemption lists
ENDPOINTS = frozenset({"ops.healthz", "ops.readyz", "ops.metrics"})
#: headers a proxy adds: a request carrying one came through a proxy, so its loopback address says
#: nothing about the client (nginx on the same machine connects from 127.0.0.1)
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
NO_STORE = {"Cache-Control": "no-store"}


@bp.route("/healthz")
@rule(PUBLIC)
def healthz() -> Response:
    """Alive: the process answers. Touches nothing else (a database outage must not get every
    worker restarted)."""
    return Response("ok", mimetype="text/plain", headers=NO_STORE)


@bp.route("/readyz")
@rule(PUBLIC)
def readyz():  # type: ignore[no-untyped-def]
    """Ready: the database answers SELECT 1, Redis (when configured) answers PING, the file store
    is reachable. 200 or 503, with which check failed and nothing more."""
    from .health import readiness

    ok, results = readiness()
    body = {"status": "ready" if ok else "unavailable", "checks": results}
    return jsonify(body), 200 if ok else 503, NO_STORE


def _socket_address() -> str:
    """The address that opened the connection: before the trusted-proxy rewrite (ProxyFix keeps
    the original), so a forged or relayed X-Forwarded-For moves nothing here."""
    orig = request.environ.get("werkzeug.proxy_fix.orig") or {}
    return str(orig.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR") or "")


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def metrics_allowed() -> bool:
    """With METRICS_TOKEN: ``Authorization: Bearer <token>``. Without: a direct connection from
    this machine (127.0.0.1 or ::1) that did not come through a proxy."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), str(token).encode())
    if any(h in request.headers for h in PROXY_HEADERS):
        return False
    return _is_loopback(_socket_address())


@bp.route("/metrics")
@rule(PUBLIC)
def metrics() -> Response:
    """Prometheus text format; a 404 like any unknown address for anyone not allowed."""
    if not metrics_allowed():
        abort(404)
    from prometheus_client import CONTENT_TYPE_LATEST

    from .metrics import exposition

    return Response(exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST, **NO_STORE})
