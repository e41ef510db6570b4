"""Rate limits (lms/ratelimit.py): the real Flask-Limiter, in memory and on the real Redis
(127.0.0.1:6379, which .ci/run starts), with a key prefix of its own per test, removed afterwards.

Two ``create_app()`` calls stand for two gunicorn workers: with Redis they must share one count.
The API limits are tested on /api/ paths whatever the API answers there (the limiter runs before
any view, and counts paths no route matches too), with raw Bearer values: the limiter keys on the
token's SHA-256 and never looks the token up.
"""
from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis
from flask import Flask

from lms import create_app
from lms.extensions import db as _db
from tests.conftest import TEST_PASSWORD, Client
from tests.servers import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
API_PATH = "/api/v1/regions"


@pytest.fixture
def prefix() -> Iterator[str]:
    """A Redis key prefix for this test only; its keys are deleted afterwards."""
    name = f"lms-test-{uuid.uuid4().hex[:12]}"
    yield name
    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(match=f"*{name}*", count=1000))
    if keys:
        r.delete(*keys)
    r.close()


@pytest.fixture
def make_app(app: Flask, db_url: str, tmp_path: Path) -> Iterator[Any]:
    """make_app(**config) → another app on the test's database (another worker)."""
    made: list[Flask] = []

    def _make(**config: Any) -> Flask:
        worker = create_app({"TESTING": True, "DATABASE_URL": db_url,
                             "INSTANCE_PATH": str(tmp_path / f"worker{len(made)}"), **config})
        worker.test_client_class = Client
        made.append(worker)
        return worker

    yield _make
    for worker in made:
        with worker.app_context():
            _db.session.remove()
            _db.engine.dispose()


def _workers(make_app: Any, prefix: str, n: int = 2, **config: Any) -> list[Client]:
    """``n`` apps counting in the real Redis under ``prefix``, as ``n`` gunicorn workers would."""
    cfg = {"REDIS_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": None, "RATELIMIT_KEY_PREFIX": prefix, **config}
    return [make_app(**cfg).test_client() for _ in range(n)]


def _redis_keys(prefix: str) -> list[str]:
    r = redis.Redis.from_url(REDIS_URL)
    try:
        return [k.decode() for k in r.scan_iter(match=f"*{prefix}*", count=1000)]
    finally:
        r.close()


# --- memory storage: the limits trip -----------------------------------------------------------------

def test_verify_page_trips_with_429_and_retry_after(app, client, factory):
    app.config["RATELIMIT_VERIFY"] = "3/minute"
    cert = factory.certificate()
    url = f"/verify/{cert.verification_code}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    resp = client.get(url)
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    assert "Terlalu banyak pemeriksaan sertifikat" in html  # the verify page's own wording
    assert client.get("/verify/kode-lain").status_code == 429  # per address, whatever the code
    # another address has its own budget
    assert client.get(url, environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200


def test_the_verify_page_and_its_json_twin_share_one_budget(app, client):
    app.config["RATELIMIT_VERIFY"] = "3/minute"
    assert client.get("/verify/tidak-ada").status_code == 404
    assert client.get("/api/v1/certificates/verify/tidak-ada").status_code == 404
    assert client.get("/verify/tidak-ada").status_code == 404
    resp = client.get("/api/v1/certificates/verify/tidak-ada", headers={"Accept-Language": "en"})
    assert resp.status_code == 429 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["title"] == "Too many requests" and int(resp.headers["Retry-After"]) >= 1
    assert client.get("/verify/tidak-ada").status_code == 429


def test_verify_limit_keeps_the_older_config_name(app, client):
    app.config["RATELIMIT_VERIFY"] = None
    app.config["CERTIFICATE_VERIFY_PER_MINUTE"] = 2
    assert [client.get("/verify/tidak-ada").status_code for _ in range(3)] == [404, 404, 429]


def test_sign_in_posts_trip_with_429_across_the_sign_in_steps(app, client, factory):
    app.config["RATELIMIT_LOGIN"] = "3/minute"
    user = factory.user("trainee")
    codes = [client.form_post("/login", {"email": user.email, "password": "salah-sekali"}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 200]  # wrong password: the form again (the DB throttle allows 10)
    resp = client.form_post("/login", {"email": user.email, "password": TEST_PASSWORD})
    assert resp.status_code == 429  # even the right password: the address is over its ceiling
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    html = resp.get_data(as_text=True)
    assert "Terlalu banyak percobaan" in html and "Coba lagi dalam 1 menit" in html
    # one budget for every sign-in step: asking for a phone code is refused too
    assert client.form_post("/login/phone", {"phone": "081234567890"}).status_code == 429
    # reading the sign-in page is not counted
    assert client.get("/login").status_code == 200
    # another address signs in
    other = app.test_client()
    ok = other.form_post("/login", {"email": user.email, "password": TEST_PASSWORD},
                         environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert ok.status_code == 302


def test_limits_can_be_switched_off(make_app):
    client = make_app(RATELIMIT_ENABLED=False, RATELIMIT_VERIFY="1/minute").test_client()
    assert {client.get("/verify/x").status_code for _ in range(3)} == {404}


def test_ipv6_clients_are_counted_per_64(app, client):
    app.config["RATELIMIT_VERIFY"] = "2/minute"
    same_line = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9"]
    assert [client.get("/verify/x", environ_base={"REMOTE_ADDR": a}).status_code for a in same_line] == [404, 404]
    assert client.get("/verify/x", environ_base={"REMOTE_ADDR": "2001:db8:1:2::77"}).status_code == 429
    assert client.get("/verify/x", environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 404


# --- the API: per token, per address, problem+json ---------------------------------------------------------

def test_api_429_is_problem_json_in_the_accepted_language(app, client):
    app.config["RATELIMIT_API"] = "2/minute"
    bearer = {"Authorization": "Bearer lms_uji_satu"}
    first = client.get(API_PATH, headers=bearer)
    assert first.status_code != 429
    assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
    client.get(API_PATH, headers=bearer)
    resp = client.get(API_PATH, headers=bearer)
    assert resp.status_code == 429
    assert resp.mimetype == "application/problem+json"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    body = resp.get_json()
    assert body["status"] == 429 and body["type"].endswith("#problem-rate-limited")  # as every API problem
    assert body["title"] == "Terlalu banyak permintaan" and resp.headers["Content-Language"] == "id"
    assert body["retry_after"] == int(resp.headers["Retry-After"])
    en = client.get(API_PATH, headers={**bearer, "Accept-Language": "en-GB,en;q=0.9"})
    assert en.status_code == 429 and en.get_json()["title"] == "Too many requests"
    assert en.headers["Content-Language"] == "en"


def test_api_per_token_budgets_are_shared_by_workers(make_app, prefix):
    a, b = _workers(make_app, prefix, RATELIMIT_API="4/minute", RATELIMIT_API_ADDRESS="100/minute")
    one, two = {"Authorization": "Bearer lms_token_satu"}, {"Authorization": "Bearer lms_token_dua"}
    assert [w.get(API_PATH, headers=one).status_code != 429 for w in (a, b, a, b)] == [True] * 4
    assert a.get(API_PATH, headers=one).status_code == 429  # 4 used across both workers
    assert b.get(API_PATH, headers=one).status_code == 429
    # another token has its own budget, on either worker
    assert [w.get(API_PATH, headers=two).status_code != 429 for w in (b, a, b, a)] == [True] * 4
    assert b.get(API_PATH, headers=two).status_code == 429
    # no token at all: keyed by the address, a budget of its own
    assert a.get(API_PATH).status_code != 429
    keys = _redis_keys(prefix)
    import hashlib

    digest = hashlib.sha256(b"lms_token_satu").hexdigest()[:32]  # the start of ApiToken.token_hash
    assert any(f"token:{digest}/api/" in k for k in keys), keys
    assert not any("lms_token_satu" in k for k in keys)  # the secret itself never reaches Redis


def test_api_per_address_ceiling_holds_whatever_the_token(make_app, prefix):
    a, b = _workers(make_app, prefix, RATELIMIT_API="100/minute", RATELIMIT_API_ADDRESS="4/minute")
    codes = [w.get(API_PATH, headers={"Authorization": f"Bearer invented-{i}"}).status_code
             for i, w in enumerate((a, b, a, b))]
    assert 429 not in codes
    resp = b.get(API_PATH, headers={"Authorization": "Bearer yet-another-fresh-one"})
    assert resp.status_code == 429 and resp.mimetype == "application/problem+json"
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.headers["X-RateLimit-Limit"] == "4" and resp.headers["X-RateLimit-Remaining"] == "0"
    other = a.get(API_PATH, headers={"Authorization": "Bearer x"}, environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert other.status_code != 429


# --- Redis: one count for all workers ----------------------------------------------------------------------

def test_two_workers_share_the_verify_count(make_app, prefix):
    n = 6
    a, b = _workers(make_app, prefix, RATELIMIT_VERIFY=f"{n}/minute")
    for _ in range(n // 2):
        assert a.get("/verify/tidak-ada").status_code == 404
        assert b.get("/verify/tidak-ada").status_code == 404
    for worker in (a, b):
        resp = worker.get("/verify/tidak-ada")
        assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert any("/verify/" in k for k in _redis_keys(prefix))


def test_two_workers_share_the_sign_in_count(make_app, prefix, factory):
    a, b = _workers(make_app, prefix, RATELIMIT_LOGIN="4/minute")
    user = factory.user("trainee")
    for worker in (a, b, a, b):
        assert worker.form_post("/login", {"email": user.email, "password": "salah"}).status_code == 200
    resp = b.form_post("/login", {"email": user.email, "password": TEST_PASSWORD})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert a.form_post("/login", {"email": user.email, "password": TEST_PASSWORD}).status_code == 429


def test_a_forged_forwarded_for_does_not_reset_the_count(make_app, prefix):
    a, b = _workers(make_app, prefix, TRUSTED_PROXIES=0, RATELIMIT_VERIFY="3/minute")
    forged = ["1.1.1.1", "8.8.8.8", "203.0.113.9, 198.51.100.1"]
    codes = [w.get("/verify/x", headers={"X-Forwarded-For": f}).status_code for w, f in zip((a, b, a), forged)]
    assert codes == [404, 404, 404]
    assert b.get("/verify/x", headers={"X-Forwarded-For": "9.9.9.9"}).status_code == 429


def test_behind_one_trusted_proxy_the_address_it_saw_is_counted(make_app, prefix):
    """With TRUSTED_PROXIES=1 the address the proxy appended counts; what the client wrote before it
    does not."""
    a, b = _workers(make_app, prefix, TRUSTED_PROXIES=1, RATELIMIT_VERIFY="2/minute")
    seen = "203.0.113.50"
    codes = [w.get("/verify/x", headers={"X-Forwarded-For": f"{lie}, {seen}"}).status_code
             for w, lie in ((a, "1.1.1.1"), (b, "2.2.2.2"), (a, "3.3.3.3"))]
    assert codes == [404, 404, 429]
    assert b.get("/verify/x", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 404


def test_redis_down_requests_are_still_served(make_app, caplog):
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    client = make_app(REDIS_URL=url, RATELIMIT_STORAGE_URI=None, RATELIMIT_VERIFY="3/minute",
                      RATELIMIT_API="3/minute").test_client()
    with caplog.at_level(logging.WARNING):
        assert client.get("/verify/x").status_code == 404
        api = client.get(API_PATH, headers={"Authorization": "Bearer lms_x"})
        assert api.status_code < 500 and api.status_code != 429
    assert any("unreachable" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    # it falls back to this process's memory: the limits still hold, per worker
    assert [client.get("/verify/x").status_code for _ in range(3)] == [404, 404, 429]
