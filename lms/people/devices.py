"""Known devices: browsers on which an account has signed in before.

Why: a lock per account (10 failures in 15 minutes) is also a switch anyone can flip — ten wrong
passwords typed from anywhere locked the real person (an admin included) out. Guessing is still
limited, but a browser the person has signed in with before is not subject to that account's lock:

- after a successful sign-in (or a password set from a set-up link) the browser gets a cookie,
  signed with the app's secret key, holding a random device id and the ids of the accounts that
  signed in on it (at most ``MAX_ACCOUNTS``, the latest first; it lasts ``KNOWN_DEVICE_DAYS``);
- a sign-in for one of those accounts from that browser passes the account's lock, but the device
  has a failure count of its own (the same limit), so a stolen cookie buys ten guesses, not more;
- the per-address limit applies to everyone, known device or not;
- failures are recorded with the device id, and the audit log says whether a sign-in came from a
  known device and whether it passed a locked account.

The cookie says nothing secret: it cannot be forged without the key, and it does not sign anyone in.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "lms_device"
SALT = "lms.known-device"
MAX_ACCOUNTS = 5
_ID = re.compile(r"[A-Za-z0-9_-]{16,32}")


@dataclass(frozen=True)
class KnownDevice:
    #: random, the same for every account on this browser; stored with failures from it
    id: str
    #: accounts that signed in on this browser, the latest first
    user_ids: tuple[int, ...] = ()

    def knows(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.user_ids


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def max_age_seconds() -> int:
    return int(current_app.config["KNOWN_DEVICE_DAYS"]) * 24 * 3600


def read(value: str | None) -> KnownDevice | None:
    """The device a cookie value names, or None (no cookie, forged, expired or malformed)."""
    if not value or len(value) > 512:
        return None
    try:
        data: Any = _serializer().loads(value, max_age=max_age_seconds())
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    device_id, users = data.get("d"), data.get("u")
    if not isinstance(device_id, str) or not _ID.fullmatch(device_id) or not isinstance(users, list):
        return None
    ids = tuple(u for u in users if isinstance(u, int) and not isinstance(u, bool))[:MAX_ACCOUNTS]
    return KnownDevice(device_id, ids)


def remember(device: KnownDevice | None, user_id: int) -> KnownDevice:
    """``device`` (or a new one) now knowing ``user_id`` as its latest account."""
    device_id = device.id if device is not None else secrets.token_urlsafe(16)
    others = tuple(u for u in (device.user_ids if device else ()) if u != user_id)
    return KnownDevice(device_id, ((user_id,) + others)[:MAX_ACCOUNTS])


def dumps(device: KnownDevice) -> str:
    return _serializer().dumps({"d": device.id, "u": list(device.user_ids)})
