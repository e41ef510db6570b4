"""A job for tests/test_worker_horses.py, run by a real ``flask --app lms worker``."""
from __future__ import annotations

import gc
import json
import os


def probe(path: str) -> None:
    """Write down whether the job runs in an app context, and in which process, with how many objects frozen (lms/ops/heap.py)."""
    from flask import has_app_context

    with open(path, "w", encoding="utf-8") as f:
        json.dump({"in_app": has_app_context(), "pid": os.getpid(), "ppid": os.getppid(),
                   "frozen": gc.get_freeze_count(), "nice": os.nice(0)}, f)
