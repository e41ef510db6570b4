"""Mentor visits: caseloads, logging (validation, idempotency, photos, location), editing,
the outlet timeline, action items, mentor assignment, the overview, the CSV export and the seed."""
from __future__ import annotations

import io
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.i18n import WIB, to_wib
from lms.programme.models import Enrolment
from lms.programme import services as programme_services
from lms.visits import csv_export, recording, services
from lms.visits.models import ActionItem, MentorAssignment, Visit, VisitPhoto
from tests.factories import jpeg_with_gps, tiny_pdf, tiny_png

SECRET = "RAHASIA-STAF-7731"


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _wib(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def _form(outlet_id, /, **over):
    when = (to_wib(utcnow()) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"outlet_id": str(outlet_id), "visited_at": when, "duration_minutes": "45", "kind": "field_visit",
            "stages": ["pendampingan"], "observations": "Stok beras cukup, buku kas rapi.",
            "staff_notes": "", "next_visit_on": "", "client_key": uuid.uuid4().hex,
            "action_items-0-description": "", "action_items-0-owner": "", "action_items-0-due_on": "",
            "action_items-1-description": "", "action_items-1-owner": "", "action_items-1-due_on": ""}
    data.update(over)
    return data


def _post(client, data, **kw):
    return client.form_post("/visits/new", data, content_type="multipart/form-data", **kw)


# --- overdue: WIB calendar days -------------------------------------------------------------

def test_overdue_counts_wib_calendar_days_around_midnight():
    now = _wib(2018, 5, 31, 12, 0)
    late_evening = _wib(2018, 5, 1, 23, 30)   # 16:30 UTC on 1 May
    after_midnight = _wib(2018, 5, 2, 0, 30)  # 17:30 UTC on 1 May: the same UTC day, the next WIB day
    assert late_evening.astimezone(timezone.utc).date() == after_midnight.astimezone(timezone.utc).date()
    assert services.days_since_wib(late_evening, now) == 30
    assert services.days_since_wib(after_midnight, now) == 29
    assert services.is_overdue(late_evening, None, 30, now) is True
    assert services.is_overdue(after_midnight, None, 30, now) is False
    # "now" just after midnight WIB already counts the new day
    assert services.is_overdue(after_midnight, None, 30, _wib(2018, 6, 1, 0, 10)) is True
    assert services.is_overdue(after_midnight, None, 30, _wib(2018, 5, 31, 23, 50)) is False


def test_never_visited_counts_from_the_assignment():
    now = _wib(2018, 6, 30, 9, 0)
    assert services.is_overdue(None, _wib(2018, 5, 31, 23, 59), 30, now) is True
    assert services.is_overdue(None, _wib(2018, 6, 1, 0, 1), 30, now) is False
    assert services.is_overdue(None, None, 30, now) is False
    # a visit counts, not the assignment, once there is one
    assert services.is_overdue(_wib(2018, 6, 20), _wib(2018, 1, 1), 30, now) is False


def test_months_back_crosses_the_year():
    assert services.months_back(date(2019, 2, 14), 6) == [date(2018, 9, 1), date(2018, 10, 1), date(2018, 11, 1),
                                                         date(2018, 12, 1), date(2019, 1, 1), date(2019, 2, 1)]


# --- the mentor's caseload ------------------------------------------------------------------

def test_caseload_last_next_open_items_and_overdue(client, factory, login_as, db):
    mentor, (recent, stale, fresh, old) = factory.caseload(4)
    now = utcnow()
    today = to_wib(now).date()
    factory.visit(mentor, recent, visited_at=now - timedelta(days=2), next_visit_on=today + timedelta(days=12),
                  actions=(("Isi buku kas", "Pengelola", today - timedelta(days=1)),
                           ("Pasang papan nama", "Ketua KUBE", today + timedelta(days=5))))
    factory.visit(mentor, stale, visited_at=now - timedelta(days=45))
    with transaction():  # assigned 31 days ago and never visited
        a = db.session.scalar(sa.select(MentorAssignment).where(MentorAssignment.outlet_id == old.id))
        a.started_at = now - timedelta(days=31)
    rows = {s.outlet.id: s for s in services.caseload(mentor, now)}
    assert rows[recent.id].overdue is False and rows[recent.id].next_visit_on == today + timedelta(days=12)
    assert (rows[recent.id].open_actions, rows[recent.id].past_due_actions) == (2, 1)
    assert rows[stale.id].overdue is True and rows[stale.id].days_since == 45
    assert rows[fresh.id].never_visited and rows[fresh.id].overdue is False
    assert rows[old.id].never_visited and rows[old.id].overdue is True
    assert [s.outlet.id for s in services.caseload(mentor, now)][:2] == [stale.id, old.id]

    login_as(mentor)
    page = client.get("/caseload").get_data(as_text=True)
    assert "2 terlambat dikunjungi" in page
    assert page.count("Belum pernah dikunjungi") == 2
    assert "1 lewat tenggat" in page
    assert f"/visits/new?outlet={recent.id}" in page


def test_overdue_days_come_from_the_outlets_curriculum(app, factory):
    import dataclasses

    base = app.extensions["lms.curricula"]["okoce-7pas"]
    app.extensions["lms.curricula"]["cepat"] = dataclasses.replace(
        base, key="cepat", settings={**base.settings, "visit_overdue_days": 7})
    mentor, (quick, normal) = factory.caseload(2)
    for outlet, key in ((quick, "cepat"), (normal, "okoce-7pas")):
        trainee = factory.user("trainee", outlet=outlet, phone="+6281234567009")
        factory.enrolment(cohort=factory.cohort(curriculum_key=key), trainee=trainee)
        factory.visit(mentor, outlet, visited_at=utcnow() - timedelta(days=10))
    rows = {s.outlet.id: s for s in services.caseload(mentor)}
    assert (rows[quick.id].overdue_days, rows[quick.id].overdue) == (7, True)
    assert (rows[normal.id].overdue_days, rows[normal.id].overdue) == (30, False)


# --- logging a visit ----------------------------------------------------------------------

def test_mentor_logs_a_visit_and_progress_counts_it(client, factory, login_as, db):
    trainee = factory.user("trainee", phone="+6281234567001")
    enrolment = factory.enrolment(trainee=trainee)
    with transaction():
        enrolment.started_at = utcnow() - timedelta(days=3)
    mentor = factory.user("mentor")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    login_as(mentor)
    r = client.get(f"/visits/new?outlet={trainee.managed_outlet.id}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert 'name="client_key"' in page and 'type="datetime-local"' in page and "js/visits.js" in page
    due = (to_wib(utcnow()).date() + timedelta(days=7)).isoformat()
    r = _post(client, _form(trainee.managed_outlet.id, stages=["pendampingan", "perizinan"],
                            staff_notes=SECRET, next_visit_on=due,
                            **{"action_items-0-description": "Isi buku kas harian", "action_items-0-owner": "Pengelola",
                               "action_items-0-due_on": due}))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    visit = db.session.scalar(sa.select(Visit))
    assert r.headers["Location"].endswith(f"/visits/{visit.id}")
    assert (visit.mentor_id, visit.region_id, visit.duration_minutes) == (mentor.id, trainee.managed_outlet.region_id, 45)
    assert visit.stages == ["pendampingan", "perizinan"] and visit.staff_notes == SECRET
    assert [(a.description, a.owner, a.due_on.isoformat()) for a in visit.action_items] == [
        ("Isi buku kas harian", "Pengelola", due)]
    assert visit.latitude is None
    # typed as WIB wall-clock time, stored as UTC
    assert visit.visited_at.tzinfo is not None and visit.visited_at.utcoffset() == timedelta(0)
    db.session.expire_all()
    assert programme_services.progress_for(db.session.get(Enrolment, enrolment.id)).stages[2].milestones[0].count == 1
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "visit.created")) is not None


def test_wib_wall_clock_time_is_stored_as_utc(client, factory, login_as, db):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    assert _post(client, _form(outlet.id, visited_at="2018-05-02T00:30")).status_code == 302
    visit = db.session.scalar(sa.select(Visit))
    assert visit.visited_at == datetime(2018, 5, 1, 17, 30, tzinfo=timezone.utc)
    assert "2 Mei 2018" in client.get(f"/visits/{visit.id}").get_data(as_text=True)


@pytest.mark.parametrize("over,field,message", [
    ({"visited_at": "future"}, "visited_at", "tidak boleh di masa depan"),
    ({"visited_at": ""}, "visited_at", "Isi tanggal dan jam kunjungan"),
    ({"visited_at": "kemarin sore"}, "visited_at", "Tanggal dan jam tidak valid"),
    ({"stages": []}, "stages", "Pilih minimal satu langkah"),
    ({"stages": ["pendampingan", "terbang"]}, "stages", "bukan pilihan yang valid"),
    ({"observations": "   "}, "observations", "Tulis pengamatan"),
    ({"kind": "kunjungan_gaib"}, "kind", "Pilihan tidak valid"),
    ({"duration_minutes": "0"}, "duration_minutes", "antara 1 dan 720"),
    ({"duration_minutes": "100000"}, "duration_minutes", "antara 1 dan 720"),
    ({"duration_minutes": "satu jam"}, "duration_minutes", "Harus berupa bilangan bulat"),
    ({"next_visit_on": "2018-01-01"}, "next_visit_on", "tidak boleh sebelum tanggal kunjungan"),
    ({"action_items-0-description": "Pasang papan nama"}, "action_items-0-due_on", "Isi tenggat"),
    ({"action_items-1-owner": "Pengelola", "action_items-1-due_on": "SOON"}, "action_items-1-description",
     "Tulis tindak lanjut"),
    ({"action_items-0-description": "Lapor", "action_items-0-owner": "Pengelola", "action_items-0-due_on": "2018-01-02"},
     "action_items-0-due_on", "Tenggat tidak boleh sebelum"),
    ({"action_items-0-description": "Lapor", "action_items-0-owner": "Pengelola", "action_items-0-due_on": "NEXT_YEAR"},
     "action_items-0-due_on", "Tanggal harus antara"),
    ({"next_visit_on": "NEXT_YEAR"}, "next_visit_on", "Tanggal harus antara"),
    ({"visited_at": "2017-12-31T23:00"}, "visited_at", "Tanggal harus antara 1 Jan 2018 dan"),
    ({"outlet_id": ""}, "outlet_id", "Pilih e-Warong"),
    ({"visited_at": "0001-01-01T03:00"}, "visited_at", "Tanggal harus antara"),
    ({"next_visit_on": "9999-12-31"}, "next_visit_on", "Tanggal harus antara"),
    ({"action_items-0-description": "Lapor", "action_items-0-owner": "Pengelola", "action_items-0-due_on": "0001-01-01"},
     "action_items-0-due_on", "Tanggal harus antara"),
])
def test_bad_input_is_a_form_message_never_a_500(client, factory, login_as, db, over, field, message):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    if over.get("visited_at") == "future":
        later = to_wib(utcnow()) + timedelta(hours=2)
        over = {"visited_at": later.strftime("%Y-%m-%dT%H:%M")}
        if later.date() > to_wib(utcnow()).date():  # after 22:00 WIB: tomorrow, outside the field's date range
            message = "Tanggal harus antara"
    today = to_wib(utcnow()).date()
    # dates relative to today: within the year after the visit, and a day past it
    relative = {"SOON": today + timedelta(days=30), "NEXT_YEAR": today + timedelta(days=366)}
    over = {k: relative[v].isoformat() if isinstance(v, str) and v in relative else v for k, v in over.items()}
    r = _post(client, _form(outlet.id, **over))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert message in page, page[:4000]
    assert f'id="{field}-err"' in page
    assert _count(db, Visit) == 0
    # the same through the phone's fetch: JSON errors keyed by the input's name
    r = _post(client, _form(outlet.id, **over), headers={"Accept": "application/json"})
    assert r.status_code == 422 and r.is_json
    assert any(message in m for m in r.get_json()["errors"][field])


def test_date_inputs_stay_date_inputs_after_a_month_field_was_built(client, factory, login_as, app):
    """forms_common.MonthField retypes the widget it is given; ours are not shared with it."""
    from lms.programme.forms import ReportForm
    from lms.visits.forms import RegionFilterForm

    from wtforms.fields import DateField

    try:
        with app.test_request_context():
            ReportForm()
            RegionFilterForm()
        mentor, (outlet,) = factory.caseload(1)
        login_as(mentor)
        page = client.get(f"/visits/new?outlet={outlet.id}").get_data(as_text=True)
        for name in ("next_visit_on", "action_items-0-due_on", "action_items-1-due_on"):
            assert f'id="{name}" name="{name}" type="date"' in page, name
    finally:  # undo MonthField's change to the shared DateField widget for the tests that follow
        DateField.widget.__dict__.pop("input_type", None)


def test_a_mentor_cannot_open_or_log_for_an_outlet_outside_the_caseload(client, factory, login_as, db):
    mentor, (mine,) = factory.caseload(1)
    other_mentor, (theirs,) = factory.caseload(1)
    visit = factory.visit(other_mentor, theirs)
    login_as(mentor)
    assert client.get(f"/visits/new?outlet={theirs.id}").status_code == 404
    assert _post(client, _form(theirs.id)).status_code == 404
    assert _post(client, _form(theirs.id), headers={"Accept": "application/json"}).status_code == 404
    assert client.get(f"/outlets/{theirs.id}/timeline").status_code == 404
    assert client.get(f"/outlets/{theirs.id}").status_code == 404
    assert client.get(f"/visits/{visit.id}").status_code == 404
    assert client.get(f"/visits/{visit.id}/edit").status_code == 404
    assert _count(db, Visit) == 1
    # the select offers the caseload only
    page = client.get("/visits/new").get_data(as_text=True)
    assert mine.code in page and theirs.code not in page


def test_after_reassignment_the_old_mentor_loses_the_outlet_but_keeps_own_visits(client, factory, login_as, db):
    coordinator = factory.user("coordinator", region="3171")
    mentor, (outlet,) = factory.caseload(1)
    successor = factory.user("mentor", region="3171")
    visit = factory.visit(mentor, outlet)
    services.assign_mentor(coordinator, [outlet.id], successor.id)
    login_as(mentor)
    assert client.get(f"/visits/new?outlet={outlet.id}").status_code == 404
    assert client.get(f"/outlets/{outlet.id}/timeline").status_code == 404
    assert client.get(f"/visits/{visit.id}").status_code == 200


# --- the same visit twice ---------------------------------------------------------------------

def test_the_same_submission_twice_is_one_visit(client, factory, login_as, db):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    data = _form(outlet.id)
    first = _post(client, dict(data))
    second = _post(client, dict(data))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(db, Visit) == 1
    # the phone's outbox: JSON, created then duplicate
    data = _form(outlet.id)
    a = _post(client, dict(data), headers={"Accept": "application/json"})
    b = _post(client, dict(data), headers={"Accept": "application/json"})
    assert (a.status_code, a.get_json()["status"]) == (201, "created")
    assert (b.status_code, b.get_json()["status"]) == (200, "duplicate")
    assert a.get_json()["id"] == b.get_json()["id"]
    assert _count(db, Visit) == 2


def test_a_repeat_is_recognised_even_when_the_outlet_left_the_caseload(client, factory, login_as, db):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    data = _form(outlet.id)
    assert _post(client, dict(data)).status_code == 302
    services.assign_mentor(factory.user("coordinator"), [outlet.id], None)
    r = _post(client, dict(data), headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json()["status"] == "duplicate"
    assert _count(db, Visit) == 1


def test_a_client_key_of_another_mentor_is_not_theirs(client, factory, login_as, db):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    data = _form(outlet.id)
    assert _post(client, dict(data)).status_code == 302
    client.form_post("/logout")
    other, (o2,) = factory.caseload(1)
    login_as(other)
    r = _post(client, _form(o2.id, client_key=data["client_key"]))
    assert r.status_code == 422
    assert "sudah pernah dikirim" in r.get_data(as_text=True)
    assert _count(db, Visit) == 1


def test_concurrent_retries_make_one_visit(app, factory, live_server, db):
    """Two copies of one submission racing over HTTP: one row, both answered with it."""
    import http.cookiejar
    import re
    import threading
    import urllib.parse
    import urllib.request

    from tests.conftest import TEST_PASSWORD

    mentor, (outlet,) = factory.caseload(1)
    db.session.commit()
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = live_server.url
    html = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    opener.open(base + "/login", urllib.parse.urlencode(
        {"email": mentor.email, "password": TEST_PASSWORD, "csrf_token": token}).encode())
    token = json.loads(opener.open(urllib.request.Request(
        base + "/visits/csrf", headers={"Accept": "application/json"})).read())["csrf_token"]

    for _round in range(3):
        data = _form(outlet.id, csrf_token=token)
        body = urllib.parse.urlencode(data, doseq=True).encode()
        barrier = threading.Barrier(2)
        answers: list[tuple[int, dict]] = []

        def send() -> None:
            rq = urllib.request.Request(base + "/visits/new", data=body, headers={
                "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"})
            barrier.wait()
            try:
                resp = opener.open(rq)
                answers.append((resp.status, json.loads(resp.read())))
            except urllib.error.HTTPError as e:  # pragma: no cover - reported by the assertion below
                answers.append((e.code, {"body": e.read().decode()[:500]}))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(code for code, _ in answers) == [200, 201], answers
        assert len({a["id"] for _, a in answers}) == 1
        db.session.rollback()  # a fresh snapshot
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)
                                 .where(Visit.client_key == data["client_key"])) == 1
    assert _count(db, Visit) == 3


def test_a_lost_race_on_the_client_key_returns_the_stored_visit(factory, db, monkeypatch, app):
    """Both copies passed the existence check: the unique constraint stops the second insert."""
    mentor, (outlet,) = factory.caseload(1)
    data = services.VisitInput(visited_at=utcnow() - timedelta(hours=1), duration_minutes=30, kind="field_visit",
                               stages=["pendampingan"], observations="Balapan", client_key=uuid.uuid4().hex)
    with app.test_request_context():
        first, created = services.log_visit(mentor, outlet, data)
        assert created
        real = recording.find_by_client_key
        calls = []

        def blind_once(key):
            calls.append(key)
            return None if len(calls) == 1 else real(key)

        monkeypatch.setattr(recording, "find_by_client_key", blind_once)
        again, created = services.log_visit(mentor, outlet, data, [])
    assert (again.id, created, len(calls)) == (first.id, False, 2)
    assert _count(db, Visit) == 1


def test_the_csrf_endpoint_gives_a_fresh_token(client, factory, login_as):
    r = client.get("/visits/csrf")
    assert r.status_code == 302  # signed out: to the sign-in page
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    r = client.get("/visits/csrf", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    token = r.get_json()["csrf_token"]
    r = client.post("/visits/new", data=_form(outlet.id, csrf_token=token), content_type="multipart/form-data",
                    headers={"Accept": "application/json"})
    assert r.status_code == 201, r.get_data(as_text=True)[:500]


# --- photos and location ------------------------------------------------------------------------

def test_photos_lose_their_exif_and_gps(client, factory, login_as, db, app):
    from PIL import Image

    from lms.files import read_stored

    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as img:
        assert img.getexif().get(0x8825)  # the fixture really carries GPS
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    r = _post(client, _form(outlet.id, photos=[(io.BytesIO(original), "warung.jpg"),
                                              (io.BytesIO(tiny_png()), "rak.png")]))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    photos = db.session.scalars(sa.select(VisitPhoto).order_by(VisitPhoto.id)).all()
    assert len(photos) == 2
    for p in photos:
        data = read_stored(p.file)
        assert b"KameraUji" not in data
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
            assert len(exif) == 0 and 0x8825 not in exif and "exif" not in img.info
    assert photos[0].file.content_type == "image/jpeg" and photos[1].file.content_type == "image/png"
    with client.get(f"/visit-photos/{photos[0].id}") as r:
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        assert "sandbox" in r.headers["Content-Security-Policy"] and r.headers["Cache-Control"] == "private, no-store"
        with Image.open(io.BytesIO(r.data)) as img:
            assert not img.getexif()


@pytest.mark.parametrize("content", [b"ini bukan foto, hanya teks biasa\n" * 10, tiny_pdf()])
def test_a_renamed_non_image_is_refused_with_a_form_message(client, factory, login_as, db, content):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    r = _post(client, _form(outlet.id, photos=[(io.BytesIO(content), "foto.jpg")]))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "foto.jpg: Jenis berkas tidak diterima. Unggah JPG, PNG." in page
    assert 'id="photos-err"' in page
    assert _count(db, Visit) == 0 and _count(db, VisitPhoto) == 0


def test_at_most_five_photos_of_5_mb(client, factory, login_as, db, app):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    six = [(io.BytesIO(tiny_png()), f"f{i}.png") for i in range(6)]
    r = _post(client, _form(outlet.id, photos=six))
    assert r.status_code == 422 and "Paling banyak 5 foto" in r.get_data(as_text=True)
    app.config["UPLOAD_MAX_BYTES"] = 64 * 1024
    big = tiny_png(size=(900, 900))
    noisy = io.BytesIO()
    from PIL import Image
    import random

    img = Image.new("RGB", (300, 300))
    rnd = random.Random(1)
    img.putdata([(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)) for _ in range(300 * 300)])
    img.save(noisy, format="PNG")
    assert len(noisy.getvalue()) > 64 * 1024 and big
    r = _post(client, _form(outlet.id, photos=[(io.BytesIO(noisy.getvalue()), "besar.png")]))
    assert r.status_code == 422 and "terlalu besar (maksimal 64 KB)" in r.get_data(as_text=True)
    assert _count(db, Visit) == 0


@pytest.mark.parametrize("ticked,stored", [("y", True), ("", False)])
def test_location_is_stored_only_when_shared(client, factory, login_as, db, ticked, stored):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    data = _form(outlet.id, latitude="-6.175392", longitude="106.827153", accuracy="12.5")
    if ticked:
        data["share_location"] = ticked
    assert _post(client, data).status_code == 302
    v = db.session.scalar(sa.select(Visit))
    if stored:
        assert (v.latitude, v.longitude, v.location_accuracy_m) == (-6.175392, 106.827153, 12.5)
    else:
        assert (v.latitude, v.longitude, v.location_accuracy_m) == (None, None, None)


def test_a_broken_location_is_ignored_not_refused(client, factory, login_as, db):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    assert _post(client, _form(outlet.id, share_location="y", latitude="nan", longitude="abc")).status_code == 302
    assert db.session.scalar(sa.select(Visit)).latitude is None


# --- editing ---------------------------------------------------------------------------------------

def _edit_form(visit, **over):
    data = {"visited_at": to_wib(visit.visited_at).strftime("%Y-%m-%dT%H:%M"), "duration_minutes": "90",
            "kind": "phone_call", "stages": ["pendampingan"], "observations": "Diubah: stok telur habis.",
            "staff_notes": visit.staff_notes, "next_visit_on": ""}
    data.update(over)
    return data


@pytest.mark.parametrize("age_days,mentor_may", [(6, True), (8, False)])
def test_edit_window_for_the_mentor(client, factory, login_as, db, age_days, mentor_may):
    mentor, (outlet,) = factory.caseload(1)
    created = utcnow() - timedelta(days=age_days)
    visit = factory.visit(mentor, outlet, visited_at=created - timedelta(hours=2), created_at=created)
    login_as(mentor)
    assert client.get(f"/visits/{visit.id}/edit").status_code == (200 if mentor_may else 403)
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert (f"/visits/{visit.id}/edit" in page) is mentor_may
    r = client.form_post(f"/visits/{visit.id}/edit", _edit_form(visit), content_type="multipart/form-data")
    assert r.status_code == (302 if mentor_may else 403)
    db.session.expire_all()
    assert (db.session.get(Visit, visit.id).observations == "Diubah: stok telur habis.") is mentor_may


def test_an_edit_from_the_phone_gets_a_json_answer(client, factory, login_as, db):
    mentor, (outlet,) = factory.caseload(1)
    visit = factory.visit(mentor, outlet)
    login_as(mentor)
    r = client.form_post(f"/visits/{visit.id}/edit", _edit_form(visit), content_type="multipart/form-data",
                         headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json() == {"id": visit.id, "url": f"/visits/{visit.id}", "status": "updated"}
    r = client.form_post(f"/visits/{visit.id}/edit", _edit_form(visit, observations=""),
                         content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.status_code == 422 and "observations" in r.get_json()["errors"]


def test_after_the_window_the_coordinator_of_the_region_edits_and_it_is_audited(client, factory, login_as, db):
    mentor, (outlet,) = factory.caseload(1)
    created = utcnow() - timedelta(days=8)
    visit = factory.visit(mentor, outlet, visited_at=created, created_at=created, staff_notes="lama",
                          actions=(("Isi buku kas", "Pengelola", to_wib(created).date() + timedelta(days=7)),))
    item_id = visit.action_items[0].id
    login_as("coordinator", region="3172")
    assert client.get(f"/visits/{visit.id}/edit").status_code == 404
    client.form_post("/logout")
    coordinator = login_as("coordinator", region="3171")
    assert client.get(f"/visits/{visit.id}/edit").status_code == 200
    r = client.form_post(f"/visits/{visit.id}/edit", _edit_form(
        visit, staff_notes="baru", **{"action_items-0-id": str(item_id), "action_items-0-description": "Isi buku kas harian",
                                      "action_items-0-owner": "Pengelola",
                                      "action_items-0-due_on": (to_wib(created).date() + timedelta(days=60)).isoformat()}),
        content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "visit.updated"))
    assert entry.actor_id == coordinator.id and entry.target_id == str(visit.id)
    d = entry.details
    assert d["old"]["staff_notes"] == "lama" and d["new"]["staff_notes"] == "baru"
    assert d["old"]["kind"] == "field_visit" and d["new"]["kind"] == "phone_call"
    assert d["new"]["action_items"][0]["description"] == "Isi buku kas harian"
    assert {"staff_notes", "kind", "duration_minutes", "observations", "action_items"} <= set(d["changed"])
    db.session.expire_all()
    v = db.session.get(Visit, visit.id)
    assert v.mentor_id == mentor.id and v.kind.value == "phone_call" and len(v.action_items) == 1


def test_editing_can_remove_an_action_item_and_a_photo(client, factory, login_as, db):
    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    due = (to_wib(utcnow()).date() + timedelta(days=3)).isoformat()
    assert _post(client, _form(outlet.id, photos=[(io.BytesIO(tiny_png()), "a.png"), (io.BytesIO(tiny_png()), "b.png")],
                               **{"action_items-0-description": "Lapor", "action_items-0-owner": "Pengelola",
                                  "action_items-0-due_on": due})).status_code == 302
    visit = db.session.scalar(sa.select(Visit))
    drop = visit.photos[0]
    from lms.files import AREA
    from lms.storage import storage

    path = storage().local_path(AREA, drop.file.path)
    assert path.exists()
    form = _edit_form(visit, remove_photo_ids=[str(drop.id)],
                      **{"action_items-0-id": str(visit.action_items[0].id), "action_items-0-description": ""})
    r = client.form_post(f"/visits/{visit.id}/edit", form, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    db.session.expire_all()
    visit = db.session.get(Visit, visit.id)
    assert len(visit.photos) == 1 and visit.action_items == []
    assert not path.exists()


# --- staff-only notes, the timeline, action items ----------------------------------------------

def test_a_trainee_never_sees_staff_notes(client, factory, login_as, db):
    trainee = factory.user("trainee", phone="+6281234567001")
    enrolment = factory.enrolment(trainee=trainee)
    mentor = factory.user("mentor")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    visit = factory.visit(mentor, trainee.managed_outlet, staff_notes=SECRET, observations="Pengamatan terbuka 42",
                          visited_at=enrolment.started_at + timedelta(minutes=5))
    outlet_id = trainee.managed_outlet.id
    login_as(trainee)
    for url in (f"/outlets/{outlet_id}/timeline", f"/visits/{visit.id}"):
        r = client.get(url)
        assert r.status_code == 200
        page = r.get_data(as_text=True)
        assert "Pengamatan terbuka 42" in page
        assert SECRET not in page and "Catatan internal" not in page
    r = client.get("/visits/mine")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/outlets/{outlet_id}/timeline")
    assert client.get(f"/visits/{visit.id}/edit").status_code == 403
    client.form_post("/logout")
    for who in (mentor, factory.user("coordinator", region="3171"), factory.user("admin", region=None)):
        login_as(who)
        for url in (f"/outlets/{outlet_id}/timeline", f"/visits/{visit.id}"):
            assert SECRET in client.get(url).get_data(as_text=True)
        client.form_post("/logout")


def test_timeline_merges_visits_milestones_evidence_and_mentors(client, factory, login_as, db):
    from lms.files import PDF, CheckedUpload
    from lms.programme import services as programme

    trainee = factory.user("trainee", phone="+6281234567001", full_name="Ibu Sari")
    enrolment = factory.enrolment(trainee=trainee)  # pendaftaran completes now
    outlet = trainee.managed_outlet
    mentor = factory.user("mentor", full_name="Pak Budi Pendamping")
    factory.assign_mentor(mentor, outlet)
    factory.visit(mentor, outlet, visited_at=utcnow() - timedelta(days=2), observations="Kunjungan pertama")
    programme.save_licence(trainee, outlet, programme.LicenceInput("NIB", "9120001234567", date(2018, 3, 1), "OSS"),
                           CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))
    entries = services.outlet_timeline(outlet)
    kinds = [e.kind for e in entries]
    assert {"visit", "milestone", "evidence", "assignment"} <= set(kinds)
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    login_as(trainee)
    page = client.get(f"/outlets/{outlet.id}/timeline").get_data(as_text=True)
    assert "Kunjungan pertama" in page and "1. Pendaftaran" in page
    assert "Izin usaha" in page and "dikirim untuk verifikasi" in page
    assert "Pak Budi Pendamping ditugaskan" in page
    assert enrolment.id


def test_action_items_are_marked_done_by_the_mentor_or_coordinator(client, factory, login_as, db):
    trainee = factory.user("trainee")
    mentor, _ = factory.caseload(0)
    factory.assign_mentor(mentor, trainee.managed_outlet)
    today = to_wib(utcnow()).date()
    visit = factory.visit(mentor, trainee.managed_outlet, actions=(("Isi buku kas", "Pengelola", today),
                                                                   ("Pasang papan nama", "Ketua KUBE", today)))
    item = visit.action_items[0]
    login_as(trainee)
    # the manager marks only the items assigned to them (tests/test_trainee_journey.py); this one is the chair's
    assert client.form_post(f"/action-items/{visit.action_items[1].id}/done", {"done": "1"}).status_code == 403
    client.form_post("/logout")
    login_as("mentor", region="3171")
    assert client.form_post(f"/action-items/{item.id}/done", {"done": "1"}).status_code == 404
    client.form_post("/logout")
    login_as(mentor)
    r = client.form_post(f"/action-items/{item.id}/done", {"done": "1", "next": f"/visits/{visit.id}"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/visits/{visit.id}")
    db.session.expire_all()
    assert db.session.get(ActionItem, item.id).done_at is not None
    assert client.post(f"/action-items/{item.id}/done", data={"done": "0"}).status_code == 400  # no CSRF token
    client.form_post("/logout")
    login_as("coordinator", region="3171")
    assert client.form_post(f"/action-items/{item.id}/done", {"done": "0"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ActionItem, item.id).done_at is None
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("action_item.%"))).all()
    assert sorted(actions) == ["action_item.done", "action_item.reopened"]


# --- assigning mentors ---------------------------------------------------------------------------------

def test_bulk_assignment_reassignment_keeps_history(client, factory, login_as, db):
    outlets = [factory.outlet("3171") for _ in range(3)]
    first = factory.user("mentor", region="3171", full_name="Pendamping Pertama")
    second = factory.user("mentor", region="3171", full_name="Pendamping Kedua")
    coordinator = login_as("coordinator", region="3171")
    page = client.get("/caseloads").get_data(as_text=True)
    assert "Pendamping Pertama" in page and outlets[0].code in page
    r = client.form_post("/caseloads", {"outlet_ids": [str(o.id) for o in outlets[:2]], "mentor_id": str(first.id),
                                        "assign": "1"})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    assert {o.id for o in services.caseload_outlets(first)} == {outlets[0].id, outlets[1].id}
    r = client.form_post("/caseloads", {"outlet_ids": [str(outlets[1].id)], "mentor_id": str(second.id), "assign": "1"})
    assert r.status_code == 302
    rows = db.session.scalars(sa.select(MentorAssignment).where(MentorAssignment.outlet_id == outlets[1].id)
                              .order_by(MentorAssignment.id)).all()
    assert [(a.mentor_id, a.ended_at is None) for a in rows] == [(first.id, False), (second.id, True)]
    assert rows[1].assigned_by_id == coordinator.id
    # assigning the same mentor again changes nothing
    client.form_post("/caseloads", {"outlet_ids": [str(outlets[1].id)], "mentor_id": str(second.id), "assign": "1"})
    assert _count(db, MentorAssignment) == 3
    r = client.form_post("/caseloads", {"outlet_ids": [str(outlets[0].id)], "release": "1", "mentor_id": ""})
    assert r.status_code == 302
    assert services.caseload_outlets(first) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action.in_(["mentor.assigned", "mentor.released"]))) == 4


def test_the_assignment_page_pages_and_finds_outlets(app, client, factory, login_as, db, monkeypatch):
    """The outlets to assign come a page at a time (by code) with how many there are in all, can be found by
    part of their code or name, and the outlets ticked on a later page are assigned; at most MAX_ASSIGN at
    once. (At 100,000 outlets the page listed them all: 15 s for the admin.)"""
    monkeypatch.setitem(app.config, "CASELOAD_PAGE_SIZE", 3)
    outlets = sorted((factory.outlet("3171", **({"name": "Warung Cari 4"} if i == 4 else {})) for i in range(7)),
                     key=lambda o: o.code)
    mentor = factory.user("mentor", region="3171", full_name="Pendamping Halaman")
    login_as("coordinator", region="3171")
    first = client.get("/caseloads").get_data(as_text=True)
    assert "7 e-Warong" in first and "Halaman 1 dari 3" in first and 'rel="next"' in first
    assert [o.code in first for o in outlets] == [True] * 3 + [False] * 4
    second = client.get("/caseloads?page=2").get_data(as_text=True)
    assert [o.code in second for o in outlets] == [False] * 3 + [True] * 3 + [False]
    found = client.get("/caseloads?q=cari+4").get_data(as_text=True)
    assert "1 e-Warong" in found and outlets[[o.name for o in outlets].index("Warung Cari 4")].code in found
    assert client.get("/caseloads?page=99999999999").status_code == 200
    r = client.form_post("/caseloads?page=2", {"outlet_ids": [str(o.id) for o in outlets[3:5]],
                                                "mentor_id": str(mentor.id), "assign": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/caseloads?page=2")
    assert {o.id for o in services.caseload_outlets(mentor)} == {outlets[3].id, outlets[4].id}
    r = client.form_post("/caseloads", {"outlet_ids": [str(i) for i in range(1, services.MAX_ASSIGN + 2)],
                                        "mentor_id": str(mentor.id), "assign": "1"})
    assert r.status_code == 422 and "paling banyak 500" in r.get_data(as_text=True)


def test_a_mentor_only_works_in_their_own_region(client, factory, login_as, db):
    outlet = factory.outlet("3171")
    elsewhere = factory.user("mentor", region="3172")
    login_as("coordinator", region=None)  # all of DKI: may pick both
    r = client.form_post("/caseloads", {"outlet_ids": [str(outlet.id)], "mentor_id": str(elsewhere.id), "assign": "1"})
    assert r.status_code == 422
    assert "wilayahnya sendiri" in r.get_data(as_text=True) and outlet.code in r.get_data(as_text=True)
    assert _count(db, MentorAssignment) == 0


def test_a_coordinator_cannot_assign_outside_their_region(client, factory, login_as, db):
    outlet = factory.outlet("3172")
    mentor = factory.user("mentor", region="3172")
    coordinator = login_as("coordinator", region="3171")
    assert outlet.code not in client.get("/caseloads").get_data(as_text=True)
    r = client.form_post("/caseloads", {"outlet_ids": [str(outlet.id)], "mentor_id": str(mentor.id), "assign": "1"})
    assert r.status_code == 422
    assert _count(db, MentorAssignment) == 0
    from lms.errors import NotAllowed

    with pytest.raises(NotAllowed):
        services.assign_mentor(coordinator, [outlet.id], mentor.id)


def test_an_inactive_or_non_mentor_cannot_be_assigned(factory, db):
    from lms.errors import Invalid

    coordinator = factory.user("coordinator", region="3171")
    outlet = factory.outlet("3171")
    for who in (factory.user("mentor", region="3171", active=False), factory.user("coordinator", region="3171")):
        with pytest.raises(Invalid):
            services.assign_mentor(coordinator, [outlet.id], who.id)
    assert _count(db, MentorAssignment) == 0


# --- the coordinator's overview ----------------------------------------------------------------

def test_overview_counts_per_mentor_per_wib_month(client, factory, login_as, db):
    now = utcnow()
    first_of_month = to_wib(now).date().replace(day=1)
    mentor, (a, b, never) = factory.caseload(3)
    other_region, (c,) = factory.caseload(1, region="3172")
    # 00:30 WIB on the 1st is still the previous month in UTC
    factory.visit(mentor, a, visited_at=datetime.combine(first_of_month, datetime.min.time(), tzinfo=WIB)
                  + timedelta(minutes=30))
    factory.visit(mentor, b, visited_at=now - timedelta(days=200))  # older than six months, and overdue
    factory.visit(other_region, c, visited_at=now - timedelta(hours=3))
    factory.visit(mentor, b, visited_at=now - timedelta(days=200), actions=(
        ("Kirim laporan", "Pengelola", to_wib(now).date() - timedelta(days=3)),), refresh=False)
    login_as("coordinator", region="3171")
    data = services.overview(factory.user("coordinator", region="3171"), None, now)
    row = next(r for r in data.mentors if r.mentor.id == mentor.id)
    assert row.counts == [0, 0, 0, 0, 0, 1] and row.total == 1
    assert other_region.id not in {r.mentor.id for r in data.mentors}
    assert [s.outlet.id for s in data.never_visited] == [never.id]
    assert [s.outlet.id for s in data.overdue] == [b.id]
    assert [a_.description for a_ in data.past_due] == ["Kirim laporan"] and data.past_due_total == 1
    page = client.get("/visits/dashboard").get_data(as_text=True)
    assert "Kirim laporan" in page and never.code in page and c.code not in page
    assert 'id="visits-per-mentor"' in page


def test_overview_table_can_end_in_an_earlier_month(client, factory, login_as):
    mentor, (a,) = factory.caseload(1)
    factory.visit(mentor, a, visited_at=_wib(2018, 5, 1, 0, 30))   # 30 April in UTC, May in WIB
    factory.visit(mentor, a, visited_at=_wib(2018, 8, 31, 23, 30))  # 31 August (WIB)
    factory.visit(mentor, a, visited_at=_wib(2018, 9, 1, 0, 30))    # September: after the table
    coordinator = login_as("coordinator", region="3171")
    data = services.overview(coordinator, None, until=date(2018, 8, 1))
    assert data.months[0] == date(2018, 3, 1) and data.months[-1] == date(2018, 8, 1)
    assert data.mentors[0].counts == [0, 0, 1, 0, 0, 1]
    page = client.get("/visits/dashboard?until=2018-08").get_data(as_text=True)
    assert "Agustus 2018" in page and "Maret 2018" in page
    assert client.get("/visits/dashboard?until=0001-01").status_code == 200
    r = client.get("/visits/dashboard?until=kemarin")
    assert r.status_code == 200 and "Tulis bulan sebagai TTTT-BB" in r.get_data(as_text=True)


def test_overview_region_filter_for_all_dki(client, factory, login_as):
    m1, (o1,) = factory.caseload(1, region="3171")
    m2, (o2,) = factory.caseload(1, region="3172")
    login_as("coordinator", region=None)
    region = factory.region("3172")
    page = client.get(f"/visits/dashboard?region={region.id}").get_data(as_text=True)
    assert o2.code in page and o1.code not in page
    page = client.get("/visits/dashboard").get_data(as_text=True)
    assert o2.code in page and o1.code in page


def test_overview_lists_the_first_outlets_and_counts_them_all(client, factory, login_as, db, monkeypatch):
    """The never-visited and overdue lists show their first ``LIST_LIMIT`` outlets (by code; longest without a
    visit first) and count all of them by the rule of each outlet's whole status (last visit or assignment,
    WIB days, its curriculum's overdue days)."""
    from lms.places.models import Outlet
    from lms.visits import overview as overview_module

    monkeypatch.setattr(overview_module, "LIST_LIMIT", 2)
    now = utcnow()
    mentor, outlets = factory.caseload(9)
    assigned = {0: 40, 1: 45, 2: 31, 3: 2}  # never visited: assigned this many days ago (4: unassigned)
    visited = {5: 40, 6: 60, 7: 50, 8: 2}   # visited this many days ago
    for i, days in visited.items():
        factory.visit(mentor, outlets[i], visited_at=now - timedelta(days=days))
    with transaction():
        for a in db.session.scalars(sa.select(MentorAssignment).where(
                MentorAssignment.outlet_id.in_([o.id for o in outlets]))):
            index = next(i for i, o in enumerate(outlets) if o.id == a.outlet_id)
            if index == 4:
                a.ended_at = now
            a.started_at = now - timedelta(days=assigned.get(index, 90))
    coordinator = login_as("coordinator", region="3171")
    data = services.overview(coordinator, None, now)

    full = services.outlet_statuses(sa.and_(Outlet.region_id == outlets[0].region_id, Outlet.active.is_(True)), now)
    never = sorted((s for s in full if s.never_visited), key=lambda s: s.outlet.code)
    overdue = sorted((s for s in full if s.overdue), key=lambda s: (-(s.days_since or 0), s.outlet.code))
    assert data.outlets_total == len(full) == 9
    assert data.never_total == len(never) == 5 and data.overdue_total == len(overdue) == 6
    assert [s.outlet.id for s in data.never_visited] == [s.outlet.id for s in never[:2]]
    assert [s.outlet.id for s in data.overdue] == [s.outlet.id for s in overdue[:2]] == [outlets[6].id, outlets[7].id]
    assert data.overdue[0].days_since == 60 and data.overdue[0].last_visit_at is not None
    page = client.get("/visits/dashboard").get_data(as_text=True)
    assert "Menampilkan 2 dari 5 e-Warong" in page and "Menampilkan 2 dari 6 e-Warong" in page
    assert outlets[6].code in page and outlets[5].code not in page  # (40 days: the third overdue)


# --- bounded queries ------------------------------------------------------------------------------

def _grow(factory, mentor, n):
    outlets = [factory.outlet("3171") for _ in range(n)]
    for i, o in enumerate(outlets):
        factory.assign_mentor(mentor, o)
        trainee = factory.user("trainee", outlet=o)
        if i % 2:
            factory.visit(mentor, o, visited_at=utcnow() - timedelta(days=i), refresh=False, staff_notes="x",
                          actions=(("Isi buku kas", "Pengelola", date(2018, 6, 1)),))
        assert trainee


def test_caseload_and_overview_queries_do_not_grow(client, factory, login_as, count_queries):
    mentor = factory.user("mentor", region="3171")
    coordinator = factory.user("coordinator", region="3171")
    _grow(factory, mentor, 5)
    counts = {}
    for size in ("small", "big"):
        for who, url in ((mentor, "/caseload"), (coordinator, "/visits/dashboard"), (coordinator, "/caseloads")):
            login_as(who)
            client.get(url)
            with count_queries() as q:
                assert client.get(url).status_code == 200
            counts[(size, url)] = q.count
            client.form_post("/logout")
        if size == "small":
            _grow(factory, mentor, 35)
    for url in ("/caseload", "/visits/dashboard", "/caseloads"):
        assert counts[("small", url)] == counts[("big", url)], (url, counts)


def test_timeline_queries_do_not_grow(client, factory, login_as, count_queries):
    trainee = factory.user("trainee", phone="+6281234567001")
    factory.enrolment(trainee=trainee)
    outlet = trainee.managed_outlet
    mentor = factory.user("mentor")
    factory.assign_mentor(mentor, outlet)
    login_as(mentor)
    url = f"/outlets/{outlet.id}/timeline"

    def add(n):
        for i in range(n):
            factory.visit(mentor, outlet, visited_at=utcnow() - timedelta(days=i + 1), refresh=False,
                          actions=(("Isi buku kas", "Pengelola", date(2030, 1, 1)),))

    add(2)
    client.get(url)
    with count_queries() as small:
        client.get(url)
    add(20)
    with count_queries() as big:
        assert client.get(url).status_code == 200
    assert small.count == big.count, (small.count, big.count)


# --- CSV export ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["=SUM(A1:A9)", "+6281234", "-2+3", "@cmd", "\tcalc", "\r=1+1"])
def test_safe_cell_neutralises_formula_prefixes(value):
    from lms.export import safe_cell

    assert safe_cell(value) == "'" + value


def test_safe_cell_leaves_plain_values_and_numbers():
    from lms.export import safe_cell

    assert safe_cell("Stok cukup - rapi") == "Stok cukup - rapi"
    assert safe_cell(-6.175392) == "-6.175392" and safe_cell(-3) == "-3"
    assert safe_cell(None) == "" and safe_cell(date(2018, 5, 1)) == "2018-05-01"


def test_csv_stream_is_a_generator_with_bom_and_crlf():
    import types

    from lms.export import csv_stream

    out = csv_stream(["a", "b"], iter([["=1", 'x,"y"'], [2, None]]))
    assert isinstance(out, types.GeneratorType)
    text = "".join(out)
    assert text == '\ufeffa,b\r\n\'=1,"x,""y"""\r\n2,\r\n'


def _plain_client(app, user):
    """Flask's own test client: the conftest client runs each request in a fresh context, so a
    stream_with_context body could not be read afterwards."""
    from flask.testing import FlaskClient

    c = FlaskClient(app, use_cookies=True)
    with c.session_transaction() as sess:
        sess["_user_id"] = user.session_token
        sess["_fresh"] = True
    return c


def test_export_streams_visits_of_the_range_and_region(app, factory, db):
    mentor, (outlet,) = factory.caseload(1)
    other, (far,) = factory.caseload(1, region="3172")
    factory.visit(mentor, outlet, visited_at=_wib(2018, 5, 1, 23, 30), observations="=HYPERLINK(\"http://x\")",
                  staff_notes="@catatan", actions=(("Isi buku kas", "Pengelola", date(2018, 5, 10)),))
    factory.visit(mentor, outlet, visited_at=_wib(2018, 5, 2, 0, 30), observations="-1+2")
    factory.visit(mentor, outlet, visited_at=_wib(2018, 4, 30, 23, 59), observations="di luar rentang")
    factory.visit(other, far, visited_at=_wib(2018, 5, 1, 10), observations="wilayah lain")
    client = _plain_client(app, factory.user("coordinator", region="3171"))
    db.session.commit()
    r = client.get("/visits/export?start=2018-05-01&end=2018-05-02")
    assert r.status_code == 200
    assert r.is_streamed
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    body = r.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    import csv

    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "ID kunjungan" and len(rows) == 3
    assert [r_[1] for r_ in rows[1:]] == ["2018-05-01", "2018-05-02"]
    assert rows[1][11] == "'=HYPERLINK(\"http://x\")" and rows[1][12] == "'@catatan" and rows[2][11] == "'-1+2"
    assert rows[1][17] == "1" and rows[1][18] == "1"
    text = body.decode("utf-8")
    assert "wilayah lain" not in text and "di luar rentang" not in text
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "visits.exported")) is not None


def test_export_reads_in_batches(app, factory, db, monkeypatch):
    seen = {}
    real = csv_export._export_rows

    def spy(q, names, kinds):
        gen = real(q, names, kinds)
        seen["generator"] = gen
        return gen

    from sqlalchemy.orm import Session

    options = []

    def on_execute(state):
        if state.is_select and "yield_per" in state.execution_options:
            options.append(state.execution_options["yield_per"])

    monkeypatch.setattr(csv_export, "_export_rows", spy)
    monkeypatch.setattr(csv_export, "EXPORT_BATCH", 2)
    sa.event.listen(Session, "do_orm_execute", on_execute)
    mentor, (outlet,) = factory.caseload(1)
    for i in range(5):
        factory.visit(mentor, outlet, visited_at=_wib(2018, 5, 1 + i, 10), refresh=False)
    client = _plain_client(app, factory.user("admin", region=None))
    db.session.commit()
    r = client.get("/visits/export?start=2018-05-01&end=2018-05-31")
    assert r.is_streamed
    import types

    assert isinstance(seen["generator"], types.GeneratorType)
    try:
        assert options == []  # nothing read yet: the rows are read while the response streams
        assert len(r.get_data(as_text=True).strip().splitlines()) == 6
        assert options == [2]
    finally:
        sa.event.remove(Session, "do_orm_execute", on_execute)


@pytest.mark.parametrize("query,message", [("start=2018-05-10&end=2018-05-01", "tidak boleh sebelum tanggal awal"),
                                           ("start=kemarin&end=2018-05-01", "Tanggal tidak valid"),
                                           ("start=&end=2018-05-01", "Isi tanggal awal"),
                                           ("start=0001-01-01&end=9999-12-31", "Tanggal harus antara")])
def test_export_bad_range_is_a_form_message(client, factory, login_as, query, message):
    login_as("coordinator", region="3171")
    r = client.get(f"/visits/export?{query}")
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert client.get("/visits/export").status_code == 200


# --- the demo seed ------------------------------------------------------------------------------------

def test_seed_visits_is_idempotent_and_believable(app, factory, db):
    from lms.visits.seed import seed_recent_visits, seed_visits

    mentors = [factory.user("mentor", region="3171", email=f"pendamping.pusat{i}@demo.okoce.id") for i in (1, 2, 3)]
    bystander = factory.user("mentor", region="3171")
    cohort = factory.cohort()
    trainees = [factory.user("trainee", region="3171", phone="+6281234567001") for _ in range(30)]
    for t in trainees:
        e = factory.enrolment(cohort=cohort, trainee=t)
        with transaction():
            e.started_at = datetime(2018, 4, 2, 1, tzinfo=timezone.utc)
    now = datetime(2026, 6, 15, 5, tzinfo=timezone.utc)
    report = seed_visits(now=now)
    assert report["assignments"] == 30 and report["visits"] > 40 and report["action_items"] > 5
    history = db.session.scalars(sa.select(Visit)).all()
    assert all(v.visited_at.year == 2018 for v in history)  # the 2018 part knows nothing of today
    assert all(i.done_at is not None and i.done_at.year == 2018 for v in history for i in v.action_items)
    recent = seed_recent_visits(to_wib(now).date())
    assert recent["visits"] >= 30
    again = seed_visits(now=now)
    assert again == {"assignments": 0, "visits": 0, "action_items": 0}
    assert seed_recent_visits(date(2026, 9, 1)) == {"visits": 0, "action_items": 0}  # not even on a later day
    per_mentor = [len(services.caseload_outlets(m)) for m in mentors]
    assert per_mentor == [10, 10, 10] and services.caseload_outlets(bystander) == []
    visits = db.session.scalars(sa.select(Visit)).all()
    assert all(v.visited_at <= now for v in visits)
    in_2018 = [v for v in visits if v.visited_at.year == 2018]
    assert all(date(2018, 4, 17) <= to_wib(v.visited_at).date() <= date(2018, 8, 31) for v in in_2018)
    statuses = [s for m in mentors for s in services.caseload(m, now)]
    assert any(s.overdue for s in statuses) and any(not s.overdue for s in statuses)
    assert all(s.days_since is not None and s.days_since < 60 for s in statuses)  # everyone seen in the last weeks
    counts = db.session.execute(sa.select(Visit.outlet_id, sa.func.count()).group_by(Visit.outlet_id)).all()
    assert max(n for _, n in counts) <= 7 and len(counts) == 30
    items = db.session.scalars(sa.select(ActionItem)).all()
    assert any(i.done_at for i in items) and any(i.done_at is None and i.due_on < to_wib(now).date() for i in items)
    assert all("  " not in v.observations for v in visits)
    # progress counts the seeded visits (pendampingan needs three)
    enrolments = db.session.scalars(sa.select(Enrolment)).all()
    counts = [programme_services.progress_for(e).stages[2].milestones[0].count for e in enrolments]
    assert max(counts) >= 3 and min(counts) < 3
