"""Languages (Bahasa Indonesia by default, English on request), Rupiah and WIB times."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from lms.i18n import LANG_COOKIE, rupiah, to_wib
from lms.people.models import User
from tests.conftest import TEST_PASSWORD


def _lang(html: str) -> str:
    m = re.search(r'<html lang="([^"]+)"', html)
    assert m, html[:300]
    return m.group(1)


def test_default_is_indonesian(client):
    html = client.get("/login").get_data(as_text=True)
    assert _lang(html) == "id"
    assert "<h1>Masuk</h1>" in html
    assert 'name="lang" value="en"' in html  # the switch offers English


def test_switching_to_english_is_remembered_in_a_cookie(client):
    r = client.form_post("/lang", {"lang": "en", "next": "/login"})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith(f"{LANG_COOKIE}="))
    assert cookie.startswith(f"{LANG_COOKIE}=en;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get_cookie(LANG_COOKIE).value == "en"
    for _ in range(2):  # on every following request
        html = client.get("/login").get_data(as_text=True)
        assert _lang(html) == "en"
        assert 'name="lang" value="id" lang="id"><span class="wide-only">Bahasa </span>Indonesia</button>' in html
    # and back
    client.form_post("/lang", {"lang": "id", "next": "/login"})
    assert _lang(client.get("/login").get_data(as_text=True)) == "id"


@pytest.mark.parametrize("lang", ["fr", "", "en-GB", "../en"])
def test_unknown_language_is_ignored(client, lang):
    r = client.form_post("/lang", {"lang": lang, "next": "/login"})
    assert r.status_code == 302
    assert not any(h.startswith(f"{LANG_COOKIE}=") for h in r.headers.getlist("Set-Cookie"))
    assert _lang(client.get("/login").get_data(as_text=True)) == "id"


def test_language_switch_does_not_redirect_off_site(client):
    r = client.form_post("/lang", {"lang": "en", "next": "//evil.example/x"})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_signed_in_users_choice_is_stored_on_the_user(app, client, login_as, db):
    user = login_as("mentor")
    r = client.form_post("/lang", {"lang": "en", "next": "/home"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"
    assert _lang(client.get("/home").get_data(as_text=True)) == "en"
    # on another device without the cookie, the stored choice applies once signed in
    other = app.test_client()
    assert _lang(other.get("/login").get_data(as_text=True)) == "id"
    assert other.form_post("/login", {"email": user.email, "password": TEST_PASSWORD}).status_code == 302
    assert other.get_cookie(LANG_COOKIE) is None
    assert _lang(other.get("/home").get_data(as_text=True)) == "en"


def test_anonymous_choice_touches_no_user(client, factory, db):
    user = factory.user("mentor")
    client.form_post("/lang", {"lang": "en", "next": "/login"})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale is None


# --- Rupiah --------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount,text", [
    (1_500_000, "Rp 1.500.000"),
    (0, "Rp 0"),
    (999, "Rp 999"),
    (1000, "Rp 1.000"),
    (25_000_000_000, "Rp 25.000.000.000"),
    (-1500, "-Rp 1.500"),
    (-2_750_000, "-Rp 2.750.000"),
    (None, "–"),
])
def test_rupiah(amount, text):
    assert rupiah(amount) == text


@pytest.mark.parametrize("n", [0, 7, 999, 1000, 1234567, 25_000_000_000, -1500])
@pytest.mark.parametrize("lang", ["id", "en"])
def test_whole_number_format_writes_what_number_writes(app, n, lang):
    from lms.i18n import number, whole_number_format

    assert whole_number_format(lang)(n) == number(n, lang)
    assert whole_number_format("id")(1234567) == "1.234.567" and whole_number_format("en")(1234567) == "1,234,567"


def test_rupiah_filter_in_templates(app):
    with app.test_request_context("/"):
        assert app.jinja_env.from_string("{{ n|rupiah }}").render(n=1_500_000) == "Rp 1.500.000"
        assert app.jinja_env.from_string("{{ n|rupiah }}").render(n=-500) == "-Rp 500"


# --- WIB ---------------------------------------------------------------------------------------------

LATE_UTC = datetime(2018, 4, 10, 17, 30, tzinfo=timezone.utc)  # 00:30 on 11 April in Jakarta


def test_to_wib_moves_to_the_next_day():
    wib = to_wib(LATE_UTC)
    assert (wib.year, wib.month, wib.day, wib.hour, wib.minute) == (2018, 4, 11, 0, 30)
    assert wib.utcoffset().total_seconds() == 7 * 3600
    assert to_wib(LATE_UTC.replace(tzinfo=None)).hour == 0  # naive values are taken as UTC


def test_datetimes_render_in_wib(app):
    with app.test_request_context("/"):
        text = app.jinja_env.from_string("{{ d|wib }}").render(d=LATE_UTC)
        assert text.endswith("WIB")
        assert "11 Apr 2018" in text and re.search(r"\b00[.:]30\b", text), text
        assert "17" not in text and "10 Apr" not in text
        assert app.jinja_env.from_string("{{ d|wib_date }}").render(d=LATE_UTC) == "11 Apr 2018"
        assert app.jinja_env.from_string("{{ d|wib }}").render(d=None) == "–"
        # a date stays the date it is
        assert app.jinja_env.from_string("{{ d|wib_date }}").render(d=date(2018, 4, 16)) == "16 Apr 2018"


def test_pages_show_wib(client, factory, login_as, db):
    target = factory.user("mentor", region="3171")
    target.last_login_at = LATE_UTC
    db.session.commit()
    login_as("admin")
    html = client.get(f"/users/{target.id}").get_data(as_text=True)
    assert re.search(r"11 Apr 2018,? 00[.:]30[.:]00 WIB", html), re.findall(r"[^>]*WIB", html)
