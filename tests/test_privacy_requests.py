"""Correction and erasure requests (UU PDP): the person asks and follows; the coordinator of their region
(or an admin) accepts through the normal services or declines with a reason; deadlines; notifications;
who sees what; bounded lists."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.extensions import db
from lms.notifications import dispatch
from lms.notifications.models import Notification
from lms.privacy import requests
from lms.privacy.models import DataRequest, RequestKind, RequestStatus


def _actions(target_type: str | None = None) -> list[str]:
    q = sa.select(AuditEntry.action).order_by(AuditEntry.id)
    if target_type:
        q = q.where(AuditEntry.target_type == target_type)
    return list(db.session.scalars(q))


def _notes(user) -> list[str]:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(sa.select(Notification.title).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def _latest() -> DataRequest:
    return db.session.scalars(sa.select(DataRequest).order_by(DataRequest.id.desc()).limit(1)).one()


def _ask(client, field: str, message: str = "Data saya keliru di aplikasi", value: str = ""):  # type: ignore[no-untyped-def]
    return client.form_post("/privasi/permintaan/baru", {"kind": "correction", "field": field, "message": message,
                                                         "proposed_value": value})


def _sign_out(client) -> None:  # type: ignore[no-untyped-def]
    client.form_post("/logout")


def _pending(person, field: str = "other", kind: RequestKind = RequestKind.CORRECTION, hours_ago: float = 0,
             value: str | None = None) -> DataRequest:  # type: ignore[no-untyped-def]
    created = utcnow() - timedelta(hours=hours_ago)
    with transaction():
        req = DataRequest(user_id=person.id, kind=kind, field=field if kind is RequestKind.CORRECTION else None,
                          message="Ada yang salah", proposed_value=value, created_at=created,
                          due_at=created + timedelta(hours=72))
        db.session.add(req)
    return req


# --- the person's side -------------------------------------------------------------------------------

def test_a_name_correction_is_applied_by_the_regions_coordinator_and_both_see_the_history(
        client, factory, login_as):
    person = factory.user("trainee", region="3171", full_name="Siti Aminah", phone="+6281234560001")
    coordinator = factory.user("coordinator", region="3171", full_name="Koordinator Pusat")
    everywhere = factory.user("coordinator", region=None)
    elsewhere = factory.user("coordinator", region="3172")
    admin = factory.user("admin", region=None)

    login_as(person)
    page = client.get("/privasi/permintaan/baru").get_data(as_text=True)
    assert "Minta koreksi data" in page and "Minta data dihapus" in page
    page = client.get("/privasi/permintaan/baru?jenis=koreksi").get_data(as_text=True)
    assert "Siti Aminah" in page  # what is recorded now is shown beside the form
    resp = _ask(client, "full_name", "Nama belakang saya tidak tertulis", "Siti Aminah Lubis")
    assert resp.status_code == 302
    req = _latest()
    assert (req.kind, req.status, req.field, req.proposed_value) == (
        RequestKind.CORRECTION, RequestStatus.PENDING, "full_name", "Siti Aminah Lubis")
    assert req.due_at - req.created_at == timedelta(hours=72)
    detail = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert re.search(r"sisa 7[12] jam", detail), detail
    assert "Menunggu jawaban" in detail
    assert "privacy.request_created" in _actions("data_request")

    # the handlers are told in-app: the region's coordinator and the all-DKI one; not 3172, not the admin
    dispatch.run_once()
    assert _notes(coordinator) == ["Permintaan koreksi data dari Siti Aminah"]
    assert len(_notes(everywhere)) == 1
    assert _notes(elsewhere) == [] and _notes(admin) == []

    _sign_out(client)
    login_as(coordinator)
    listing = client.get("/privasi/tinjau").get_data(as_text=True)
    assert f"/privasi/permintaan/{req.id}" in listing and "Siti Aminah" in listing
    resp = client.form_post(f"/privasi/permintaan/{req.id}/terima", {"response": "Sesuai KTP."})
    assert resp.status_code == 302
    db.session.expire_all()
    assert person.full_name == "Siti Aminah Lubis"  # applied through people.services.update_user
    assert req.status is RequestStatus.ACCEPTED and req.handled_by_id == coordinator.id
    assert _actions()[-2:] == ["user.updated", "privacy.request_accepted"]
    handler_view = client.get(f"/privasi/permintaan/{req.id}").get_data(as_text=True)
    assert "Diterima" in handler_view and "Sesuai KTP." in handler_view

    dispatch.run_once()
    assert _notes(person) == ["Koreksi data Anda sudah diterapkan"]
    _sign_out(client)
    login_as(person)
    mine = client.get("/privasi/permintaan").get_data(as_text=True)
    assert "Diterima" in mine and f"/privasi/permintaan/{req.id}" in mine
    own_view = client.get(f"/privasi/permintaan/{req.id}").get_data(as_text=True)
    assert "Koordinator Pusat" in own_view and "Sesuai KTP." in own_view and "Dikirim oleh" in own_view


def test_declining_needs_a_reason_which_the_person_reads(client, factory, login_as):
    person = factory.user("trainee", region="3171", phone="+6281234560002")
    req = _pending(person, "outlet_name", value="e-Warong Mawar")
    login_as("coordinator", region="3171")
    resp = client.form_post(f"/privasi/permintaan/{req.id}/tolak", {"reason": ""})
    assert resp.status_code == 422 and "Tulis alasan penolakan." in resp.get_data(as_text=True)
    db.session.expire_all()
    assert req.status is RequestStatus.PENDING
    resp = client.form_post(f"/privasi/permintaan/{req.id}/tolak",
                            {"reason": "Nama e-Warong mengikuti SK Dinas Sosial."})
    assert resp.status_code == 302
    db.session.expire_all()
    assert req.status is RequestStatus.DECLINED and req.response == "Nama e-Warong mengikuti SK Dinas Sosial."
    assert person.managed_outlet.name != "e-Warong Mawar"
    assert _actions("data_request")[-1] == "privacy.request_declined"
    # once answered, nobody handles it again
    assert client.form_post(f"/privasi/permintaan/{req.id}/terima", {}).status_code == 403
    dispatch.run_once()
    assert _notes(person) == ["Permintaan koreksi data Anda ditolak"]
    body = db.session.scalar(sa.select(Notification.body).where(Notification.user_id == person.id))
    assert "SK Dinas Sosial" in body
    _sign_out(client)
    login_as(person)
    assert "SK Dinas Sosial" in client.get(f"/privasi/permintaan/{req.id}").get_data(as_text=True)


def test_a_phone_correction_follows_the_rules_of_the_people_service(client, factory, login_as):
    person = factory.user("trainee", region="3171", phone="+6281234560003")
    factory.user("trainee", region="3171", phone="+6281299990000")  # an active account holds this number
    login_as(person)
    resp = _ask(client, "phone", "Nomor saya sudah ganti", "nomor baru")
    assert resp.status_code == 422 and "Nomor telepon tidak valid" in resp.get_data(as_text=True)
    assert _ask(client, "phone", "Nomor saya sudah ganti", "0812-9999-0000").status_code == 302
    taken = _latest()
    # one pending request per item: a friendly message with a link to the waiting one
    resp = _ask(client, "phone", "Nomor saya sudah ganti lagi", "0812-9999-0001")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "sedang menunggu jawaban" in html
    assert f"/privasi/permintaan/{taken.id}" in html
    _sign_out(client)

    login_as("coordinator", region="3171")
    resp = client.form_post(f"/privasi/permintaan/{taken.id}/terima", {})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Nomor HP ini sudah dipakai akun aktif lain." in html
    db.session.expire_all()
    assert taken.status is RequestStatus.PENDING and person.phone == "+6281234560003"
    client.form_post(f"/privasi/permintaan/{taken.id}/tolak", {"reason": "Nomor itu milik akun lain."})
    _sign_out(client)

    login_as(person)
    assert _ask(client, "phone", "Nomor saya sudah ganti", "0812 9999 0002").status_code == 302
    fresh = _latest()
    _sign_out(client)
    login_as("coordinator", region="3171")
    assert client.form_post(f"/privasi/permintaan/{fresh.id}/terima", {}).status_code == 302
    db.session.expire_all()
    assert person.phone == "+6281299990002"  # normalised by the service


def test_an_outlet_address_correction_goes_through_the_outlet_service(client, factory, login_as):
    person = factory.user("trainee", region="3171", phone="+6281234560004")
    login_as(person)
    assert _ask(client, "outlet_address", "Alamatnya pindah", "Jl. Kenari No. 9, Senen").status_code == 302
    req = _latest()
    _sign_out(client)
    login_as("admin", region=None)
    assert client.form_post(f"/privasi/permintaan/{req.id}/terima", {}).status_code == 302
    db.session.expire_all()
    assert person.managed_outlet.address == "Jl. Kenari No. 9, Senen"
    outlet_entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "outlet.updated")).one()
    assert outlet_entry.details["changes"]["address"][1] == "Jl. Kenari No. 9, Senen"


def test_other_needs_a_note_of_what_was_done(client, factory, login_as):
    person = factory.user("trainee", region="3171", phone="+6281234560005")
    req = _pending(person, "other")
    login_as("coordinator", region=None)
    resp = client.form_post(f"/privasi/permintaan/{req.id}/terima", {"response": ""})
    assert resp.status_code == 422
    assert client.form_post(f"/privasi/permintaan/{req.id}/terima",
                            {"response": "Kelurahan sudah diperbaiki."}).status_code == 302
    db.session.expire_all()
    assert req.status is RequestStatus.ACCEPTED and req.response == "Kelurahan sudah diperbaiki."


def test_the_person_may_withdraw_a_pending_request(client, factory, login_as):
    person = factory.user("trainee", region="3171", phone="+6281234560006")
    req = _pending(person, "email", value="baru@uji.example")
    login_as(person)
    assert "Tarik kembali permintaan ini" in client.get(f"/privasi/permintaan/{req.id}").get_data(as_text=True)
    assert client.form_post(f"/privasi/permintaan/{req.id}/tarik").status_code == 302
    db.session.expire_all()
    assert req.status is RequestStatus.WITHDRAWN
    assert _actions("data_request")[-1] == "privacy.request_withdrawn"
    assert client.form_post(f"/privasi/permintaan/{req.id}/tarik").status_code == 403
    _sign_out(client)
    login_as("coordinator", region="3171")
    assert client.form_post(f"/privasi/permintaan/{req.id}/terima", {}).status_code == 403


# --- who sees and handles what -------------------------------------------------------------------------

def test_the_wrong_coordinator_gets_404_and_nobody_handles_their_own(client, factory, login_as):
    person = factory.user("trainee", region="3171", phone="+6281234560007")
    req = _pending(person, "full_name", value="Nama Baru")
    for role, region in (("coordinator", "3172"), ("mentor", "3171")):
        login_as(role, region=region)
        assert client.get(f"/privasi/permintaan/{req.id}").status_code == 404
        assert client.form_post(f"/privasi/permintaan/{req.id}/terima", {}).status_code == 404
        assert client.form_post(f"/privasi/permintaan/{req.id}/tolak", {"reason": "Bukan wilayah saya"}).status_code == 404
        _sign_out(client)
    login_as(person)
    assert client.form_post(f"/privasi/permintaan/{req.id}/terima", {}).status_code == 403
    _sign_out(client)

    coordinator = factory.user("coordinator", region="3171")
    own = _pending(coordinator, "full_name", value="Nama Koordinator Baru")
    login_as(coordinator)
    assert client.get(f"/privasi/permintaan/{own.id}").status_code == 200
    assert client.form_post(f"/privasi/permintaan/{own.id}/terima", {}).status_code == 403
    assert client.form_post(f"/privasi/permintaan/{own.id}/tolak", {"reason": "Saya tolak sendiri"}).status_code == 403
    # a fellow coordinator of the region may see it, but the people service lets only an admin edit a
    # coordinator: the refusal is shown and the request stays pending
    _sign_out(client)
    login_as("coordinator", region="3171")
    resp = client.form_post(f"/privasi/permintaan/{own.id}/terima", {})
    assert resp.status_code == 422 and "tidak berwenang" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert own.status is RequestStatus.PENDING


def test_erasure_requests_are_explained_confirmed_and_for_admins_only(client, factory, login_as):
    person = factory.user("trainee", region="3171", phone="+6281234560008")
    login_as(person)
    page = client.get("/privasi/permintaan/baru?jenis=hapus").get_data(as_text=True)
    assert "Sertifikat Anda tetap sah" in page
    resp = client.form_post("/privasi/permintaan/baru", {"kind": "erasure", "reason": "Saya pindah kota"})
    assert resp.status_code == 200 and 'name="confirmed"' in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DataRequest)) == 0
    resp = client.form_post("/privasi/permintaan/baru", {"kind": "erasure", "reason": "Saya pindah kota",
                                                         "confirmed": "1"})
    assert resp.status_code == 302
    req = _latest()
    assert (req.kind, req.status, req.message) == (RequestKind.ERASURE, RequestStatus.PENDING, "Saya pindah kota")
    resp = client.form_post("/privasi/permintaan/baru", {"kind": "erasure", "reason": "", "confirmed": "1"})
    assert resp.status_code == 422 and "sedang menunggu jawaban" in resp.get_data(as_text=True)
    _sign_out(client)

    coordinator = factory.user("coordinator", region="3171")
    admin = factory.user("admin", region=None)
    dispatch.run_once()
    assert _notes(coordinator) == [] and _notes(admin) == [f"Permintaan penghapusan data dari {person.full_name}"]
    login_as(coordinator)
    assert client.get(f"/privasi/permintaan/{req.id}").status_code == 404
    assert f"/privasi/permintaan/{req.id}" not in client.get("/privasi/tinjau").get_data(as_text=True)
    _sign_out(client)
    login_as(admin)
    assert f"/privasi/permintaan/{req.id}" in client.get("/privasi/tinjau").get_data(as_text=True)
    page = client.get(f"/privasi/permintaan/{req.id}").get_data(as_text=True)
    assert "Hapus data pribadinya" in page and "Pengajuan pembiayaan yang masih diproses bank" in page


def test_overdue_requests_come_first_and_say_so(client, factory, login_as):
    a = factory.user("trainee", region="3171", phone="+6281234560009")
    b = factory.user("trainee", region="3171", phone="+6281234560010")
    fresh = _pending(a, "full_name", value="Nama A")
    late = _pending(b, "full_name", hours_ago=80, value="Nama B")
    login_as("admin", region=None)
    html = client.get("/privasi/tinjau").get_data(as_text=True)
    assert "terlambat 8 jam" in html
    assert html.index(f"/privasi/permintaan/{late.id}") < html.index(f"/privasi/permintaan/{fresh.id}")
    assert requests.due_state(late).overdue and not requests.due_state(fresh).overdue


def test_the_reviewers_list_matches_the_detail_rule(app, factory):
    from lms.permissions import can

    people = [factory.user("trainee", region=r, phone=f"+62812345611{i:02d}") for i, r in
              enumerate(("3171", "3171", "3172"))]
    mentor = factory.user("mentor", region="3172")
    admin_person = factory.user("admin", region=None)
    for p in (*people, mentor, admin_person):
        _pending(p, "full_name", value="Nama Lain")
    _pending(people[0], kind=RequestKind.ERASURE)
    for actor in (factory.user("coordinator", region="3171"), factory.user("coordinator", region="3172"),
                  factory.user("coordinator", region=None), factory.user("admin", region=None)):
        listed, total = requests.list_requests(actor, status="all", per_page=100)
        visible = [r for r in db.session.scalars(sa.select(DataRequest)) if can(actor, "privacy.request.view", r)
                   and r.user_id != actor.id]
        assert sorted(r.id for r in listed) == sorted(r.id for r in visible), actor
        assert total == len(listed)


def test_the_reviewers_list_costs_the_same_for_5_and_50_requests(client, factory, login_as, count_queries, app):
    app.config["PAGE_SIZE"] = 100
    cohort = factory.cohort(regions=("3171",))
    for role, region in (("coordinator", "3171"), ("admin", None)):
        with transaction():
            db.session.execute(sa.delete(DataRequest))
        login_as(role, region=region)

        def make(n: int) -> None:  # each from another manager (with an outlet), all at once
            now = utcnow()
            with transaction():
                db.session.add_all([DataRequest(user_id=u.id, kind=RequestKind.CORRECTION, field="outlet_name",
                                                message="Nama e-Warong salah", proposed_value="e-Warong Baru",
                                                created_at=now, due_at=now + timedelta(hours=72))
                                    for u in factory.enrolled_trainees(n, cohort)])

        make(5)
        client.get("/privasi/tinjau")  # warm up
        with count_queries() as small:
            html = client.get("/privasi/tinjau").get_data(as_text=True)
        assert html.count("/privasi/permintaan/") >= 5
        make(45)
        with count_queries() as big:
            html = client.get("/privasi/tinjau").get_data(as_text=True)
        assert html.count("/privasi/permintaan/") >= 50
        assert big.count == small.count, (small.count, big.count)
        assert small.count <= 14, small.statements
        _sign_out(client)
