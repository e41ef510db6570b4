"""A job for tests/test_worker_horses.py, run by a real ``flask --app lms worker``."""
from __future__ import annotations

import json
import os


def probe(path: str) -> None:
    """Write down whether the job found the worker's app (lms.notifications.worker.use_app), and where it ran."""
    from lms.notifications import worker

    with open(path, "w", encoding="utf-8") as f:
        json.dump({"inherited": worker._rq_app is not None, "pid": os.getpid(), "ppid": os.getppid()}, f)
