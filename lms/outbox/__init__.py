"""Domain events: a service announces what happened inside its transaction; the event is
dispatched only after that transaction commits.

This is infrastructure below every area (like lms/db.py): areas announce their own events
here without knowing who reacts; the notifications area (lms/notifications/events.py)
subscribes to them and, through :func:`on_commit`, wakes its worker after each commit.

``announce()`` writes an :class:`OutboxEvent` row into the caller's unit of work (the
transactional outbox), so a rollback takes the event with it and nobody is told of
something that did not happen. After the commit a worker (``worker.kick``) turns the
event into in-app notifications and outgoing messages; sending never happens in the
request.

Two kinds of subscribers:

* ``@subscriber("evidence.returned")``: runs in the worker after the commit, returns the
  audiences to notify (see ``dispatch.Audience``). Most reactions are these.
* ``in_transaction`` (a blinker signal, sender = the event name): runs at once inside the
  announcing transaction, for reactions that must commit or roll back with the change
  (the dashboard's data version). Keep these cheap and free of I/O.

Each area names its own events (``session.changed`` belongs to sessions); the areas that
react subscribe, so the announcing area never imports the reacting one.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from blinker import Namespace
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ..db import utcnow
from ..extensions import db
from .models import EventStatus, OutboxEvent

signals = Namespace()
#: sent inside the announcing transaction: ``in_transaction.send(name, payload=..., event=row)``
in_transaction = signals.signal("lms.event.in_transaction")

#: the domain events this application announces, with who announces them (for the docs and tests)
EVENTS: dict[str, str] = {
    "evidence.submitted": "programme", "evidence.verified": "programme", "evidence.returned": "programme",
    "stage.completed": "programme",
    "session.created": "sessions", "session.changed": "sessions", "session.cancelled": "sessions",
    "registration.confirmed": "sessions", "registration.waitlisted": "sessions",
    "registration.promoted": "sessions", "registration.cancelled": "sessions",
    "attendance.recorded": "sessions",
    "visit.logged": "visits", "action_item.due": "visits",
    "certificate.issued": "certification", "certificate.revoked": "certification",
    "account.created": "people", "password.reset": "people", "auth.code_requested": "people",
    "import.finished": "imports",
    "broadcast.sent": "notifications",
    "privacy.request_created": "privacy", "privacy.request_answered": "privacy",
    "privacy.breach_notice": "privacy", "privacy.export_ready": "privacy",
    "reminder.session_tomorrow": "notifications", "reminder.session_today": "notifications",
    "reminder.report_due": "notifications", "reminder.mentor_digest": "notifications",
    "reminder.review_summary": "notifications",
}

_INFO_NEW = "lms.events.new"
_INFO_BUFFER = "lms.events.buffer"  # events announced in this transaction, written just before it commits
#: set while loading history (the demo seed, bench data): nothing is announced
_muted: contextvars.ContextVar[bool] = contextvars.ContextVar("lms_events_muted", default=False)


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Announce nothing inside this block (loading past data must not notify anyone)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def announce(name: str, payload: dict[str, Any] | None = None, *, actor: Any = None,
             secret: str | None = None, dedupe_key: str | None = None) -> bool:
    """Record that ``name`` happened, in the caller's transaction. True when recorded.

    ``payload`` holds ids and plain facts (JSON). ``secret`` carries a one-time link for the
    message only; it is erased when the event is dispatched. Events are written together, in
    one INSERT, just before the transaction commits (so announcing for 60 people costs one
    statement); a rollback drops them. With ``dedupe_key`` the event is written at once, and
    a second event with the same key is not written at all (reminders, once per period):
    False then.
    """
    if name not in EVENTS:
        raise KeyError(f"unknown event {name!r}")
    if _muted.get():
        return False
    session = db.session()
    actor_id = getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None
    values = {"name": name, "payload": dict(payload or {}), "actor_id": actor_id, "secret": secret,
              "dedupe_key": dedupe_key, "status": EventStatus.PENDING, "attempts": 0, "created_at": utcnow()}
    if dedupe_key is not None:
        exists = session.execute(sa.select(OutboxEvent.id).where(OutboxEvent.dedupe_key == dedupe_key)).first()
        if exists:
            return False
        try:
            with session.begin_nested():
                session.execute(sa.insert(OutboxEvent).values(**values))
        except sa.exc.IntegrityError:  # a concurrent writer took the key first
            return False
    else:
        session.info.setdefault(_INFO_BUFFER, []).append(values)
    session.info[_INFO_NEW] = True
    in_transaction.send(name, payload=values["payload"])
    return True


def _before_commit(session: Session) -> None:
    rows = session.info.pop(_INFO_BUFFER, None)
    if rows:
        session.execute(sa.insert(OutboxEvent), rows)


def wake_after_commit() -> None:
    """Wake the worker once the current transaction commits (a retried message, say)."""
    db.session().info[_INFO_NEW] = True


#: called after a commit that wrote events (the notifications worker registers its wake-up)
_commit_hooks: list[Callable[[], None]] = []


def on_commit(hook: Callable[[], None]) -> None:
    """Call ``hook`` after every commit that wrote an event (once per registration)."""
    if hook not in _commit_hooks:
        _commit_hooks.append(hook)


def _after_commit(session: Session) -> None:
    if session.info.pop(_INFO_NEW, None):
        for hook in list(_commit_hooks):
            hook()


def _after_rollback(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_INFO_NEW, None)
        session.info.pop(_INFO_BUFFER, None)


_installed = False


def install() -> None:
    """Write buffered events at commit and run the commit hooks (once per process)."""
    global _installed
    if _installed:
        return
    sa_event.listen(Session, "before_commit", _before_commit)
    sa_event.listen(Session, "after_commit", _after_commit)
    sa_event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
    _installed = True
