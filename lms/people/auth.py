"""Flask-Login wiring: the user loader, and safe redirects after sign-in."""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_request_context, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user
from sqlalchemy.orm import joinedload

from ..extensions import db
from . import devices
from .models import User


#: endpoint -> what else its requests read in the sign-in statement: a function of the users table giving
#: labelled scalar subqueries (correlated to ``User``), whose values land in ``g.with_user`` (a dict by label).
#: A page that needs a few numbers about the signed-in person on every request (the dashboard: its data
#: version and the bell's count) gets them in the same round trip as the user, instead of one more each.
WITH_USER: dict[str, Callable[[], list[Any]]] = {}


def read_with_user(endpoint: str, columns: Callable[[], list[Any]]) -> None:
    """Register ``columns`` (see WITH_USER) for the requests of ``endpoint``."""
    WITH_USER[endpoint] = columns


#: what every other signed-in request reads with the user, by name (the bell's count in every page's header)
EVERY_PAGE: dict[str, Callable[[], list[Any]]] = {}


def read_with_every_user(name: str, columns: Callable[[], list[Any]]) -> None:
    """Register ``columns`` for the requests of every endpoint that has no WITH_USER entry of its own
    (an entry of its own lists everything its page needs)."""
    EVERY_PAGE[name] = columns


#: (endpoint with extra columns or "", with the session record): the sign-in statement and its extra columns,
#: built once (the values are bound parameters), so a request does not build the same SQL again
_STATEMENTS: dict[tuple[str, bool], tuple[Any, list[Any]]] = {}


def _statement(with_session: bool) -> tuple[Any, list[Any]]:
    endpoint = request.endpoint or "" if has_request_context() else ""
    if endpoint not in WITH_USER:
        endpoint = ""
    found = _STATEMENTS.get((endpoint, with_session))
    if found is None:
        extra = WITH_USER[endpoint]() if endpoint else [col for columns in EVERY_PAGE.values() for col in columns()]
        where = (User.session_token == sa.bindparam("token"), User.active.is_(True))
        # the region too: every page's header names it
        region = joinedload(User.region)
        if with_session:
            from .security_models import UserSession

            stmt = (sa.select(User, UserSession, *extra)
                    .outerjoin(UserSession, sa.and_(UserSession.id == sa.bindparam("sid"),
                                                    UserSession.user_id == User.id)).where(*where)
                    .options(region))
        else:
            stmt = sa.select(User, *extra).where(*where).options(region)
        found = _STATEMENTS[(endpoint, with_session)] = (stmt, extra)
    return found


def _keep_extras(row: Any, extra: list[Any]) -> None:
    if extra:
        g.with_user = {col.name: value for col, value in zip(extra, row[-len(extra):])}


def init_login(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "people.login"
    login_manager.login_message = _l("Silakan masuk untuk membuka halaman ini.")
    login_manager.login_message_category = "info"
    # "basic": a changed address or browser marks the session non-fresh instead of
    # dropping it; mentors on mobile networks change address all the time.
    login_manager.session_protection = "basic"
    from . import signins

    signins.init_app(app)  # session records, and the second-factor gate for coordinators and admins

    @login_manager.user_loader
    def load_user(token: str) -> User | None:
        if not token or len(token) > 64:
            return None
        sid = session.get("sid")
        if not isinstance(sid, str):
            stmt, extra = _statement(with_session=False)
            found = db.session.execute(stmt, {"token": token}).first()
            if found is not None:
                _keep_extras(found, extra)
            return found[0] if found is not None else None
        # one query: the user and this browser's session record; a revoked (or unknown) record signs out
        stmt, extra = _statement(with_session=True)
        row = db.session.execute(stmt, {"token": token, "sid": sid}).first()
        if row is None or row[1] is None or row[1].revoked_at is not None:
            return None
        g.user_session = row[1]
        _keep_extras(row, extra)
        return row[0]


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a relative path on this site, else None."""
    if not target:
        return None
    target = target.strip()
    if any(ch in target for ch in ("\\", "\r", "\n", "\t")) or any(ord(c) < 32 for c in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def client_ip() -> str:
    return request.remote_addr or "unknown"


def current_device() -> devices.KnownDevice | None:
    """The browser's known-device cookie, when it carries a valid one."""
    return devices.read(request.cookies.get(devices.COOKIE))


def remember_device(resp: Response, user: User) -> devices.KnownDevice:
    """Mark this browser as known for ``user`` (after a successful sign-in)."""
    device = devices.remember(current_device(), user.id)
    resp.set_cookie(devices.COOKIE, devices.dumps(device), max_age=devices.max_age_seconds(), path="/",
                    secure=bool(current_app.config["SESSION_COOKIE_SECURE"]), httponly=True, samesite="Lax")
    return device


def complete_login(user: User, *, remember: bool = False, next_url: str | None = None,
                   second_factor_done: bool = False) -> Response:
    """THE end of every sign-in (password, phone code …), after the service checked and audited it:
    a fresh session (nothing from before sign-in carries over), Flask-Login's session, the
    known-device cookie, and the redirect to ``next_url`` (already made safe) or home.

    Someone with a second factor is first sent to the code step (lms/people/signins.py) unless this
    browser was remembered for them; the code step calls this again with ``second_factor_done``.
    Every session gets its server-side record ("My devices")."""
    from . import signins

    if not second_factor_done and signins.needs_code_step(user):
        return signins.begin_code_step(user, remember=remember, next_url=next_url)
    session.clear()
    login_user(user, remember=remember)
    resp = redirect(next_url or url_for("core.home"))
    device = remember_device(resp, user)
    signins.start_session(user, second_factor_done or signins.twofactor.is_enrolled(user), device_id=device.id)
    return resp
