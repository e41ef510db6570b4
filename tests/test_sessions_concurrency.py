"""No overbooking, ever: real parallel requests against the live (threaded) server.

Each simulated trainee has their own cookie jar, signs in first, fetches a CSRF token, then
all fire together behind a barrier. On SQLite the server and the test share the database file.
"""
from __future__ import annotations

import http.cookiejar
import re
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.sessions import services
from lms.sessions.models import Registration, RegistrationStatus, TrainingSession
from tests.conftest import TEST_PASSWORD


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Browser:
    """A minimal browser: a cookie jar, no redirects followed, form posts with the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.token = ""

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method)
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def fetch_token(self, path: str = "/sessions") -> str:
        status, html = self.request("GET", path)
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        assert m, (status, html[:300])
        self.token = m.group(1)
        return self.token

    def login(self, email: str) -> None:
        self.fetch_token("/login")
        status, _body = self.request("POST", "/login", {"email": email, "password": TEST_PASSWORD,
                                                        "csrf_token": self.token})
        assert status == 302, status
        self.fetch_token()

    def post(self, path: str) -> int:
        # confirmed=1: a cancellation asks first (lms/confirm.py); here the confirm page's form is sent at once
        return self.request("POST", path, {"csrf_token": self.token, "confirmed": "1"})[0]


def _fire(browsers: list[Browser], path_of) -> tuple[list[int], float]:  # type: ignore[no-untyped-def]
    """Everyone POSTs at once; returns the statuses and the wall time of the burst."""
    barrier = threading.Barrier(len(browsers))

    def go(b: Browser) -> int:
        barrier.wait(timeout=30)
        return b.post(path_of(b))

    started = time.monotonic()
    with ThreadPoolExecutor(len(browsers)) as pool:
        statuses = list(pool.map(go, browsers))
    return statuses, time.monotonic() - started


def _rows(db, session_id: int) -> list[Registration]:  # type: ignore[no-untyped-def]
    db.session.rollback()  # a fresh snapshot of what the server wrote
    return list(db.session.scalars(sa.select(Registration).where(Registration.session_id == session_id)))


def _assert_consistent(db, session_id: int) -> TrainingSession:  # type: ignore[no-untyped-def]
    rows = _rows(db, session_id)
    s = db.session.get(TrainingSession, session_id)
    registered = sum(1 for r in rows if r.status is RegistrationStatus.REGISTERED)
    waiting = sum(1 for r in rows if r.status is RegistrationStatus.WAITLISTED)
    assert s.seats_taken == registered <= s.capacity
    assert waiting == 0 or registered == s.capacity, "someone waits while a seat is free"
    assert len({r.user_id for r in rows}) == len(rows), "duplicate rows"
    return s


@pytest.mark.slow
def test_fifty_trainees_register_at_once_for_ten_seats(live_server, factory, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=10, title="Bimtek Sepuluh Kursi")
    trainees = factory.enrolled_trainees(50, cohort)
    browsers = []
    for t in trainees:
        b = Browser(live_server.url)
        b.login(t.email)
        browsers.append(b)
    sid = s.id  # (the worker threads have no app context to load it in)
    statuses, elapsed = _fire(browsers, lambda b: f"/sessions/{sid}/register")
    print(f"\n50 simultaneous registrations for 10 seats: {elapsed:.2f} s ({db.engine.dialect.name})")
    assert not [c for c in statuses if c >= 500], statuses
    assert statuses == [302] * 50, statuses
    rows = _rows(db, s.id)
    assert len(rows) == 50 and len({r.user_id for r in rows}) == 50
    assert sum(1 for r in rows if r.status is RegistrationStatus.REGISTERED) == 10
    waiting = sorted((r for r in rows if r.status is RegistrationStatus.WAITLISTED),
                     key=lambda r: (r.waitlisted_at, r.id))
    assert len(waiting) == 40
    assert _assert_consistent(db, s.id).seats_taken == 10
    by_user = {t.id: t for t in trainees}
    assert [services.place_of(by_user[r.user_id], s).position for r in waiting] == list(range(1, 41))


def test_a_double_submit_makes_one_registration(live_server, factory, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=3)
    [t] = factory.enrolled_trainees(1, cohort)
    b = Browser(live_server.url)
    b.login(t.email)
    # the same trainee, the same CSRF token, five tabs (or a nervous double tap) at once
    sid = s.id
    statuses, _elapsed = _fire([b] * 5, lambda _b: f"/sessions/{sid}/register")
    assert statuses == [302] * 5, statuses
    rows = _rows(db, s.id)
    assert [(r.user_id, r.status) for r in rows] == [(t.id, RegistrationStatus.REGISTERED)]
    assert _assert_consistent(db, s.id).seats_taken == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "registration.created")) == 1


def test_several_cancellations_at_once_promote_the_waitlist_in_order(live_server, factory, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=5)
    people = factory.enrolled_trainees(10, cohort)
    for p in people:
        services.register(p, s)
    leaving = people[:3]
    browsers = []
    for p in leaving:
        b = Browser(live_server.url)
        b.login(p.email)
        browsers.append(b)
    sid = s.id
    statuses, elapsed = _fire(browsers, lambda b: f"/sessions/{sid}/unregister")
    print(f"\n3 simultaneous cancellations: {elapsed:.2f} s ({db.engine.dialect.name})")
    assert statuses == [302] * 3, statuses
    s = _assert_consistent(db, s.id)
    assert s.seats_taken == 5
    state = {p.id: services.place_of(p, s) for p in people}
    assert [state[p.id].status for p in people] == ["cancelled"] * 3 + ["registered"] * 5 + ["waitlisted"] * 2
    assert [state[p.id].position for p in people[8:]] == [1, 2]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "registration.promoted")) == 3


def test_registrations_and_cancellations_mixed_keep_the_books_straight(live_server, factory, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=8)
    holders = factory.enrolled_trainees(8, cohort)
    for p in holders:
        services.register(p, s)
    newcomers = factory.enrolled_trainees(16, cohort)
    browsers: list[tuple[Browser, str]] = []
    for p in holders[:6]:
        b = Browser(live_server.url)
        b.login(p.email)
        browsers.append((b, "unregister"))
    for p in newcomers:
        b = Browser(live_server.url)
        b.login(p.email)
        browsers.append((b, "register"))
    action = {id(b): a for b, a in browsers}
    sid = s.id
    statuses, _elapsed = _fire([b for b, _a in browsers], lambda b: f"/sessions/{sid}/{action[id(b)]}")
    assert statuses == [302] * len(browsers), statuses
    s = _assert_consistent(db, s.id)
    assert s.seats_taken == 8
    rows = _rows(db, s.id)
    assert sum(1 for r in rows if r.status is RegistrationStatus.CANCELLED) == 6
    assert sum(1 for r in rows if r.status is RegistrationStatus.WAITLISTED) == 16 - 6
