"""Every training-session route × every kind of visitor.

The session is a Jakarta Pusat (3171) Bimtek of a cohort spanning 3171 and 3172; it starts in 20
minutes (registration still open, the check-in window and attendance already open). Columns:

    anonymous, trainee (enrolled in the cohort in 3171, holding a seat), trainee_3172 (enrolled,
    but in Jakarta Utara), mentor (3171), coord_3171, coord_3172, coord_all, admin.

Codes as in tests/test_access.py: ``L`` is a 302 to ``/login?next=<the path>``; what a user may
not see is 404, what they see but may not do is 403.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lms.permissions import SYSTEM
from lms.sessions import services

L = "L"
ROLES = ("anonymous", "trainee", "trainee_3172", "mentor", "coord_3171", "coord_3172", "coord_all", "admin")
ALL = lambda code: (code,) * len(ROLES)  # noqa: E731
SEE = (L, 200, 404, 200, 200, 404, 200, 200)  # who sees the session
MANAGE = (L, 403, 404, 403, 200, 404, 200, 200)  # who manages it

#: (endpoint, method, form data, expected per role); GET rows and POST rows that change nothing
SAFE_ROWS: list[tuple[str, str, dict[str, str], tuple[Any, ...]]] = [
    ("sessions.schedule", "GET", {}, (L, 200, 200, 200, 200, 200, 200, 200)),
    ("sessions.month", "GET", {}, (L, 200, 200, 200, 200, 200, 200, 200)),
    ("sessions.session_new", "GET", {}, (L, 403, 403, 403, 200, 200, 200, 200)),
    ("sessions.session_new", "POST", {}, (L, 403, 403, 403, 422, 422, 422, 422)),
    ("sessions.session_detail", "GET", {}, SEE),
    ("sessions.session_edit", "GET", {}, MANAGE),
    ("sessions.session_edit", "POST", {}, (L, 403, 404, 403, 422, 404, 422, 422)),
    ("sessions.session_cancel", "GET", {}, ALL(405)),
    ("sessions.register", "GET", {}, ALL(405)),
    ("sessions.unregister", "GET", {}, ALL(405)),
    ("sessions.register_group", "GET", {}, MANAGE),
    # wide or irreversible actions posted without confirmed=1 show the confirm page and change nothing
    ("sessions.register_group", "POST", {"scope": "cohort"}, (L, 403, 404, 403, 200, 404, 200, 200)),
    ("sessions.unregister", "POST", {}, (L, 200, 404, 403, 403, 404, 403, 403)),
    ("sessions.attendance", "POST", {"all_present": "1"}, (L, 403, 404, 403, 200, 404, 200, 200)),
    ("sessions.attendance", "GET", {}, MANAGE),
    ("sessions.attendance_sheet", "GET", {}, MANAGE),
    ("sessions.roster_page", "GET", {}, MANAGE),
    ("sessions.qr_page", "GET", {}, MANAGE),
    ("sessions.qr_svg", "GET", {}, MANAGE),
    ("sessions.checkin", "GET", {}, (L, 200, 404, 403, 403, 404, 403, 403)),
    ("sessions.session_ics", "GET", {}, SEE),
    ("sessions.feed_settings", "GET", {}, (L, 200, 200, 200, 200, 200, 200, 200)),
    ("sessions.feed", "GET", {}, ALL(200)),
]

#: POST rows that act, in this order (the session is cancelled last)
ACTION_ROWS: list[tuple[str, str, dict[str, str], tuple[Any, ...]]] = [
    ("sessions.attendance", "POST", {"save": "1"}, (L, 403, 404, 403, 302, 404, 302, 302)),
    ("sessions.checkin", "POST", {}, (L, 200, 404, 403, 403, 404, 403, 403)),
    ("sessions.register", "POST", {}, (L, 302, 404, 403, 403, 404, 403, 403)),
    ("sessions.unregister", "POST", {"confirmed": "1"}, (L, 302, 404, 403, 403, 404, 403, 403)),
    ("sessions.register_group", "POST", {"scope": "cohort", "confirmed": "1"}, (L, 403, 404, 403, 302, 404, 302, 302)),
    ("sessions.feed_settings", "POST", {"create": "1"}, (L, 200, 200, 200, 200, 200, 200, 200)),
    ("sessions.session_cancel", "POST", {}, (L, 403, 404, 403, 302, 404, 302, 302)),
]
GRID = SAFE_ROWS + ACTION_ROWS


def _world(factory):  # type: ignore[no-untyped-def]
    cohort = factory.cohort(regions=("3171", "3172"))
    s = factory.training_session(cohort, "3171", starts_in=timedelta(minutes=20), hours=4, capacity=10)
    [trainee] = factory.enrolled_trainees(1, cohort, region="3171")
    [trainee_3172] = factory.enrolled_trainees(1, cohort, region="3172")
    factory.enrolled_trainees(2, cohort, region="3171")  # for the group registration
    factory.seat(s, trainee)
    admin = factory.user("admin", region=None)
    users = {"anonymous": None, "trainee": trainee, "trainee_3172": trainee_3172,
             "mentor": factory.user("mentor", region="3171"),
             "coord_3171": factory.user("coordinator", region="3171"),
             "coord_3172": factory.user("coordinator", region="3172"),
             "coord_all": factory.user("coordinator", region=None), "admin": admin}
    feed_token = services.create_feed(admin)
    urls = {
        "sessions.schedule": "/sessions",
        "sessions.month": "/sessions/calendar",
        "sessions.session_new": "/sessions/new",
        "sessions.session_detail": f"/sessions/{s.id}",
        "sessions.session_edit": f"/sessions/{s.id}/edit",
        "sessions.session_cancel": f"/sessions/{s.id}/cancel",
        "sessions.register": f"/sessions/{s.id}/register",
        "sessions.unregister": f"/sessions/{s.id}/unregister",
        "sessions.register_group": f"/sessions/{s.id}/register-group",
        "sessions.attendance": f"/sessions/{s.id}/attendance",
        "sessions.attendance_sheet": f"/sessions/{s.id}/attendance-sheet",
        "sessions.roster_page": f"/sessions/{s.id}/roster",
        "sessions.qr_page": f"/sessions/{s.id}/qr",
        "sessions.qr_svg": f"/sessions/{s.id}/qr.svg",
        "sessions.checkin": f"/checkin/{s.id}/{services.checkin_token(s, services.checkin_step())}",
        "sessions.session_ics": f"/sessions/{s.id}/calendar.ics",
        "sessions.feed_settings": "/calendar/feed",
        "sessions.feed": f"/calendar/{feed_token}.ics",
    }
    return s, users, urls


def _check(client, method: str, url: str, data: dict[str, str], expected: Any) -> str | None:  # type: ignore[no-untyped-def]
    resp = client.get(url) if method == "GET" else client.form_post(url, data)
    want = 302 if expected == L else expected
    if resp.status_code != want:
        return f"{method} {url}: expected {expected}, got {resp.status_code}"
    if expected == L:
        loc = urlsplit(resp.headers["Location"])
        if loc.path != "/login" or parse_qs(loc.query).get("next", [None])[0] != url:
            return f"{method} {url}: expected a redirect to /login?next={url}, got {resp.headers['Location']}"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_session_routes_by_role(client, factory, login_as, role):
    _s, users, urls = _world(factory)
    col = ROLES.index(role)
    if users[role] is not None:
        login_as(users[role])
    problems = [_check(client, method, urls[endpoint], data, expected[col])
                for endpoint, method, data, expected in GRID]
    problems = [p for p in problems if p]
    assert not problems, f"{role}:\n  " + "\n  ".join(problems)


def test_every_session_route_has_a_row(app):
    endpoints: dict[str, set[str]] = {}
    for r in app.url_map.iter_rules():
        if r.endpoint.startswith("sessions."):
            endpoints.setdefault(r.endpoint, set()).update((r.methods or set()) - {"HEAD", "OPTIONS"})
    assert endpoints, "the sessions blueprint has no routes?"
    assert set(endpoints) == {e for e, *_ in GRID}
    for endpoint, methods in endpoints.items():
        rows = {m for e, m, *_ in GRID if e == endpoint}
        assert "GET" in rows, endpoint
        assert ("POST" in rows) == ("POST" in methods), endpoint


def test_an_unknown_or_absurd_session_id_is_404(client, factory, login_as):
    s, users, urls = _world(factory)
    login_as(users["admin"])
    for endpoint, url in urls.items():
        if f"/{s.id}" not in url or endpoint in ("sessions.feed",):
            continue
        for bad in ("999999", "99999999999999999999", "-1", "abc", "1.5"):
            bad_url = url.replace(f"/{s.id}", f"/{bad}", 1)
            r = client.get(bad_url)
            assert r.status_code in (404, 405), (bad_url, r.status_code)


def test_a_cancelled_session_cannot_be_edited(client, factory, login_as):
    s, users, urls = _world(factory)
    services.cancel_session(SYSTEM, s)
    login_as(users["coord_3171"])
    resp = client.get(urls["sessions.session_edit"])
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/sessions/{s.id}")
