"""The notifications area's side of the domain events: who reacts to which event.

The events themselves (announce, the outbox rows, muting) are a lower layer, lms/outbox;
they are re-exported here for the area's own modules and tests.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ..outbox import EVENTS, announce, in_transaction, muted, wake_after_commit  # noqa: F401
from ..outbox.models import OutboxEvent

Handler = Callable[[OutboxEvent], Iterable[Any]]
_subscribers: dict[str, list[Handler]] = {}


def subscriber(*names: str) -> Callable[[Handler], Handler]:
    """Register a worker-side subscriber for one or more event names."""

    def register(fn: Handler) -> Handler:
        for name in names:
            if name not in EVENTS:
                raise KeyError(f"unknown event {name!r}")
            _subscribers.setdefault(name, []).append(fn)
        return fn

    return register


def subscribers_of(name: str) -> list[Handler]:
    return list(_subscribers.get(name, ()))


def install() -> None:
    """Write events at commit, and wake this area's worker after each commit that wrote one."""
    from .. import outbox
    from . import worker

    outbox.install()
    outbox.on_commit(worker.kick)
