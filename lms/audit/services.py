"""Recording to the audit log. Callers pass facts; secrets are dropped before writing."""
from __future__ import annotations

from typing import Any

from ..extensions import db
from .models import AuditEntry

#: keys never written to the log, whatever a caller passes
_SECRET_KEYS = {"password", "password_hash", "token", "session_token", "secret", "csrf_token", "new_password"}


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in details.items():
        if key.lower() in _SECRET_KEYS or "password" in key.lower() or "token" in key.lower():
            continue
        out[key] = _clean(value) if isinstance(value, dict) else value
    return out


def record(action: str, *, actor: Any = None, target: Any = None, target_type: str | None = None,
           target_id: Any = None, ip: str | None = None, **details: Any) -> AuditEntry:
    """Add an audit entry to the current unit of work (the caller's transaction commits it)."""
    if target is not None:
        target_type = target_type or target.__tablename__.rstrip("s")
        target_id = target.id
    actor_id = getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None
    entry = AuditEntry(
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=ip,
        details=_clean(details),
    )
    db.session.add(entry)
    return entry
