"""THE rulebook: who may do what.

Every view declares its rule with :func:`rule`; a view without one is refused (deny by
default). Object rules come in pairs: ``*.view`` decides whether the object exists for
the user (404 otherwise), the action rule whether they may act on it (403 otherwise).
The list filters (``outlet_scope``, ``user_scope``) express the same ``*.view`` rules as
SQL, so a list never shows what its detail page would refuse. Templates call ``can``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import sqlalchemy as sa
from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from .people.models import Role, User
from .places.models import Outlet

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
AUTHENTICATED = "authenticated"

Actor = Any  # a User or Flask-Login's anonymous user


def _is(user: Actor, *roles: Role) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.active and user.role in roles


def is_admin(user: Actor) -> bool:
    return _is(user, Role.ADMIN)


def is_coordinator(user: Actor) -> bool:
    return _is(user, Role.COORDINATOR)


def is_staff(user: Actor) -> bool:
    return _is(user, Role.ADMIN, Role.COORDINATOR, Role.MENTOR)


def in_region(user: Actor, region_id: int | None) -> bool:
    """A coordinator or mentor's region covers ``region_id`` (a coordinator with no region covers all)."""
    if user.role is Role.COORDINATOR and user.region_id is None:
        return True
    return region_id is not None and user.region_id == region_id


# --- object rules ------------------------------------------------------------------

def can_view_outlet(user: Actor, outlet: Outlet) -> bool:
    if is_admin(user):
        return True
    if _is(user, Role.COORDINATOR, Role.MENTOR):
        return in_region(user, outlet.region_id)
    if _is(user, Role.TRAINEE):
        return outlet.manager_id == user.id
    return False


def can_edit_outlet(user: Actor, outlet: Outlet) -> bool:
    return is_admin(user) or (is_coordinator(user) and in_region(user, outlet.region_id))


def can_view_user(user: Actor, target: User) -> bool:
    if is_admin(user):
        return True
    if is_coordinator(user):
        if target.role is Role.ADMIN:
            return False
        return in_region(user, target.region_id) or target.id == user.id
    return bool(getattr(user, "is_authenticated", False)) and target.id == user.id


def can_edit_user(user: Actor, target: User) -> bool:
    if is_admin(user):
        return True
    return (is_coordinator(user) and can_view_user(user, target)
            and target.role in (Role.TRAINEE, Role.MENTOR))


def can_assign_role(user: Actor, role: Role, region_id: int | None) -> bool:
    """May ``user`` give ``role`` (in ``region_id``) to someone?"""
    if is_admin(user):
        return True
    return (is_coordinator(user) and role in (Role.TRAINEE, Role.MENTOR)
            and region_id is not None and in_region(user, region_id))


def can_administer_user(user: Actor, target: User) -> bool:
    """Deactivate/reactivate and reset passwords: admins, never on themselves."""
    return is_admin(user) and target.id != user.id


RULES: dict[str, Callable[..., bool]] = {
    AUTHENTICATED: lambda u, obj=None: bool(getattr(u, "is_authenticated", False)) and u.active,
    "users.list": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "users.create": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "user.view": lambda u, obj: can_view_user(u, obj),
    "user.edit": lambda u, obj: can_edit_user(u, obj),
    "user.administer": lambda u, obj: can_administer_user(u, obj),
    "outlets.list": lambda u, obj=None: is_staff(u),
    "outlets.create": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "outlet.view": lambda u, obj: can_view_outlet(u, obj),
    "outlet.edit": lambda u, obj: can_edit_outlet(u, obj),
    "audit.view": lambda u, obj=None: is_admin(u),
}


def can(user: Actor, action: str, obj: Any = None) -> bool:
    if action == PUBLIC:
        return True
    check = RULES.get(action)
    if check is None:
        raise KeyError(f"no rule named {action!r}")
    if not (getattr(user, "is_authenticated", False) and user.active):
        return False
    return bool(check(user, obj) if obj is not None else check(user))


# --- list filters: the same rules as SQL -----------------------------------------------

def outlet_scope(user: Actor) -> sa.ColumnElement[bool]:
    if is_admin(user):
        return sa.true()
    if _is(user, Role.COORDINATOR, Role.MENTOR):
        if user.role is Role.COORDINATOR and user.region_id is None:
            return sa.true()
        return Outlet.region_id == user.region_id
    if _is(user, Role.TRAINEE):
        return Outlet.manager_id == user.id
    return sa.false()


def user_scope(user: Actor) -> sa.ColumnElement[bool]:
    if is_admin(user):
        return sa.true()
    if is_coordinator(user):
        not_admin = User.role != Role.ADMIN
        if user.region_id is None:
            return not_admin
        return sa.and_(not_admin, sa.or_(User.region_id == user.region_id, User.id == user.id))
    if getattr(user, "is_authenticated", False):
        return User.id == user.id
    return sa.false()


def region_choices_for(user: Actor) -> sa.ColumnElement[bool]:
    """Regions a user may pick in filters and forms."""
    from .places.models import Region

    if is_admin(user) or (is_coordinator(user) and user.region_id is None):
        return sa.true()
    return Region.id == user.region_id


# --- views ----------------------------------------------------------------------------

def rule(action: str) -> Callable[[F], F]:
    """Declare the rule a view needs. Anonymous users are sent to sign in; others get 403."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if action != PUBLIC:
                if not getattr(current_user, "is_authenticated", False):
                    return redirect(url_for("people.login", next=request.full_path.rstrip("?")))
                if not can(current_user, action):
                    abort(403)
            return view(*args, **kwargs)

        wrapped._lms_rule = action  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def authorize(obj: Any, view_action: str, action: str | None = None) -> Any:
    """404 when the current user may not see ``obj``; 403 when they may see but not ``action`` it."""
    if obj is None or not can(current_user, view_action, obj):
        abort(404)
    if action is not None and not can(current_user, action, obj):
        abort(403)
    return obj


def load(model: type, ident: Any, view_action: str, action: str | None = None) -> Any:
    from .extensions import db

    try:
        obj = db.session.get(model, int(ident))
    except (TypeError, ValueError):
        obj = None
    return authorize(obj, view_action, action)


def init_app(app: Flask) -> None:
    @app.before_request
    def _deny_undeclared() -> None:
        endpoint = request.endpoint
        if endpoint is None or endpoint == "static":
            return
        view = current_app.view_functions.get(endpoint)
        if view is not None and not hasattr(view, "_lms_rule"):
            current_app.logger.error("view %s declares no permission rule; refused", endpoint)
            abort(403)

    @app.context_processor
    def _inject() -> dict[str, Any]:
        from .people.forms import ROLE_LABELS

        return {"can": lambda action, obj=None: can(current_user, action, obj), "Role": Role,
                "role_label": lambda role: ROLE_LABELS[getattr(role, "value", role)]}


class _SystemActor:
    """The actor for CLI commands and background jobs run by the operator: full rights, no user row."""

    id = None
    is_authenticated = True
    is_anonymous = False
    active = True
    role = Role.ADMIN
    region_id = None
    full_name = "system"

    def __repr__(self) -> str:
        return "<SystemActor>"


SYSTEM = _SystemActor()
