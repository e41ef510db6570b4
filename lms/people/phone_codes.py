"""Sign-in by phone number with a one-time code, and confirming a new number the same way.

- A request writes a :class:`SignInCode` row for known and unknown numbers alike (a code and a
  WhatsApp message only for an active trainee's number), and the page answers the same either way.
- The code: 6 digits from ``secrets``, stored only as an HMAC keyed with the app's secret, valid
  ``PHONE_CODE_MINUTES``, single use, ``PHONE_CODE_MAX_TRIES`` tries; it is tied to the browser
  session that asked for it (the view keeps the row id), so a stranger's wrong guesses spend only
  the codes the stranger asked for, never the person's own.
- Limits within ``PHONE_CODE_WINDOW_MINUTES``: codes sent per address (everyone); per number, unless
  the browser is a known device of that account (lms/people/devices.py), which counts its own
  requests instead; wrong codes go into ``login_failures`` under ``tel:+62…`` and meet the same
  per-address / per-device / per-account limits as wrong passwords, the account one again passed
  by the person's known device. So requests and guesses from many addresses cannot lock the
  person out of their own phone.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid
from ..extensions import db
from .. import outbox
from .devices import KnownDevice
from .models import LoginFailure, Role, SignInCode, User
from .phone import normalize_phone
from .services import LoginThrottled, _throttle_check

LOGIN, PHONE_CHANGE = "login", "phone_change"
CODE_DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(phone: str, code: str) -> str:
    key = str(current_app.secret_key or "").encode()
    return hmac.new(key, f"sign-in-code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def failure_key(phone: str) -> str:
    """What wrong codes for ``phone`` are recorded under in ``login_failures``."""
    return f"tel:{phone}"


def parse_phone(raw: str | None) -> str:
    """The number as stored (+62…), or Invalid with a message for the form field."""
    try:
        phone = normalize_phone(raw)
    except ValueError:
        phone = None
    if not phone or not phone.startswith("+628"):
        raise Invalid({"phone": [_("Tulis nomor HP Indonesia, misalnya 0812-3456-7890.")]})
    return phone


def trainee_by_phone(phone: str) -> User | None:
    """The active trainee with this number; None when there is none, or when (old data) several
    active accounts share it: a code must never sign in the wrong person."""
    rows = db.session.scalars(sa.select(User).where(User.phone == phone, User.active.is_(True))
                              .order_by(User.id).limit(2)).all()
    if len(rows) != 1 or rows[0].role is not Role.TRAINEE:
        return None
    return rows[0]


def _send_check(phone: str, ip: str, device: KnownDevice | None, trusted: bool) -> None:
    cfg = current_app.config
    window = timedelta(minutes=int(cfg["PHONE_CODE_WINDOW_MINUTES"]))
    since = utcnow() - window
    per_number = int(cfg["PHONE_CODE_MAX_SENDS_PER_NUMBER"])
    checks: list[tuple[str, Any, int]] = [
        ("address", SignInCode.ip == ip, int(cfg["PHONE_CODE_MAX_SENDS_PER_ADDRESS"]))]
    if trusted and device is not None:
        checks.append(("device", SignInCode.device == device.id, per_number))
    else:
        checks.append(("account", SignInCode.phone == phone, per_number))
    for scope, where, limit in checks:
        count, oldest = db.session.execute(
            sa.select(sa.func.count(), sa.func.min(SignInCode.created_at)).where(where, SignInCode.created_at > since)
        ).one()
        if count >= limit:
            retry = window - (utcnow() - oldest) if oldest else window
            raise LoginThrottled(max(1, math.ceil(retry.total_seconds())), scope)


def _issue(purpose: str, phone: str, user: User | None, ip: str, device: KnownDevice | None,
           replaces: int | None, actor: Any) -> tuple[SignInCode, str | None]:
    minutes = int(current_app.config["PHONE_CODE_MINUTES"])
    code = new_code()
    # hashed for unknown numbers too, so both answers take the same work
    digest = hash_code(phone, code)
    if replaces is not None:  # a new request from the same session ends its previous code
        db.session.execute(sa.update(SignInCode).where(SignInCode.id == replaces, SignInCode.used_at.is_(None))
                           .values(used_at=utcnow()))
    row = SignInCode(purpose=purpose, phone=phone, user_id=user.id if user else None,
                     code_hash=digest if user else None, ip=ip, device=device.id if device else None,
                     expires_at=utcnow() + timedelta(minutes=minutes))
    db.session.add(row)
    db.session.flush()
    if user is None:
        return row, None
    outbox.announce("auth.code_requested", {"user_id": user.id, "purpose": purpose, "phone": phone,
                                            "minutes": minutes, "code_id": row.id},
                    secret=code, actor=actor)
    return row, code


def request_login_code(raw_phone: str, ip: str, device: KnownDevice | None = None,
                       replaces: int | None = None) -> tuple[int, str | None]:
    """Send a sign-in code to an active trainee's number. Returns (row id for the session, the code
    — for the demo's display only; None for an unknown number). Raises Invalid (not a mobile
    number) or LoginThrottled; the caller answers the same for known and unknown numbers."""
    phone = parse_phone(raw_phone)
    with transaction():
        user = trainee_by_phone(phone)
        trusted = device is not None and user is not None and device.knows(user.id)
        try:
            _send_check(phone, ip, device, trusted)
        except LoginThrottled as t:
            record("auth.code_throttled", actor=None, target_type="user", target_id=user.id if user else None,
                   ip=ip, phone=phone, scope=t.scope, retry_after=t.retry_after_seconds,
                   known_device=device is not None)
            throttled = t
        else:
            throttled = None
            row, code = _issue(LOGIN, phone, user, ip, device, replaces, actor=None)
            record("auth.code_requested", actor=None, target_type="user", target_id=user.id if user else None,
                   ip=ip, phone=phone, purpose=LOGIN, known_account=user is not None, known_device=trusted)
    if throttled is not None:
        raise throttled
    return row.id, code


@dataclass
class CodeResult:
    user: User
    row: SignInCode


def _check(row_id: int | None, purpose: str, code: str, ip: str, device: KnownDevice | None,
           user_for_trust: User | None) -> SignInCode | None:
    """Inside a transaction: the row when ``code`` is right; records a failure otherwise.
    Raises LoginThrottled before looking when a limit is reached."""
    row = db.session.get(SignInCode, row_id) if row_id else None
    if row is not None and row.purpose != purpose:
        row = None
    phone = row.phone if row is not None else "unknown"
    key = failure_key(phone)
    owner = row.user if row is not None and row.user is not None else user_for_trust
    trusted = device is not None and owner is not None and device.knows(owner.id)
    _throttle_check(key, ip, device, trusted)
    code = "".join((code or "").split())
    max_tries = int(current_app.config["PHONE_CODE_MAX_TRIES"])
    if row is None or not row.code_hash:
        reason = "no_code"
    elif row.used_at is not None:
        reason = "used"
    elif row.expires_at <= utcnow():
        reason = "expired"
    elif row.tries >= max_tries:
        reason = "too_many_tries"
    else:
        row.tries += 1
        if len(code) == CODE_DIGITS and hmac.compare_digest(row.code_hash, hash_code(row.phone, code)):
            row.used_at = utcnow()
            return row
        reason = "bad_code"
    db.session.add(LoginFailure(email=key, ip=ip, device=device.id if device is not None else None))
    record("auth.code_failed", actor=None, target_type="user", target_id=row.user_id if row else None,
           ip=ip, phone=phone if row else None, purpose=purpose, reason=reason, known_device=trusted)
    return None


def _bad_code() -> Invalid:
    return Invalid({"code": [_("Kode salah atau sudah tidak berlaku. Periksa pesan terbaru, atau minta kode baru.")]})


def sign_in_with_code(row_id: int | None, code: str, ip: str, device: KnownDevice | None = None) -> User:
    """The trainee whose code this is, signed in (audited as auth.login, method phone_code).
    Raises LoginThrottled or Invalid (one message for every failure)."""
    failed = False
    with transaction():
        row = _check(row_id, LOGIN, code, ip, device, None)
        user = row.user if row is not None else None
        if user is None or not user.active or user.phone != row.phone:  # type: ignore[union-attr]
            failed = True
        else:
            trusted = device is not None and device.knows(user.id)
            user.last_login_at = utcnow()
            key = failure_key(user.phone or "")
            mine = [LoginFailure.ip == ip] + ([LoginFailure.device == device.id] if device is not None else [])
            db.session.execute(sa.delete(LoginFailure).where(LoginFailure.email == key, sa.or_(*mine)))
            record("auth.login", actor=user, target=user, ip=ip, method="phone_code", known_device=trusted)
    if failed:
        raise _bad_code()
    assert user is not None
    return user


# --- changing one's number --------------------------------------------------------------------

def request_phone_change(actor: User, raw_phone: str, ip: str, device: KnownDevice | None = None,
                         replaces: int | None = None) -> tuple[int, str]:
    """Send a code to the NEW number ``actor`` wants. Returns (row id, code for the demo)."""
    phone = parse_phone(raw_phone)
    if phone == actor.phone:
        raise Invalid({"phone": [_("Ini sudah nomor HP Anda.")]})
    with transaction():
        clash = db.session.scalar(sa.select(User.id).where(User.phone == phone, User.active.is_(True),
                                                           User.id != actor.id))
        if clash is not None:
            raise Invalid({"phone": [_("Nomor ini sudah dipakai akun lain. Hubungi koordinator Anda.")]})
        trusted = device is not None and device.knows(actor.id)
        try:
            _send_check(phone, ip, device, trusted)
        except LoginThrottled as t:
            record("auth.code_throttled", actor=actor, target=actor, ip=ip, phone=phone, scope=t.scope,
                   retry_after=t.retry_after_seconds, purpose=PHONE_CHANGE)
            throttled: LoginThrottled | None = t
        else:
            throttled = None
            row, code = _issue(PHONE_CHANGE, phone, actor, ip, device, replaces, actor=actor)
            record("auth.code_requested", actor=actor, target=actor, ip=ip, phone=phone, purpose=PHONE_CHANGE)
    if throttled is not None:
        raise throttled
    assert code is not None
    return row.id, code


def confirm_phone_change(actor: User, row_id: int | None, code: str, ip: str,
                         device: KnownDevice | None = None) -> str:
    """Set ``actor``'s number to the one the code went to (audited user.phone_changed)."""
    failed = False
    with transaction():
        row = _check(row_id, PHONE_CHANGE, code, ip, device, actor)
        if row is None or row.user_id != actor.id:
            failed = True
        else:
            clash = db.session.scalar(sa.select(User.id).where(User.phone == row.phone, User.active.is_(True),
                                                               User.id != actor.id))
            if clash is not None:
                raise Invalid({"code": [_("Nomor ini sudah dipakai akun lain. Hubungi koordinator Anda.")]})
            old = actor.phone
            actor.phone = row.phone
            record("user.phone_changed", actor=actor, target=actor, ip=ip, old_phone=old, new_phone=row.phone,
                   method="code")
    if failed:
        raise _bad_code()
    return actor.phone or ""
