"""One Redis client per process for the app's queues (notifications, certificates, data exports)."""
from __future__ import annotations

from typing import Any

from flask import Flask

_KEY = "lms.redis"


def client(app: Flask) -> Any:
    """This process's client of LMS_REDIS_URL, kept on the app: its connections stay open between requests
    instead of a new TCP connection (and its set-up round trips) at every enqueue. redis-py's pool notices a
    fork and opens new connections in the child, so a client built before gunicorn forks is safe."""
    from redis import Redis

    url = app.config["REDIS_URL"]
    found = app.extensions.get(_KEY)
    if found is None or found[0] != url:
        found = app.extensions[_KEY] = (url, Redis.from_url(url))
    return found[1]
