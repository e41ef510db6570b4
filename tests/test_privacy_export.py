""""Data saya": the copy of everything held about me (UU PDP access and portability).

A rich world: the outlet had a previous manager (their evidence, a visit with a photo in their
term), then me (my licence scan returned with a comment, my monthly report with an attachment, a
visit with a photo, an action item and staff notes, a Bimtek registration with attendance, feedback
and test answers, a certificate with its PDF, consents, notifications and messages); a neighbour
in the same region attended the same Bimtek and answered its feedback. The copy must hold all of
mine and nothing of theirs, and no staff notes.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.privacy import export
from lms.storage import storage
from lms.privacy.models import Consent, ConsentKind, DataRequest, RequestKind, RequestStatus
from tests.factories import tiny_pdf, tiny_png

STAFF_NOTE = "RAHASIA-STAF pantau utang pengelola"
OLD_NOTE = "Catatan kunjungan masa pengelola lama"


@dataclass
class Rich:
    me: Any
    previous: Any
    neighbour: Any
    outlet: Any
    mentor: Any
    coordinator: Any
    licence: Any
    report: Any
    old_licence: Any
    visit: Any
    old_visit: Any
    certificate: Any
    session: Any


def _pdf(tag: str) -> bytes:
    return tiny_pdf().replace(b"%%EOF", f"% {tag}\n%%EOF".encode())


def rich_world(factory: Any, db: Any) -> Rich:
    from lms.certification import services as certification
    from lms.feedback.models import FeedbackRating, FeedbackResponse, TestAnswer, TestAttempt, TestPhase
    from lms.files import PDF, PNG, CheckedUpload
    from lms.notifications.models import Delivery, DeliveryStatus, Notification
    from lms.permissions import SYSTEM
    from lms.places import services as places
    from lms.programme import services as programme
    from lms.sessions.models import SessionSpeaker

    previous = factory.user("trainee", region="3171", full_name="Budi Pengelola Lama", email="budi.lama@uji.example",
                            phone="+6281299990001")
    outlet = previous.managed_outlet
    mentor = factory.user("mentor", region="3171", full_name="Mentor Pendamping Uji")
    factory.assign_mentor(mentor, outlet)
    coordinator = factory.user("coordinator", region="3171", full_name="Koordinator Peninjau")
    cohort = factory.cohort(regions=("3171",))
    # the previous manager's term: their licence scan and a visit with a photo
    old_licence = programme.save_licence(previous, outlet, programme.LicenceInput("NIB", "9120009999999", date(2018, 1, 2),
                                                                                   "OSS lama"),
                                         CheckedUpload(_pdf("lama"), PDF, "izin-lama.pdf"))
    old_visit = factory.visit_with_extras(mentor, outlet)
    with transaction():
        old_visit.observations = OLD_NOTE
        old_visit.visited_at = utcnow()  # in the previous manager's term
    # me, from now on
    me = factory.user("trainee", region="3171", with_outlet=False, full_name="Siti Pengelola Baru",
                      email="siti.baru@uji.example", phone="+6281299990002")
    places.set_outlet_manager(SYSTEM, outlet, me)
    db.session.refresh(me)
    factory.enrolment(cohort=cohort, trainee=me)
    licence = programme.save_licence(me, outlet, programme.LicenceInput("NIB", "9120001234567", date(2018, 3, 1), "OSS"),
                                     CheckedUpload(_pdf("baru"), PDF, "izin-saya.pdf"))
    programme.review(coordinator, licence, "return", "Scan kurang jelas, unggah ulang")
    report = programme.save_report(me, outlet, programme.ReportInput(programme.this_month(), 1_500_000, 900_000, 200_000,
                                                                     "Catatan buku kas saya"),
                                   upload=CheckedUpload(tiny_png((12, 9)), PNG, "buku-kas.png"))
    visit = factory.visit_with_extras(mentor, outlet)
    with transaction():
        visit.staff_notes = STAFF_NOTE
        visit.observations = "Rak sudah rapi"
        visit.visited_at = utcnow()  # in my term
        visit.latitude, visit.longitude, visit.location_accuracy_m = -6.1751, 106.8272, 12.0
    # a Bimtek I attended (the neighbour too), my feedback and test, my certificate with its PDF
    neighbour = factory.user("trainee", region="3171", full_name="Tetangga Peserta Lain", email="tetangga@uji.example",
                             phone="+6281299990003")
    session = factory.session(region="3171", cohort=cohort)
    with transaction():
        session.speakers.append(SessionSpeaker(name="Narasumber BI", name_key="narasumber bi", agency="bank_indonesia"))
    factory.register(session, me, "present")
    factory.register(session, neighbour, "present")
    db.session.refresh(session)
    speaker = session.speakers[0]
    with transaction():
        for who, comment in ((me, "Materinya berguna sekali"), (neighbour, "Komentar tetangga rahasia")):
            db.session.add(FeedbackResponse(session_id=session.id, user_id=who.id, questionnaire_key="bimtek",
                                            comment=comment,
                                            ratings=[FeedbackRating(item="overall", value=5),
                                                     FeedbackRating(item="speaker", speaker_id=speaker.id, value=4)]))
        db.session.add(TestAttempt(session_id=session.id, user_id=me.id, phase=TestPhase.POST, test_key="bimtek",
                                   finished_at=utcnow(), correct=1, total=2,
                                   answers=[TestAnswer(question_key="q1", choice=0, is_correct=True),
                                            TestAnswer(question_key="q2", choice=2, is_correct=False)]))
        db.session.add(Consent(user_id=me.id, kind=ConsentKind.PROGRAMME, granted=True, notice_version="2026-12",
                               source="first_sign_in"))
        db.session.add(Notification(user_id=me.id, kind="stage.completed", title="Tahap selesai: Pelatihan"))
        db.session.add(Notification(user_id=neighbour.id, kind="stage.completed", title="Notifikasi tetangga"))
        db.session.add(Delivery(key="uji-1", user_id=me.id, channel="email", kind="certificate.issued",
                                address=me.email, subject="Sertifikat terbit", body_text="…",
                                status=DeliveryStatus.SENT, sent_at=utcnow()))
    certificate = factory.certificate(session=session, holder=me)
    certification.store_pdf(certificate.id, _pdf("sertifikat"))
    db.session.refresh(certificate)
    return Rich(me=me, previous=previous, neighbour=neighbour, outlet=outlet, mentor=mentor, coordinator=coordinator,
                licence=licence, report=report, old_licence=old_licence, visit=visit, old_visit=old_visit,
                certificate=certificate, session=session)


def _request(client) -> int:  # type: ignore[no-untyped-def]
    resp = client.form_post("/privasi/data-saya/salinan")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/privasi/data-saya#salinan")
    return _latest_id()


def _built(db: Any) -> None:
    """Wait for the worker thread, then end the test's read snapshot so it sees what the worker wrote."""
    export.WORKER.join()
    db.session.commit()


def _latest_id() -> int:
    from lms.extensions import db

    return db.session.scalar(sa.select(sa.func.max(DataRequest.id)))  # type: ignore[return-value]


def _zip(client, req_id: int) -> tuple[bytes, zipfile.ZipFile]:  # type: ignore[no-untyped-def]
    resp = client.get(f"/privasi/data-saya/salinan/{req_id}/unduh")
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "application/zip"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in resp.headers["Cache-Control"]
    data = resp.data
    resp.close()
    return data, zipfile.ZipFile(io.BytesIO(data))


@pytest.fixture
def rich(app, factory, db):  # type: ignore[no-untyped-def]
    app.config["DATA_EXPORT_WORKER"] = "thread"
    return rich_world(factory, db)


def test_my_copy_holds_everything_of_mine_and_nothing_of_others(client, login_as, rich, db):
    from lms.programme.models import StoredFile

    login_as(rich.me)
    req_id = _request(client)
    _built(db)
    req = db.session.get(DataRequest, req_id)
    assert req.status is RequestStatus.READY and req.user_id == rich.me.id
    assert req.progress == req.total and req.total == len(export.SECTIONS) + 4 + 1  # 4 files
    assert req.file_key.startswith("exports/") and req.expires_at - req.handled_at == timedelta(days=7)
    raw, zf = _zip(client, req_id)
    assert hashlib.sha256(raw).hexdigest() == req.sha256 and len(raw) == req.file_size

    names = set(zf.namelist())
    assert {"data.json", "ringkasan.html", "README.txt"} <= names
    doc = json.loads(zf.read("data.json"))
    assert doc["schema_version"] == export.SCHEMA_VERSION == 1
    assert set(export.SECTIONS) | {"schema_version", "generated_at", "language", "controller", "files"} == set(doc)
    a = doc["account"]
    assert (a["full_name"], a["email"], a["phone"], a["role"]) == ("Siti Pengelola Baru", "siti.baru@uji.example",
                                                                   "+6281299990002", "trainee")
    assert a["region"]["code"] == "3171" and a["created_at"]
    assert [t["outlet"]["code"] for t in doc["outlet_terms"]] == [rich.outlet.code]
    assert doc["consents"][0] | {"at": None} == {"kind": "programme", "granted": True, "notice_version": "2026-12",
                                                 "at": None, "source": "first_sign_in"}
    assert len(doc["enrolments"]) == 1 and doc["enrolments"][0]["status"] == "active"
    # my evidence, with the comment I was shown; not the previous manager's
    ev = {e["id"]: e for e in doc["evidence"]}
    assert set(ev) == {rich.licence.id, rich.report.id}
    lic = ev[rich.licence.id]
    assert lic["status"] == "returned" and lic["details"]["number"] == "9120001234567"
    assert [(h["decision"], h["comment"]) for h in lic["history"]][-1] == ("returned", "Scan kurang jelas, unggah ulang")
    assert ev[rich.report.id]["details"]["turnover"] == 1_500_000
    assert ev[rich.report.id]["details"]["notes"] == "Catatan buku kas saya"
    # sessions, feedback, tests, certificate
    assert [(r["session"]["id"], r["attendance"]) for r in doc["registrations"]] == [(rich.session.id, "present")]
    assert len(doc["feedback"]) == 1 and doc["feedback"][0]["comment"] == "Materinya berguna sekali"
    assert {(r["item"], r["speaker"], r["value"]) for r in doc["feedback"][0]["ratings"]} == {
        ("overall", None, 5), ("speaker", "Narasumber BI", 4)}
    assert doc["tests"][0]["answers"] == [{"question": "q1", "choice": 0, "correct": True},
                                          {"question": "q2", "choice": 2, "correct": False}]
    assert [c["serial"] for c in doc["certificates"]] == [rich.certificate.serial]
    # the visit of my term, without its staff notes and location; not the previous term's
    assert [v["id"] for v in doc["visits"]] == [rich.visit.id]
    v = doc["visits"][0]
    assert v["mentor"] == "Mentor Pendamping Uji" and v["observations"] == "Rak sudah rapi"
    assert "staff_notes" not in v and "latitude" not in v
    assert v["action_items"][0]["description"] == "Rapikan buku stok"
    assert [n["title"] for n in doc["notifications"]][-1] == "Tahap selesai: Pelatihan"
    assert "Notifikasi tetangga" not in {n["title"] for n in doc["notifications"]}
    assert any(m["channel"] == "email" and m["status"] == "sent" for m in doc["messages"])
    assert [r["kind"] for r in doc["data_requests"]] == ["export"]
    assert doc["sign_ins"] and doc["sign_ins"][0]["method"] == "password"

    # the files: mine, intact; none of the previous manager's
    files = {f["path"]: f for f in doc["files"]}
    assert set(files) == {lic["file"], ev[rich.report.id]["file"], *v["photos"], doc["certificates"][0]["file"]}
    assert len(files) == 4 and all(not f.get("missing") for f in files.values())
    for path, f in files.items():
        body = zf.read(path)
        assert hashlib.sha256(body).hexdigest() == f["sha256"] and len(body) == f["size"]
    assert zf.read(lic["file"]).startswith(b"%PDF") and zf.read(doc["certificates"][0]["file"]).startswith(b"%PDF")
    from PIL import Image

    for p in v["photos"] + [ev[rich.report.id]["file"]]:
        with Image.open(io.BytesIO(zf.read(p))) as img:
            img.verify()
    stored = {r.id: r.sha256 for r in db.session.scalars(sa.select(StoredFile))}
    assert files[lic["file"]]["sha256"] == stored[rich.licence.file_id]
    assert stored[rich.old_licence.file_id] not in {f["sha256"] for f in files.values()}
    assert not any(p.startswith(f"berkas/foto-kunjungan/{rich.old_visit.id}-") for p in files)

    # nothing of others, anywhere in the ZIP (every member, decompressed)
    everything = b"".join(zf.read(n) for n in zf.namelist())
    for secret in ("Budi Pengelola Lama", "budi.lama@uji.example", "6281299990001", "Tetangga Peserta Lain",
                   "tetangga@uji.example", "6281299990003", "Komentar tetangga rahasia", "Notifikasi tetangga",
                   STAFF_NOTE, OLD_NOTE, "9120009999999", "OSS lama", "-6.1751", "106.8272"):
        assert secret.encode() not in everything, secret
    assert "Siti Pengelola Baru".encode() in everything

    # the readable summary: self-contained, in my language
    html = zf.read("ringkasan.html").decode()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="id">' in html
    assert "Siti Pengelola Baru" in html and "Scan kurang jelas" in html and "Rak sudah rapi" in html
    assert "http://" not in html and "https://" not in html.replace(doc["certificates"][0]["verify_url"], "")
    assert "<script" not in html and "<link" not in html
    readme = zf.read("README.txt").decode()
    assert "data.json" in readme and "schema_version: 1" in readme


def test_requesting_and_downloading_are_audited_and_the_person_is_told(client, login_as, rich, db):
    from lms.notifications import dispatch
    from lms.notifications.models import Delivery, Notification

    login_as(rich.me)
    req_id = _request(client)
    _built(db)
    _zip(client, req_id)
    rows = db.session.execute(sa.select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.target_type,
                                        AuditEntry.target_id).where(AuditEntry.action.like("privacy.export%"))
                              .order_by(AuditEntry.id)).all()
    assert rows == [("privacy.export_requested", rich.me.id, "data_request", str(req_id)),
                    ("privacy.export_downloaded", rich.me.id, "data_request", str(req_id))]
    dispatch.run_once()
    n = db.session.scalars(sa.select(Notification).where(Notification.kind == "privacy.export_ready")).all()
    assert [(x.user_id, x.url) for x in n] == [(rich.me.id, "/privasi/data-saya")]
    assert "Salinan data Anda siap" in n[0].title
    mails = db.session.scalars(sa.select(Delivery).where(Delivery.kind == "privacy.export_ready")).all()
    assert [(d.user_id, d.channel) for d in mails] == [(rich.me.id, "email")]  # no WhatsApp without the opt-in


def test_only_i_may_download_my_copy_and_only_while_it_is_valid(app, client, login_as, factory, db):
    app.config["DATA_EXPORT_WORKER"] = "inline"
    me = factory.user("trainee", region="3171")
    login_as(me)
    req_id = _request(client)
    url = f"/privasi/data-saya/salinan/{req_id}/unduh"
    status = f"/privasi/data-saya/salinan/{req_id}/status.json"
    assert client.get(status).get_json()["status"] == "ready"
    for other in (factory.user("trainee", region="3171"), factory.user("mentor", region="3171"),
                  factory.user("coordinator", region="3171"), factory.user("admin")):
        client.form_post("/logout")
        login_as(other)
        for u in (url, status):
            r = client.get(u)
            r.close()
            assert r.status_code == 404, (other.role, u)
        assert f"/salinan/{req_id}/unduh" not in client.get("/privasi/data-saya").get_data(as_text=True)
    client.form_post("/logout")
    resp = client.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login_as(me)
    assert client.get("/privasi/data-saya/salinan/999999/unduh").status_code == 404
    assert client.get("/privasi/data-saya/salinan/abc/unduh").status_code == 404
    # past its time: 404, and the retention job deletes it (idempotent)
    req = db.session.get(DataRequest, req_id)
    path = storage().local_path(export.AREA, req.file_key)
    assert path is not None and path.exists()
    with transaction():
        req.expires_at = utcnow() - timedelta(seconds=1)
    r = client.get(url)
    r.close()
    assert r.status_code == 404
    page = client.get("/privasi/data-saya").get_data(as_text=True)
    assert "/unduh" not in page
    assert export.delete_expired_exports(utcnow()) == 1
    db.session.expire_all()
    req = db.session.get(DataRequest, req_id)
    assert req.status is RequestStatus.EXPIRED and req.file_key is None and not path.exists()
    assert export.delete_expired_exports(utcnow()) == 0
    assert "Kedaluwarsa" in client.get("/privasi/data-saya").get_data(as_text=True)


def test_a_copy_not_yet_expired_is_kept_by_the_retention_job(app, client, login_as, factory, db):
    app.config["DATA_EXPORT_WORKER"] = "inline"
    login_as(factory.user("trainee", region="3171"))
    req_id = _request(client)
    req = db.session.get(DataRequest, req_id)
    assert export.delete_expired_exports(req.expires_at - timedelta(seconds=1)) == 0
    assert export.delete_expired_exports(req.expires_at) == 1


def test_at_most_one_copy_is_built_at_a_time_with_progress_shown(app, client, login_as, factory, db):
    app.config["DATA_EXPORT_WORKER"] = "off"
    me = factory.user("trainee", region="3171")
    login_as(me)
    first = _request(client)
    page = client.get("/privasi/data-saya").get_data(as_text=True)
    assert 'id="export-progress"' in page and "muat ulang" in page and "privacy-export.js" in page
    assert "Minta salinan data saya" not in page  # no second button while one is under way
    assert client.get(f"/privasi/data-saya/salinan/{first}/status.json").get_json() | {"id": 0} == {
        "id": 0, "status": "pending", "progress": 0, "total": 1, "percent": 0, "finished": False}
    # a second click shows the one under way
    resp = client.form_post("/privasi/data-saya/salinan")
    assert resp.status_code == 302
    assert "masih disiapkan" in client.get("/privasi/data-saya").get_data(as_text=True)
    count = lambda: db.session.scalar(sa.select(sa.func.count()).select_from(DataRequest))  # noqa: E731
    assert count() == 1
    # built (as cron would, with the worker off)
    assert export.build_pending() == 1
    p = client.get(f"/privasi/data-saya/salinan/{first}/status.json").get_json()
    assert p["status"] == "ready" and p["finished"] and p["percent"] == 100
    page = client.get("/privasi/data-saya").get_data(as_text=True)
    assert f"/privasi/data-saya/salinan/{first}/unduh" in page and "Minta salinan data saya" in page
    # a ready one does not block a new request
    second = _request(client)
    assert second != first and count() == 2
    # a build left behind by a dead process is failed after a while and replaced
    with transaction():
        db.session.execute(sa.update(DataRequest).where(DataRequest.id == second)
                           .values(status=RequestStatus.RUNNING, updated_at=utcnow() - export.STALE_AFTER * 2))
    third = _request(client)
    db.session.expire_all()
    assert third != second and db.session.get(DataRequest, second).status is RequestStatus.FAILED
    assert db.session.get(DataRequest, third).status is RequestStatus.PENDING
    assert "Gagal" in client.get("/privasi/data-saya").get_data(as_text=True)


def test_progress_is_visible_while_the_copy_is_built(app, client, login_as, factory, db, monkeypatch):
    import threading

    app.config["DATA_EXPORT_WORKER"] = "thread"
    monkeypatch.setattr(export, "PROGRESS_EVERY", 0)
    gate = threading.Event()
    visits = export.Collector.visits

    def slow_visits(self: Any) -> Any:
        assert gate.wait(30), "the test never opened the gate"
        return visits(self)

    monkeypatch.setattr(export.Collector, "visits", slow_visits)
    login_as(factory.user("trainee", region="3171"))
    req_id = _request(client)
    status = f"/privasi/data-saya/salinan/{req_id}/status.json"
    try:
        for _ in range(300):  # until the worker reaches the gate (at most 3 s)
            p = client.get(status).get_json()
            if p["status"] == "running" and p["progress"] >= export.SECTIONS.index("visits"):
                break
            threading.Event().wait(0.01)
        assert p["status"] == "running" and not p["finished"] and 0 < p["percent"] < 100, p
        page = client.get("/privasi/data-saya").get_data(as_text=True)
        assert 'id="export-progress"' in page and f'value="{p["progress"]}"' in page
    finally:
        gate.set()
        _built(db)
    assert client.get(status).get_json()["status"] == "ready"


def test_a_failed_build_leaves_no_file_and_says_so(app, client, login_as, factory, db, monkeypatch):
    app.config["DATA_EXPORT_WORKER"] = "off"
    me = factory.user("trainee", region="3171")
    login_as(me)
    req_id = _request(client)

    def broken(*_a: Any, **_k: Any) -> str:
        raise RuntimeError("printer rusak (uji)")

    monkeypatch.setattr(export, "_summary_html", broken)
    assert export.build_export(req_id) is False
    req = db.session.get(DataRequest, req_id)
    assert req.status is RequestStatus.FAILED and req.response == "RuntimeError" and req.file_key is None
    assert export.export_keys() == []
    assert export.build_export(req_id) is False  # not pending any more: nothing happens
    r = client.get(f"/privasi/data-saya/salinan/{req_id}/unduh")
    assert r.status_code == 404
    assert "Gagal" in client.get("/privasi/data-saya").get_data(as_text=True)


def test_a_file_missing_on_the_server_is_listed_not_fatal(app, client, login_as, rich, db):
    from lms import files

    app.config["DATA_EXPORT_WORKER"] = "inline"
    storage().delete(files.AREA, rich.licence.file.path)
    login_as(rich.me)
    req_id = _request(client)
    assert db.session.get(DataRequest, req_id).status is RequestStatus.READY
    _raw, zf = _zip(client, req_id)
    doc = json.loads(zf.read("data.json"))
    missing = [f for f in doc["files"] if f.get("missing")]
    assert [m["category"] for m in missing] == ["evidence"] and missing[0]["path"] not in zf.namelist()


def test_the_summary_is_in_the_persons_language(app, client, login_as, factory, db):
    app.config["DATA_EXPORT_WORKER"] = "inline"
    me = factory.user("trainee", region="3171", locale="en")
    login_as(me)
    req_id = _request(client)
    _raw, zf = _zip(client, req_id)
    assert '<html lang="en">' in zf.read("ringkasan.html").decode()
    assert json.loads(zf.read("data.json"))["language"] == "en"


def test_my_data_page_lists_what_is_held(client, login_as, rich):
    login_as(rich.me)
    html = client.get("/privasi/data-saya").get_data(as_text=True)
    assert "Data yang kami simpan tentang Anda" in html
    for label in ("Bukti: izin, pemasaran, laporan keuangan, permodalan", "Sertifikat", "Riwayat masuk",
                  "Kunjungan pendamping ke e-Warong Anda"):
        assert label in html
    counts = dict(export.categories(rich.me))
    assert counts["evidence"] == 2 and counts["visits"] == 1 and counts["certificates"] == 1
    assert counts["registrations"] == 1 and counts["feedback"] == 1 and counts["outlet_terms"] == 1
    # the previous manager sees their own term's records only
    prev = dict(export.categories(rich.previous))
    assert prev["evidence"] == 1 and prev["visits"] == 1 and prev["certificates"] == 0


def test_erasure_can_remove_a_persons_copies(app, client, login_as, factory, db):
    app.config["DATA_EXPORT_WORKER"] = "inline"
    me = login_as(factory.user("trainee", region="3171"))
    req_id = _request(client)
    path = storage().local_path(export.AREA, db.session.get(DataRequest, req_id).file_key)
    assert export.delete_exports_of(me.id) == 1
    db.session.expire_all()
    assert not path.exists() and db.session.get(DataRequest, req_id).status is RequestStatus.EXPIRED
    assert db.session.scalar(sa.select(DataRequest.kind).where(DataRequest.id == req_id)) is RequestKind.EXPORT


def test_a_staff_members_copy_holds_their_own_data_not_the_records_they_made_about_others(app, client, login_as,
                                                                                          rich, db):
    app.config["DATA_EXPORT_WORKER"] = "inline"
    for staff in (rich.mentor, rich.coordinator):
        login_as(staff)
        req_id = _request(client)
        _raw, zf = _zip(client, req_id)
        doc = json.loads(zf.read("data.json"))
        assert doc["account"]["full_name"] == staff.full_name
        assert doc["evidence"] == [] and doc["visits"] == [] and doc["files"] == []
        everything = b"".join(zf.read(n) for n in zf.namelist())
        for other in ("Siti Pengelola Baru", "siti.baru@uji.example", "Budi Pengelola Lama", "Rak sudah rapi",
                      "Scan kurang jelas", STAFF_NOTE):
            assert other.encode() not in everything, (staff.role, other)
        client.form_post("/logout")
