"""Sign-in by phone number with a one-time code (issue 13, "People without e-mail")."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.i18n import WIB
from lms.notifications import dispatch
from lms.notifications.models import Delivery, DeliveryStatus, OutboxEvent
from lms.people.models import LoginFailure, SignInCode, User

PHONE = "+6281299990001"
TYPED = "0812-9999-0001"


def _trainee(factory, phone: str = PHONE, **kw):  # type: ignore[no-untyped-def]
    return factory.user("trainee", phone=phone, **kw)


def _ask(client, number: str = TYPED, ip: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.form_post("/login/phone", {"phone": number}, environ_base={"REMOTE_ADDR": ip})


def _enter(client, code: str, ip: str = "10.0.0.1", **extra):  # type: ignore[no-untyped-def]
    return client.form_post("/login/phone/code", {"code": code, **extra}, environ_base={"REMOTE_ADDR": ip})


def _code_from_whatsapp(server) -> str:  # type: ignore[no-untyped-def]
    params = [p["text"] for p in server.received[-1]["template"]["components"][0]["parameters"]]
    m = re.search(r"\b(\d{6})\b", " ".join(params))
    assert m, params
    return m.group(1)


def _kept_code(db, user: User) -> str:  # type: ignore[no-untyped-def]
    d = db.session.scalars(sa.select(Delivery).where(Delivery.user_id == user.id,
                                                     Delivery.kind == "auth.code_requested")
                           .order_by(Delivery.id.desc())).first()
    assert d is not None and d.status is DeliveryStatus.KEPT
    m = re.search(r"\b(\d{6})\b", d.subject)
    assert m
    return m.group(1)


def _audits(db, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _no_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", html)


def _signed_in_as(client, user: User) -> bool:  # type: ignore[no-untyped-def]
    return user.full_name in client.get("/home").get_data(as_text=True)


# --- end to end ------------------------------------------------------------------------------

def test_login_page_links_to_phone_sign_in(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/login/phone' in html and "Masuk dengan nomor HP" in html


def test_phone_sign_in_end_to_end_over_whatsapp_without_marketing_opt_in(client, factory, db, channels):
    _smtp, wa = channels
    user = _trainee(factory, email=None)  # no e-mail, no WhatsApp opt-in: the code is transactional
    resp = _ask(client)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/phone/code")
    page = client.get("/login/phone/code").get_data(as_text=True)
    assert "Jika nomor 0812-9999-0001 terdaftar" in page
    dispatch.run_once()
    assert len(wa.received) == 1 and wa.received[0]["to"] == PHONE.lstrip("+")
    code = _code_from_whatsapp(wa)
    resp = _enter(client, code)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/home")
    assert _signed_in_as(client, user)
    # the same completion as the password sign-in: known-device cookie, audit with the method
    assert "lms_device=" in resp.headers.get("Set-Cookie", "") or any(
        "lms_device=" in h for h in resp.headers.getlist("Set-Cookie"))
    login = _audits(db, "auth.login")[-1]
    assert login.actor_id == user.id and login.details["method"] == "phone_code"
    asked = _audits(db, "auth.code_requested")[-1]
    assert asked.target_id == str(user.id) and asked.details["phone"] == PHONE
    # once sent, the stored message no longer holds the code; the code itself is only a hash
    d = db.session.scalar(sa.select(Delivery).where(Delivery.kind == "auth.code_requested"))
    assert d.status is DeliveryStatus.SENT and code not in d.subject + d.body_text + str(d.template)
    row = db.session.scalar(sa.select(SignInCode))
    assert row.code_hash and code not in row.code_hash and row.used_at is not None
    assert db.session.scalar(sa.select(OutboxEvent.secret).where(OutboxEvent.name == "auth.code_requested")) is None


def test_phone_sign_in_with_the_code_from_the_admin_outbox(app, client, factory, db, login_as):
    user = _trainee(factory)
    person = app.test_client()
    assert _ask(person).status_code == 302
    dispatch.run_once()
    code = _kept_code(db, user)  # no channel configured: KEPT, with its code, for the outbox
    login_as("admin")
    d = db.session.scalar(sa.select(Delivery).where(Delivery.kind == "auth.code_requested"))
    assert code in client.get(f"/admin/outbox/{d.id}").get_data(as_text=True)
    assert _enter(person, code).status_code == 302
    assert _signed_in_as(person, user)


def test_demo_shows_the_code_on_the_page_only_with_the_flag_and_no_channel(app, client, factory, db):
    _trainee(factory)
    _ask(client)
    assert "Demo: kode Anda" not in client.get("/login/phone/code").get_data(as_text=True)
    app.config["DEMO_SHOW_CODES"] = True
    _ask(client)
    page = client.get("/login/phone/code").get_data(as_text=True)
    m = re.search(r"Demo: kode Anda (\d{6})", page)
    assert m
    assert _enter(client, m.group(1)).status_code == 302


# --- the code's rules ----------------------------------------------------------------------

def test_a_code_works_once(client, factory, db, channels):
    _smtp, wa = channels
    user = _trainee(factory)
    _ask(client)
    dispatch.run_once()
    code = _code_from_whatsapp(wa)
    with client.session_transaction() as s:
        pending = dict(s["phone_code"])
    assert _enter(client, code).status_code == 302
    client.form_post("/logout", {})
    with client.session_transaction() as s:
        s["phone_code"] = pending  # replaying the same session state
    resp = _enter(client, code)
    assert resp.status_code == 200 and "Kode salah atau sudah tidak berlaku" in resp.get_data(as_text=True)
    assert not _signed_in_as(client, user)
    assert _audits(db, "auth.code_failed")[-1].details["reason"] == "used"


def test_a_code_expires_after_five_minutes(client, factory, db, channels):
    _smtp, wa = channels
    user = _trainee(factory)
    _ask(client)
    dispatch.run_once()
    code = _code_from_whatsapp(wa)
    row = db.session.scalar(sa.select(SignInCode))
    assert timedelta(minutes=4, seconds=50) < row.expires_at - row.created_at <= timedelta(minutes=5)
    with transaction():
        row.expires_at = utcnow() - timedelta(seconds=1)
    resp = _enter(client, code)
    assert "Kode salah atau sudah tidak berlaku" in resp.get_data(as_text=True)
    assert not _signed_in_as(client, user)
    assert _audits(db, "auth.code_failed")[-1].details["reason"] == "expired"


def test_five_wrong_codes_end_the_code_the_right_one_sixth_is_refused(client, factory, db, channels):
    _smtp, wa = channels
    user = _trainee(factory)
    _ask(client)
    dispatch.run_once()
    code = _code_from_whatsapp(wa)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for _ in range(5):
        assert "Kode salah" in _enter(client, wrong).get_data(as_text=True)
    resp = _enter(client, code)  # the 6th try, with the right code
    assert resp.status_code == 200 and "Kode salah" in resp.get_data(as_text=True)
    assert not _signed_in_as(client, user)
    assert db.session.scalar(sa.select(SignInCode.tries)) == 5
    assert _audits(db, "auth.code_failed")[-1].details["reason"] == "too_many_tries"
    # a new code works
    _ask(client)
    dispatch.run_once()
    assert _enter(client, _code_from_whatsapp(wa)).status_code == 302


def test_unknown_number_gets_the_same_answer_and_nothing_is_sent(client, factory, db, channels):
    _smtp, wa = channels
    _trainee(factory)
    staff = factory.user("coordinator", phone="+6281299990077")  # staff sign in with e-mail (and a second factor)
    known = _ask(client, TYPED)
    known_page = _no_csrf(client.get("/login/phone/code").get_data(as_text=True))
    for number in ("0812-9999-0002", "0812-9999-0077"):
        other = _ask(client, number)
        assert other.status_code == known.status_code and other.headers["Location"] == known.headers["Location"]
        page = _no_csrf(client.get("/login/phone/code").get_data(as_text=True))
        assert page.replace(number, TYPED) == known_page.replace("0812-9999-0001", TYPED)
    dispatch.run_once()
    assert [m["to"] for m in wa.received] == [PHONE.lstrip("+")]
    assert staff.id not in [e.target_id and int(e.target_id) for e in _audits(db, "auth.login")]
    resp = _enter(client, "123456")
    assert "Kode salah" in resp.get_data(as_text=True)
    assert _audits(db, "auth.code_requested")[-1].details["known_account"] is False


def test_not_a_mobile_number_is_a_form_message(client):
    resp = _ask(client, "12ab")
    assert resp.status_code == 200 and "Tulis nomor HP Indonesia" in resp.get_data(as_text=True)


# --- throttling and lock-out ------------------------------------------------------------------

def test_codes_per_number_are_limited_for_known_and_unknown_numbers(client, factory, db):
    _trainee(factory)
    for number in (TYPED, "0812-9999-0002"):
        for i in range(3):
            assert _ask(client, number, ip=f"10.1.0.{i}").status_code == 302
        resp = _ask(client, number, ip="10.1.0.9")
        assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert _audits(db, "auth.code_throttled")


def test_codes_per_address_are_limited(app, client, factory):
    app.config["PHONE_CODE_MAX_SENDS_PER_ADDRESS"] = 4
    for i in range(4):
        assert _ask(client, f"0812-9999-10{i:02d}", ip="10.2.0.1").status_code == 302
    assert _ask(client, "0812-9999-1099", ip="10.2.0.1").status_code == 429
    assert _ask(client, "0812-9999-1099", ip="10.2.0.2").status_code == 302


def test_wrong_codes_per_number_are_limited_across_requests(client, factory, db):
    _trainee(factory)
    for i in range(3):  # three codes, wrong guesses on each, from several addresses
        _ask(client, ip=f"10.3.0.{i}")
        for _ in range(4):
            _enter(client, "000000", ip=f"10.3.0.{i}")
    # ten failures recorded under the number (then refused unchecked): a fresh address is refused too
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)
                             .where(LoginFailure.email == f"tel:{PHONE}")) == 10
    assert _enter(client, "000000", ip="10.3.9.9").status_code == 429


def test_strangers_from_many_addresses_cannot_lock_the_person_out(app, client, factory, db, channels):
    _smtp, wa = channels
    user = _trainee(factory)
    # the person signed in once on their phone: it is a known device of the account
    _ask(client, ip="10.9.0.1")
    dispatch.run_once()
    assert _enter(client, _code_from_whatsapp(wa), ip="10.9.0.1").status_code == 302
    client.form_post("/logout", {})
    with transaction():  # a fresh window: the person's own request is not what blocks
        db.session.execute(sa.delete(SignInCode))
    # strangers, each from another address: codes for the number, and wrong codes
    for i in range(6):
        stranger = app.test_client()
        _ask(stranger, ip=f"203.0.113.{i}")
        for _ in range(3):
            _enter(stranger, "111111", ip=f"203.0.113.{i}")
    # an unknown browser is now refused for this number: the lock exists
    assert _ask(app.test_client(), ip="198.51.100.7").status_code == 429
    assert _enter(app.test_client(), "111111", ip="198.51.100.7").status_code == 302  # no pending request
    # the person, on their known phone, still gets a code and signs in
    dispatch.run_once()  # (the strangers' codes went to the person's phone too)
    sent = len(wa.received)
    assert _ask(client, ip="10.9.0.2").status_code == 302
    dispatch.run_once()
    assert len(wa.received) == sent + 1 and wa.received[-1]["to"] == PHONE.lstrip("+")
    assert _enter(client, _code_from_whatsapp(wa), ip="10.9.0.2").status_code == 302
    assert _signed_in_as(client, user)
    assert _audits(db, "auth.login")[-1].details == {"method": "phone_code", "known_device": True}


# --- changing one's number ---------------------------------------------------------------------

def test_changing_the_number_needs_a_code_sent_to_the_new_number(client, factory, db, channels, login_as):
    _smtp, wa = channels
    user = login_as(_trainee(factory))
    resp = client.form_post("/account/phone", {"phone": "0813-1111-2222"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/phone/confirm")
    dispatch.run_once()
    assert wa.received[-1]["to"] == "6281311112222"
    code = _code_from_whatsapp(wa)
    db.session.refresh(user)
    assert user.phone == PHONE  # not before the code
    assert "Kode salah" in client.form_post("/account/phone/confirm", {"code": "000000"}).get_data(as_text=True) \
        or code == "000000"
    resp = client.form_post("/account/phone/confirm", {"code": code})
    assert resp.status_code == 302
    db.session.refresh(user)
    assert user.phone == "+6281311112222"
    changed = _audits(db, "user.phone_changed")[-1]
    assert changed.actor_id == user.id and changed.details["old_phone"] == PHONE \
        and changed.details["new_phone"] == "+6281311112222"
    assert _audits(db, "auth.code_requested")[-1].details["purpose"] == "phone_change"


def test_a_number_of_another_active_account_cannot_be_taken(client, factory, login_as):
    factory.user("trainee", phone="+6281311113333")
    login_as(_trainee(factory))
    resp = client.form_post("/account/phone", {"phone": "0813-1111-3333"})
    assert resp.status_code == 200 and "sudah dipakai akun lain" in resp.get_data(as_text=True)


def test_set_up_link_goes_over_whatsapp_without_the_marketing_opt_in(client, factory, db, channels, login_as):
    _smtp, wa = channels
    login_as("admin")
    outlet = factory.outlet("3171")
    resp = client.form_post("/users/new", {"full_name": "Ibu Tanpa Surel", "email": "", "phone": "0812-7777-0001",
                                           "role": "trainee", "region_id": "", "outlet_code": outlet.code})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    # the person did not ask for it, so a link made late in the evening waits for the morning ...
    tomorrow = datetime.now(WIB).date() + timedelta(days=1)
    night = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 5, 30, tzinfo=WIB).astimezone(timezone.utc)
    dispatch.run_once(night)
    assert wa.received == []
    # ... and goes at six, without the marketing opt-in
    dispatch.run_once(night + timedelta(minutes=31))
    assert [m["to"] for m in wa.received] == ["6281277770001"]


def test_a_number_shared_by_two_active_accounts_signs_nobody_in(client, factory, db, channels):
    _smtp, wa = channels
    _trainee(factory)
    _trainee(factory)  # old data, written around the services
    assert _ask(client).status_code == 302
    dispatch.run_once()
    assert wa.received == []


def test_the_user_form_refuses_a_number_of_another_active_account(client, factory, login_as):
    factory.user("trainee", phone=PHONE)
    login_as("admin")
    outlet = factory.outlet("3171")
    resp = client.form_post("/users/new", {"full_name": "Ibu Kembar", "email": "", "phone": TYPED,
                                           "role": "trainee", "region_id": "", "outlet_code": outlet.code})
    assert resp.status_code == 200 and "sudah dipakai akun aktif lain" in resp.get_data(as_text=True)


def test_staff_still_need_an_e_mail(client, factory, login_as):
    login_as("admin")
    resp = client.form_post("/users/new", {"full_name": "Pak Tanpa Surel", "email": "", "phone": "0812-7777-0002",
                                           "role": "mentor", "region_id": str(factory.region("3171").id)})
    assert resp.status_code == 200 and "Staf wajib punya alamat e-mail" in resp.get_data(as_text=True)


def test_a_deactivated_account_cannot_come_back_onto_a_number_its_successor_uses(client, factory, db, login_as):
    old = factory.user("trainee", phone=PHONE, active=False)
    factory.user("trainee", phone=PHONE)
    login_as("admin")
    resp = client.form_post(f"/users/{old.id}/active", {"active": "1"})
    assert resp.status_code == 302
    db.session.refresh(old)
    assert old.active is False
    assert "sekarang dipakai akun aktif lain" in client.get(f"/users/{old.id}").get_data(as_text=True)


# --- managers without e-mail: import, set-up link to WhatsApp --------------------------------------

def test_an_e_mail_less_manager_imported_from_csv_signs_in_by_phone(app, client, factory, db, channels, login_as):
    from urllib.parse import parse_qs, unquote, urlsplit

    from tests.test_import import HEADER, confirm, csv_bytes, row, token_of

    _smtp, wa = channels
    login_as("coordinator", region="3171")
    data = csv_bytes([HEADER, row(1, email="", phone="0812-5555-0101"), row(2)])
    r = client.form_post("/import/outlets", {"file": (io.BytesIO(data), "ewarong.csv"), "cohort": ""})
    assert r.status_code == 200 and "Ya, impor sekarang" in r.get_data(as_text=True), r.get_data(as_text=True)[:3000]
    r = confirm(client, token_of(r))
    html = r.get_data(as_text=True)
    assert "Impor selesai" in html
    manager = db.session.scalar(sa.select(User).where(User.phone == "+6281255550101"))
    assert manager.email is None and manager.role.value == "trainee" and manager.managed_outlet.code == "EW-3171-001"
    # the result offers the set-up link straight to WhatsApp, the message written in Indonesian
    wa_links = re.findall(r'href="(https://wa\.me/6281255550101\?text=[^"]+)"', html)
    assert len(wa_links) == 1
    text = parse_qs(urlsplit(wa_links[0].replace("&amp;", "&")).query)["text"][0]
    assert text.startswith("Halo Pengelola,") and "/set-password/" in text and "nomor HP" in text
    assert unquote(wa_links[0]) != wa_links[0]  # URL-encoded
    # the manager signs in with the number and a code
    person = app.test_client()
    assert _ask(person, "0812-5555-0101").status_code == 302
    dispatch.run_once()
    code = _code_from_whatsapp(wa)
    assert _enter(person, code).status_code == 302
    # an imported manager has not accepted the privacy notice yet: that comes first
    assert person.get("/home").headers["Location"].startswith("/privasi/persetujuan")
    assert person.form_post("/privasi/persetujuan", {"agree": "y", "whatsapp": "no", "accept": "1"}).status_code == 302
    assert _signed_in_as(person, manager)


def test_an_import_row_needs_an_e_mail_or_a_phone_and_a_number_once(app, client, login_as, factory):
    from tests.test_import import HEADER, csv_bytes, row

    factory.user("trainee", phone="+6281255550303")
    login_as("coordinator", region="3171")
    data = csv_bytes([HEADER, row(1, email="", phone=""), row(2, email="", phone="0812-5555-0202"),
                      row(3, email="", phone="0812-5555-0202"), row(4, email="baru4@uji.example", phone="0812-5555-0303")])
    r = client.form_post("/import/outlets", {"file": (io.BytesIO(data), "ewarong.csv"), "cohort": ""})
    html = r.get_data(as_text=True)
    assert "e-mail atau No HP pengelola" in html
    assert "sudah dipakai di baris 3" in html  # row 4 of the sheet repeats row 3's number
    assert "sudah dipakai akun aktif lain" in html
    assert "Ya, impor sekarang" not in html


def test_the_user_page_sends_the_set_up_link_to_whatsapp_in_the_persons_language(client, factory, db, login_as):
    from urllib.parse import parse_qs, urlsplit

    login_as("admin")
    outlet = factory.outlet("3171")
    r = client.form_post("/users/new", {"full_name": "Ibu Tanpa Surel", "email": "", "phone": "0812-7777-0003",
                                        "role": "trainee", "region_id": "", "outlet_code": outlet.code})
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    m = re.search(r'href="(https://wa\.me/6281277770003\?text=[^"]+)"', html)
    assert m and "Kirim lewat WhatsApp" in html
    text = parse_qs(urlsplit(m.group(1).replace("&amp;", "&")).query)["text"][0]
    assert text.startswith("Halo Ibu,") and "/set-password/" in text
    assert "masuk dengan nomor HP" in html  # the e-mail line of a manager without one


def test_cli_creates_a_manager_with_only_a_phone_and_refuses_staff_without_e_mail(app, db, factory):
    outlet = factory.outlet("3171")
    runner = app.test_cli_runner()
    db.session.commit()
    r = runner.invoke(args=["user", "create", "--name", "Ibu Warsini", "--role", "trainee", "--outlet", outlet.code,
                            "--phone", "0812-6666-0101"], input="\n")
    assert r.exit_code == 0, r.output
    assert "created trainee +6281266660101" in r.output
    db.session.rollback()
    u = db.session.scalar(sa.select(User).where(User.phone == "+6281266660101"))
    assert u.email is None and u.managed_outlet.id == outlet.id
    r = runner.invoke(args=["user", "create", "--name", "Pak Staf", "--role", "mentor", "--region", "3171",
                            "--phone", "0812-6666-0102"], input="\n")
    assert r.exit_code != 0 and "Staf wajib punya alamat e-mail" in r.output


def test_pages_and_exports_cope_with_a_manager_without_e_mail(client, factory, db, login_as):
    from lms.reports import services as reports
    from lms.reports.services import Filters

    enrolment = factory.enrolment(trainee=factory.user("trainee", email=None, phone="+6281266660201",
                                                       full_name="Ibu Tanpa Surel"))
    admin = login_as("admin")
    html = client.get("/users?q=Tanpa+Surel").get_data(as_text=True)
    assert "Ibu Tanpa Surel" in html and ">None<" not in html
    header, rows = reports.export(admin, "progress", Filters())
    row = next(dict(zip(header, r)) for r in rows if "Ibu Tanpa Surel" in r)
    assert all(v is None or "None" not in str(v) for v in row.values())
    # an e-mail-less person acting shows in the audit log without "None"
    from lms.audit.services import record

    with transaction():
        record("user.phone_changed", actor=enrolment.user, target=enrolment.user, ip="10.0.0.1")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "Ibu Tanpa Surel" in html and ">None<" not in html


def test_the_audit_log_reads_phone_sign_ins_in_words(app, client, factory, db, login_as):
    _trainee(factory)
    person = app.test_client()
    _ask(person)
    _enter(person, "000000")
    login_as("admin")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "Kode sekali pakai diminta (nomor HP)" in html and "kode salah" in html
