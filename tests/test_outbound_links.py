"""Links that leave the site (set-up links, import set-up links, calendar feeds) come from
LMS_BASE_URL, never from the request's Host header: a forged Host must not end up in a link that is
then sent to someone by WhatsApp or e-mail."""
from __future__ import annotations

import re

import pytest

from lms.urls import external_url
from tests.test_import import HEADER, csv_bytes, row, token_of

BASE = "https://7pas.example.go.id"


@pytest.fixture(autouse=True)
def base_url(app, client):  # type: ignore[no-untyped-def]
    app.config["BASE_URL"] = BASE + "/"  # a trailing slash is tolerated
    # every request of the test, sign-in included, names another host (cookies follow it)
    client.environ_base["HTTP_HOST"] = "evil.example"


def _links(html: str) -> list[str]:
    return re.findall(r'value="(https?://[^"]+)"', html)


def test_external_url_is_built_from_base_url_alone(app):
    with app.test_request_context("/", base_url="http://evil.example"):
        assert external_url("people.set_password", token="abc") == BASE + "/set-password/abc"
        assert external_url("core.home", lang="en") == BASE + "/home?lang=en"
    with app.app_context():  # no request at all (the CLI, a job)
        assert external_url("people.set_password", token="abc") == BASE + "/set-password/abc"


def test_setup_link_of_a_new_account_ignores_a_forged_host(client, login_as):
    login_as("admin")
    r = client.form_post("/users/new", {"full_name": "Bu Sari", "email": "sari@uji.example", "role": "coordinator",
                                        "region_id": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    links = _links(html)
    assert len(links) == 1 and links[0].startswith(BASE + "/set-password/"), links
    assert "evil.example" not in html


def test_reset_link_ignores_a_forged_host(client, login_as, factory):
    target = factory.user("trainee")
    login_as("admin")
    r = client.form_post(f"/users/{target.id}/reset-password", {"confirmed": "1"})
    assert r.status_code == 302
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    links = _links(html)
    assert len(links) == 1 and links[0].startswith(BASE + "/set-password/"), links
    assert "evil.example" not in html


def test_import_setup_links_ignore_a_forged_host(client, login_as):
    import io

    login_as("coordinator", region="3171")
    data = csv_bytes([HEADER, row(1), row(2)])
    r = client.form_post("/import/outlets", {"file": (io.BytesIO(data), "ewarong.csv"), "cohort": ""})
    r = client.form_post("/import/outlets/confirm", {"token": token_of(r)})
    html = r.get_data(as_text=True) if r.status_code == 200 else client.get(
        r.headers["Location"]).get_data(as_text=True)
    links = re.findall(r"https?://[^\s\"<]+/set-password/[A-Za-z0-9_\-]+", html)
    assert len(set(links)) == 2 and all(link.startswith(BASE + "/set-password/") for link in links), links
    assert "evil.example" not in html


def test_calendar_feed_link_ignores_a_forged_host(client, login_as):
    login_as("trainee")
    r = client.form_post("/calendar/feed", {"create": "1"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    links = _links(html)
    assert len(links) == 1 and links[0].startswith(BASE + "/calendar/") and links[0].endswith(".ics"), links
    assert "evil.example" not in html
