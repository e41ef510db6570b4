"""From a committed event to signed HTTP requests, in the notifications worker (never in a request).

1. :func:`on_event` is subscribed to the offered events (lms/webhooks/catalog.py). It runs in the
   notifications dispatch, inside the transaction that claims the event, and writes one
   :class:`WebhookDelivery` per active endpoint that chose the event; ``(endpoint_id, event_id)``
   is unique, so an event never makes two deliveries to one endpoint. The body is built there,
   once, with the endpoint owner's rights (lms/webhooks/payloads.py); when the owner may not see
   the object (or is deactivated) the row is SKIPPED, with nothing in it, and nothing is sent.
2. :func:`deliver_due` (registered with the notifications worker's pass, ``dispatch.run_once``)
   fails rows a dead worker left ``sending`` (as "interrupted": they may have arrived, so they are
   not sent again by themselves; an admin can retry, and the receiver recognises the same
   ``webhook-id``), then sends what is due: claim (``pending`` → ``sending``, committed), POST,
   record. 2xx is DELIVERED; anything else, or no answer within ``WEBHOOKS_TIMEOUT``, is tried
   again after 1 min, 5 min, 30 min, 2 h, 12 h (``BACKOFF``), up to ``WEBHOOKS_MAX_ATTEMPTS``
   attempts, then FAILED. An address that turns out to be internal fails at once.
"""
from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import time
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app

from ..db import transaction, utcnow
from ..extensions import db
from ..notifications.events import subscriber, subscribers_of
from ..ops import metrics
from ..outbox.models import OutboxEvent
from . import addresses, catalog, payloads, signing
from .models import WebhookDelivery, WebhookEndpoint, WebhookStatus

log = logging.getLogger(__name__)

#: waits after the 1st, 2nd, … failed attempt (the last one repeats when more attempts are allowed)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=12))
#: a delivery still "sending" this long after its claim was interrupted (many times WEBHOOKS_TIMEOUT)
INTERRUPTED_AFTER = timedelta(minutes=10)
INTERRUPTED = "interrupted while sending: it may have arrived; not sent again automatically"
#: at most this much of an answer's body is read (kept in last_error for a failed attempt)
ANSWER_BYTES = 2048
USER_AGENT = "7PAS-LMS-Webhooks/1"


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


# --- 1. fan-out, inside the event's dispatch -------------------------------------------------------

def subscribe() -> None:
    """Subscribe :func:`on_event` to the offered events, once, after the notifications' own
    subscribers (lms/webhooks/__init__.py calls it when the app is made)."""
    for name in catalog.OFFERED:
        if on_event not in subscribers_of(name):
            subscriber(name)(on_event)


def on_event(event: OutboxEvent) -> list[Any]:
    """Write this event's deliveries (no audiences: webhooks are not people)."""
    endpoints = [e for e in db.session.scalars(
        sa.select(WebhookEndpoint).options(sa.orm.joinedload(WebhookEndpoint.owner))
        .where(WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id)) if event.name in (e.events or [])]
    if not endpoints:
        return []
    done = set(db.session.scalars(sa.select(WebhookDelivery.endpoint_id).where(
        WebhookDelivery.event_id == event.id)))
    now = event.dispatched_at or utcnow()  # the worker's clock for this pass (tests drive it)
    for ep in endpoints:
        if ep.id in done:
            continue
        uid = signing.new_id()
        row = WebhookDelivery(uid=uid, endpoint_id=ep.id, event_id=event.id, event=event.name,
                              next_attempt_at=now, created_at=now)
        try:
            row.payload = payloads.build(event, ep.owner, uid)
        except payloads.Skip as e:
            row.payload, row.status, row.last_error = {}, WebhookStatus.SKIPPED, str(e)
        except Exception as e:  # a bug in one body must not cost the people their notifications
            log.exception("building webhook %s for endpoint %s failed", event.name, ep.id)
            row.payload, row.status = {}, WebhookStatus.FAILED
            row.last_error = f"the body could not be built: {type(e).__name__}"
        db.session.add(row)
    return []


# --- 2. sending, in the worker ----------------------------------------------------------------------

def recover_interrupted(now: datetime) -> int:
    with transaction():
        return db.session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.status == WebhookStatus.SENDING,
                   WebhookDelivery.claimed_at < now - INTERRUPTED_AFTER)
            .values(status=WebhookStatus.FAILED, last_error=INTERRUPTED)
            .execution_options(synchronize_session=False)).rowcount


def due_ids(now: datetime, limit: int = 100) -> list[int]:
    ids = db.session.scalars(sa.select(WebhookDelivery.id).where(
        WebhookDelivery.status == WebhookStatus.PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)).all()
    db.session.rollback()  # end the read before the write transactions
    return list(ids)


def next_due() -> datetime | None:
    at = db.session.scalar(sa.select(sa.func.min(WebhookDelivery.next_attempt_at))
                           .where(WebhookDelivery.status == WebhookStatus.PENDING))
    db.session.rollback()
    return at


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """One pass of the worker: recover interrupted sends, then send up to ``limit`` due deliveries,
    for at most ``WEBHOOKS_PASS_SECONDS`` (slow receivers must not hold back the e-mail and WhatsApp
    messages of the same worker: what is left stays due, and the worker comes back at once)."""
    now = now or utcnow()
    budget = float(current_app.config.get("WEBHOOKS_PASS_SECONDS", 20))
    started = time.monotonic()
    recover_interrupted(now)
    sent = 0
    for i in due_ids(now, limit):
        send_one(i, now)
        sent += 1
        if time.monotonic() - started >= budget:
            break
    return sent


def post(target: addresses.Target, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """POST ``body`` to the checked address (TLS still verifies the name); no redirects followed."""
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def connect_to_checked(address: tuple[str, int], timeout: Any = None, source: Any = None) -> socket.socket:
        error: OSError | None = None
        for ip in target.ips:  # as socket.create_connection does with a name, but only checked addresses
            try:
                return socket.create_connection((ip, address[1]), timeout, source)
            except OSError as e:
                error = e
        assert error is not None
        raise error

    conn._create_connection = connect_to_checked  # type: ignore[attr-defined]
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(ANSWER_BYTES)
    finally:
        conn.close()


def _short(status: int | None, answer: bytes = b"", error: str | None = None) -> str:
    if error is not None:
        return error[:500]
    text = " ".join(answer.decode("utf-8", "replace").split())[:200]
    return (f"HTTP {status}" + (f": {text}" if text else ""))[:500]


def send_one(delivery_id: int, now: datetime | None = None, *, after_send: Callable[[], None] | None = None) -> str:
    """Send one due delivery; returns its status afterwards. ``after_send`` is a test hook run
    between the receiver's answer and the recording of it (where a dying worker would stop)."""
    now = now or utcnow()
    cfg = current_app.config
    with transaction():
        claimed = db.session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == WebhookStatus.PENDING,
                   WebhookDelivery.next_attempt_at <= now)
            .values(status=WebhookStatus.SENDING, claimed_at=now, attempts=WebhookDelivery.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount
    d = db.session.get(WebhookDelivery, delivery_id, populate_existing=True, options=[
        sa.orm.joinedload(WebhookDelivery.endpoint).joinedload(WebhookEndpoint.owner)])
    if d is None:
        return "missing"
    if not claimed:
        return d.status.value

    def settle(status: WebhookStatus, **values: Any) -> str:
        with transaction():
            db.session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                                WebhookDelivery.status == WebhookStatus.SENDING)
                               .values(status=status, **values).execution_options(synchronize_session=False))
        db.session.expire(d)
        metrics.count_webhook(status.value)  # lms_webhook_deliveries_total on /metrics
        return status.value

    ep = d.endpoint
    if not ep.active:
        return settle(WebhookStatus.SKIPPED, last_error="the endpoint was deactivated")
    if not ep.owner.active:
        return settle(WebhookStatus.SKIPPED, last_error="the endpoint's owner is deactivated")
    max_attempts = int(cfg.get("WEBHOOKS_MAX_ATTEMPTS") or 6)

    def failed_attempt(status: int | None, error: str) -> str:
        if d.attempts >= max_attempts:
            return settle(WebhookStatus.FAILED, last_status_code=status,
                          last_error=f"{error} (after {d.attempts} attempts)"[:500])
        return settle(WebhookStatus.PENDING, last_status_code=status, last_error=error[:500],
                      next_attempt_at=now + backoff(d.attempts))

    try:
        target = addresses.check(ep.url, bool(cfg.get("WEBHOOKS_ALLOW_HTTP_LOCAL")))
    except addresses.Refused as e:
        return settle(WebhookStatus.FAILED, last_status_code=None, last_error=f"refused: {e}"[:500])
    except addresses.Unresolved as e:
        return failed_attempt(None, str(e))
    body = json.dumps(d.payload, ensure_ascii=False, separators=(",", ":")).encode()
    # signed when sent: a long pass must not date its last requests back to its start (a driven
    # clock ahead of the real one, as in the tests, is kept)
    timestamp = int(max(now, utcnow()).timestamp())
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               **signing.headers(ep.secret, d.uid, timestamp, body)}
    try:
        status, answer = post(target, body, headers, float(cfg.get("WEBHOOKS_TIMEOUT") or 10))
    except (TimeoutError, socket.timeout):
        return failed_attempt(None, f"no answer within {cfg.get('WEBHOOKS_TIMEOUT') or 10} s")
    except (OSError, http.client.HTTPException, ssl.SSLError) as e:
        return failed_attempt(None, f"{type(e).__name__}: {e}")
    if after_send is not None:
        after_send()
    if 200 <= status < 300:
        return settle(WebhookStatus.DELIVERED, delivered_at=utcnow(), last_status_code=status, last_error=None)
    return failed_attempt(status, _short(status, answer))
