"""Personal data (#14), notice and consent: the privacy notice made from configuration (id and en),
the sign-in gate (first sign-in and a new notice version), its exemptions, the decisions stored with
version, time and source, refusal, withdrawal (which really stops WhatsApp: a local WhatsApp
server), the person's privacy page, and agreement with the notification preferences page."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.extensions import db
from lms.i18n import LANG_COOKIE
from lms.notifications import dispatch, events
from lms.notifications import services as notification_services
from lms.notifications.models import Delivery, DeliveryStatus, NotificationPreference
from lms.privacy import consent
from lms.privacy.models import Consent, ConsentKind
from tests.notification_helpers import noon_wib as _noon_wib

PHONE = "+6281234500123"


def _decisions(user, kind=None):  # type: ignore[no-untyped-def]
    q = sa.select(Consent).where(Consent.user_id == user.id).order_by(Consent.id)
    if kind is not None:
        q = q.where(Consent.kind == kind)
    return list(db.session.scalars(q))


def _actions(user):  # type: ignore[no-untyped-def]
    return [a for (a,) in db.session.execute(sa.select(AuditEntry.action).where(
        AuditEntry.target_type == "user", AuditEntry.target_id == str(user.id)).order_by(AuditEntry.id))]


def _to_consent(resp, next_path: str | None):  # type: ignore[no-untyped-def]
    """The response is the gate's redirect to the consent page, carrying ``next_path``."""
    assert resp.status_code == 302, resp.status_code
    loc = urlsplit(resp.headers["Location"])
    assert loc.path == "/privasi/persetujuan", resp.headers["Location"]
    assert parse_qs(loc.query).get("next", [None])[0] == next_path
    return True


def _accept(client, whatsapp: str | None = "no", next_path: str = ""):  # type: ignore[no-untyped-def]
    data = {"agree": "y", "next": next_path, "accept": "1"}
    if whatsapp is not None:
        data["whatsapp"] = whatsapp
    return client.form_post("/privasi/persetujuan", data)


# --- the notice ----------------------------------------------------------------------------------

def test_the_notice_is_public_and_made_from_configuration(app, client):
    app.config.update(DPO_CONTACT="Ibu Sari Uji, ppdp-uji@jakarta.go.id, 021-555-0101",
                      PRIVACY_CONTROLLER="Dinas Sosial Uji", PRIVACY_CONTROLLER_ADDRESS="Jl. Uji No. 7",
                      RETENTION_IP_DAYS=45, DATA_EXPORT_DAYS=9, RETENTION_INACTIVE_YEARS=4,
                      PRIVACY_NOTICE_VERSION="2027-03")
    page = client.get("/privasi")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("Ibu Sari Uji, ppdp-uji@jakarta.go.id, 021-555-0101", "Dinas Sosial Uji", "Jl. Uji No. 7",
                 "45 hari", "9 hari", "4 tahun", "2027-03", "Bank Indonesia", "BNI", "Bank DKI", "3×24 jam",
                 "Pasal 5", "Pasal 13", "nama pemegang, nomor seri, dan status"):
        assert text in html, text
    # the rights link to the self-service pages that exist (the consent page always does)
    assert 'href="/privasi/saya"' in html
    if "privacy.my_data" in app.view_functions:
        assert f'href="{app.url_map.bind("localhost").build("privacy.my_data")}"' in html


def test_the_notice_has_the_same_sections_in_english(app, client):
    app.config["DPO_CONTACT"] = "DPO Uji <dpo-uji@example.go.id>"
    ids = client.get("/privasi").get_data(as_text=True)
    client.set_cookie(LANG_COOKIE, "en")
    en = client.get("/privasi").get_data(as_text=True)
    assert '<html lang="id">' in ids and '<html lang="en">' in en
    sections = lambda html: re.findall(r'<section id="([a-z_]+)"', html)  # noqa: E731
    assert sections(ids) == sections(en)
    assert {"controller", "dpo", "purposes", "categories", "recipients", "retention", "rights",
            "breach"} <= set(sections(en))
    assert "DPO Uji &lt;dpo-uji@example.go.id&gt;" in en  # configured text, escaped


def test_the_dpo_contact_comes_from_the_environment(db_url, tmp_path, monkeypatch):
    from lms import create_app

    monkeypatch.setenv("LMS_DPO_CONTACT", "Pak Budi (dpo-env@jakarta.go.id)")
    fresh = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "env")})
    try:
        assert fresh.config["DPO_CONTACT"] == "Pak Budi (dpo-env@jakarta.go.id)"
        with fresh.test_client() as c:
            assert "Pak Budi (dpo-env@jakarta.go.id)" in c.get("/privasi").get_data(as_text=True)
    finally:
        with fresh.app_context():
            db.engine.dispose()


def test_the_sign_in_pages_link_to_the_notice(client):
    for url in ("/login", "/login/phone"):
        assert 'href="/privasi"' in client.get(url).get_data(as_text=True), url


# --- the gate ------------------------------------------------------------------------------------

def test_the_factory_makes_people_who_accepted_unless_asked_not_to(app, factory):
    assert factory.user("trainee").notice_version == app.config["PRIVACY_NOTICE_VERSION"]
    assert factory.user("trainee", accepted_notice=False).notice_version is None


def test_a_new_person_is_sent_to_the_consent_page_from_every_page_until_they_accept(app, client, factory, login_as):
    user = factory.user("trainee", accepted_notice=False, phone=PHONE)
    login_as(user)
    for url in ("/home", "/progress", "/notifications", "/notifications/preferences", "/account/devices",
                "/certificates/mine", f"/outlets/{user.managed_outlet.id}"):
        assert _to_consent(client.get(url), url), url
    # a form sent meanwhile is not replayed: the gate sends it to the consent page without a target
    assert _to_consent(client.form_post("/notifications/read-all"), None)
    page = client.get("/privasi/persetujuan?next=/progress")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Saya telah membaca dan menyetujui" in html and 'href="/privasi"' in html
    assert 'name="csrf_token"' in html and 'value="/progress"' in html
    # WhatsApp: a separate choice, "no" unless the person says yes
    assert re.search(r'<input[^>]*checked[^>]*value="no"|<input[^>]*value="no"[^>]*checked', html)
    assert not re.search(r'<input[^>]*checked[^>]*value="yes"|<input[^>]*value="yes"[^>]*checked', html)
    resp = _accept(client, "no", "/progress")
    assert resp.status_code == 302 and resp.headers["Location"] == "/progress"
    assert client.get("/home").status_code == 200
    assert client.get("/progress").status_code == 200


def test_the_decision_is_stored_with_version_time_and_source(app, client, factory, login_as):
    user = factory.user("trainee", accepted_notice=False, phone=PHONE)
    login_as(user)
    before = utcnow()
    _accept(client, "yes")
    programme, whatsapp = _decisions(user, ConsentKind.PROGRAMME), _decisions(user, ConsentKind.WHATSAPP)
    assert [(c.granted, c.notice_version, c.source) for c in programme] == [(True, "2026-12", "first_sign_in")]
    assert [(c.granted, c.notice_version, c.source) for c in whatsapp] == [(True, "2026-12", "first_sign_in")]
    assert before - timedelta(seconds=1) <= programme[0].at <= utcnow()
    db.session.refresh(user)
    assert user.notice_version == app.config["PRIVACY_NOTICE_VERSION"]
    pref = db.session.get(NotificationPreference, user.id)
    assert pref.whatsapp_opt_in and pref.whatsapp_opt_in_source == "first_sign_in"
    assert _actions(user)[-2:] == ["whatsapp.opt_in", "privacy.notice_accepted"]
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "privacy.notice_accepted")).one()
    assert entry.details == {"notice_version": "2026-12", "source": "first_sign_in", "whatsapp": True}


def test_without_ticking_the_box_the_form_says_so_and_nothing_is_stored(app, client, factory, login_as):
    user = factory.user("trainee", accepted_notice=False, phone=PHONE)
    login_as(user)
    resp = client.form_post("/privasi/persetujuan", {"whatsapp": "yes", "accept": "1"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Centang kotak ini" in html and 'class="errors"' in html
    assert _decisions(user) == []
    assert db.session.get(NotificationPreference, user.id) is None  # not even the WhatsApp choice
    assert _to_consent(client.get("/home"), "/home")
    # and the form needs its CSRF token
    assert client.post("/privasi/persetujuan", data={"agree": "y", "accept": "1"}).status_code == 400


def test_declining_is_recorded_once_and_says_the_programme_cannot_run(app, client, factory, login_as):
    user = factory.user("trainee", accepted_notice=False, phone=PHONE)
    login_as(user)
    resp = client.form_post("/privasi/persetujuan", {"decline": "1"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "tidak dapat dijalankan" in html and 'action="/logout"' in html and 'href="/privasi"' in html
    client.form_post("/privasi/persetujuan", {"decline": "1"})
    assert [(c.kind, c.granted, c.source) for c in _decisions(user)] == [
        (ConsentKind.PROGRAMME, False, "first_sign_in")]
    assert _actions(user)[-1] == "privacy.notice_declined"
    assert _to_consent(client.get("/home"), "/home")
    # still free to sign out
    out = client.form_post("/logout")
    assert out.status_code == 302 and out.headers["Location"] == "/login"


def test_exempt_pages_stay_open_to_someone_who_has_not_accepted(app, client, factory, login_as):
    user = factory.user("trainee", accepted_notice=False, phone=PHONE)
    login_as(user)
    for url in ("/privasi", "/privasi/persetujuan", "/privasi/saya", "/healthz", "/static/css/app.css",
                "/verify/TIDAK-ADA"):
        resp = client.get(url)
        resp.close()
        assert resp.status_code in (200, 404) and "Location" not in resp.headers, (url, resp.status_code)
    # every exempt page without arguments, the rights pages among them ("Data saya", requests)
    from lms.privacy import notice

    plain = [r for r in app.url_map.iter_rules() if r.endpoint in notice.EXEMPT_ENDPOINTS and not r.arguments
             and "GET" in (r.methods or ()) and r.endpoint != "static"]
    assert {"privacy.notice", "privacy.consent", "privacy.my_consents"} <= {r.endpoint for r in plain}
    for r in plain:
        resp = client.get(r.rule)
        resp.close()
        assert "/privasi/persetujuan" not in resp.headers.get("Location", ""), r.endpoint
    lang = client.form_post("/lang", {"lang": "en", "next": "/privasi"})
    assert lang.status_code == 302 and lang.headers["Location"] == "/privasi"
    assert client.get("/tidak-ada-halaman-ini").status_code == 404


def test_the_code_steps_and_a_required_second_factor_come_before_the_notice(app, client, factory):
    from tests.conftest import TEST_PASSWORD, pass_code_step

    coord = factory.user("coordinator", accepted_notice=False)
    resp = client.form_post("/login", {"email": coord.email, "password": TEST_PASSWORD})
    assert resp.headers["Location"] == "/login/code"
    assert client.get("/login/code").status_code == 200  # the code step itself
    resp = pass_code_step(client, coord.email)
    assert resp.headers["Location"] == "/home"
    assert _to_consent(client.get("/home"), "/home")
    if "privacy.request_list" in app.view_functions:  # reviewing others' requests is programme work: gated
        url = app.url_map.bind("localhost").build("privacy.request_list")
        assert _to_consent(client.get(url), url)
    client.form_post("/logout")
    # a coordinator who still has to set up the second factor: that first, without a loop
    fresh = factory.user("coordinator", accepted_notice=False, enrol_2fa=False)
    client.form_post("/login", {"email": fresh.email, "password": TEST_PASSWORD})
    home = client.get("/home")
    assert home.status_code == 302 and home.headers["Location"] == "/account/two-factor"
    assert client.get("/account/two-factor").status_code == 200


def test_a_new_notice_version_asks_everyone_again(app, client, factory, login_as):
    user = factory.user("trainee", phone=PHONE)
    login_as(user)
    with transaction():
        consent.apply_whatsapp(user, user, True, "profile")
    assert client.get("/home").status_code == 200
    app.config["PRIVACY_NOTICE_VERSION"] = "2027-06"
    assert _to_consent(client.get("/home"), "/home")
    page = client.get("/privasi/persetujuan?next=/home").get_data(as_text=True)
    assert "sudah diperbarui" in page and "2027-06" in page
    # their WhatsApp choice stands unless they change it
    assert re.search(r'<input[^>]*checked[^>]*value="yes"|<input[^>]*value="yes"[^>]*checked', page)
    _accept(client, "yes", "/home")
    last = _decisions(user, ConsentKind.PROGRAMME)[-1]
    assert (last.granted, last.notice_version, last.source) == (True, "2027-06", "notice_change")
    db.session.refresh(user)
    assert user.notice_version == "2027-06"
    assert client.get("/home").status_code == 200


def test_next_is_only_followed_to_this_site(app, client, factory, login_as):
    login_as(factory.user("trainee", accepted_notice=False))
    resp = _accept(client, None, "//evil.example/steal")
    assert resp.status_code == 302 and resp.headers["Location"] == "/home"


def test_someone_who_already_accepted_is_sent_on_from_the_consent_page(app, client, factory, login_as):
    user = factory.user("trainee")
    login_as(user)
    resp = client.get("/privasi/persetujuan?next=/progress")
    assert resp.status_code == 302 and resp.headers["Location"] == "/progress"
    assert client.get("/privasi/persetujuan").headers["Location"] == "/privasi/saya"
    assert _accept(client).status_code == 302 and _decisions(user) == []  # nothing recorded twice


def test_the_gate_costs_no_query(app, client, factory, login_as, count_queries):
    login_as(factory.user("trainee", accepted_notice=False))
    with count_queries() as gated:
        assert _to_consent(client.get("/progress"), "/progress")
    # the one query is the user loader's (the user and this browser's session record): the gate
    # reads users.notice_version from the user it loaded
    assert gated.count == 1, gated.statements


# --- withdrawal, WhatsApp, the privacy page -----------------------------------------------------------

def test_withdrawing_whatsapp_skips_a_message_already_waiting(app, client, factory, login_as, channels):
    smtp, wa = channels
    with events.muted():
        holder = factory.user("trainee", accepted_notice=False, phone=PHONE)
        session = factory.session(region="3171")
        factory.register(session, holder, "present")
        cert = factory.certificate(session=session, holder=holder)
    login_as(holder)
    _accept(client, "yes")
    with transaction():
        assert events.announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.dispatch_pending()
    waiting = db.session.scalars(sa.select(Delivery).where(Delivery.user_id == holder.id,
                                                           Delivery.channel == "whatsapp")).one()
    assert waiting.status is DeliveryStatus.PENDING  # written while the person had said yes
    # the privacy page: withdraw WhatsApp, through the confirm page
    page = client.get("/privasi/saya").get_data(as_text=True)
    assert "Ya, menerima WhatsApp" in page and 'action="/privasi/saya/tarik/whatsapp"' in page
    confirm = client.form_post("/privasi/saya/tarik/whatsapp")
    assert confirm.status_code == 200 and 'name="confirmed"' in confirm.get_data(as_text=True)
    assert db.session.get(NotificationPreference, holder.id).whatsapp_opt_in  # not yet
    done = client.form_post("/privasi/saya/tarik/whatsapp", {"confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"] == "/privasi/saya"
    pref = db.session.get(NotificationPreference, holder.id)
    assert not pref.whatsapp_opt_in and pref.whatsapp_opt_out_at is not None
    assert [(c.granted, c.source) for c in _decisions(holder, ConsentKind.WHATSAPP)] == [
        (True, "first_sign_in"), (False, "profile")]
    assert _actions(holder)[-1] == "whatsapp.opt_out"
    # the worker checks the opt-in when it sends: the waiting message is skipped, the e-mail goes
    dispatch.run_once(_noon_wib())
    db.session.refresh(waiting)
    assert waiting.status is DeliveryStatus.SKIPPED
    assert wa.received == []
    assert len(smtp.messages) == 1
    # the preferences page agrees
    prefs = client.get("/notifications/preferences").get_data(as_text=True)
    assert not re.search(r'<input[^>]*id="whatsapp_opt_in"[^>]*checked', prefs)


def test_a_message_is_sent_when_consent_stands(app, client, factory, login_as, channels):
    """The same path as above without the withdrawal sends the message (the test above can fail)."""
    smtp, wa = channels
    with events.muted():
        holder = factory.user("trainee", accepted_notice=False, phone=PHONE)
        session = factory.session(region="3171")
        factory.register(session, holder, "present")
        cert = factory.certificate(session=session, holder=holder)
    login_as(holder)
    _accept(client, "yes")
    with transaction():
        events.announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.dispatch_pending()
    dispatch.run_once(_noon_wib())
    assert len(wa.received) == 1


def test_withdrawing_the_programme_consent_closes_the_programme_but_not_the_rights(app, client, factory, login_as):
    user = factory.user("trainee", accepted_notice=False, phone=PHONE)
    login_as(user)
    _accept(client, "yes")
    page = client.get("/privasi/saya").get_data(as_text=True)
    assert "Disetujui" in page and "2026-12" in page and "WIB" in page and "saat pertama kali masuk" in page
    confirm = client.form_post("/privasi/saya/tarik/programme")
    assert confirm.status_code == 200 and "tidak dapat dijalankan" in confirm.get_data(as_text=True)
    done = client.form_post("/privasi/saya/tarik/programme", {"confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"] == "/privasi/saya"
    db.session.refresh(user)
    assert user.notice_version is None
    assert not db.session.get(NotificationPreference, user.id).whatsapp_opt_in  # WhatsApp stops too
    assert [(c.kind, c.granted) for c in _decisions(user)][-2:] == [
        (ConsentKind.PROGRAMME, False), (ConsentKind.WHATSAPP, False)]
    assert "privacy.consent_withdrawn" in _actions(user)
    # gated again, yet their privacy pages, the notice and sign-out stay open
    assert _to_consent(client.get("/home"), "/home")
    page = client.get("/privasi/saya")
    assert page.status_code == 200 and "Ditarik atau ditolak" in page.get_data(as_text=True)
    # WhatsApp cannot be switched back on without the notice
    client.form_post("/privasi/saya/whatsapp", {"opt_in": "1"})
    assert not db.session.get(NotificationPreference, user.id).whatsapp_opt_in
    # accepting again is a "renewal"
    page = client.get("/privasi/persetujuan").get_data(as_text=True)
    assert "pernah menarik persetujuan" in page
    _accept(client, "no")
    assert _decisions(user, ConsentKind.PROGRAMME)[-1].source == "renewal"
    assert client.get("/home").status_code == 200


def test_whatsapp_again_from_the_privacy_page_and_the_preferences_page_agree(app, client, factory, login_as):
    user = factory.user("trainee", phone=PHONE)
    login_as(user)
    page = client.get("/privasi/saya").get_data(as_text=True)
    assert "Tidak menerima WhatsApp" in page and 'action="/privasi/saya/whatsapp"' in page
    assert client.form_post("/privasi/saya/whatsapp", {"opt_in": "1"}).status_code == 302
    prefs = client.get("/notifications/preferences").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="whatsapp_opt_in"[^>]*checked|<input[^>]*checked[^>]*id="whatsapp_opt_in"', prefs)
    # the other way: the preferences page turns it off, and the privacy page shows that, with a row
    client.form_post("/notifications/preferences", {"email_enabled": "y", "quiet_start": "21:00",
                                                    "quiet_end": "06:00", "locale": "id"})
    page = client.get("/privasi/saya").get_data(as_text=True)
    assert "Tidak menerima WhatsApp" in page
    assert [(c.granted, c.source) for c in _decisions(user, ConsentKind.WHATSAPP)] == [
        (True, "profile"), (False, "profile")]
    # saving the preferences again without a change adds no decision
    client.form_post("/notifications/preferences", {"email_enabled": "y", "quiet_start": "22:00",
                                                    "quiet_end": "06:00", "locale": "id"})
    assert len(_decisions(user, ConsentKind.WHATSAPP)) == 2


def test_nothing_to_withdraw_and_unknown_kinds(app, client, factory, login_as):
    user = factory.user("trainee")
    login_as(user)
    resp = client.form_post("/privasi/saya/tarik/whatsapp", {"confirmed": "1"})
    assert resp.status_code == 302 and _decisions(user) == []
    assert client.form_post("/privasi/saya/tarik/iklan").status_code == 404
    assert client.post("/privasi/saya/tarik/programme", data={"confirmed": "1"}).status_code == 400  # no CSRF
    # WhatsApp again only with its explicit yes
    empty = client.form_post("/privasi/saya/whatsapp")
    assert empty.status_code == 302 and db.session.get(NotificationPreference, user.id) is None
    assert client.post("/privasi/saya/whatsapp", data={"opt_in": "1"}).status_code == 400  # no CSRF
    assert db.session.get(NotificationPreference, user.id) is None
    db.session.refresh(user)
    assert user.notice_version == app.config["PRIVACY_NOTICE_VERSION"]


def test_services_take_the_acting_person(app, factory):
    from lms.errors import NotAllowed
    from flask_login import AnonymousUserMixin

    with pytest.raises(NotAllowed):
        consent.accept_notice(AnonymousUserMixin(), True, "first_sign_in")
    user = factory.user("trainee", accepted_notice=False)
    consent.accept_notice(user, None, "first_sign_in")  # no phone: WhatsApp not asked, nothing recorded for it
    assert [c.kind for c in _decisions(user)] == [ConsentKind.PROGRAMME]
    assert consent.withdraw(user, "programme") is True
    assert consent.withdraw(user, "programme") is False  # nothing left in force
    # consent recorded elsewhere (an import, the demo seed) leaves its row too
    other = factory.user("trainee", phone=PHONE)
    with transaction():
        notification_services.record_whatsapp_opt_in(other, source="import",
                                                      at=datetime(2026, 1, 5, tzinfo=timezone.utc))
    (row,) = _decisions(other)
    assert (row.kind, row.granted, row.source, row.at) == (
        ConsentKind.WHATSAPP, True, "import", datetime(2026, 1, 5, tzinfo=timezone.utc))
    assert consent.state(other).whatsapp and consent.state(other).whatsapp_source == "import"


# --- markup ------------------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.slow
def test_the_privacy_pages_pass_the_html_checker_and_axe(app, client, factory, live_server, _playwright, tmp_path):
    from tests.browser_helpers import accept_privacy_notice, see, sign_in
    from tests.conftest import TEST_PASSWORD
    from tests.markup import Page, axe, require_tools, vnu

    require_tools()
    pages: list[Page] = []

    def grab(role: str, url: str, resp) -> None:  # type: ignore[no-untyped-def]
        pages.append(Page(role, url, resp.status_code, resp.get_data(as_text=True), url))

    grab("anonymous", "/privasi", client.get("/privasi"))
    english = app.test_client()
    english.set_cookie(LANG_COOKIE, "en")
    grab("anonymous-en", "/privasi", english.get("/privasi"))
    fresh = factory.user("trainee", accepted_notice=False, phone=PHONE)
    client.form_post("/login", {"email": fresh.email, "password": TEST_PASSWORD})
    grab("fresh", "/privasi/persetujuan", client.get("/privasi/persetujuan?next=/home"))
    grab("fresh", "POST /privasi/persetujuan", client.form_post("/privasi/persetujuan", {"accept": "1"}))
    grab("fresh", "POST decline", client.form_post("/privasi/persetujuan", {"decline": "1"}))
    grab("fresh", "/privasi/saya (declined)", client.get("/privasi/saya"))
    _accept(client, "yes")
    grab("fresh", "/privasi/saya", client.get("/privasi/saya"))
    grab("fresh", "POST withdraw", client.form_post("/privasi/saya/tarik/programme"))
    assert [p.status for p in pages] == [200, 200, 200, 422, 200, 200, 200, 200]
    errors = vnu(pages, tmp_path / "pages")
    # axe in Chromium on a phone: the notice, the consent page, the privacy page
    other = factory.user("trainee", accepted_notice=False, phone="+6281234500124")
    context = _playwright.new_context(base_url=live_server.url, bypass_csp=True,
                                      viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    problems: list[str] = []
    try:
        page = context.new_page()
        page.goto("/privasi")
        problems += axe(page)
        sign_in(page, other.email, accept_notice=False)
        see(page, "Saya telah membaca dan menyetujui")
        problems += axe(page)
        accept_privacy_notice(page, whatsapp=True)
        page.wait_for_url("**/home")
        page.goto("/privasi/saya")
        see(page, "Ya, menerima WhatsApp")
        problems += axe(page)
    finally:
        context.close()
    assert not errors and not problems, "\n".join(errors + problems)
