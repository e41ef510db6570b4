"""Production without the in-process thread: the RQ notifications run that schedules itself, and
``flask --app lms scheduler`` (reminders hourly, retention daily, a notifications run each pass).

Against a real Redis (database 14, a queue of each test's own)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
import sqlalchemy as sa

from lms.db import transaction, utcnow
from lms.extensions import db
from lms.notifications import worker
from lms.notifications.models import Delivery, DeliveryStatus
from lms.outbox.models import OutboxEvent

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def rq_queue(app) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown
    from rq import Queue

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisDown:
        pytest.fail(f"Redis is not answering at {REDIS_URL}: start it — this test needs a real Redis")
    name = f"lms-test-scheduler-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=REDIS_URL, NOTIFICATIONS_WORKER="rq", NOTIFICATIONS_QUEUE=name)
    q = Queue(name, connection=conn)
    try:
        yield q
    finally:
        for job_id in q.scheduled_job_registry.get_job_ids():
            q.scheduled_job_registry.remove(job_id, delete_job=True)
        q.empty()
        q.delete(delete_jobs=True)
        conn.delete(f"rq:job:{worker.PERIODIC_JOB_ID}", worker._pending_key(app))
        conn.close()


def _work(q) -> None:  # type: ignore[no-untyped-def]
    from rq import SimpleWorker

    SimpleWorker([q], connection=q.connection).work(burst=True)


def test_wake_ups_wait_for_the_run_already_in_the_queue(app, factory, rq_queue):
    """Commits that wrote events while a run waits in the queue add no run: that one reads their
    events. Once it has started, the next commit's wake-up enqueues a new one."""
    from lms import outbox

    q = rq_queue
    user = factory.user("trainee")
    for n in range(3):
        with transaction():
            outbox.announce("account.created", {"user_id": user.id, "n": n})
    assert q.count == 1
    key = worker._pending_key(app)
    assert 0 < q.connection.ttl(key) <= worker.PENDING_SECONDS  # a lost run holds wake-ups back a minute at most
    _work(q)
    assert q.count == 0 and not q.connection.exists(key)
    db.session.expire_all()
    assert [e.status.value for e in db.session.scalars(sa.select(OutboxEvent))] == ["dispatched"] * 3
    with transaction():
        outbox.announce("account.created", {"user_id": user.id, "n": 3})
    assert q.count == 1


def test_a_run_that_reschedules_itself_keeps_the_next_run(app, factory, rq_queue):
    """A run with messages waiting schedules the next run for then; when that run starts and finds
    them still waiting (a clock a little behind), the run after it is still scheduled: it does not
    reuse its own id, which RQ deletes when the job ends."""
    from rq.job import Job

    q = rq_queue
    user = factory.user("trainee")
    due = utcnow() + timedelta(hours=1)
    with transaction():
        db.session.add(Delivery(key="uji-1", user_id=user.id, channel="email", kind="uji", address=user.email,
                                subject="Uji", body_text="Uji", next_attempt_at=due))
    q.enqueue_call("lms.notifications.worker.rq_run", result_ttl=0)
    _work(q)
    [first] = q.scheduled_job_registry.get_job_ids()
    assert abs(q.scheduled_job_registry.get_scheduled_time(first) - due) < timedelta(seconds=1)

    job = Job.fetch(first, connection=q.connection)  # the scheduler hands it over now, early
    q.scheduled_job_registry.remove(job)
    q.enqueue_job(job)
    _work(q)
    [after] = q.scheduled_job_registry.get_job_ids()
    assert after != first and Job.exists(after, connection=q.connection)
    assert db.session.scalars(sa.select(Delivery)).one().status is DeliveryStatus.PENDING


def test_the_scheduler_writes_reminders_hourly_and_keeps_one_run_waiting(app, factory, rq_queue):
    from rq.job import Job, JobStatus

    q = rq_queue
    factory.session()  # 10 April 2018, 08:00 WIB
    day_before = datetime(2018, 4, 9, 3, 0, tzinfo=timezone.utc)  # 10:00 WIB
    last: dict[str, datetime] = {}
    out = worker.periodic_pass(app, last, day_before)
    assert out["reminders"]["sessions"] == 1 and out["run"] is True  # type: ignore[index]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.name == "reminder.session_tomorrow")) == 1
    periodic = Job.fetch(worker.PERIODIC_JOB_ID, connection=q.connection)
    assert periodic.get_status() == JobStatus.QUEUED

    # a minute later: no reminders (hourly), and no second run while the first still waits
    out = worker.periodic_pass(app, last, day_before + timedelta(minutes=1))
    assert "reminders" not in out and out["run"] is False
    assert q.job_ids.count(worker.PERIODIC_JOB_ID) == 1

    _work(q)  # the worker takes the run (and the one the reminders' commit asked for)
    assert not Job.exists(worker.PERIODIC_JOB_ID, connection=q.connection)
    out = worker.periodic_pass(app, last, day_before + timedelta(hours=1, minutes=1))
    assert out["reminders"]["sessions"] == 0 and out["run"] is True  # type: ignore[index]  # once per period
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.name == "reminder.session_tomorrow")) == 1


def test_the_scheduler_command_once_without_redis_dispatches_itself(app, factory):
    """Without Redis (``off``, as cron would run it) the pass sends what is due in its own process."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "reminders:" in result.output and "run: {" in result.output and "dispatched" in result.output


def test_the_scheduler_passes_every_poll_and_stops_when_asked(app, caplog):
    import logging
    import threading
    import time

    caplog.set_level(logging.INFO, logger="lms.notifications.worker")
    app.config["NOTIFICATIONS_POLL_SECONDS"] = 0.05
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_scheduler, args=(app,), kwargs={"stop": stop}, daemon=True)
    thread.start()

    def passes() -> int:
        return sum(1 for r in caplog.records if r.getMessage().startswith("scheduler pass"))

    deadline = time.monotonic() + 10
    while passes() < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    assert passes() >= 3 and not thread.is_alive()
