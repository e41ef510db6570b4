"""Who may see and handle a person's data requests. Used by the rulebook (lms/permissions.py).

* the person sees their own requests;
* corrections: the coordinator of the person's region (all-DKI coordinators: all) and admins;
* erasures: admins only;
* nobody handles a request about themselves (four eyes).
"""
from __future__ import annotations

from typing import Any

from ..people.models import Role

Actor = Any


def _is(user: Actor, *roles: Role) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.active and user.role in roles


def subject_region_id(person: Any) -> int | None:
    """The region a person's data belongs to: their outlet's for a manager, their own otherwise."""
    outlet = getattr(person, "managed_outlet", None)
    if outlet is not None:
        return outlet.region_id
    return person.region_id


def _coordinates(user: Actor, person: Any) -> bool:
    if not _is(user, Role.COORDINATOR) or person.role is Role.ADMIN:
        return False
    return user.region_id is None or user.region_id == subject_region_id(person)


def can_view_request(user: Actor, req: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if req.user_id == user.id or _is(user, Role.ADMIN):
        return True
    from .models import RequestKind

    return req.kind is RequestKind.CORRECTION and _coordinates(user, req.user)


def can_handle_request(user: Actor, req: Any) -> bool:
    from .models import RequestKind, RequestStatus

    if req.user_id == user.id or req.status is not RequestStatus.PENDING:
        return False
    if req.kind is RequestKind.ERASURE:
        return _is(user, Role.ADMIN)
    if req.kind is RequestKind.CORRECTION:
        return _is(user, Role.ADMIN) or _coordinates(user, req.user)
    return False
