"""Secrets and signatures, following the Standard Webhooks convention (standardwebhooks.com).

Each request carries three headers:

* ``webhook-id``: the delivery's id (``msg_…``), the same on every retry: a receiver that has
  seen it already ignores the request (a replay or a retry after a lost answer).
* ``webhook-timestamp``: when this attempt was signed, in Unix seconds: a receiver refuses
  anything older than a few minutes.
* ``webhook-signature``: ``v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` where
  ``body`` is the exact request body (bytes, UTF-8 JSON) and ``key`` is the base64-decoded part of
  the secret after ``whsec_``.

The secret (``whsec_`` + base64 of 32 random bytes) is shown to the admin once; the receiver keeps
it. The official ``standardwebhooks`` libraries verify these requests as they are; the 10-line
check without a library is in README.md and on the webhooks page.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_id() -> str:
    """A delivery's public id: random, never derived from a database id."""
    return "msg_" + secrets.token_urlsafe(18)


def _key(secret: str) -> bytes:
    return base64.b64decode(secret[len(PREFIX):] if secret.startswith(PREFIX) else secret)


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, msg_id, timestamp, body)}


#: shown on the admin page and in README.md: verification without a library (tests/test_webhooks.py runs it)
VERIFY_SNIPPET = '''\
import base64, hashlib, hmac, time

def verify(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> bool:
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > tolerance:
        return False  # too old (or from the future): a replay
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    return any(hmac.compare_digest(expected, s.split(",", 1)[1])
               for s in headers["webhook-signature"].split() if s.startswith("v1,"))
'''
