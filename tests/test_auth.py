"""Sign-in, sessions, remember-me, throttling, passwords and set-up links."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote, urljoin, urlsplit

import pytest
import sqlalchemy as sa

from lms import create_app
from lms.db import utcnow
from lms.extensions import db as _db
from lms.people.models import LoginFailure, PasswordSetupToken, User
from tests.conftest import TEST_PASSWORD, pass_code_step

SAME_MESSAGE = "E-mail atau kata sandi salah, atau akun tidak aktif."
NEW_PASSWORD = "Ganti-sandi-Pusat-2018"

#: deactivating takes a reason and the confirm step
DEACTIVATE = {"active": "0", "reason": "Tidak lagi mengelola e-Warong", "confirmed": "1"}


def _login(client, email, password=TEST_PASSWORD, url="/login", **kw):  # type: ignore[no-untyped-def]
    data = {"email": email, "password": password}
    data.update(kw.pop("extra", {}))
    return client.form_post(url, data, **kw)


def _errors(html: str) -> str:
    m = re.search(r'<div class="alert alert-error"[^>]*>(.*?)</div>', html, re.S)
    return m.group(1) if m else ""


# --- sign-in ------------------------------------------------------------------------------

def test_login_success_goes_home(client, factory):
    user = factory.user("mentor")
    r = _login(client, user.email)
    assert r.status_code == 302 and r.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200


def test_same_message_for_unknown_account_bad_password_and_inactive(client, factory):
    user = factory.user("mentor")
    inactive = factory.user("mentor", active=False)
    pages = {
        "unknown": _login(client, "tidak.ada@uji.example"),
        "bad_password": _login(client, user.email, "Salah-sandi-123"),
        "inactive": _login(client, inactive.email),  # the right password
    }
    for why, r in pages.items():
        assert r.status_code == 200, why
        assert SAME_MESSAGE in r.get_data(as_text=True), why
        assert client.get("/home").status_code == 302, why
    errors = {why: _errors(r.get_data(as_text=True)) for why, r in pages.items()}
    assert len(set(errors.values())) == 1, errors


def test_email_is_case_insensitive(client, factory):
    factory.user("mentor", email="pendamping.pusat@uji.example")  # stored normalised, as the service does
    for typed in ("PENDAMPING.PUSAT@UJI.EXAMPLE", "  Pendamping.Pusat@uji.example  "):
        r = _login(client, typed)
        assert r.status_code == 302, typed
        client.form_post("/logout")


def test_email_is_stored_lower_case_by_the_service(client, login_as, db):
    login_as("admin")
    r = client.form_post("/users/new", {"full_name": "Bu Sari", "email": "Sari.Koordinator@Uji.Example",
                                        "role": "coordinator", "region_id": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    assert db.session.scalar(sa.select(User.email).where(User.full_name == "Bu Sari")) == "sari.koordinator@uji.example"


@pytest.mark.parametrize("target", [
    "//evil.example",
    "/\\evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "/%2F%2Fevil.example",
    "///evil.example",
    " //evil.example",
    "/\t/evil.example",
])
def test_next_never_leaves_the_site(client, factory, target):
    user = factory.user("mentor")
    r = _login(client, user.email, url="/login?next=" + quote(target, safe=""))
    assert r.status_code == 302
    location = r.headers["Location"]
    resolved = urlsplit(urljoin("http://localhost/login", location))
    assert resolved.netloc == "localhost" and resolved.scheme == "http", location
    assert "evil.example" not in resolved.netloc
    if target != "/%2F%2Fevil.example":  # a path on this site, harmless either way
        assert location == "/home", location


def test_next_relative_path_is_honoured(client, factory):
    user = factory.user("coordinator")
    r = _login(client, user.email, url="/login?next=" + quote("/outlets?page=2", safe=""))
    assert r.status_code == 302 and r.headers["Location"] == "/login/code"  # a coordinator: the code first
    r = pass_code_step(client, user.email)
    assert r.headers["Location"] == "/outlets?page=2"


def test_protected_page_sends_to_login_and_back(client, factory):
    user = factory.user("coordinator")
    r = client.get("/outlets?q=gambir")
    assert r.status_code == 302
    login_url = r.headers["Location"]
    assert login_url.startswith("/login?next=")
    r = _login(client, user.email, url=login_url)
    r = pass_code_step(client, user.email)
    assert r.headers["Location"] == "/outlets?q=gambir"


def test_session_is_regenerated_on_login(client, factory):
    user = factory.user("mentor")
    client.get("/login")
    with client.session_transaction() as s:
        s["planted_before_login"] = "attacker"
    _login(client, user.email)
    with client.session_transaction() as s:
        assert "planted_before_login" not in s
        assert s.get("_user_id") == factory.db.session.get(User, user.id).session_token


def test_logout_is_post_only(client, login_as):
    login_as("mentor")
    assert client.get("/logout").status_code == 405
    assert client.get("/home").status_code == 200  # still signed in


def _cookies(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    out = {}
    for name in ("session", "remember_token"):
        c = client.get_cookie(name)
        if c is not None:
            out[name] = c.value
    return out


def _replay(app, cookies: dict[str, str]):  # type: ignore[no-untyped-def]
    fresh = app.test_client()
    for name, value in cookies.items():
        fresh.set_cookie(name, value)
    return fresh


def _remembered_login(client, user):  # type: ignore[no-untyped-def]
    r = _login(client, user.email, extra={"remember": "y"})
    assert r.status_code == 302
    cookies = _cookies(client)
    assert set(cookies) == {"session", "remember_token"}
    return cookies


def test_logout_ends_session_and_remember_me(app, client, factory):
    user = factory.user("trainee")
    cookies = _remembered_login(client, user)
    # the cookies work on their own: a fresh client is signed in with them, and with the remember cookie alone
    assert _replay(app, cookies).get("/home").status_code == 200
    assert _replay(app, {"remember_token": cookies["remember_token"]}).get("/home").status_code == 200
    r = client.form_post("/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert client.get("/home").status_code == 302
    for replayed in (cookies, {"remember_token": cookies["remember_token"]}, {"session": cookies["session"]}):
        r = _replay(app, replayed).get("/home")
        assert r.status_code == 302 and r.headers["Location"].startswith("/login"), replayed


def test_password_change_ends_other_sessions_but_not_this_one(app, client, factory):
    user = factory.user("mentor")
    other = app.test_client()
    other_cookies = _remembered_login(other, user)
    _remembered_login(client, user)
    r = client.form_post("/account/password", {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert client.get("/home").status_code == 200  # the changing client stays signed in
    # ... and stays remembered: its new remember cookie alone signs in on a fresh client
    mine = _cookies(client)
    assert mine["remember_token"] != other_cookies["remember_token"]
    assert _replay(app, {"remember_token": mine["remember_token"]}).get("/home").status_code == 200
    assert other.get("/home").status_code == 302
    assert _replay(app, other_cookies).get("/home").status_code == 302
    assert _replay(app, {"remember_token": other_cookies["remember_token"]}).get("/home").status_code == 302
    # the new password works, the old one not
    fresh = app.test_client()
    assert _login(fresh, user.email).status_code == 200
    assert _login(fresh, user.email, NEW_PASSWORD).status_code == 302


def test_deactivation_ends_sessions_and_remember_me(app, client, factory, login_as):
    user = factory.user("trainee")
    victim = app.test_client()
    cookies = _remembered_login(victim, user)
    login_as("admin")
    r = client.form_post(f"/users/{user.id}/active", DEACTIVATE)
    assert r.status_code == 302
    assert victim.get("/home").status_code == 302
    assert _replay(app, cookies).get("/home").status_code == 302
    # reactivating does not bring the old sessions back
    assert client.form_post(f"/users/{user.id}/active", {"active": "1"}).status_code == 302
    assert _replay(app, cookies).get("/home").status_code == 302
    assert _replay(app, {"remember_token": cookies["remember_token"]}).get("/home").status_code == 302


def test_remember_cookie_outside_testing_is_secure_and_at_most_14_days(db_url, tmp_path, factory, monkeypatch):
    for var in ("LMS_SESSION_COOKIE_SECURE", "LMS_REMEMBER_COOKIE_SECURE", "LMS_REMEMBER_COOKIE_DURATION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    user = factory.user("mentor")
    factory.db.session.commit()
    # (the production settings but one: no notifications thread, which would outlive the test)
    prod = create_app({"SECRET_KEY": "k" * 64, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "prod"),
                       "NOTIFICATIONS_WORKER": "off"})
    try:
        assert not prod.testing and not prod.debug
        assert prod.config["REMEMBER_COOKIE_SECURE"] is True
        assert prod.config["SESSION_COOKIE_SECURE"] is True
        assert prod.config["REMEMBER_COOKIE_HTTPONLY"] is True and prod.config["SESSION_COOKIE_HTTPONLY"] is True
        assert prod.config["REMEMBER_COOKIE_DURATION"] <= timedelta(days=14)
        c = prod.test_client()
        https = {"base_url": "https://localhost"}
        html = c.get("/login", **https).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        # over HTTPS Flask-WTF also wants a same-origin Referer
        r = c.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "remember": "y",
                                   "csrf_token": token}, headers={"Referer": "https://localhost/login"}, **https)
        assert r.status_code == 302, r.get_data(as_text=True)[:1000]
        set_cookies = r.headers.getlist("Set-Cookie")
        remember = [h for h in set_cookies if h.startswith("remember_token=")]
        session = [h for h in set_cookies if h.startswith("session=")]
        assert remember and session, set_cookies
        assert "Secure" in remember[0] and "HttpOnly" in remember[0]
        assert "Secure" in session[0]
        max_age = re.search(r"Max-Age=(\d+)", remember[0])
        if max_age:
            assert int(max_age.group(1)) <= 14 * 24 * 3600
        expires = re.search(r"Expires=([^;]+)", remember[0])
        assert expires, remember[0]
        from email.utils import parsedate_to_datetime

        assert parsedate_to_datetime(expires.group(1)) <= utcnow() + timedelta(days=14, minutes=1)
    finally:
        with prod.app_context():
            _db.session.remove()
            _db.engine.dispose()


def test_nul_byte_in_the_login_form_is_a_bad_request(client, factory):
    user = factory.user("mentor")
    r = _login(client, user.email + "\x00")
    assert r.status_code == 400
    r = _login(client, user.email, TEST_PASSWORD + "\x00")
    assert r.status_code == 400
    assert client.get("/home").status_code == 302


# --- throttling --------------------------------------------------------------------------------

def _token(client) -> str:  # type: ignore[no-untyped-def]
    return client.csrf_token()


def _attempt(client, token, email, password, ip):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip})


def test_ten_failures_for_one_account_block_the_eleventh_even_with_the_right_password(client, factory):
    user = factory.user("mentor")
    token = _token(client)
    for i in range(10):  # from ten different addresses: this is the per-account limit
        r = _attempt(client, token, user.email, f"Salah-{i}-sandi", f"10.1.0.{i + 1}")
        assert r.status_code == 200, i
    r = _attempt(client, token, user.email, TEST_PASSWORD, "10.1.0.99")
    assert r.status_code == 429
    body = r.get_data(as_text=True)
    assert "Terlalu banyak percobaan" in body
    assert "Coba lagi dalam 15 menit" in body
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= 15 * 60
    assert client.get("/home").status_code == 302
    # other accounts are not affected
    other = factory.user("mentor")
    assert _attempt(client, token, other.email, TEST_PASSWORD, "10.1.0.100").status_code == 302


def test_ten_failures_from_one_address_block_that_address(app, client, factory):
    user = factory.user("mentor")
    token = _token(client)
    for i in range(10):
        r = _attempt(client, token, f"tebak{i}@uji.example", "Salah-sandi-123", "10.2.0.7")
        assert r.status_code == 200, i
    r = _attempt(client, token, user.email, TEST_PASSWORD, "10.2.0.7")
    assert r.status_code == 429
    assert "Retry-After" in r.headers
    # another address signs in fine
    assert _attempt(client, token, user.email, TEST_PASSWORD, "10.2.0.8").status_code == 302


def test_failures_older_than_the_window_do_not_count(client, factory, db):
    fresh_user = factory.user("mentor")
    stale_user = factory.user("mentor")
    now = utcnow()
    for i in range(10):
        db.session.add(LoginFailure(email=stale_user.email, ip=f"10.3.0.{i}", at=now - timedelta(minutes=16)))
        db.session.add(LoginFailure(email=fresh_user.email, ip=f"10.4.0.{i}", at=now - timedelta(minutes=14)))
    db.session.commit()
    token = _token(client)
    assert _attempt(client, token, fresh_user.email, TEST_PASSWORD, "10.5.0.1").status_code == 429
    assert _attempt(client, token, stale_user.email, TEST_PASSWORD, "10.5.0.2").status_code == 302


def _failures(db, email: str) -> list:  # type: ignore[no-untyped-def]
    return sorted(db.session.execute(sa.select(LoginFailure.ip, LoginFailure.device)
                                     .where(LoginFailure.email == email)).all())


def test_success_forgives_the_persons_own_slips_but_not_failures_from_elsewhere(app, client, factory, db):
    user = factory.user("mentor")
    token = _token(client)
    for i in range(3):  # someone else, elsewhere
        assert _attempt(client, token, user.email, "Salah-sandi-123", f"10.6.0.{i}").status_code == 200
    own = app.test_client()
    own_token = _token(own)
    for _ in range(2):  # the person's own typos, then the right password, from their address
        assert _attempt(own, own_token, user.email, "Salah-sandi-123", "10.6.1.1").status_code == 200
    assert _attempt(own, own_token, user.email, TEST_PASSWORD, "10.6.1.1").status_code == 302
    assert [ip for ip, _ in _failures(db, user.email)] == ["10.6.0.0", "10.6.0.1", "10.6.0.2"]
    # a typo later on the same (now known) browser from another address is forgiven with the next success
    own.form_post("/logout")
    own_token = _token(own)
    assert _attempt(own, own_token, user.email, "Salah-sandi-123", "10.6.2.1").status_code == 200
    assert _attempt(own, own_token, user.email, TEST_PASSWORD, "10.6.3.1").status_code == 302
    assert [ip for ip, _ in _failures(db, user.email)] == ["10.6.0.0", "10.6.0.1", "10.6.0.2"]


# --- nobody can lock someone else out: known devices -------------------------------------------

def _known_browser(app, user):  # type: ignore[no-untyped-def]
    """A browser on which ``user`` has signed in before (and signed out again)."""
    browser = app.test_client()
    r = _attempt(browser, _token(browser), user.email, TEST_PASSWORD, "192.0.2.10")
    assert r.status_code == 302
    if r.headers["Location"] == "/login/code":  # staff: the device is known once the code is given
        pass_code_step(browser, user.email)
    browser.form_post("/logout")
    assert browser.get_cookie("lms_device") is not None
    return browser


def _lock_out(app, user, prefix: str = "10.9.0"):  # type: ignore[no-untyped-def]
    """Ten wrong passwords from ten addresses: the per-account lock an attacker can set."""
    attacker = app.test_client()
    token = _token(attacker)
    for i in range(10):
        assert _attempt(attacker, token, user.email, f"Tebakan-{i}-salah", f"{prefix}.{i + 1}").status_code == 200
    return attacker, token


def test_many_addresses_failing_do_not_lock_the_owner_out_of_a_known_device(app, factory, db):
    from lms.audit.models import AuditEntry

    admin = factory.user("admin")
    owner = _known_browser(app, admin)
    attacker, token = _lock_out(app, admin)
    # the guesser is stopped, whatever address or password comes next
    r = _attempt(attacker, token, admin.email, "Tebakan-lagi-salah", "10.9.1.1")
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert "Dari perangkat yang pernah Anda pakai" in r.get_data(as_text=True)
    assert _attempt(attacker, token, admin.email, TEST_PASSWORD, "10.9.1.2").status_code == 429
    fresh = app.test_client()  # a browser never used for this account: locked like the attacker
    assert _attempt(fresh, _token(fresh), admin.email, TEST_PASSWORD, "198.51.100.20").status_code == 429
    # the real admin, on their own browser, from a new address, with the right password: in
    r = _attempt(owner, _token(owner), admin.email, TEST_PASSWORD, "198.51.100.21")
    assert r.status_code == 302 and r.headers["Location"] == "/login/code"  # then the admin's second factor
    pass_code_step(owner, admin.email)
    assert owner.get("/home").status_code == 200
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "auth.login")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.actor_id == admin.id and entry.details == {"known_device": True, "passed_account_lock": True}
    throttled = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "auth.login_throttled")).all()
    assert {e.details["scope"] for e in throttled} == {"account"} and len(throttled) == 3
    # the attacker's failures stay: signing in does not give the guesser ten fresh tries
    assert _attempt(attacker, token, admin.email, "Tebakan-lagi-salah", "10.9.1.3").status_code == 429


def test_a_known_device_has_its_own_limit(app, factory):
    user = factory.user("mentor")
    browser = _known_browser(app, user)
    token = _token(browser)
    for i in range(10):  # someone using that browser guesses, hopping addresses
        assert _attempt(browser, token, user.email, f"Tebakan-{i}-salah", f"10.7.0.{i + 1}").status_code == 200
    r = _attempt(browser, token, user.email, TEST_PASSWORD, "10.7.1.1")
    assert r.status_code == 429
    assert "Dari perangkat" not in r.get_data(as_text=True)


def test_the_address_limit_applies_to_known_devices_too(app, factory):
    user = factory.user("mentor")
    browser = _known_browser(app, user)
    attacker = app.test_client()
    token = _token(attacker)
    for i in range(10):
        assert _attempt(attacker, token, f"tebak{i}@uji.example", "Salah-sandi-123", "10.8.0.7").status_code == 200
    assert _attempt(browser, _token(browser), user.email, TEST_PASSWORD, "10.8.0.7").status_code == 429
    assert _attempt(browser, _token(browser), user.email, TEST_PASSWORD, "10.8.0.8").status_code == 302


def test_a_device_known_for_another_account_or_a_forged_cookie_does_not_pass_the_lock(app, factory):
    owner, other = factory.user("mentor"), factory.user("mentor")
    browser = _known_browser(app, other)  # known for another account only
    real = _known_browser(app, owner).get_cookie("lms_device").value
    _lock_out(app, owner)
    assert _attempt(browser, _token(browser), owner.email, TEST_PASSWORD, "198.51.100.30").status_code == 429
    forged = app.test_client()
    for value in ("x", real[:-2] + ("AA" if not real.endswith("AA") else "BB"), real.replace(".", "", 1)):
        forged.set_cookie("lms_device", value)
        assert _attempt(forged, _token(forged), owner.email, TEST_PASSWORD, "198.51.100.31").status_code == 429, value


def test_known_device_cookie_is_http_only_lax_and_lasts_the_configured_days(app, client, factory):
    from lms.people import devices

    user = factory.user("mentor")
    r = _attempt(client, _token(client), user.email, TEST_PASSWORD, "192.0.2.1")
    header = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("lms_device="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and f"Max-Age={180 * 24 * 3600}" in header
    with app.test_request_context():
        device = devices.read(client.get_cookie("lms_device").value)
        assert device is not None and device.user_ids == (user.id,)
        # several accounts on one browser (a shared office computer): the latest first, at most five
        for uid in range(100, 107):
            device = devices.remember(device, uid)
        assert device.user_ids == (106, 105, 104, 103, 102)
        assert devices.read(devices.dumps(device)) == device


# --- changing the password ----------------------------------------------------------------------

def _change(client, current, new, confirm=None):  # type: ignore[no-untyped-def]
    return client.form_post("/account/password", {"current_password": current, "new_password": new,
                                                  "confirm": new if confirm is None else confirm})


def test_change_password_wrong_current(client, login_as):
    login_as("mentor")
    r = _change(client, "Bukan-sandi-saya", NEW_PASSWORD)
    assert r.status_code == 200
    assert "Kata sandi saat ini salah." in r.get_data(as_text=True)


@pytest.mark.parametrize("new,message", [
    ("password123", "terlalu umum"),
    ("bismillah", "terlalu umum"),
    ("Pendek1", "minimal 8 karakter"),
])
def test_change_password_refuses_weak(client, login_as, db, new, message):
    user = login_as("mentor")
    before = db.session.get(User, user.id).password_hash
    r = _change(client, TEST_PASSWORD, new)
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


def test_change_password_confirmation_must_match(client, login_as):
    login_as("mentor")
    r = _change(client, TEST_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert r.status_code == 200
    assert "Kedua kata sandi tidak sama." in r.get_data(as_text=True)


@pytest.mark.parametrize("length", [64, 128])
def test_long_passwords_accepted_and_hashed_with_scrypt(app, client, login_as, db, length):
    user = login_as("mentor")
    new = ("Sandi-panjang-7PAS-" * 10)[:length]
    assert len(new) == length
    r = _change(client, TEST_PASSWORD, new)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash.startswith("scrypt:")
    fresh = app.test_client()
    assert _login(fresh, user.email, new).status_code == 302


def test_too_long_password_refused(client, login_as, db):
    user = login_as("mentor")
    before = db.session.get(User, user.id).password_hash
    r = _change(client, TEST_PASSWORD, "x1-" * 43 + "abc")  # 132 characters
    assert r.status_code == 200
    assert "128" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


def test_production_hash_method_is_scrypt():
    from lms.config import Defaults, TestingDefaults

    assert Defaults.PASSWORD_HASH_METHOD.startswith("scrypt")
    assert TestingDefaults.PASSWORD_HASH_METHOD.startswith("scrypt")


# --- set-up links -------------------------------------------------------------------------------

def _reset_link(client, login_as, factory):  # type: ignore[no-untyped-def]
    target = factory.user("trainee")
    login_as("admin")
    r = client.form_post(f"/users/{target.id}/reset-password", {"confirmed": "1"})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    m = re.search(r'value="https?://[^"]*(/set-password/[^"]+)"', page)
    assert m, "the set-up link is shown once on the user's page"
    return target, m.group(1)


def test_reset_link_works_once(app, client, login_as, factory, db):
    target, path = _reset_link(client, login_as, factory)
    # the old password no longer works
    anon = app.test_client()
    assert _login(anon, target.email).status_code == 200
    r = anon.get(path)
    assert r.status_code == 200 and 'name="new_password"' in r.get_data(as_text=True)
    r = anon.form_post(path, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/home", r.get_data(as_text=True)[:1500]
    assert _login(app.test_client(), target.email, NEW_PASSWORD).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).password_hash.startswith("scrypt:")
    # used: now invalid
    again = app.test_client()
    r = again.get(path)
    assert r.status_code == 404
    assert "Tautan tidak berlaku" in r.get_data(as_text=True)
    r = again.form_post(path, {"new_password": "Lain-lagi-sandi-99", "confirm": "Lain-lagi-sandi-99"})
    assert r.status_code == 404
    assert _login(again, target.email, "Lain-lagi-sandi-99").status_code == 200


def test_expired_link_refused(app, client, login_as, factory, db):
    target, path = _reset_link(client, login_as, factory)
    db.session.execute(sa.update(PasswordSetupToken).where(PasswordSetupToken.user_id == target.id)
                       .values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    anon = app.test_client()
    r = anon.get(path)
    assert r.status_code == 404
    assert "Tautan tidak berlaku" in r.get_data(as_text=True)
    r = anon.form_post(path, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(User, target.id).password_hash is None


def test_unknown_link_refused(client):
    r = client.get("/set-password/" + "x" * 43)
    assert r.status_code == 404
    assert "Tautan tidak berlaku" in r.get_data(as_text=True)


def test_set_password_applies_the_policy(app, client, login_as, factory):
    target, path = _reset_link(client, login_as, factory)
    anon = app.test_client()
    r = anon.form_post(path, {"new_password": "password123", "confirm": "password123"})
    assert r.status_code == 200 and "terlalu umum" in r.get_data(as_text=True)
    assert anon.get(path).status_code == 200  # a refused password does not use the link up


def test_setting_a_password_from_a_link_signs_the_person_in(app, client, login_as, factory, db):
    target, path = _reset_link(client, login_as, factory)
    anon = app.test_client()
    anon.get(path)
    with anon.session_transaction() as s:
        s["planted_before_setup"] = "attacker"
    r = anon.form_post(path, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/home"
    home = anon.get("/home")
    assert home.status_code == 200 and "Selamat datang" in home.get_data(as_text=True)
    db.session.expire_all()
    user = db.session.get(User, target.id)
    with anon.session_transaction() as s:
        assert s.get("_user_id") == user.session_token and "planted_before_setup" not in s
    assert user.last_login_at is not None
    from lms.audit.models import AuditEntry

    actions = list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.target_id == str(target.id), AuditEntry.action.like("auth.%")).order_by(AuditEntry.id)))
    assert actions == ["auth.password_set", "auth.login"]
    login = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "auth.login",
                                                          AuditEntry.target_id == str(target.id)))
    assert login.actor_id == target.id and login.details == {"method": "setup_link"}


@pytest.mark.parametrize("password,word", [
    ("siti12345", "siti"),
    ("SITI-kuat-2018", "siti"),            # any case
    ("Kuat-Aminah-77", "aminah"),          # any part of the name
    ("x-ew3171009-x", "ew3171009"),        # the e-mail's local part
])
def test_passwords_with_the_persons_name_or_email_are_refused(app, client, login_as, factory, db, password, word):
    from lms.people.passwords import password_problems

    target = factory.user("trainee", full_name="Siti Aminah", email="siti.ew3171009@uji.example")
    login_as("admin")
    r = client.form_post(f"/users/{target.id}/reset-password", {"confirmed": "1"})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    path = re.search(r'value="https?://[^"]*(/set-password/[^"]+)"', page).group(1)
    anon = app.test_client()
    r = anon.form_post(path, {"new_password": password, "confirm": password})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Kata sandi tidak boleh memuat nama atau e-mail Anda" in html and f"&#34;{word}&#34;" in html
    db.session.expire_all()
    assert db.session.get(User, target.id).password_hash is None
    # the same rule for a password change and for a new account with a password
    assert password_problems(password, email=target.email, full_name=target.full_name)
    assert not password_problems("Ewarong-7PAS-2018", email=target.email, full_name=target.full_name)
    # parts shorter than three letters ("Bu", "Li") do not count
    assert not password_problems("Libur-bu-7PAS", email="bu.li@uji.example", full_name="Bu Li")


def test_change_password_refuses_ones_own_name(client, login_as, db):
    user = login_as("mentor", full_name="Harun Prasetyo", email="harun.p@uji.example")
    r = _change(client, TEST_PASSWORD, "prasetyo-2018!")
    assert r.status_code == 200 and "memuat nama atau e-mail" in r.get_data(as_text=True)
