"""Every POST route refuses a request without a valid CSRF token (400), signed in or not."""
from __future__ import annotations

import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.people.models import User
from tests.conftest import TEST_PASSWORD
from tests.factories import endpoint_urls

#: order for the "valid token" pass: the ones that end the session come last
LAST = ("people.user_set_active", "people.user_reset_password", "people.logout")


def _post_endpoints(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The HTML forms' POST routes. The JSON API (``api.*``) takes no cookie, so no CSRF token: only a
    bearer token authenticates it (tests/test_api.py checks that a session cookie does not)."""
    names = {r.endpoint for r in app.url_map.iter_rules() if "POST" in (r.methods or ())
             and not r.endpoint.startswith("api.")}
    return sorted(names, key=lambda n: (n in LAST, LAST.index(n) if n in LAST else 0, n))


def _post_urls(app, world) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A URL for every POST route: the world's object where the grid has one, else any id (the token
    is checked before the route even loads its object)."""
    known = endpoint_urls(world)
    adapter = app.url_map.bind("localhost")
    out = {}
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()) and rule.endpoint not in out:
            out[rule.endpoint] = known.get(rule.endpoint) or adapter.build(
                rule.endpoint, {arg: "1" for arg in rule.arguments}, method="POST")
    return out


def _audit_count(db) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def test_there_are_post_routes_to_check(app):
    posts = _post_endpoints(app)
    assert "people.login" in posts and "people.logout" in posts and len(posts) >= 15


def test_every_post_route_has_a_url_on_the_world(app, factory):
    """New POST routes get a concrete URL in tests.factories.endpoint_urls (and a row in the access grid)."""
    missing = set(_post_endpoints(app)) - set(endpoint_urls(factory.world()))
    assert missing == set()


def _refused_without_token(client, app, urls, db):  # type: ignore[no-untyped-def]
    before = _audit_count(db)
    problems = []
    for endpoint in _post_endpoints(app):
        url = urls[endpoint]
        for data in ({}, {"csrf_token": "not-a-token"}, {"csrf_token": ""}):
            r = client.post(url, data=data)
            if r.status_code != 400:
                problems.append(f"{url} {data}: {r.status_code}")
    assert not problems, problems
    assert _audit_count(db) == before, "a refused request wrote to the audit log"


def test_no_token_refused_for_admin(client, factory, login_as, app, db):
    world = factory.world()
    admin = login_as(world.users["admin"])
    _refused_without_token(client, app, _post_urls(app, world), db)
    # nothing happened: the admin is still signed in, the owner still active
    assert client.get("/home").status_code == 200
    assert db.session.get(User, world.owner.id).active is True
    assert db.session.get(User, admin.id).active is True


def test_no_token_refused_for_anonymous(client, factory, app, db):
    world = factory.world()
    client.get("/login")  # a session exists, but its token is not sent
    _refused_without_token(client, app, _post_urls(app, world), db)


def test_login_without_token_does_not_sign_in(client, factory):
    user = factory.user("mentor")
    r = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert r.status_code == 400
    assert client.get("/home").status_code == 302


def test_token_from_another_session_is_refused(app, client, factory):
    user = factory.user("mentor")
    stranger = app.test_client()
    token = stranger.csrf_token()
    r = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert r.status_code == 400


def test_valid_token_passes_every_post_route(client, factory, login_as, app):
    world = factory.world()
    login_as(world.users["admin"])
    urls = endpoint_urls(world)
    data = {"programme.evidence_review": {"verify": "1"}, "people.user_set_active": {"active": "0"},
            "core.set_language": {"lang": "en"}, "visits.action_done": {"done": "1"},
            "certification.issue_session": {"kind": "bimtek"}, "certification.bulk_session": {"kind": "bimtek"},
            "certification.issue_enrolment": {"kind": "completion"},
            "certification.bulk_cohort": {"kind": "completion"}}
    problems = []
    for endpoint in _post_endpoints(app):
        if endpoint not in urls:
            continue  # test_every_post_route_has_a_url_on_the_world names it
        r = client.form_post(urls[endpoint], data.get(endpoint, {}))
        if r.status_code == 400 or r.status_code >= 500:
            problems.append(f"{endpoint}: {r.status_code}")
    assert not problems, problems
