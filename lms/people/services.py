"""People: sign-in, sessions, passwords and user administration.

Plain functions taking the acting user explicitly; each action is one transaction.
"""
from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import permissions
from .. import outbox
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed, Throttled
from ..extensions import db
from ..places.models import Outlet, Region
from .devices import KnownDevice
from .models import LoginFailure, PasswordSetupToken, Role, User, new_session_token
from .passwords import burn_time, hash_password, password_problems, verify_password
from .phone import normalize_phone


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


# --- sign-in -----------------------------------------------------------------------

class LoginThrottled(Throttled):
    """Too many failures; ``scope`` says whose: "address", "device" or "account"."""

    def __init__(self, retry_after_seconds: int, scope: str):
        super().__init__(retry_after_seconds)
        self.scope = scope


def _throttle_check(email: str, ip: str, device: KnownDevice | None, trusted: bool) -> None:
    """Refuse the attempt when a limit is reached: the client address always; the known device (its
    own failures) when the browser has one; the account only when the device is not known for it."""
    cfg = current_app.config
    window = timedelta(minutes=int(cfg["LOGIN_THROTTLE_WINDOW_MINUTES"]))
    since = utcnow() - window
    checks: list[tuple[str, Any, int]] = [("address", LoginFailure.ip == ip, int(cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]))]
    if device is not None:
        checks.append(("device", LoginFailure.device == device.id, int(cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"])))
    if not trusted:
        checks.append(("account", LoginFailure.email == email, int(cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"])))
    for scope, where, limit in checks:
        count, oldest = db.session.execute(
            sa.select(sa.func.count(), sa.func.min(LoginFailure.at)).where(where, LoginFailure.at > since)
        ).one()
        if count >= limit:
            # the block lifts when the oldest failure in the window ages out
            retry = window - (utcnow() - oldest) if oldest else window
            raise LoginThrottled(max(1, math.ceil(retry.total_seconds())), scope)


def _account_locked(email: str) -> bool:
    """Whether the per-account lock would refuse an unknown device now (for the audit log)."""
    cfg = current_app.config
    since = utcnow() - timedelta(minutes=int(cfg["LOGIN_THROTTLE_WINDOW_MINUTES"]))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)
                              .where(LoginFailure.email == email, LoginFailure.at > since)) or 0
    return count >= int(cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"])


def _attempt_key(email: str) -> str:
    """What a failed attempt is recorded under. Input that is not an e-mail address (a password
    typed into the wrong box, say) is kept only as a hash, never as text."""
    if "@" in email and " " not in email and len(email) <= 254:
        return email
    return "sha256:" + hashlib.sha256(email.encode()).hexdigest()[:40]


def authenticate(email: str, password: str, ip: str, device: KnownDevice | None = None) -> User:
    """Check the credentials; record the attempt. Raises LoginThrottled or Invalid.

    ``device`` is the browser's known-device cookie (lms/people/devices.py): when it knows this
    account, the account's lock does not apply (its own failures and the address limit do)."""
    email = _attempt_key(normalize_email(email))
    throttled: LoginThrottled | None = None
    with transaction():
        user = get_user_by_email(email)
        trusted = device is not None and user is not None and device.knows(user.id)
        try:
            _throttle_check(email, ip, device, trusted)
        except LoginThrottled as t:
            throttled = t
            # the attempt is refused unchecked, but kept in the audit log for security review
            record("auth.login_throttled", actor=None, target_type="user", target_id=user.id if user else None,
                   ip=ip, email=email, retry_after=t.retry_after_seconds, scope=t.scope,
                   known_device=device is not None)
        else:
            if user is None:
                burn_time(password)
                ok = False
            else:
                ok = verify_password(user.password_hash, password)
            if ok and user is not None and user.active:
                details: dict[str, Any] = {"known_device": trusted}
                if trusted and _account_locked(email):
                    details["passed_account_lock"] = True  # the lock others' failures set did not stop the owner
                user.last_login_at = utcnow()
                # the person's own slips (from this address or this browser) are forgiven; failures from
                # elsewhere stay until they age out, so signing in does not hand a guesser a fresh allowance
                mine = [LoginFailure.ip == ip] + ([LoginFailure.device == device.id] if device is not None else [])
                db.session.execute(sa.delete(LoginFailure).where(LoginFailure.email == email, sa.or_(*mine)))
                record("auth.login", actor=user, target=user, ip=ip, **details)
                return user
            db.session.add(LoginFailure(email=email, ip=ip, device=device.id if device is not None else None))
            reason = "unknown_account" if user is None else ("inactive" if ok else "bad_password")
            record("auth.login_failed", actor=None, target_type="user",
                   target_id=user.id if user else None, ip=ip, email=email, reason=reason,
                   known_device=trusted)
    if throttled is not None:
        raise throttled
    # Same message whatever failed, so accounts cannot be probed.
    raise Invalid(_("E-mail atau kata sandi salah, atau akun tidak aktif."))


def end_all_sessions(user: User) -> None:
    """Rotate the token that sessions and remember-me cookies carry: every one of them ends
    (and so does "remember this device" for the second factor); their records are closed too."""
    from .security_models import UserSession

    user.session_token = new_session_token()
    db.session.execute(sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


def logout(user: User, ip: str | None) -> None:
    with transaction():
        end_all_sessions(user)
        record("auth.logout", actor=user, target=user, ip=ip)


def change_password(actor: User, current_password: str, new_password: str, ip: str | None) -> None:
    if not verify_password(actor.password_hash, current_password):
        raise Invalid({"current_password": [_("Kata sandi saat ini salah.")]})
    problems = password_problems(new_password, email=actor.email, full_name=actor.full_name)
    if problems:
        raise Invalid({"new_password": problems})
    with transaction():
        actor.password_hash = hash_password(new_password)
        end_all_sessions(actor)
        record("auth.password_changed", actor=actor, target=actor, ip=ip)


# --- password set-up links -----------------------------------------------------------

def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_setup_token(user: User) -> str:
    raw = secrets.token_urlsafe(32)
    hours = int(current_app.config["PASSWORD_SETUP_HOURS"])
    db.session.add(PasswordSetupToken(user=user, token_hash=_hash_token(raw),
                                      expires_at=utcnow() + timedelta(hours=hours)))
    return raw


def find_setup_token(raw: str) -> PasswordSetupToken | None:
    tok = db.session.scalar(sa.select(PasswordSetupToken).where(PasswordSetupToken.token_hash == _hash_token(raw or "")))
    if tok is None or tok.used_at is not None or tok.expires_at < utcnow() or not tok.user.active:
        return None
    return tok


def redeem_setup_token(raw: str, new_password: str, ip: str | None) -> User:
    tok = find_setup_token(raw)
    if tok is None:
        raise Invalid(_("Tautan ini tidak berlaku lagi. Minta tautan baru kepada admin."))
    user = tok.user
    problems = password_problems(new_password, email=user.email, full_name=user.full_name)
    if problems:
        raise Invalid({"new_password": problems})
    with transaction():
        tok.used_at = utcnow()
        # every other outstanding link for this user dies with this one
        db.session.execute(sa.update(PasswordSetupToken)
                           .where(PasswordSetupToken.user_id == user.id, PasswordSetupToken.used_at.is_(None))
                           .values(used_at=utcnow()))
        user.password_hash = hash_password(new_password)
        end_all_sessions(user)
        record("auth.password_set", actor=None, target=user, ip=ip)
        # whoever holds the link and chose the password is signed in at once (the view does it)
        user.last_login_at = utcnow()
        record("auth.login", actor=user, target=user, ip=ip, method="setup_link")
    return user


# --- administration ------------------------------------------------------------------

@dataclass
class UserInput:
    email: str
    full_name: str
    role: Role
    phone: str | None = None
    region_id: int | None = None
    outlet_code: str | None = None
    password: str | None = None


def _validate(actor: Any, data: UserInput, existing: User | None) -> tuple[str | None, str | None, Outlet | None, int | None]:
    errors: dict[str, list[str]] = {}
    email: str | None = normalize_email(data.email) or None
    if email is None and data.role is Role.TRAINEE:
        pass  # a manager without e-mail signs in with their phone number and a code
    elif email is None:
        errors.setdefault("email", []).append(_("Staf wajib punya alamat e-mail."))
    elif "@" not in email:
        errors.setdefault("email", []).append(_("Alamat e-mail tidak valid."))
    else:
        clash = db.session.scalar(sa.select(User.id).where(User.email == email))
        if clash is not None and (existing is None or clash != existing.id):
            errors.setdefault("email", []).append(_("E-mail ini sudah dipakai akun lain."))
    if not data.full_name.strip():
        errors.setdefault("full_name", []).append(_("Nama lengkap wajib diisi."))
    phone: str | None = None
    try:
        phone = normalize_phone(data.phone)
    except ValueError:
        errors.setdefault("phone", []).append(_("Nomor telepon tidak valid. Contoh: 0812-3456-7890."))
    if phone is not None:
        taken = db.session.scalar(sa.select(User.id).where(User.phone == phone, User.active.is_(True)))
        if taken is not None and (existing is None or taken != existing.id):
            errors.setdefault("phone", []).append(_("Nomor HP ini sudah dipakai akun aktif lain."))
    elif email is None and data.role is Role.TRAINEE:
        errors.setdefault("phone", []).append(_("Pengelola tanpa e-mail wajib punya nomor HP (untuk masuk)."))

    outlet: Outlet | None = None
    region_id = data.region_id
    if data.role is Role.TRAINEE:
        code = (data.outlet_code or "").strip().upper()
        if code:
            outlet = db.session.scalar(sa.select(Outlet).where(Outlet.code == code))
            if outlet is None or not permissions.can(actor, "outlet.edit", outlet):
                errors.setdefault("outlet_code", []).append(_("e-Warong dengan kode ini tidak ditemukan di wilayah Anda."))
                outlet = None
        elif existing is not None and existing.managed_outlet is not None:
            outlet = existing.managed_outlet
        if outlet is None and "outlet_code" not in errors:
            errors.setdefault("outlet_code", []).append(_("Pengelola harus terhubung ke satu e-Warong (isi kodenya)."))
        region_id = outlet.region_id if outlet else None
    elif data.role is Role.MENTOR:
        if region_id is None:
            errors.setdefault("region_id", []).append(_("Pendamping harus punya wilayah kerja."))
    elif data.role is Role.ADMIN:
        region_id = None
    if region_id is not None and db.session.get(Region, region_id) is None:
        errors.setdefault("region_id", []).append(_("Wilayah tidak dikenal."))

    if not permissions.can_assign_role(actor, data.role, region_id):
        errors.setdefault("role", []).append(_("Anda tidak berwenang memberi peran ini di wilayah ini."))
    if data.password:
        problems = password_problems(data.password, email=email, full_name=data.full_name)
        if problems:
            errors.setdefault("password", []).extend(problems)
    if errors:
        raise Invalid(errors)
    return email, phone, outlet, region_id


def create_user(actor: Any, data: UserInput, ip: str | None = None) -> tuple[User, str | None]:
    """Create an account. Without a password, returns a set-up link token for first sign-in."""
    if not permissions.can(actor, "users.create"):
        raise NotAllowed()
    with transaction():
        email, phone, outlet, region_id = _validate(actor, data, None)
        user = User(email=email, full_name=data.full_name.strip(), phone=phone, role=data.role,
                    region_id=region_id, active=True,
                    password_hash=hash_password(data.password) if data.password else None)
        db.session.add(user)
        db.session.flush()
        if outlet is not None:
            from ..places.services import set_outlet_manager

            set_outlet_manager(actor, outlet, user, ip=ip)
        record("user.created", actor=actor, target=user, ip=ip, role=user.role.value,
               region_id=region_id)
        token = None if data.password else _new_setup_token(user)
        if token:
            announce_setup_link("account.created", user, token, actor)
    return user, token


def update_user(actor: Any, user: User, data: UserInput, ip: str | None = None) -> User:
    if not permissions.can(actor, "user.edit", user):
        raise NotAllowed()
    with transaction():
        email, phone, outlet, region_id = _validate(actor, data, user)
        old_role, old_region = user.role, user.region_id
        user.email, user.full_name, user.phone = email, data.full_name.strip(), phone
        user.role, user.region_id = data.role, region_id
        if old_role is Role.TRAINEE and data.role is not Role.TRAINEE and user.managed_outlet is not None:
            from ..places.services import end_outlet_manager

            end_outlet_manager(actor, user.managed_outlet, ip=ip)
        if outlet is not None and (user.managed_outlet is None or user.managed_outlet.id != outlet.id):
            from ..places.services import set_outlet_manager

            set_outlet_manager(actor, outlet, user, ip=ip)
        if old_role is not data.role or old_region != region_id:
            record("user.role_changed", actor=actor, target=user, ip=ip,
                   old_role=old_role.value, new_role=data.role.value,
                   old_region_id=old_region, new_region_id=region_id)
            # privileges changed: sessions made under the old ones end
            end_all_sessions(user)
        record("user.updated", actor=actor, target=user, ip=ip)
        from ..programme.services import refresh_for_users

        db.session.flush()
        refresh_for_users([user.id])
    return user


#: a deactivation reason: long enough to say something, short enough for the column
REASON_MIN, REASON_MAX = 5, 500


def deactivation_reason_problems(reason: str | None) -> list[str]:
    text = " ".join((reason or "").split())
    if not text:
        return [_("Tulis alasan menonaktifkan akun ini.")]
    if len(text) < REASON_MIN:
        return [_("Alasan minimal %(n)d karakter.", n=REASON_MIN)]
    if len(text) > REASON_MAX:
        return [_("Alasan maksimal %(n)d karakter.", n=REASON_MAX)]
    return []


def set_active(actor: Any, user: User, active: bool, ip: str | None = None, reason: str | None = None) -> None:
    """Deactivate (a reason is required: stored on the account and in the audit log; every session
    ends) or reactivate an account."""
    if not permissions.can(actor, "user.administer", user):
        raise NotAllowed()
    if not active:
        problems = deactivation_reason_problems(reason)
        if problems:
            raise Invalid({"reason": problems})
        reason = " ".join((reason or "").split())
    with transaction():
        if user.active == active:
            return
        if active and user.phone and db.session.scalar(sa.select(User.id).where(
                User.phone == user.phone, User.active.is_(True), User.id != user.id)) is not None:
            # a number signs in one active account: the successor who took it over keeps it
            raise Invalid(_("Nomor HP akun ini sekarang dipakai akun aktif lain. Ganti dulu nomornya, "
                            "lalu aktifkan akunnya."))
        user.active = active
        if not active:
            user.deactivated_at = utcnow()
            user.deactivation_reason = reason
            end_all_sessions(user)
            record("user.deactivated", actor=actor, target=user, ip=ip, reason=reason)
        else:
            record("user.activated", actor=actor, target=user, ip=ip)


def announce_setup_link(name: str, user: User, token: str, actor: Any, *, by_self: bool = False) -> None:
    """Send the set-up link to the person (e-mail, WhatsApp) through the notification worker."""
    from ..urls import external_url

    outbox.announce(name, {"user_id": user.id, "hours": int(current_app.config.get("PASSWORD_SETUP_HOURS", 72)),
                           "requested_by_self": by_self},
                    secret=external_url("people.set_password", token=token), actor=actor)


def reset_password(actor: Any, user: User, ip: str | None = None) -> str:
    """Clear the password, end every session and return a one-time set-up link token."""
    if not permissions.can(actor, "user.administer", user):
        raise NotAllowed()
    with transaction():
        user.password_hash = None
        end_all_sessions(user)
        token = _new_setup_token(user)
        record("user.password_reset", actor=actor, target=user, ip=ip)
        announce_setup_link("password.reset", user, token, actor)
    return token


def _phone_search(q: str) -> list[sa.ColumnElement[bool]]:
    """Match a number as people type it (0812-3456-7890) against the stored +62… form."""
    raw = "".join(q.split()).replace("-", "").replace("(", "").replace(")", "").replace(".", "").lstrip("+")
    if len(raw) < 4 or not raw.isdigit():
        return []
    digits = raw[2:] if raw.startswith("00") else raw[1:] if raw.startswith("0") else raw
    return [User.phone.like(f"%{digits}%")]


def search_users(actor: Any, *, q: str = "", region_id: int | None = None, role: Role | None = None,
                 page: int = 1, per_page: int = 25) -> tuple[list[User], int]:
    """The users ``actor`` may see, filtered; returns one page and the total count."""
    where = [permissions.user_scope(actor)]
    if q:
        text = q.strip().lower()  # matched literally: % and _ are not wildcards
        where.append(sa.or_(sa.func.lower(User.full_name).contains(text, autoescape=True),
                            User.email.contains(text, autoescape=True),
                            User.phone.contains(q.strip(), autoescape=True), *_phone_search(q)))
    if region_id:
        where.append(User.region_id == region_id)
    if role:
        where.append(User.role == role)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(*where)) or 0
    rows = db.session.scalars(
        sa.select(User).where(*where)
        .options(sa.orm.selectinload(User.region), sa.orm.selectinload(User.managed_outlet))
        .order_by(User.full_name, User.id).limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(rows), total
