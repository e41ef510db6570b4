"""A small in-process cache for the dashboard's rendered views.

The key names everything the HTML depends on: the scope (cohort, regions, kecamatan, date
range, stuck threshold), the language, the WIB day, the viewer's role, and the *version* of
the scope's regions (:func:`lms.dashboard.summaries.version`), which every commit that
changes a summarised record raises in the same transaction. So a cached page is never
older than the data it shows — except for what moves with the clock alone (the stuck
cut-off, sessions starting) and seat counts changed by bulk UPDATEs, which the lifetime
(``DASHBOARD_CACHE_SECONDS``, 60 s by default) bounds.

Each process (gunicorn worker) keeps its own entries, at most ``MAX_ENTRIES``.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable

from flask import current_app

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
