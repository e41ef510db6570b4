"""People: phone numbers, creating and editing users, administration, the user list."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.errors import Invalid
from lms.people import services
from lms.people.models import PasswordSetupToken, Role, User
from lms.people.phone import display_phone, normalize_phone

#: deactivating takes a reason and the confirm step
DEACTIVATE = {"active": "0", "reason": "Tidak lagi mengelola e-Warong", "confirmed": "1"}


# --- phone numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("raw,e164", [
    ("081234567890", "+6281234567890"),
    ("0812-3456-7890", "+6281234567890"),
    ("0812 3456 7890", "+6281234567890"),
    ("+6281234567890", "+6281234567890"),
    ("+62 812-3456-7890", "+6281234567890"),
    ("6281234567890", "+6281234567890"),
    ("0062 812 3456 7890", "+6281234567890"),
    ("81234567890", "+6281234567890"),  # the leading 0 a spreadsheet dropped
    ("81234567890.0", "+6281234567890"),  # ... and the float it made of it
    ("6281234567890.0", "+6281234567890"),
    (81234567890.0, "+6281234567890"),
    ("0812.3456.7890", "+6281234567890"),
    ("021-3456789", "+62213456789"),
    ("(021) 345-6789", "+62213456789"),
    ("021 3456 7890", "+622134567890"),
    ("  0857 1234 5678  ", "+6285712345678"),
])
def test_normalize_phone(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", [None, "", "   ", " - "])
def test_normalize_empty_phone_is_none(raw):
    assert normalize_phone(raw) is None


@pytest.mark.parametrize("raw", [
    "+1 555 123 4567",  # not Indonesian
    "+44 20 7946 0958",
    "12345",
    "0812",  # too short
    "0812345",
    "08123456789012345",  # too long
    "abc",
    "0812-3456-789x",
    "+62 0812 3456 7890",  # a 0 after the country code
    "+62",
    "62",
    "0",
    "1234567890.5",
])
def test_normalize_phone_rejects(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw)


@pytest.mark.parametrize("e164,shown", [
    ("+6281234567890", "0812-3456-7890"),
    ("+628123456789", "0812-3456-789"),
    ("+62213456789", "0213456789"),
    (None, ""),
    ("", ""),
])
def test_display_phone(e164, shown):
    assert display_phone(e164) == shown


def test_display_then_normalize_round_trips():
    for e164 in ("+6281234567890", "+628123456789", "+62213456789", "+6285712345678"):
        assert normalize_phone(display_phone(e164)) == e164


# --- creating users through the form --------------------------------------------------------

def _user_form(**over):  # type: ignore[no-untyped-def]
    data = {"full_name": "Ibu Sumiati", "email": "sumiati@uji.example", "phone": "0812-3456-7001",
            "role": "trainee", "region_id": "", "outlet_code": ""}
    data.update(over)
    return data


def _count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_admin_creates_a_trainee_for_an_outlet(client, factory, login_as, db):
    outlet = factory.outlet("3172")
    login_as("admin")
    r = client.form_post("/users/new", _user_form(outlet_code=outlet.code.lower()))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    user = db.session.scalar(sa.select(User).where(User.email == "sumiati@uji.example"))
    assert user.role is Role.TRAINEE and user.phone == "+6281234567001"
    assert user.region_id == outlet.region_id
    assert user.managed_outlet.id == outlet.id and user.password_hash is None
    assert r.headers["Location"] == f"/users/{user.id}"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "/set-password/" in page  # the one-time set-up link, shown once
    assert "/set-password/" not in client.get(f"/users/{user.id}").get_data(as_text=True)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.created"))
    assert entry.target_id == str(user.id) and entry.details["role"] == "trainee"


def test_admin_creates_an_all_dki_coordinator(client, login_as, db):
    login_as("admin")
    r = client.form_post("/users/new", _user_form(role="coordinator", email="koord@uji.example"))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    user = db.session.scalar(sa.select(User).where(User.email == "koord@uji.example"))
    assert user.role is Role.COORDINATOR and user.region_id is None


def test_coordinator_creates_trainee_and_mentor_in_own_region(client, factory, login_as, db):
    outlet = factory.outlet("3171")
    login_as("coordinator", region="3171")
    r = client.form_post("/users/new", _user_form(outlet_code=outlet.code))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    r = client.form_post("/users/new", _user_form(role="mentor", email="mentor.baru@uji.example",
                                                  phone="0812-3456-7002",  # a number is one active account's
                                                  region_id=str(factory.region("3171").id)))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    mentor = db.session.scalar(sa.select(User).where(User.email == "mentor.baru@uji.example"))
    assert mentor.role is Role.MENTOR and mentor.region_id == factory.region("3171").id


@pytest.mark.parametrize("over,message", [
    ({"role": "coordinator", "region_id": "{r3171}"}, "Pilihan tidak valid"),
    ({"role": "admin"}, "Pilihan tidak valid"),
    ({"role": "mentor", "region_id": "{r3172}"}, "Pilihan tidak valid"),
    ({"role": "mentor", "region_id": ""}, "Pendamping harus punya wilayah kerja"),
    ({"role": "trainee", "outlet_code": "{outlet3172}"}, "tidak ditemukan di wilayah Anda"),
    ({"role": "trainee", "outlet_code": "EW-TIDAK-ADA"}, "tidak ditemukan di wilayah Anda"),
    ({"role": "trainee", "outlet_code": ""}, "harus terhubung ke satu e-Warong"),
    ({"role": "mentor", "region_id": "{r3171}", "phone": "0812"}, "Nomor telepon tidak valid"),
    ({"role": "mentor", "region_id": "{r3171}", "email": "bukan-email"}, "e-mail"),
    ({"role": "mentor", "region_id": "{r3171}", "full_name": ""}, "Nama lengkap wajib diisi"),
])
def test_coordinator_create_errors_are_form_errors(client, factory, login_as, db, over, message):
    outlet3172 = factory.outlet("3172")
    fill = {"r3171": str(factory.region("3171").id), "r3172": str(factory.region("3172").id),
            "outlet3172": outlet3172.code}
    over = {k: v.format(**fill) for k, v in over.items()}
    login_as("coordinator", region="3171")
    before = _count(db, User)
    r = client.form_post("/users/new", _user_form(**over))
    assert r.status_code == 200
    assert message.lower() in r.get_data(as_text=True).lower()
    assert _count(db, User) == before


def test_service_refuses_roles_the_form_hides(factory, db):
    """The form offers only allowed choices; the service enforces the rule on its own."""
    coord = factory.user("coordinator", region="3171")
    for role, region in ((Role.COORDINATOR, "3171"), (Role.ADMIN, None), (Role.MENTOR, "3172")):
        with pytest.raises(Invalid) as e:
            services.create_user(coord, services.UserInput(
                email=f"{role.value}.x@uji.example", full_name="X", role=role,
                region_id=factory.region(region).id if region else None))
        assert "role" in e.value.reasons
    # an all-DKI coordinator may place a mentor anywhere
    everywhere = factory.user("coordinator", region=None)
    user, _ = services.create_user(everywhere, services.UserInput(
        email="mentor.utara@uji.example", full_name="Pak Utara", role=Role.MENTOR,
        region_id=factory.region("3172").id))
    assert user.region_id == factory.region("3172").id


def test_duplicate_email_in_another_case_is_a_form_error(client, factory, login_as, db):
    factory.user("mentor", email="sama@uji.example")
    login_as("admin")
    before = _count(db, User)
    r = client.form_post("/users/new", _user_form(role="mentor", email="SAMA@Uji.Example",
                                                  region_id=str(factory.region("3171").id)))
    assert r.status_code == 200
    assert "E-mail ini sudah dipakai akun lain." in r.get_data(as_text=True)
    assert _count(db, User) == before


# --- editing ----------------------------------------------------------------------------------

def test_edit_user(client, factory, login_as, db):
    target = factory.user("mentor", region="3171", phone="+6281234567000")
    login_as("coordinator", region="3171")
    form = client.get(f"/users/{target.id}/edit").get_data(as_text=True)
    assert 'value="0812-3456-7000"' in form  # shown as people write it
    r = client.form_post(f"/users/{target.id}/edit", _user_form(
        full_name="Pak Joko Widodo", email=target.email.upper(), phone="0857 1111 2222", role="mentor",
        region_id=str(factory.region("3171").id)))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert (user.full_name, user.phone, user.email) == ("Pak Joko Widodo", "+6285711112222", target.email.lower())
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.updated",
                                                         AuditEntry.target_id == str(target.id))) is not None
    # not a role change: no role_changed entry, sessions kept
    assert _count(db, AuditEntry, AuditEntry.action == "user.role_changed") == 0
    assert user.session_token == target.session_token


def test_coordinator_may_not_edit_a_coordinator(client, factory, login_as):
    peer = factory.user("coordinator", region="3171")
    login_as("coordinator", region="3171")
    assert client.get(f"/users/{peer.id}").status_code == 200
    assert client.get(f"/users/{peer.id}/edit").status_code == 403


def test_role_change_is_audited_and_ends_sessions(client, factory, login_as, db):
    target = factory.user("mentor", region="3171")
    token = target.session_token
    admin = login_as("admin")
    r = client.form_post(f"/users/{target.id}/edit", _user_form(
        full_name=target.full_name, email=target.email, phone="", role="coordinator",
        region_id=str(factory.region("3172").id)))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.role is Role.COORDINATOR and user.region_id == factory.region("3172").id
    assert user.session_token != token
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.role_changed"))
    assert entry.actor_id == admin.id and entry.target_id == str(target.id)
    assert entry.details["old_role"] == "mentor" and entry.details["new_role"] == "coordinator"
    assert entry.details["new_region_id"] == factory.region("3172").id


# --- administration ------------------------------------------------------------------------------

def test_deactivate_and_reactivate(client, factory, login_as, db):
    target = factory.user("mentor")
    token = target.session_token
    admin = login_as("admin")
    page = client.get(f"/users/{target.id}").get_data(as_text=True)
    assert "Nonaktifkan akun" in page
    assert client.form_post(f"/users/{target.id}/active", DEACTIVATE).status_code == 302
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.active is False and user.session_token != token
    assert "Aktifkan kembali" in client.get(f"/users/{target.id}").get_data(as_text=True)
    assert client.form_post(f"/users/{target.id}/active", {"active": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True
    actions = list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.target_id == str(target.id), AuditEntry.actor_id == admin.id).order_by(AuditEntry.id)))
    assert actions == ["user.deactivated", "user.activated"]


def test_reset_password(client, factory, login_as, db):
    target = factory.user("trainee")
    token = target.session_token
    admin = login_as("admin")
    r = client.form_post(f"/users/{target.id}/reset-password", {"confirmed": "1"})
    assert r.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.password_hash is None and user.session_token != token
    assert _count(db, PasswordSetupToken, PasswordSetupToken.user_id == target.id) == 1
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.password_reset"))
    assert entry.actor_id == admin.id and entry.target_id == str(target.id)
    # the raw token is only in the link: stored hashed, never logged
    page = client.get(f"/users/{target.id}").get_data(as_text=True)
    raw = re.search(r"/set-password/([A-Za-z0-9_\-]+)", page).group(1)
    stored = db.session.scalar(sa.select(PasswordSetupToken.token_hash).where(PasswordSetupToken.user_id == target.id))
    assert raw not in stored and len(stored) == 64
    assert raw not in str(entry.details)


def test_deactivation_asks_first_and_requires_a_reason(client, factory, login_as, db):
    target = factory.user("mentor", full_name="Rina Marlina")
    token = target.session_token
    login_as("admin")
    url = f"/users/{target.id}/active"

    def unchanged() -> None:
        db.session.expire_all()
        user = db.session.get(User, target.id)
        assert user.active is True and user.session_token == token and user.deactivation_reason is None
        assert _count(db, AuditEntry, AuditEntry.action == "user.deactivated") == 0

    # no reason, or too short: a message beside the field, nothing happens
    for reason, message in (("", "Tulis alasan menonaktifkan akun ini."), ("  ab ", "Alasan minimal 5 karakter."),
                            ("x" * 501, "500")):
        r = client.form_post(url, {"active": "0", "reason": reason, "confirmed": "1"})
        assert r.status_code == 422 and message in r.get_data(as_text=True), reason
        unchanged()
    # a reason but no confirmation: the confirm page says what will happen, nothing happens
    r = client.form_post(url, {"active": "0", "reason": "Pindah tugas ke Dinas lain"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Nonaktifkan akun Rina Marlina?" in html
    assert "tidak bisa masuk lagi" in html and "Semua sesinya di semua perangkat langsung berakhir." in html
    assert "Pindah tugas ke Dinas lain" in html and 'name="confirmed" value="1"' in html
    assert 'name="reason" value="Pindah tugas ke Dinas lain"' in html
    unchanged()
    # confirmed without a CSRF token: refused
    assert client.post(url, data={"active": "0", "reason": "Pindah tugas", "confirmed": "1"}).status_code == 400
    unchanged()
    # confirmed: done, the reason kept on the account and in the log
    r = client.form_post(url, {"active": "0", "reason": "  Pindah tugas ke   Dinas lain ", "confirmed": "1"})
    assert r.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.active is False and user.session_token != token
    assert user.deactivation_reason == "Pindah tugas ke Dinas lain" and user.deactivated_at is not None
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.deactivated"))
    assert entry.details == {"reason": "Pindah tugas ke Dinas lain"}
    page = client.get(f"/users/{target.id}").get_data(as_text=True)
    assert "Pindah tugas ke Dinas lain" in page and "Aktifkan kembali" in page


def test_deactivation_service_requires_a_reason(factory, db):
    admin, target = factory.user("admin"), factory.user("mentor")
    with pytest.raises(Invalid) as e:
        services.set_active(admin, target, False, reason="   ")
    assert "reason" in e.value.reasons
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True


def test_password_reset_asks_first(client, factory, login_as, db):
    target = factory.user("trainee", full_name="Siti Aminah")
    before = target.password_hash
    login_as("admin")
    r = client.form_post(f"/users/{target.id}/reset-password")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Reset kata sandi Siti Aminah?" in html
    assert "langsung tidak berlaku" in html and "berlaku 72 jam" in html and 'name="confirmed" value="1"' in html
    assert "/set-password/" not in html
    db.session.expire_all()
    assert db.session.get(User, target.id).password_hash == before
    assert _count(db, PasswordSetupToken, PasswordSetupToken.user_id == target.id) == 0
    assert _count(db, AuditEntry, AuditEntry.action == "user.password_reset") == 0
    assert client.post(f"/users/{target.id}/reset-password", data={"confirmed": "1"}).status_code == 400
    r = client.form_post(f"/users/{target.id}/reset-password", {"confirmed": "1"})
    assert r.status_code == 302
    assert "/set-password/" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_admin_cannot_deactivate_or_reset_self(client, login_as, db):
    admin = login_as("admin")
    assert "Nonaktifkan akun" not in client.get(f"/users/{admin.id}").get_data(as_text=True)
    assert client.form_post(f"/users/{admin.id}/active", DEACTIVATE).status_code == 403
    assert client.form_post(f"/users/{admin.id}/reset-password", {"confirmed": "1"}).status_code == 403
    db.session.expire_all()
    me = db.session.get(User, admin.id)
    assert me.active is True and me.password_hash is not None
    assert client.get("/home").status_code == 200


# --- the user list ---------------------------------------------------------------------------------

def _names(html: str) -> set[str]:
    return set(re.findall(r'<a href="/users/\d+">([^<]+)</a>', html))


@pytest.fixture
def people(factory):  # type: ignore[no-untyped-def]
    return {
        "siti": factory.user("trainee", region="3171", full_name="Siti Aminah", phone="+6281234567555"),
        "budi": factory.user("mentor", region="3172", full_name="Budi Santoso", email="budi.santoso@uji.example"),
        "rina": factory.user("mentor", region="3171", full_name="Rina Marlina"),
        "agus": factory.user("coordinator", region="3173", full_name="Agus Salim"),
        "root": factory.user("admin", full_name="Admin Pusat"),
    }


def test_user_list_search_and_filters(client, factory, login_as, people):
    login_as("admin", full_name="Admin Penguji")
    assert {"Siti Aminah", "Budi Santoso", "Rina Marlina", "Agus Salim"} <= _names(client.get("/users").get_data(as_text=True))
    assert _names(client.get("/users?q=aminah").get_data(as_text=True)) == {"Siti Aminah"}
    assert _names(client.get("/users?q=BUDI.SANTOSO@").get_data(as_text=True)) == {"Budi Santoso"}
    assert _names(client.get("/users?q=81234567555").get_data(as_text=True)) == {"Siti Aminah"}
    # as people write the number
    assert _names(client.get("/users?q=0812-3456-7555").get_data(as_text=True)) == {"Siti Aminah"}
    r3172 = factory.region("3172").id
    assert _names(client.get(f"/users?region={r3172}").get_data(as_text=True)) == {"Budi Santoso"}
    assert _names(client.get("/users?role=mentor").get_data(as_text=True)) == {"Budi Santoso", "Rina Marlina"}
    r3171 = factory.region("3171").id
    assert _names(client.get(f"/users?role=mentor&region={r3171}").get_data(as_text=True)) == {"Rina Marlina"}
    assert _names(client.get("/users?q=tidak-ada-yang-cocok").get_data(as_text=True)) == set()
    # % and _ are letters to search for, not wildcards
    assert _names(client.get("/users?q=%25").get_data(as_text=True)) == set()
    assert _names(client.get("/users?q=siti_aminah").get_data(as_text=True)) == set()


def test_user_list_scope_of_a_regional_coordinator(client, factory, login_as, people):
    me = login_as("coordinator", region="3171", full_name="Koordinator Pusat")
    names = _names(client.get("/users").get_data(as_text=True))
    # own region (and self); no admins, no other regions
    assert names == {"Siti Aminah", "Rina Marlina", me.full_name}
    r3172 = factory.region("3172").id
    assert _names(client.get(f"/users?region={r3172}").get_data(as_text=True)) == set()


def test_user_list_pagination(client, factory, login_as, app):
    app.config["PAGE_SIZE"] = 3
    for i in range(7):
        factory.user("mentor", region="3171", full_name=f"Pendamping {i:02d}")
    login_as("admin", full_name="Zainal Admin")  # sorts last
    seen: list[set[str]] = []
    for page in (1, 2, 3):
        html = client.get(f"/users?page={page}").get_data(as_text=True)
        assert f"Halaman {page} dari 3" in html
        seen.append(_names(html))
    assert [len(s) for s in seen] == [3, 3, 2]
    assert set().union(*seen) == {f"Pendamping {i:02d}" for i in range(7)} | {"Zainal Admin"}
    html = client.get("/users?page=1&role=mentor").get_data(as_text=True)
    assert 'href="/users?page=2&amp;role=mentor"' in html or 'href="/users?role=mentor&amp;page=2"' in html


@pytest.mark.parametrize("query", [
    "page=abc", "page=-3", "page=0", "page=99999999999999999999", "page=1e9", "page=%20",
    "region=xyz", "region=99999999999999999999", "region=-1", "role=superuser", "role=",
    "q=" + "x" * 5000, "q=%25%25%5F", "q=%27%3B--", "q=%E2%80%AE", "q=%F0%9F%98%80",
])
def test_user_list_bad_input_never_fails(client, login_as, query):
    login_as("admin")
    r = client.get("/users?" + query)
    assert r.status_code == 200


@pytest.mark.parametrize("query", ["q=%00", "q=abc%00def", "region=%00", "page=%00", "role=mentor&q=x&q=%00"])
def test_nul_bytes_are_a_bad_request_not_a_crash(client, login_as, query):
    """PostgreSQL refuses NUL in text; the app refuses it first, as a bad request."""
    login_as("admin")
    r = client.get("/users?" + query)
    assert r.status_code == 400
    assert "Permintaan tidak valid" in r.get_data(as_text=True)
