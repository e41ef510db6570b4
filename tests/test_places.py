"""Outlets (e-Warong), their managers over time, and the regions and kecamatan of DKI Jakarta."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.errors import Invalid
from lms.permissions import SYSTEM
from lms.places import services
from lms.places.models import Kecamatan, Outlet, OutletManagerTerm, Region

# --- reference data -----------------------------------------------------------------------

REGIONS = {
    "3171": "Jakarta Pusat", "3172": "Jakarta Utara", "3173": "Jakarta Barat",
    "3174": "Jakarta Selatan", "3175": "Jakarta Timur", "3101": "Kepulauan Seribu",
}
KECAMATAN_PER_REGION = {"3171": 8, "3172": 6, "3173": 8, "3174": 10, "3175": 10, "3101": 2}


def test_six_regions_with_their_codes_and_names(db):
    rows = {r.code: r.name for r in db.session.scalars(sa.select(Region))}
    assert rows == REGIONS


def test_44_kecamatan_spread_over_the_regions(db):
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Kecamatan)) == 44
    counts = dict(db.session.execute(sa.select(Region.code, sa.func.count(Kecamatan.id))
                                     .join(Kecamatan, Kecamatan.region_id == Region.id).group_by(Region.code)).all())
    assert counts == KECAMATAN_PER_REGION
    # codes are the BPS seven-digit form and start with their region's code
    for kec in db.session.scalars(sa.select(Kecamatan).options(sa.orm.joinedload(Kecamatan.region))):
        assert re.fullmatch(r"\d{7}", kec.code) and kec.code.startswith(kec.region.code), kec.code
    names = set(db.session.scalars(sa.select(Kecamatan.name)))
    assert {"Gambir", "Menteng", "Tanjung Priok", "Cengkareng", "Tebet", "Jatinegara",
            "Kepulauan Seribu Utara"} <= names


# --- creating and editing outlets ---------------------------------------------------------------

def _kec(db, name: str) -> Kecamatan:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(Kecamatan).where(Kecamatan.name == name))


def _form(db, **over):  # type: ignore[no-untyped-def]
    data = {"code": "ew-3171-901", "name": "e-Warong Melati", "kube_name": "KUBE Melati", "address": "Jl. Kramat 5",
            "kelurahan": "Kenari", "kecamatan_id": str(_kec(db, "Senen").id), "phone": "0812-3456-7890",
            "active": "y"}
    data.update(over)
    return data


def test_coordinator_creates_an_outlet(client, login_as, db):
    coord = login_as("coordinator", region="3171")
    r = client.form_post("/outlets/new", _form(db))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    outlet = db.session.scalar(sa.select(Outlet).where(Outlet.code == "EW-3171-901"))  # stored upper-case
    assert outlet is not None and r.headers["Location"] == f"/outlets/{outlet.id}"
    assert outlet.phone == "+6281234567890" and outlet.kecamatan.name == "Senen"
    assert outlet.region.code == "3171"  # follows the kecamatan
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outlet.created"))
    assert entry.actor_id == coord.id and entry.target_id == str(outlet.id)
    page = client.get(f"/outlets/{outlet.id}").get_data(as_text=True)
    assert "0812-3456-7890" in page and "Jakarta Pusat (3171)" in page and "Belum ada" in page


@pytest.mark.parametrize("over,message", [
    ({"code": "{existing}"}, "Kode ini sudah dipakai e-Warong lain."),
    ({"code": "{existing_lower}"}, "Kode ini sudah dipakai e-Warong lain."),
    ({"kecamatan_id": ""}, "Pilih kecamatan."),
    ({"kecamatan_id": "{kec_utara}"}, "Pilihan tidak valid"),  # not even offered to a 3171 coordinator
    ({"kecamatan_id": "abc"}, "Pilihan tidak valid"),
    ({"phone": "12345"}, "Nomor telepon tidak valid"),
    ({"phone": "+1 555 123 4567"}, "Nomor telepon tidak valid"),
    ({"name": ""}, "Nama e-Warong wajib diisi."),
    ({"code": ""}, "Kode e-Warong wajib diisi."),
])
def test_outlet_form_errors(client, factory, login_as, db, over, message):
    existing = factory.outlet("3171", code="EW-3171-777")
    fill = {"existing": existing.code, "existing_lower": existing.code.lower(),
            "kec_utara": str(_kec(db, "Koja").id)}
    over = {k: v.format(**fill) for k, v in over.items()}
    login_as("coordinator", region="3171")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Outlet))
    r = client.form_post("/outlets/new", _form(db, **over))
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Outlet)) == before


def test_service_refuses_kecamatan_outside_the_coordinators_region(factory, db):
    coord = factory.user("coordinator", region="3171")
    with pytest.raises(Invalid) as e:
        services.create_outlet(coord, services.OutletInput(code="EW-X-1", name="Di luar", kecamatan_id=_kec(db, "Koja").id))
    assert "Kecamatan ini di luar wilayah Anda." in e.value.reasons["kecamatan_id"]
    # all-DKI coordinators and admins may use any kecamatan
    everywhere = factory.user("coordinator", region=None)
    outlet = services.create_outlet(everywhere, services.OutletInput(code="EW-X-2", name="Utara",
                                                                     kecamatan_id=_kec(db, "Koja").id))
    assert outlet.region.code == "3172"


def test_edit_outlet_moves_region_with_kecamatan_and_is_audited(client, factory, login_as, db):
    outlet = factory.outlet("3171")
    trainee = factory.user("trainee", outlet=outlet)
    login_as("coordinator", region=None)
    page = client.get(f"/outlets/{outlet.id}/edit").get_data(as_text=True)
    assert 'value="0812-3456-7890"' in page
    data = _form(db, code=outlet.code, name="e-Warong Baru", kecamatan_id=str(_kec(db, "Koja").id))
    # another region: the form first says what moves along, and moves only when confirmed
    r = client.form_post(f"/outlets/{outlet.id}/edit", data)
    assert r.status_code == 422 and 'name="confirm_move"' in r.get_data(as_text=True)
    r = client.form_post(f"/outlets/{outlet.id}/edit", {**data, "confirm_move": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    db.session.expire_all()
    outlet = db.session.get(Outlet, outlet.id)
    assert outlet.name == "e-Warong Baru" and outlet.region.code == "3172"
    assert db.session.get(type(trainee), trainee.id).region_id == outlet.region_id  # the manager follows
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outlet.updated"))
    assert entry.details["changes"]["name"][1] == "e-Warong Baru"
    moved = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outlet.moved"))
    assert moved.details["new_kecamatan_id"] == outlet.kecamatan_id


def test_edit_outlet_errors(client, factory, login_as, db):
    outlet = factory.outlet("3171")
    other = factory.outlet("3171")
    login_as("coordinator", region="3171")
    r = client.form_post(f"/outlets/{outlet.id}/edit", _form(db, code=other.code))
    assert r.status_code == 422 and "Kode ini sudah dipakai e-Warong lain." in r.get_data(as_text=True)
    r = client.form_post(f"/outlets/{outlet.id}/edit", _form(db, code=outlet.code, phone="0812"))
    assert r.status_code == 422 and "Nomor telepon tidak valid" in r.get_data(as_text=True)
    # keeping its own code is fine
    r = client.form_post(f"/outlets/{outlet.id}/edit", _form(db, code=outlet.code))
    assert r.status_code == 302


# --- the outlet list ---------------------------------------------------------------------------

def _codes(html: str) -> set[str]:
    return set(re.findall(r'<a href="/outlets/\d+">([^<]+)</a>', html))


def test_outlet_list_search_filter_and_scope(client, factory, login_as, db):
    a = factory.outlet("3171", code="EW-3171-001", name="e-Warong Mawar", kecamatan=_kec(db, "Gambir"))
    b = factory.outlet("3171", code="EW-3171-002", name="e-Warong Anggrek", kecamatan=_kec(db, "Menteng"))
    c = factory.outlet("3172", code="EW-3172-001", name="e-Warong Mawar Utara", kube_name="KUBE Bahari")
    login_as("coordinator", region=None)
    assert _codes(client.get("/outlets").get_data(as_text=True)) == {a.code, b.code, c.code}
    assert _codes(client.get("/outlets?q=mawar").get_data(as_text=True)) == {a.code, c.code}
    assert _codes(client.get("/outlets?q=bahari").get_data(as_text=True)) == {c.code}
    assert _codes(client.get("/outlets?q=ew-3171").get_data(as_text=True)) == {a.code, b.code}
    # % and _ are letters to search for, not wildcards
    assert _codes(client.get("/outlets?q=%25").get_data(as_text=True)) == set()
    assert _codes(client.get("/outlets?q=ew_3171").get_data(as_text=True)) == set()
    assert _codes(client.get(f"/outlets?region={factory.region('3172').id}").get_data(as_text=True)) == {c.code}
    assert _codes(client.get(f"/outlets?kecamatan={_kec(db, 'Menteng').id}").get_data(as_text=True)) == {b.code}
    client.form_post("/logout")
    login_as("coordinator", region="3171")
    assert _codes(client.get("/outlets").get_data(as_text=True)) == {a.code, b.code}
    assert _codes(client.get(f"/outlets?region={factory.region('3172').id}").get_data(as_text=True)) == set()
    client.form_post("/logout")
    mentor = login_as("mentor", region="3171")
    factory.assign_mentor(mentor, b)
    assert _codes(client.get("/outlets").get_data(as_text=True)) == {b.code}  # the caseload only


def test_outlet_list_pagination(client, factory, login_as, app):
    app.config["PAGE_SIZE"] = 4
    codes = {factory.outlet("3173", code=f"EW-3173-{i:03d}").code for i in range(10)}
    login_as("admin")
    pages = []
    for page in (1, 2, 3):
        html = client.get(f"/outlets?page={page}").get_data(as_text=True)
        assert f"Halaman {page} dari 3" in html
        assert "10 e-Warong" in html
        pages.append(_codes(html))
    assert [len(p) for p in pages] == [4, 4, 2]
    assert set().union(*pages) == codes
    assert sorted(pages[0])[0] == "EW-3173-000"  # ordered by code
    assert _codes(client.get("/outlets?page=4").get_data(as_text=True)) == set()


@pytest.mark.parametrize("query", ["page=abc", "page=0", "page=-2", "region=xyz", "kecamatan=xyz",
                                   "q=" + "z" * 5000, "q=%25", "region=99999999999999999999"])
def test_outlet_list_bad_input_never_fails(client, login_as, query):
    login_as("coordinator", region="3171")
    assert client.get("/outlets?" + query).status_code == 200


# --- managers over time ---------------------------------------------------------------------------

def test_manager_change_keeps_history(client, factory, login_as, db):
    first = factory.user("trainee", region="3171", full_name="Ibu Pertama")
    outlet = first.managed_outlet
    second = factory.user("trainee", region="3171", with_outlet=False, full_name="Bapak Kedua")
    services.set_outlet_manager(SYSTEM, outlet, second)
    db.session.expire_all()
    terms = list(db.session.scalars(sa.select(OutletManagerTerm).where(OutletManagerTerm.outlet_id == outlet.id)
                                    .order_by(OutletManagerTerm.id)))
    assert [t.user_id for t in terms] == [first.id, second.id]
    assert terms[0].ended_at is not None and terms[1].ended_at is None
    assert terms[0].ended_at >= terms[0].started_at
    outlet = db.session.get(Outlet, outlet.id)
    assert outlet.manager_id == second.id
    assert db.session.get(type(first), first.id).managed_outlet is None
    actions = set(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_id == str(outlet.id))))
    assert {"outlet.manager_ended", "outlet.manager_set"} <= actions
    login_as("coordinator", region="3171")
    page = client.get(f"/outlets/{outlet.id}").get_data(as_text=True)
    history = page.split("Riwayat pengelola")[1]
    assert "Ibu Pertama" in history and "Bapak Kedua" in history
    assert history.index("Bapak Kedua") < history.index("Ibu Pertama")  # newest first
    assert history.count("sekarang") == 1
    # setting the same manager again changes nothing
    services.set_outlet_manager(SYSTEM, db.session.get(Outlet, outlet.id), db.session.get(type(second), second.id))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutletManagerTerm)
                             .where(OutletManagerTerm.outlet_id == outlet.id)) == 2


def test_a_manager_moving_outlets_leaves_the_old_one(factory, db):
    trainee = factory.user("trainee", region="3171")
    old = trainee.managed_outlet
    new = factory.outlet("3172")
    services.set_outlet_manager(SYSTEM, new, trainee)
    db.session.expire_all()
    assert db.session.get(Outlet, old.id).manager_id is None
    assert db.session.get(Outlet, new.id).manager_id == trainee.id
    assert db.session.get(type(trainee), trainee.id).region_id == new.region_id
    open_terms = list(db.session.scalars(sa.select(OutletManagerTerm).where(
        OutletManagerTerm.user_id == trainee.id, OutletManagerTerm.ended_at.is_(None))))
    assert [t.outlet_id for t in open_terms] == [new.id]


def test_only_trainees_manage_outlets(factory):
    outlet = factory.outlet("3171")
    mentor = factory.user("mentor", region="3171")
    with pytest.raises(Invalid):
        services.set_outlet_manager(SYSTEM, outlet, mentor)
