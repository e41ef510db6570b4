"""``flask --app lms worker``: RQ forks a work horse for every job; the horses use the worker's app instead of
each building the app again (a notifications run cost 0.6 s of CPU doing that, for 20 ms of work)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/15"


def test_the_work_horses_use_the_workers_app(app, db_url, tmp_path):
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except Exception:
        pytest.fail(f"Redis is not answering at {REDIS_URL}: start it (`.ci/run` does) — this test needs a real Redis")
    name = f"lms-test-horses-{uuid.uuid4().hex[:8]}"
    q = Queue(name, connection=conn)
    out = tmp_path / "probe.json"
    try:
        q.enqueue("tests.rq_probe.probe", str(out), result_ttl=60)
        run = q.enqueue("lms.notifications.worker.rq_run", result_ttl=60)  # the real job, in such a horse
        env = dict(os.environ, LMS_DATABASE_URL=db_url, LMS_SECRET_KEY="x" * 32, LMS_REDIS_URL=REDIS_URL,
                   LMS_INSTANCE_PATH=str(tmp_path / "instance"), LMS_NOTIFICATIONS_QUEUE=name,
                   LMS_CERTIFICATE_QUEUE=f"{name}-certificates", LMS_NOTIFICATIONS_WORKER="rq")
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "lms", "worker", "--workers", "1", "--burst"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        found = json.loads(out.read_text(encoding="utf-8"))
        assert found["inherited"] is True
        assert found["pid"] != os.getpid()
        assert run.id in FinishedJobRegistry(queue=q).get_job_ids(), done.stdout + done.stderr
        assert FailedJobRegistry(queue=q).count == 0
    finally:
        q.empty()
        q.delete(delete_jobs=True)
        conn.close()
