"""Two-factor sign-in for staff (TOTP, recovery codes, remembered devices, admin reset) and "My devices"."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import utcnow
from lms.extensions import db as _db
from lms.people import signins, twofactor
from lms.people.security_models import RecoveryCode, TotpFactor, UserSession
from tests.conftest import TEST_PASSWORD, pass_code_step
from tests.factories import endpoint_urls, totp_code, totp_secret_for

NEW_PASSWORD = "Ganti-sandi-Pusat-2018"


def _password(client, user, **extra):  # type: ignore[no-untyped-def]
    return client.form_post("/login", {"email": user.email, "password": TEST_PASSWORD, **extra})


def _actions(user_id: int) -> list[str]:
    return list(_db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_id == str(user_id))
                                    .order_by(AuditEntry.id)))


def _key_on(html: str) -> str:
    m = re.search(r'id="totp-key">([A-Z2-7 ]+)<', html)
    assert m, "the key is shown as text"
    return m.group(1).replace(" ", "")


def _codes_on(html: str) -> list[str]:
    return re.findall(r'<code class="code">([a-z2-7]{4}-[a-z2-7]{4})</code>', html)


def _enrol(client) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    html = client.get("/account/two-factor").get_data(as_text=True)
    secret = _key_on(html)
    r = client.form_post("/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200, r.get_data(as_text=True)[:1000]
    return secret, _codes_on(r.get_data(as_text=True))


# --- enrolment -------------------------------------------------------------------------------

def test_a_mentor_enrols_with_qr_key_and_link_and_gets_ten_recovery_codes(client, factory, login_as):
    mentor = login_as("mentor")
    html = client.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in html and "Kode QR untuk aplikasi autentikator" in html  # segno, inline
    secret = _key_on(html)
    assert re.search(r'id="totp-key">([A-Z2-7]{4} ){7}[A-Z2-7]{4}<', html), "grouped in fours"
    assert f'href="otpauth://totp/' in html and f"secret={secret}" in html
    # not active before it is confirmed: signing in asks no code
    assert not twofactor.is_enrolled(mentor)
    # the same key while enrolling (a reload does not change what was scanned)
    assert _key_on(client.get("/account/two-factor").get_data(as_text=True)) == secret
    r = client.form_post("/account/two-factor/confirm", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert r.status_code == 422 and "Kode salah" in r.get_data(as_text=True)
    assert not twofactor.is_enrolled(mentor)
    r = client.form_post("/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200
    codes = _codes_on(r.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert twofactor.is_enrolled(mentor)
    # stored: the secret sealed, the codes hashed
    factor = _db.session.scalar(sa.select(TotpFactor).where(TotpFactor.user_id == mentor.id))
    assert secret not in factor.secret_sealed
    stored = set(_db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == mentor.id)))
    assert len(stored) == 10 and not any(c.replace("-", "") in stored or c in stored for c in codes)
    # never shown again
    html = client.get("/account/two-factor").get_data(as_text=True)
    assert secret not in html.replace(" ", "") and "totp-key" not in html and "Aktif" in html
    assert "auth.2fa_enrolled" in _actions(mentor.id)
    # the next sign-in asks for the code
    client.form_post("/logout")
    r = _password(client, mentor)
    assert r.headers["Location"] == "/login/code"
    assert client.get("/home").status_code == 302


def test_trainees_are_not_offered_a_second_factor(client, login_as):
    login_as("trainee")
    assert client.get("/account/two-factor").status_code == 403
    assert "Verifikasi dua langkah" not in client.get("/home").get_data(as_text=True)


# --- the gate: coordinators and admins enrol before anything else -----------------------------

ALLOWED = {"security.two_factor", "security.two_factor_confirm", "people.logout", "core.set_language",
           "ops.healthz", "ops.readyz", "ops.metrics"}


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_an_unenrolled_coordinator_or_admin_reaches_only_enrolment_and_sign_out(app, client, factory, login_as, role):
    world = factory.world()
    user = factory.user(role, region=None, enrol_2fa=False)
    r = _password(client, user)
    assert r.status_code == 302 and r.headers["Location"] == "/home"  # signed in, but …
    problems = []
    for endpoint, url in endpoint_urls(world).items():
        methods = {m for rule in app.url_map.iter_rules(endpoint) for m in (rule.methods or ())}
        if endpoint in ALLOWED or endpoint in ("people.login", "people.set_password", "security.verify") \
                or endpoint.startswith("certification.verify") or "GET" not in methods:
            continue
        resp = client.get(url)
        resp.close()
        if resp.status_code != 302 or resp.headers["Location"] != "/account/two-factor":
            problems.append(f"{url}: {resp.status_code} {resp.headers.get('Location')}")
    # POSTs too
    for url in ("/users/new", "/account/password", "/account/devices/sign-out-others"):
        resp = client.form_post(url, {})
        if resp.status_code != 302 or resp.headers["Location"] != "/account/two-factor":
            problems.append(f"POST {url}: {resp.status_code}")
    assert not problems, problems
    html = client.get("/account/two-factor").get_data(as_text=True)
    assert "wajib" in html
    # enrolled: the site opens
    _secret, codes = _enrol(client)
    assert len(codes) == 10
    assert client.get("/home").status_code == 200
    assert client.get("/users").status_code == 200
    # signing out still works for someone who has not enrolled
    other = factory.user(role, region=None, enrol_2fa=False)
    fresh = app.test_client()
    _password(fresh, other)
    assert fresh.form_post("/logout").headers["Location"] == "/login"
    assert fresh.get("/home").status_code == 302


def test_public_pages_stay_public_for_everyone(client, factory):
    user = factory.user("coordinator", enrol_2fa=False)
    _password(client, user)
    assert client.get("/healthz").status_code == 200


# --- the code step -------------------------------------------------------------------------------

def test_wrong_code_is_refused_and_the_right_one_signs_in(client, factory):
    coord = factory.user("coordinator")
    r = _password(client, coord)
    assert r.headers["Location"] == "/login/code"
    assert client.get("/home").status_code == 302  # the password alone does not sign in
    right = pyotp.TOTP(totp_secret_for(coord.email)).now()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    r = client.form_post("/login/code", {"code": wrong})
    assert r.status_code == 422 and "Kode salah" in r.get_data(as_text=True)
    assert client.get("/home").status_code == 302
    r = client.form_post("/login/code", {"code": right})
    assert r.status_code == 302 and r.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200
    actions = _actions(coord.id)
    assert "auth.2fa_failed" in actions and actions[-1] == "auth.2fa_verified"


def test_a_code_works_once_within_its_time_step(app, client, factory):
    coord = factory.user("coordinator")
    code = totp_code(coord.email)
    _password(client, coord)
    assert client.form_post("/login/code", {"code": code}).status_code == 302
    other = app.test_client()
    _password(other, coord)
    r = other.form_post("/login/code", {"code": code})  # the same step again (someone looking over the shoulder)
    assert r.status_code == 422 and "sudah dipakai" in r.get_data(as_text=True)
    assert other.get("/home").status_code == 302


def test_the_code_step_follows_next_and_remember_me(client, factory):
    coord = factory.user("coordinator")
    r = client.form_post("/login?next=/users", {"email": coord.email, "password": TEST_PASSWORD, "remember": "y"})
    assert r.headers["Location"] == "/login/code"
    r = pass_code_step(client, coord.email)
    assert r.headers["Location"] == "/users"
    assert client.get_cookie("remember_token") is not None


def test_wrong_codes_are_throttled(app, client, factory):
    coord = factory.user("coordinator")
    _password(client, coord)
    right = pyotp.TOTP(totp_secret_for(coord.email)).now()
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    for _ in range(app.config["TWO_FACTOR_MAX_FAILURES"]):
        assert client.form_post("/login/code", {"code": wrong}).status_code == 422
    r = client.form_post("/login/code", {"code": totp_code(coord.email)})  # even the right one, for now
    assert r.status_code == 429 and r.headers["Retry-After"]
    assert client.get("/home").status_code == 302


def test_the_code_step_needs_the_password_first(client, factory):
    r = client.get("/login/code")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    coord = factory.user("coordinator")
    r = client.form_post("/login/code", {"code": totp_code(coord.email)})
    assert r.headers["Location"] == "/login" and client.get("/home").status_code == 302


def test_a_recovery_code_works_once(app, client, factory, login_as):
    mentor = login_as("mentor")
    _secret, codes = _enrol(client)
    client.form_post("/logout")
    _password(client, mentor)
    r = client.form_post("/login/code", {"code": codes[0].upper()})
    assert r.status_code == 302 and client.get("/home").status_code == 200
    assert "auth.2fa_recovery_used" in _actions(mentor.id)
    client.form_post("/logout")
    _password(client, mentor)
    r = client.form_post("/login/code", {"code": codes[0]})
    assert r.status_code == 422 and client.get("/home").status_code == 302
    assert client.form_post("/login/code", {"code": codes[1]}).status_code == 302


def test_regenerated_recovery_codes_replace_the_old_ones(client, factory, login_as):
    mentor = login_as("mentor")
    _secret, old = _enrol(client)
    r = client.form_post("/account/two-factor/recovery-codes")
    assert r.status_code == 200 and "Buat kode pemulihan baru?" in r.get_data(as_text=True)  # asked first
    assert _codes_on(r.get_data(as_text=True)) == []
    r = client.form_post("/account/two-factor/recovery-codes", {"confirmed": "1"})
    new = _codes_on(r.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert "auth.2fa_recovery_regenerated" in _actions(mentor.id)
    client.form_post("/logout")
    _password(client, mentor)
    assert client.form_post("/login/code", {"code": old[0]}).status_code == 422
    assert client.form_post("/login/code", {"code": new[0]}).status_code == 302


def test_a_mentor_turns_it_off_with_a_code_a_coordinator_cannot(client, factory, login_as):
    mentor = login_as("mentor")
    secret, _codes = _enrol(client)
    r = client.form_post("/account/two-factor/disable", {"code": "12345x"})
    assert r.status_code == 422 and twofactor.is_enrolled(mentor)
    # the enrolment used this time step; a test cannot wait 30 seconds for the next one
    factor = _db.session.scalar(sa.select(TotpFactor).where(TotpFactor.user_id == mentor.id))
    factor.last_step = None
    _db.session.commit()
    r = client.form_post("/account/two-factor/disable", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302 and not twofactor.is_enrolled(mentor)
    assert "auth.2fa_disabled" in _actions(mentor.id)
    client.form_post("/logout")
    coord = login_as("coordinator")
    assert client.form_post("/account/two-factor/disable", {"code": totp_code(coord.email)}).status_code == 403
    assert twofactor.is_enrolled(coord)


# --- remember this device ------------------------------------------------------------------------

def _remembered(client, user):  # type: ignore[no-untyped-def]
    _password(client, user)
    r = client.form_post("/login/code", {"code": totp_code(user.email), "remember_device": "y"})
    assert r.status_code == 302
    assert client.get_cookie(twofactor.REMEMBER_COOKIE) is not None


def test_a_remembered_device_skips_the_code_until_sign_out_everywhere(app, client, factory):
    coord = factory.user("coordinator")
    _remembered(client, coord)
    # the session ends by itself (the browser closed); the device is still remembered
    client.delete_cookie("session")
    r = _password(client, coord)
    assert r.headers["Location"] == "/home" and client.get("/home").status_code == 200
    # the cookie belongs to this account only
    other = factory.user("coordinator")
    assert _password(client.__class__(app, app.response_class, use_cookies=True), other).headers["Location"] == "/login/code"
    # signing out (which here ends every session: the account's session token changes) ends it
    client.form_post("/logout")
    assert _password(client, coord).headers["Location"] == "/login/code"


def test_a_password_change_ends_the_remembered_device(app, client, factory):
    coord = factory.user("coordinator")
    _remembered(client, coord)
    cookie = client.get_cookie(twofactor.REMEMBER_COOKIE).value
    r = client.form_post("/account/password", {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD})
    assert r.status_code == 302
    fresh = app.test_client()
    fresh.set_cookie(twofactor.REMEMBER_COOKIE, cookie)
    r = fresh.form_post("/login", {"email": coord.email, "password": NEW_PASSWORD})
    assert r.headers["Location"] == "/login/code"


def test_a_forged_remember_cookie_is_ignored(app, client, factory):
    coord = factory.user("coordinator")
    client.set_cookie(twofactor.REMEMBER_COOKIE, "eyJ1IjoxfQ.forged.sig")
    assert _password(client, coord).headers["Location"] == "/login/code"


# --- admin reset ---------------------------------------------------------------------------------

def test_an_admin_resets_a_coordinators_second_factor(app, client, factory, login_as):
    coord = factory.user("coordinator")
    theirs = app.test_client()
    _password(theirs, coord)
    pass_code_step(theirs, coord.email)
    assert theirs.get("/home").status_code == 200
    admin = login_as("admin", region=None)
    r = client.form_post(f"/users/{coord.id}/reset-two-factor")
    assert r.status_code == 200 and "Reset verifikasi dua langkah" in r.get_data(as_text=True)
    assert twofactor.is_enrolled(coord)  # only asked
    r = client.form_post(f"/users/{coord.id}/reset-two-factor", {"confirmed": "1"})
    assert r.status_code == 302
    assert not twofactor.is_enrolled(coord)
    entry = _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.2fa_reset"))
    assert entry.actor_id == admin.id and entry.target_id == str(coord.id)
    assert theirs.get("/home").status_code == 302  # their sessions ended
    _password(theirs, coord)
    assert theirs.get("/users").headers["Location"] == "/account/two-factor"  # enrols again
    # an admin cannot reset their own, nor a trainee's (nothing to reset)
    assert client.form_post(f"/users/{admin.id}/reset-two-factor", {"confirmed": "1"}).status_code == 403
    trainee = factory.user("trainee")
    assert client.form_post(f"/users/{trainee.id}/reset-two-factor", {"confirmed": "1"}).status_code == 403


# --- my devices ----------------------------------------------------------------------------------

def test_my_devices_lists_sessions_and_signs_out_one(app, client, factory, login_as):
    mentor = login_as("mentor")
    phone = app.test_client()
    phone.form_post("/login", {"email": mentor.email, "password": TEST_PASSWORD},
                    headers={"User-Agent": "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"},
                    environ_base={"REMOTE_ADDR": "203.0.113.77"})
    assert phone.get("/home").status_code == 200
    html = client.get("/account/devices").get_data(as_text=True)
    assert html.count("Keluar dari perangkat ini") == 1  # not on the current one
    assert "Perangkat ini" in html and "Chrome di Android" in html and "203.0.113.0/24" in html
    assert "203.0.113.77" not in html
    other = _db.session.scalar(sa.select(UserSession).where(UserSession.user_id == mentor.id,
                                                            UserSession.device.like("Chrome di Android%")))
    r = client.form_post(f"/account/devices/{other.id}/sign-out")
    assert r.status_code == 302
    assert phone.get("/home").status_code == 302  # signed out on its next request
    assert client.get("/home").status_code == 200  # this one goes on
    assert "auth.session_revoked" in _actions(mentor.id)
    assert "Chrome di Android" not in client.get("/account/devices").get_data(as_text=True)


def test_sign_out_everywhere_else(app, client, factory, login_as):
    mentor = login_as("mentor")
    others = [app.test_client() for _ in range(2)]
    for c in others:
        c.form_post("/login", {"email": mentor.email, "password": TEST_PASSWORD, "remember": "y"})
        assert c.get("/home").status_code == 200
    r = client.form_post("/account/devices/sign-out-others")
    assert r.status_code == 302
    for c in others:
        assert c.get("/home").status_code == 302
        # the remember-me cookie does not bring the revoked browser back
        c.delete_cookie("session")
        assert c.get("/home").status_code == 302
    assert client.get("/home").status_code == 200
    assert len(signins.active_sessions(mentor)) == 1
    assert "auth.sessions_revoked_others" in _actions(mentor.id)


def test_someone_elses_session_cannot_be_signed_out(app, client, factory, login_as):
    victim = factory.user("mentor")
    theirs = app.test_client()
    theirs.form_post("/login", {"email": victim.email, "password": TEST_PASSWORD})
    sid = _db.session.scalar(sa.select(UserSession.id).where(UserSession.user_id == victim.id))
    login_as("mentor")
    assert client.form_post(f"/account/devices/{sid}/sign-out").status_code == 404
    assert theirs.get("/home").status_code == 200


def test_sign_out_ends_the_session_record_and_logout_everywhere_still_works(app, client, factory, login_as):
    mentor = login_as("mentor")
    other = app.test_client()
    other.form_post("/login", {"email": mentor.email, "password": TEST_PASSWORD})
    client.form_post("/logout")  # rotates the session token: every session of the person ends
    assert other.get("/home").status_code == 302
    assert signins.active_sessions(mentor) == []


def test_last_seen_is_written_at_most_every_few_minutes(client, factory, login_as, count_queries):
    mentor = login_as("mentor")
    rec = _db.session.scalar(sa.select(UserSession).where(UserSession.user_id == mentor.id))
    first = rec.last_seen_at
    client.get("/home")
    _db.session.refresh(rec)
    assert rec.last_seen_at == first  # recent: no write
    rec.last_seen_at = utcnow() - timedelta(minutes=10)
    _db.session.commit()
    client.get("/home")
    _db.session.refresh(rec)
    assert utcnow() - rec.last_seen_at < timedelta(minutes=1)


def test_a_session_restored_from_remember_me_gets_a_record(app, client, factory, login_as):
    mentor = factory.user("mentor")
    client.form_post("/login", {"email": mentor.email, "password": TEST_PASSWORD, "remember": "y"})
    client.delete_cookie("session")
    assert client.get("/home").status_code == 200
    assert len(signins.active_sessions(mentor)) == 2


def test_user_agents_are_summarised(app):
    with app.test_request_context():
        assert signins.summarise_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                                       "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1") == "Safari di iPhone"
        assert signins.summarise_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                       "Chrome/120.0 Safari/537.36 Edg/120.0") == "Edge di Windows"
        assert signins.summarise_agent("") == "Peramban tidak dikenal"
    assert signins.reduce_ip("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert signins.reduce_ip("nonsense") is None


# --- the demo ----------------------------------------------------------------------------------

def test_the_demo_flag_shows_the_current_code(app, client, factory):
    coord = factory.user("coordinator")
    _password(client, coord)
    assert "Demo: kode saat ini" not in client.get("/login/code").get_data(as_text=True)
    app.config["DEMO_SHOW_CODES"] = True
    html = client.get("/login/code").get_data(as_text=True)
    shown = re.search(r'data-demo-code="(\d{6})"', html).group(1)
    assert pyotp.TOTP(totp_secret_for(coord.email)).verify(shown, valid_window=1)


def test_the_operator_resets_a_second_factor_from_the_command_line(app, factory):
    coord = factory.user("coordinator")
    result = app.test_cli_runner().invoke(args=["user", "reset-2fa", coord.email])
    assert result.exit_code == 0, result.output
    assert not twofactor.is_enrolled(coord)
    assert "user.2fa_reset" in _actions(coord.id)
    trainee = factory.user("trainee")
    assert app.test_cli_runner().invoke(args=["user", "reset-2fa", trainee.email]).exit_code != 0


def test_demo_staff_are_enrolled_with_the_documented_key_and_make_run_shows_codes(app, client):
    from pathlib import Path

    from lms.seed import DEMO_PASSWORD, DEMO_TOTP_SECRET, seed_demo

    seed_demo()
    r = client.form_post("/login", {"email": "koordinator.pusat@demo.okoce.id", "password": DEMO_PASSWORD})
    assert r.headers["Location"] == "/login/code"
    assert client.form_post("/login/code", {"code": pyotp.TOTP(DEMO_TOTP_SECRET).now()}).status_code == 302
    # the demo accounts have not accepted the privacy notice: their first page asks for it
    assert client.get("/home").headers["Location"].startswith("/privasi/persetujuan")
    assert client.form_post("/privasi/persetujuan", {"agree": "y", "accept": "1"}).status_code == 302
    assert client.get("/home").status_code == 200
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert " ".join(DEMO_TOTP_SECRET[i:i + 4] for i in range(0, 32, 4)) in readme
    run = Path(__file__).parent.parent.joinpath("Makefile").read_text().split("\nrun:")[1].split("\n\n")[0]
    assert "LMS_DEMO_SHOW_CODES=true" in run


# --- in a browser ----------------------------------------------------------------------------------

@pytest.mark.browser
def test_a_coordinator_enrols_in_the_browser_at_1280px(browser_page, factory):
    from playwright.sync_api import expect

    from tests.browser_helpers import see

    page = browser_page
    coord = factory.user("coordinator", enrol_2fa=False, full_name="Koordinator Baru")
    page.goto("/login")
    page.get_by_label("E-mail").fill(coord.email)
    page.get_by_label("Kata sandi").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/account/two-factor")
    see(page, "wajib memakai verifikasi dua langkah")
    page.goto("/users")  # anything else leads back here
    page.wait_for_url("**/account/two-factor")
    assert page.locator(".qr-box svg").is_visible()
    page.screenshot(path="/tmp/2fa-shots/enrol-1280.png", full_page=True)
    secret = page.locator("#totp-key").inner_text().replace(" ", "")
    assert page.locator("a[href^='otpauth://totp/']").get_attribute("href").count(secret) == 1
    page.get_by_label("Kode dari aplikasi").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Aktifkan").click()
    see(page, "Verifikasi dua langkah sudah aktif")
    assert page.locator(".recovery-codes li").count() == 10
    page.screenshot(path="/tmp/2fa-shots/recovery-1280.png", full_page=True)
    page.get_by_role("link", name="Sudah saya simpan, lanjutkan").click()
    page.wait_for_url("**/home")
    page.goto("/account/devices")
    see(page, "Perangkat ini")
    expect(page.locator("table tbody tr")).to_have_count(1)
    page.screenshot(path="/tmp/2fa-shots/devices-1280.png", full_page=True)
    # signed out and in again: the code step, then home
    page.locator("summary", has_text="Menu").click()
    page.locator("form[action='/logout'] button").click()
    page.wait_for_url("**/login")
    page.get_by_label("E-mail").fill(coord.email)
    page.get_by_label("Kata sandi").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/login/code")
    page.screenshot(path="/tmp/2fa-shots/code-1280.png", full_page=True)
    _db.session.rollback()  # a fresh read: the server wrote the factor meanwhile
    factor = _db.session.scalar(sa.select(TotpFactor).where(TotpFactor.user_id == coord.id))
    factor.last_step = None  # the enrolment used this time step; a test cannot wait for the next
    _db.session.commit()
    page.get_by_label("Kode").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Lanjutkan").click()
    page.wait_for_url("**/home")
