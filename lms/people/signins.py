"""Server-side session records ("My devices") and the second-factor step of signing in.

Every sign-in ends in ``auth.complete_login``, which calls ``needs_code_step`` (an enrolled
person is asked for a code first, unless this browser was remembered for them) and then
``start_session``: a ``UserSession`` row whose random id the Flask session keeps as ``sid``.
The user loader (auth.py) loads the user and the record in one query and treats a revoked or
missing record as signed out. Flask-Login's alternative id (``users.session_token``) still works
as before: rotating it ends every session at once.
"""
from __future__ import annotations

import ipaddress
import secrets
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import NotAllowed
from ..extensions import db
from . import twofactor
from .models import User
from .security_models import UserSession

#: last_seen_at is written at most this often per session
TOUCH_EVERY = timedelta(minutes=5)
#: how long the code step waits after the password
PENDING_SECONDS = 600
#: pages a coordinator or admin without a second factor may still open
ENROLMENT_ENDPOINTS = {"security.two_factor", "security.two_factor_confirm", "people.logout", "core.set_language",
                       "ops.healthz", "ops.readyz", "ops.metrics", "static"}


# --- describing a browser ---------------------------------------------------------------

def summarise_agent(ua: str | None) -> str:
    """'Chrome di Android' from a User-Agent (the words people know, not the version soup)."""
    ua = ua or ""
    browser = ("Edge" if "Edg/" in ua else "Opera" if "OPR/" in ua else "Samsung Internet" if "SamsungBrowser" in ua
               else "Firefox" if "Firefox/" in ua else "Chrome" if ("Chrome/" in ua or "Chromium/" in ua or "CriOS" in ua)
               else "Safari" if "Safari/" in ua else None)
    system = ("Android" if "Android" in ua else "iPhone" if "iPhone" in ua else "iPad" if "iPad" in ua
              else "Windows" if "Windows" in ua else "macOS" if "Mac OS X" in ua else "Linux" if "Linux" in ua
              else None)
    if browser and system:
        return _("%(browser)s di %(system)s", browser=browser, system=system)[:80]
    return (browser or system or _("Peramban tidak dikenal"))[:80]


def reduce_ip(ip: str | None) -> str | None:
    """The network, not the address: IPv4 /24, IPv6 /48."""
    try:
        addr = ipaddress.ip_address(ip or "")
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


# --- the code step ---------------------------------------------------------------------------

def needs_code_step(user: User) -> bool:
    return twofactor.is_enrolled(user) and not twofactor.remembered(request.cookies.get(twofactor.REMEMBER_COOKIE), user)


def begin_code_step(user: User, *, remember: bool, next_url: str | None) -> Any:
    session.clear()
    session["2fa_pending"] = {"u": user.id, "t": twofactor._token_hash(user), "r": bool(remember),
                              "n": next_url, "at": int(time.time())}
    return redirect(url_for("security.verify"))


def pending_user() -> tuple[User, dict[str, Any]] | None:
    """Whose password was just accepted and who now owes a code (None when nobody, or too late)."""
    data = session.get("2fa_pending")
    if not isinstance(data, dict) or int(time.time()) - int(data.get("at", 0)) > PENDING_SECONDS:
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.active or data.get("t") != twofactor._token_hash(user):
        return None
    return user, data


# --- session records -------------------------------------------------------------------------

def start_session(user: User, second_factor: bool, device_id: str | None = None) -> None:
    """Record this browser's new session (called right after login_user)."""
    sid = secrets.token_urlsafe(32)
    with transaction():
        db.session.add(UserSession(id=sid, user_id=user.id, device=summarise_agent(request.user_agent.string),
                                   ip=reduce_ip(request.remote_addr), device_id=device_id))
    session["sid"] = sid
    if second_factor:
        session["mfa"] = True


def active_sessions(user: User) -> list[UserSession]:
    return list(db.session.scalars(sa.select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)).order_by(UserSession.last_seen_at.desc())))


def revoke(user: User, sid: str, ip: str | None) -> None:
    with transaction():
        rec = db.session.get(UserSession, sid)
        if rec is None or rec.user_id != user.id or rec.revoked_at is not None:
            raise NotAllowed()
        rec.revoked_at = utcnow()
        record("auth.session_revoked", actor=user, target=user, ip=ip, device=rec.device)


def revoke_others(user: User, current_sid: str | None, ip: str | None) -> int:
    with transaction():
        n = db.session.execute(sa.update(UserSession).where(
            UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
            UserSession.id != (current_sid or "")).values(revoked_at=utcnow())).rowcount
        record("auth.sessions_revoked_others", actor=user, target=user, ip=ip, count=n)
    return int(n or 0)


def revoke_current() -> None:
    sid = session.get("sid")
    if isinstance(sid, str):
        with transaction():
            db.session.execute(sa.update(UserSession).where(UserSession.id == sid).values(revoked_at=utcnow()))


# --- every request ---------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    @app.before_request
    def _sessions_and_second_factor() -> Any:
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        user = current_user._get_current_object()
        rec: UserSession | None = g.get("user_session")
        if rec is None and not isinstance(session.get("sid"), str):
            # restored from the remember-me cookie: a browser whose session was revoked stays out
            from .auth import current_device

            device = current_device()
            if device is not None:
                last = db.session.scalar(sa.select(UserSession).where(
                    UserSession.user_id == user.id, UserSession.device_id == device.id)
                    .order_by(UserSession.created_at.desc()).limit(1))
                if last is not None and last.revoked_at is not None:
                    logout_user()
                    session.clear()
                    return redirect(url_for("people.login"))
            start_session(user, False, device.id if device is not None else None)
        elif rec is not None and utcnow() - rec.last_seen_at > TOUCH_EVERY:
            with transaction():
                db.session.execute(sa.update(UserSession).where(UserSession.id == rec.id)
                                   .values(last_seen_at=utcnow()))
        # (an unknown address, endpoint None, stays a 404: it shows nothing)
        if (twofactor.required(user) and not session.get("mfa") and request.endpoint is not None
                and request.endpoint not in ENROLMENT_ENDPOINTS):
            if twofactor.is_enrolled(user):
                session["mfa"] = True  # a session restored from a remember-me cookie made after the code
            else:
                return redirect(url_for("security.two_factor"))
        return None
