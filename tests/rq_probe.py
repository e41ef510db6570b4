"""A job for tests/test_worker_horses.py, run by a real ``flask --app lms worker`` in the work horse it forks."""
from __future__ import annotations

import json
import os


def probe(path: str) -> None:
    """Write down whether the work horse found the worker's app (lms.notifications.worker.use_app) and its pid."""
    from lms.notifications import worker

    with open(path, "w", encoding="utf-8") as f:
        json.dump({"inherited": worker._rq_app is not None, "pid": os.getpid()}, f)
