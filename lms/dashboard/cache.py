"""A small in-process cache for the dashboard's rendered views.

The key names everything the HTML depends on: the scope (cohort, regions, kecamatan, date
range, stuck threshold), the language, the WIB day, the viewer's role, and the *versions* of
the scope's regions (:func:`lms.dashboard.summaries.versions`), which every commit that
changes a summarised record (or a session, a registration) raises in the same transaction.
So a cached page is never older than the data it shows — except for what moves with the
clock alone (the stuck cut-off, sessions starting), which the lifetime
(``DASHBOARD_CACHE_SECONDS``, 60 s by default) bounds.

The layers: the views of a scope (the sessions view under the sessions' version, the others
under the numbers' version, so that a morning of registrations and check-ins redraws only the
sessions view), the page content of a query (filters and views), and the whole page of one
browser session (:func:`frame_key`: the header and menu too, which name the person, their bell
count and the session's CSRF token). The versions are read in the sign-in statement itself
(``summaries.version_columns`` registered with lms.people.auth.read_with_user), so a repeated
dashboard costs one SQL statement, like any signed-in page's sign-in check.

Several processes and servers: the version lives in the database, raised inside the committing
transaction, and every request reads it; an entry is found only under the version it was made
for. So a change committed by any process shows on the next dashboard load in every other
process, and nothing has to be told to forget anything. Each process (gunicorn worker) keeps
its own entries, at most ``MAX_ENTRIES``.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable

from flask import current_app, request, session

MAX_ENTRIES = 256


class FragmentCache:
    def __init__(self) -> None:
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_make(self, key: Hashable, ttl: float, make: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            found = self._data.get(key)
            if found is not None and found[0] > now:
                self._data.move_to_end(key)
                self.hits += 1
                return found[1]
        value = make()
        with self._lock:
            self.misses += 1
            self._data[key] = (now + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > MAX_ENTRIES:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def cache() -> FragmentCache:
    return current_app.extensions.setdefault("lms.dashboard_cache", FragmentCache())


def ttl() -> float:
    return float(current_app.config.get("DASHBOARD_CACHE_SECONDS", 60))


_USER_COLUMNS: list[str] = []


def _fingerprint(user: Any) -> tuple[Any, ...]:
    """Every column of the signed-in person's row (their name, role, region, password or not … in the header)."""
    if not _USER_COLUMNS:
        from sqlalchemy import inspect

        _USER_COLUMNS.extend(a.key for a in inspect(type(user)).column_attrs)
    return tuple(getattr(user, k) for k in _USER_COLUMNS)


def frame_key(user: Any, lang: str, version: Hashable, extra: Hashable) -> Hashable | None:
    """The key of this request's whole page, or None when it must be rendered: a message is waiting
    to be shown once (flash), or the session has no CSRF token yet (the first page after signing in
    makes it; a client that does not keep its cookies would make a new one at every request).

    The page shows, besides the dashboard: the person (their row), the bell (in ``extra``), the
    language, the address (the language switch returns to it) and the session's CSRF token (in the
    forms of the header); the token is a secret of this browser session, so an entry serves only it."""
    if session.get("_flashes"):
        return None
    token = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    if not token:
        return None
    return ("frame", lang, request.full_path, token, _fingerprint(user), extra, version)
