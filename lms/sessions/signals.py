"""Signals the sessions area sends inside its own transactions, so that areas above it (the
dashboard) react in the same transaction without the sessions area importing them."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: a session's seats or registrations changed through a bulk UPDATE that the ORM's hooks do not
#: see. Sender: the ORM session of the transaction; keyword ``session_id``.
seats_changed = _signals.signal("lms.sessions.seats_changed")
