"""Two-factor sign-in for staff: TOTP (RFC 6238, pyotp), recovery codes, "remember this device".

- Coordinators and admins must have a confirmed authenticator (``required``); mentors may turn one
  on and off; trainees are not offered one.
- The shared secret is sealed (``seal``): XOR with an HMAC-SHA256 keystream keyed by the app's
  secret key and a random nonce, then signed with itsdangerous. It is shown only while enrolling;
  once confirmed, no page shows it again. Rotating LMS_SECRET_KEY makes sealed secrets unreadable:
  staff then enrol again (their codes are simply refused, an admin resets the factor).
- A code is accepted once: the accepted time step is stored and a code of that step or an earlier
  one is refused (RFC 6238 §5.2). One step of clock drift either side is allowed.
- Ten recovery codes, single use, stored as SHA-256 hashes (they are random 50-bit values), shown
  once at enrolment and when regenerated.
- Wrong codes are counted per account; ``TWO_FACTOR_MAX_FAILURES`` within the window answer 429.
- "Remember this device" is a signed cookie holding the user id and a hash of the account's
  session token: rotating the token (sign out, password change, admin reset) ends it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
from datetime import timedelta
from typing import Any

import pyotp
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from .. import permissions
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed, Throttled
from ..extensions import db
from .models import Role, User
from .security_models import RecoveryCode, SecondFactorFailure, TotpFactor

RECOVERY_CODES = 10
REMEMBER_COOKIE = "lms_2fa"
_REMEMBER_SALT = "lms.2fa-remember"
_SEAL_SALT = "lms.totp-seal"


def required(user: Any) -> bool:
    """Coordinators and admins cannot use the site without a confirmed second factor."""
    return getattr(user, "role", None) in (Role.COORDINATOR, Role.ADMIN)


def offered(user: Any) -> bool:
    return getattr(user, "role", None) in (Role.MENTOR, Role.COORDINATOR, Role.ADMIN)


# --- the sealed secret --------------------------------------------------------------------

def _key() -> bytes:
    return hashlib.sha256(f"{_SEAL_SALT}:{current_app.secret_key}".encode()).digest()


def seal(secret: str) -> str:
    raw = secret.encode()
    nonce = secrets.token_bytes(16)
    stream = hmac.new(_key(), nonce, hashlib.sha256).digest()
    assert len(raw) <= len(stream)
    box = nonce + bytes(a ^ b for a, b in zip(raw, stream))
    return URLSafeSerializer(current_app.secret_key, salt=_SEAL_SALT).dumps(base64.b64encode(box).decode())


def unseal(sealed: str) -> str | None:
    try:
        box = base64.b64decode(URLSafeSerializer(current_app.secret_key, salt=_SEAL_SALT).loads(sealed))
    except (BadSignature, ValueError):
        return None
    nonce, body = box[:16], box[16:]
    stream = hmac.new(_key(), nonce, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(body, stream)).decode()


# --- reading state ------------------------------------------------------------------------

def factor_of(user: User) -> TotpFactor | None:
    return db.session.scalar(sa.select(TotpFactor).where(TotpFactor.user_id == user.id))


def is_enrolled(user: Any) -> bool:
    if not getattr(user, "id", None):
        return False
    return db.session.scalar(sa.select(TotpFactor.id).where(
        TotpFactor.user_id == user.id, TotpFactor.confirmed_at.is_not(None))) is not None


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=current_app.config["TOTP_ISSUER"])


def grouped(secret: str) -> str:
    """The key as people copy it: groups of four."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_svg(uri: str) -> str:
    import io

    import segno

    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True,
                                    title=_("Kode QR untuk aplikasi autentikator"))
    return out.getvalue().decode()


def demo_code(user: User) -> str | None:
    """The current code, for the demo only (LMS_DEMO_SHOW_CODES)."""
    if not current_app.config.get("DEMO_SHOW_CODES"):
        return None
    factor = factor_of(user)
    secret = unseal(factor.secret_sealed) if factor else None
    return pyotp.TOTP(secret).now() if secret else None


# --- enrolment ----------------------------------------------------------------------------

def pending_secret(user: User) -> str:
    """The secret being enrolled (made on first call); refused once the factor is confirmed."""
    if not offered(user):
        raise NotAllowed()
    with transaction():
        factor = factor_of(user)
        if factor is not None and factor.confirmed_at is not None:
            raise NotAllowed()
        secret = unseal(factor.secret_sealed) if factor is not None else None
        if secret is None:
            secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
            if factor is None:
                db.session.add(TotpFactor(user_id=user.id, secret_sealed=seal(secret)))
            else:
                factor.secret_sealed = seal(secret)
    return secret


def _step_matching(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to (this one or one either side), else None."""
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    step = int(now // totp.interval)
    for s in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(s), code):
            return s
    return None


def _clean(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _throttle(user: User) -> None:
    cfg = current_app.config
    window = timedelta(minutes=int(cfg["TWO_FACTOR_WINDOW_MINUTES"]))
    count, oldest = db.session.execute(sa.select(sa.func.count(), sa.func.min(SecondFactorFailure.at)).where(
        SecondFactorFailure.user_id == user.id, SecondFactorFailure.at > utcnow() - window)).one()
    if count >= int(cfg["TWO_FACTOR_MAX_FAILURES"]):
        retry = window - (utcnow() - oldest) if oldest else window
        raise Throttled(max(1, math.ceil(retry.total_seconds())))


def _fail(user: User, ip: str | None, action: str, **details: Any) -> None:
    with transaction():
        db.session.add(SecondFactorFailure(user_id=user.id, ip=(ip or "unknown")[:45]))
        record(action, actor=None, target_type="user", target_id=user.id, ip=ip, **details)


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(5)).decode().lower()  # 8 characters, 40 bits
        code = f"{raw[:4]}-{raw[4:]}"
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(_clean(code))))
    return codes


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def confirm_enrolment(user: User, code: str, ip: str | None) -> list[str]:
    """Activate the pending authenticator with a code from it; returns the ten recovery codes."""
    if not offered(user):
        raise NotAllowed()
    _throttle(user)
    factor = factor_of(user)
    if factor is None or factor.confirmed_at is not None:
        raise Invalid(_("Tidak ada pendaftaran yang menunggu. Muat ulang halaman ini."))
    secret = unseal(factor.secret_sealed)
    step = _step_matching(secret, _clean(code)) if secret else None
    if step is None:
        _fail(user, ip, "auth.2fa_failed", stage="enrol")
        raise Invalid({"code": [_("Kode salah. Ketik 6 angka yang tampil di aplikasi sekarang.")]})
    with transaction():
        factor.confirmed_at = utcnow()
        factor.last_step = step
        codes = _new_recovery_codes(user)
        record("auth.2fa_enrolled", actor=user, target=user, ip=ip)
    return codes


def regenerate_recovery_codes(user: User, ip: str | None) -> list[str]:
    if not is_enrolled(user):
        raise NotAllowed()
    with transaction():
        codes = _new_recovery_codes(user)
        record("auth.2fa_recovery_regenerated", actor=user, target=user, ip=ip)
    return codes


def verify(user: User, code: str, ip: str | None) -> str:
    """Check a sign-in code (authenticator or recovery code). Returns "totp" or "recovery";
    raises Invalid (wrong, reused) or Throttled."""
    _throttle(user)
    factor = factor_of(user)
    secret = unseal(factor.secret_sealed) if factor is not None and factor.confirmed_at is not None else None
    cleaned = _clean(code)
    if secret is not None and cleaned.isdigit() and len(cleaned) == 6:
        step = _step_matching(secret, cleaned)
        if step is not None and factor is not None:
            if factor.last_step is not None and step <= factor.last_step:
                _fail(user, ip, "auth.2fa_failed", reason="reused")
                raise Invalid({"code": [_("Kode ini sudah dipakai. Tunggu kode berikutnya di aplikasi.")]})
            with transaction():
                # compare-and-set: two requests with the same code cannot both pass
                done = db.session.execute(sa.update(TotpFactor).where(
                    TotpFactor.id == factor.id,
                    sa.or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step)).values(last_step=step))
                if done.rowcount == 1:
                    record("auth.2fa_verified", actor=user, target=user, ip=ip, method="totp")
                    return "totp"
            _fail(user, ip, "auth.2fa_failed", reason="reused")
            raise Invalid({"code": [_("Kode ini sudah dipakai. Tunggu kode berikutnya di aplikasi.")]})
    elif len(cleaned) == 8 and secret is not None:
        with transaction():
            done = db.session.execute(sa.update(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(cleaned),
                RecoveryCode.used_at.is_(None)).values(used_at=utcnow()))
            if done.rowcount == 1:
                left = db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
                    RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
                record("auth.2fa_recovery_used", actor=user, target=user, ip=ip, left=left)
                return "recovery"
    _fail(user, ip, "auth.2fa_failed", reason="wrong")
    raise Invalid({"code": [_("Kode salah. Periksa aplikasi autentikator atau pakai kode pemulihan.")]})


def _remove(user: User) -> None:
    db.session.execute(sa.delete(TotpFactor).where(TotpFactor.user_id == user.id))
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def disable(user: User, code: str, ip: str | None) -> None:
    """A mentor turns the second factor off (with a current code); required roles cannot."""
    if required(user) or not is_enrolled(user):
        raise NotAllowed()
    verify(user, code, ip)
    with transaction():
        _remove(user)
        record("auth.2fa_disabled", actor=user, target=user, ip=ip)


def cancel_pending(user: User) -> None:
    with transaction():
        db.session.execute(sa.delete(TotpFactor).where(TotpFactor.user_id == user.id,
                                                       TotpFactor.confirmed_at.is_(None)))


def admin_reset(actor: Any, user: User, ip: str | None) -> None:
    """Remove a staff member's second factor: they enrol again at their next sign-in; their sessions end."""
    if not permissions.can(actor, "user.reset_2fa", user):
        raise NotAllowed()
    from .services import end_all_sessions

    with transaction():
        _remove(user)
        end_all_sessions(user)
        record("user.2fa_reset", actor=actor, target=user, ip=ip)


# --- "remember this device" -----------------------------------------------------------------

def _token_hash(user: User) -> str:
    return hashlib.sha256(user.session_token.encode()).hexdigest()[:32]


def remember_max_age() -> int:
    return int(current_app.config["TWO_FACTOR_REMEMBER_DAYS"]) * 24 * 3600


def remember_value(user: User) -> str:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_REMEMBER_SALT).dumps(
        {"u": user.id, "t": _token_hash(user)})


def remembered(value: str | None, user: User) -> bool:
    """Whether the cookie vouches for ``user`` under their current session token."""
    if not value or len(value) > 300:
        return False
    try:
        data = URLSafeTimedSerializer(current_app.secret_key, salt=_REMEMBER_SALT).loads(
            value, max_age=remember_max_age())
    except BadSignature:
        return False
    return (isinstance(data, dict) and data.get("u") == user.id
            and hmac.compare_digest(str(data.get("t", "")), _token_hash(user)))
