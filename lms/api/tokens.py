"""Personal access tokens for the JSON API: made, listed, revoked and checked here only.

A token is ``lms_`` and 43 URL-safe random characters (256 bits). It is shown once, when made;
the database keeps its SHA-256 (``token_hash``) and its first ten characters (``prefix``, to tell
tokens apart in lists). A token acts as its user through the same rulebook as the pages, limited
to its scopes, until it expires (at most a year) or is revoked; a deactivated user's tokens stop
at once because :func:`authenticate` reads ``users.active`` on every request.

Who may make tokens, and with which scopes, is the rule ``api.tokens`` (every active user) and
:data:`ROLE_SCOPES`: a role gets only the scopes of things it can do at all.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from .. import permissions
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed, NotFound
from ..extensions import db
from ..people.models import Role, User
from .models import SCOPES, ApiToken

PREFIX = "lms_"
#: characters of the token kept in ``prefix`` (``lms_`` and six more)
PREFIX_LENGTH = 10
MAX_DAYS = 365
DEFAULT_DAYS = 90
MAX_NAME = 80
#: active tokens one person may hold (a runaway script cannot fill the table)
MAX_ACTIVE = 20
#: ``last_used_at`` is written at most this often per token (reads stay read-only most of the time)
TOUCH_EVERY = timedelta(minutes=1)

#: the scopes each role may put on a token: "read" for everyone, the rest only where the role can do
#: the thing at all through the rulebook. Trainees: read, their own evidence, and their own session
#: registration (write:attendance); mentors: visits, evidence and review; coordinators: attendance,
#: evidence and review; admins: everything, "admin" included.
ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.TRAINEE: ("read", "write:evidence", "write:attendance"),
    Role.MENTOR: ("read", "write:evidence", "write:visits", "review"),
    Role.COORDINATOR: ("read", "write:evidence", "write:attendance", "review"),
    Role.ADMIN: SCOPES,
}


def scopes_for(user: Any) -> tuple[str, ...]:
    """The scopes ``user`` may give a token (empty: none; they may not make tokens)."""
    if not permissions.can(user, "api.tokens"):
        return ()
    return ROLE_SCOPES.get(user.role, ())


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def looks_like_token(raw: str | None) -> bool:
    return bool(raw) and raw.startswith(PREFIX) and 20 <= len(raw) <= 100 and raw.isascii()  # type: ignore[union-attr]


@dataclass
class NewToken:
    token: ApiToken
    #: the secret, shown once
    secret: str


def _clean_scopes(user: Any, scopes: Iterable[str]) -> list[str]:
    wanted = [s for s in dict.fromkeys(s.strip() for s in scopes) if s]
    allowed = scopes_for(user)
    errors = []
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown:
        errors.append(_("Cakupan tidak dikenal: %(scopes)s.", scopes=", ".join(unknown)))
    refused = [s for s in wanted if s in SCOPES and s not in allowed]
    if refused:
        errors.append(_("Peran Anda tidak boleh memberi cakupan ini: %(scopes)s.", scopes=", ".join(refused)))
    if not wanted:
        errors.append(_("Pilih minimal satu cakupan."))
    if errors:
        raise Invalid({"scopes": errors})
    if "read" not in wanted:
        wanted.insert(0, "read")  # every other scope implies reading
    return [s for s in SCOPES if s in wanted]


def create(actor: Any, owner: User, *, name: str, scopes: Iterable[str], days: int | None = DEFAULT_DAYS,
           ip: str | None = None, source: str = "page", now: datetime | None = None) -> NewToken:
    """Make a token for ``owner`` (the actor themselves on the page; the operator's CLI for anyone)."""
    if not (actor is permissions.SYSTEM or getattr(actor, "id", None) == owner.id):
        raise NotAllowed()
    if not permissions.can(owner, "api.tokens"):
        raise NotAllowed()
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("Beri nama token, misalnya tempat ia dipakai."))
    elif len(name) > MAX_NAME:
        errors.setdefault("name", []).append(_("Nama paling panjang %(n)d karakter.", n=MAX_NAME))
    if days is None or not 1 <= days <= MAX_DAYS:
        errors.setdefault("days", []).append(_("Masa berlaku antara 1 dan %(n)d hari.", n=MAX_DAYS))
    try:
        clean = _clean_scopes(owner, scopes)
    except Invalid as e:
        errors.update(e.reasons)
        clean = []
    if errors:
        raise Invalid(errors)
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction():
        active = db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(
            ApiToken.user_id == owner.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)) or 0
        if active >= MAX_ACTIVE:
            raise Invalid({"": [_("Anda sudah memiliki %(n)d token aktif; cabut yang tidak dipakai dulu.",
                                  n=MAX_ACTIVE)]})
        token = ApiToken(user_id=owner.id, name=name, prefix=secret[:PREFIX_LENGTH], token_hash=hash_token(secret),
                         scopes=clean, created_at=now, expires_at=now + timedelta(days=days or DEFAULT_DAYS))
        db.session.add(token)
        db.session.flush()
        record("api_token.created", actor=actor, target=token, ip=ip,
               user_id=owner.id, name=name, scopes=clean, expires_at=token.expires_at.isoformat(),
               prefix=token.prefix, source=source)
    return NewToken(token, secret)


def revoke(actor: Any, token: ApiToken, *, ip: str | None = None, source: str = "page",
           now: datetime | None = None) -> bool:
    """Revoke ``token`` (its owner, or the operator). False when it was revoked already."""
    if not (actor is permissions.SYSTEM or getattr(actor, "id", None) == token.user_id):
        raise NotAllowed()
    now = now or utcnow()
    with transaction():
        res = db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id, ApiToken.revoked_at.is_(None))
                                 .values(revoked_at=now).execution_options(synchronize_session=False))
        db.session.expire(token)
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return False
        record("api_token.revoked", actor=actor, target_type="api_token",
               target_id=token.id, ip=ip, user_id=token.user_id, name=token.name, prefix=token.prefix, source=source)
    return True


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too: the list says which)."""
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def own_token(user: User, token_id: Any) -> ApiToken:
    """One of the user's tokens (NotFound for anyone else's: they do not exist for this user)."""
    from ..forms_common import int_or_none

    pk = int_or_none(token_id)
    token = db.session.get(ApiToken, pk) if pk is not None else None
    if token is None or token.user_id != user.id:
        raise NotFound()
    return token


def state(token: ApiToken, now: datetime | None = None) -> str:
    """active | expired | revoked"""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


@functools.cache
def _by_hash() -> sa.Select[Any]:
    """The token (and its user) by hash, built once: every API request runs it."""
    return (sa.select(ApiToken).where(ApiToken.token_hash == sa.bindparam("token_hash"))
            .options(joinedload(ApiToken.user)))


def authenticate(raw: str | None, now: datetime | None = None) -> tuple[User, ApiToken] | None:
    """The user and token a bearer secret stands for, or None (unknown, expired, revoked, or the
    user deactivated). One query; ``last_used_at`` is written at most once a minute."""
    if not looks_like_token(raw):
        return None
    now = now or utcnow()
    token = db.session.scalar(_by_hash(), {"token_hash": hash_token(raw)})  # type: ignore[arg-type]
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = token.user
    if not user.active or user.erased_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        _touch(token.id, now)
    return user, token


def _touch(token_id: int, now: datetime) -> None:
    """Record the use in its own short transaction (a GET otherwise writes nothing)."""
    from ..db import reset_write_intent, set_write_intent

    session = db.session()
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()  # end the read transaction so SQLite takes the write lock for this one write
    tok = set_write_intent(True)
    try:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id)
                           .where(sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY))
                           .values(last_used_at=now).execution_options(synchronize_session=False))
        db.session.commit()
    except sa.exc.OperationalError:
        db.session.rollback()  # busy: the last-used time waits for the next request; the call goes on
    finally:
        reset_write_intent(tok)


def owner_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == (email or "").strip().lower()))
