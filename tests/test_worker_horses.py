"""``flask --app lms worker``: a bulk certificate chunk runs in a work horse RQ forks for it; a notifications run runs
in the worker itself, without a fork (about 60 ms of CPU a run forked, 13 in the worker)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.servers import redis_or_fail

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/15"


def test_certificate_jobs_fork_a_horse_notifications_run_in_the_worker(app, db_url, tmp_path):
    from rq import Queue
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    conn = redis_or_fail(REDIS_URL)
    name = f"lms-test-horses-{uuid.uuid4().hex[:8]}"
    notifications, certificates = Queue(name, connection=conn), Queue(f"{name}-certificates", connection=conn)
    in_horse, inline = tmp_path / "horse.json", tmp_path / "inline.json"
    try:
        certificates.enqueue("tests.rq_probe.probe", str(in_horse), result_ttl=60)
        notifications.enqueue("tests.rq_probe.probe", str(inline), result_ttl=60)
        runs = [notifications.enqueue("lms.notifications.worker.rq_run", result_ttl=60) for _ in range(2)]
        env = dict(os.environ, LMS_DATABASE_URL=db_url, LMS_SECRET_KEY="x" * 32, LMS_REDIS_URL=REDIS_URL,
                   LMS_INSTANCE_PATH=str(tmp_path / "instance"), LMS_NOTIFICATIONS_QUEUE=name,
                   LMS_CERTIFICATE_QUEUE=f"{name}-certificates", LMS_NOTIFICATIONS_WORKER="rq")
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "lms", "worker", "--workers", "1", "--burst"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, output
        horse = json.loads(in_horse.read_text(encoding="utf-8"))
        assert horse["in_app"] is True and horse["ppid"] == proc.pid  # a horse of the worker
        own = json.loads(inline.read_text(encoding="utf-8"))
        assert own["in_app"] is True and own["pid"] == proc.pid  # the worker itself
        # the worker froze the app's objects out of the collector's full passes; its horses inherit that
        assert own["frozen"] > 50_000 and horse["frozen"] > 50_000
        # and yields the CPU to the app servers (WORKER_NICE, 10 by default), horses included
        assert own["nice"] == horse["nice"] == min(os.nice(0) + 10, 19)
        finished = FinishedJobRegistry(queue=notifications).get_job_ids()
        assert all(run.id in finished for run in runs), output  # the real runs, one after the other in the worker
        assert FailedJobRegistry(queue=notifications).count == 0 and FailedJobRegistry(queue=certificates).count == 0
    finally:
        for q in (notifications, certificates):
            q.empty()
            q.delete(delete_jobs=True)
        conn.close()
