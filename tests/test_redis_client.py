"""The app's queues share one Redis client per process (lms/ops/redis_client.py): an enqueue reuses an open
connection instead of opening a new one. Against a real Redis (database 14)."""
from __future__ import annotations

import uuid

import pytest

from lms.ops.redis_client import client

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_app(app):  # type: ignore[no-untyped-def]
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    try:
        Redis.from_url(REDIS_URL).ping()
    except RedisDown:
        pytest.fail(f"Redis is not answering at {REDIS_URL}: start it — this test needs a real Redis")
    suffix = uuid.uuid4().hex[:8]
    app.config.update(REDIS_URL=REDIS_URL, NOTIFICATIONS_QUEUE=f"lms-test-n-{suffix}",
                      CERTIFICATE_QUEUE=f"lms-test-c-{suffix}")
    yield app
    from rq import Queue

    conn = Redis.from_url(REDIS_URL)
    for name in (f"lms-test-n-{suffix}", f"lms-test-c-{suffix}"):
        Queue(name, connection=conn).delete(delete_jobs=True)
    conn.close()


def _connections(conn) -> int:  # type: ignore[no-untyped-def]
    """How many connections this client's pool has opened so far (idle or handed out)."""
    pool = conn.connection_pool
    return len(pool._available_connections) + len(pool._in_use_connections)  # noqa: SLF001


def test_the_queues_share_one_client_and_its_connection(redis_app):
    from lms.certification import jobs
    from lms.notifications import worker

    shared = client(redis_app)
    assert client(redis_app) is shared
    cert_q, note_q = jobs._rq_queue(redis_app), worker._rq_queue(redis_app)
    assert cert_q.connection is shared and note_q.connection is shared
    for n in range(5):  # real round trips through both queues
        cert_q.enqueue_call("builtins.print", args=(n,))
        note_q.enqueue_call("builtins.print", args=(n,))
    assert cert_q.count == 5 and note_q.count == 5
    assert _connections(shared) == 1  # ten enqueues, one connection kept open


def test_another_redis_url_gets_its_own_client(redis_app):
    first = client(redis_app)
    redis_app.config["REDIS_URL"] = "redis://127.0.0.1:6379/13"
    second = client(redis_app)
    assert second is not first
    assert second.connection_pool.connection_kwargs["db"] == 13
    assert second.ping()
