"""Erasure at the person's request (UU PDP Pasal 8): admins only, never their own, refused with a reason;
and THE test: a person with a full history is erased, then every table and every file is searched for
their name, e-mail and number (none is found) while dashboards, certificates' verify pages and other
people's data still hold."""
from __future__ import annotations

import io
import secrets
import shutil
import subprocess
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.extensions import db
from lms.files import PDF, PNG, CheckedUpload
from lms.notifications import dispatch
from lms.notifications.models import Notification
from lms.permissions import SYSTEM
from lms.privacy import erasure
from lms.privacy.models import DataRequest, RequestKind, RequestStatus
from lms.storage import storage
from tests.factories import tiny_png

NAME = "Siti Aminah Lubis"
OLD_NAME = "Siti Aminah"
EMAIL = "siti.aminah@warung.example"
PHONE = "+6281377788899"
OLD_PHONE = "+6281377700001"
#: what must not be found anywhere afterwards (any case): the names, the e-mail, both numbers in every form
NEEDLES = [OLD_NAME, EMAIL, PHONE, "081377788899", "0813-7778-8899", "6281377788899",
           OLD_PHONE, "081377700001", "0813-7770-0001"]


def _pdf_with(text: str) -> bytes:
    """A small valid PDF whose page shows ``text`` (so pdftotext finds it, and its bytes hold it)."""
    stream = f"BT /F1 12 Tf 10 100 Td ({text}) Tj ET".encode()
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
               b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream",
               b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _found_in_text(text: str) -> list[str]:
    low = text.lower()
    return [n for n in NEEDLES if n.lower() in low]


def _scan_database() -> list[str]:
    """Every row of every table, every value as text (JSON included)."""
    hits = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).all():
            for col, value in zip(table.columns, row):
                if value is None:
                    continue
                found = _found_in_text(str(value))
                if found:
                    hits.append(f"{table.name}.{col.name}: {found} in {str(value)[:200]!r}")
    return hits


def _scan_files(root: Path) -> list[str]:
    """Every file under ``root``: its bytes, the members of a ZIP, the text of a PDF."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        texts = [data.decode("utf-8", "replace"), data.decode("latin-1")]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                texts += [zf.read(i).decode("utf-8", "replace") for i in zf.infolist()]
        if data.startswith(b"%PDF") and shutil.which("pdftotext"):
            texts.append(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=False,
                                        timeout=30).stdout.decode("utf-8", "replace"))
        for text in texts:
            found = _found_in_text(text)
            if found:
                hits.append(f"{path.relative_to(root)}: {found}")
                break
    return hits


def _sign_out(client) -> None:  # type: ignore[no-untyped-def]
    client.form_post("/logout")


def _snapshot_counts() -> dict[str, object]:
    from lms.certification.models import Certificate
    from lms.dashboard.models import DashboardCount
    from lms.programme.models import Enrolment, Evidence, EvidenceStatus
    from lms.sessions.models import Registration
    from lms.visits.models import Visit

    def n(model, *where):  # type: ignore[no-untyped-def]
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    return {
        "dashboard": sorted(tuple(r) for r in db.session.execute(sa.select(
            DashboardCount.metric, DashboardCount.cohort_id, DashboardCount.region_id, DashboardCount.kecamatan_id,
            DashboardCount.key, DashboardCount.day, DashboardCount.n)).all()),
        "enrolments": sorted(tuple(r) for r in db.session.execute(sa.select(
            Enrolment.id, Enrolment.status, Enrolment.current_stage, Enrolment.completed_count)).all()),
        "evidence": n(Evidence), "verified": n(Evidence, Evidence.status == EvidenceStatus.VERIFIED),
        "visits": n(Visit), "registrations": n(Registration), "certificates": n(Certificate),
    }


def _audit_chain() -> list[tuple]:
    return [tuple(r) for r in db.session.execute(sa.select(
        AuditEntry.id, AuditEntry.at, AuditEntry.action, AuditEntry.actor_id, AuditEntry.target_type,
        AuditEntry.target_id).order_by(AuditEntry.id)).all()]


# --- who may erase -----------------------------------------------------------------------------------

def _erasure_request(person, reason: str = "Saya berhenti dari program") -> DataRequest:  # type: ignore[no-untyped-def]
    from lms.privacy import requests

    return requests.create_erasure(person, reason)


def test_only_another_admin_erases_and_a_refusal_needs_a_reason(client, factory, login_as):
    person = factory.user("trainee", region="3171", phone="+6281234560100")
    req = _erasure_request(person)
    login_as("coordinator", region="3171")
    assert client.get(f"/privasi/permintaan/{req.id}").status_code == 404
    assert client.form_post(f"/privasi/permintaan/{req.id}/terima", {"confirmed": "1"}).status_code == 404
    assert client.form_post(f"/privasi/permintaan/{req.id}/tolak", {"reason": "Tidak boleh"}).status_code == 404
    _sign_out(client)
    login_as(person)
    assert client.form_post(f"/privasi/permintaan/{req.id}/terima", {"confirmed": "1"}).status_code == 403
    _sign_out(client)

    admin = factory.user("admin", region=None)
    own = _erasure_request(admin, "Saya keluar dari dinas")
    login_as(admin)
    assert client.form_post(f"/privasi/permintaan/{own.id}/terima", {"confirmed": "1"}).status_code == 403
    assert client.form_post(f"/privasi/permintaan/{own.id}/tolak", {"reason": "Tolak sendiri"}).status_code == 403

    # the refusal: a reason is required, recorded, and told to the person
    resp = client.form_post(f"/privasi/permintaan/{req.id}/tolak", {"reason": ""})
    assert resp.status_code == 422
    resp = client.form_post(f"/privasi/permintaan/{req.id}/tolak",
                            {"reason": "Pengajuan KUR-nya masih diproses Bank DKI; UU Perbankan mewajibkan arsipnya."})
    assert resp.status_code == 302
    db.session.expire_all()
    assert req.status is RequestStatus.DECLINED and person.erased_at is None and person.active
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "privacy.erasure_refused")).one()
    assert entry.actor_id == admin.id and "UU Perbankan" in entry.details["reason"]
    dispatch.run_once()
    note = db.session.scalars(sa.select(Notification).where(Notification.user_id == person.id)).one()
    assert note.title == "Permintaan penghapusan data Anda ditolak" and "UU Perbankan" in note.body

    # accepting starts with the confirm page; nothing happens until it is confirmed
    other = factory.user("trainee", region="3171", phone="+6281234560101")
    second = _erasure_request(other)
    resp = client.form_post(f"/privasi/permintaan/{second.id}/terima", {})
    assert resp.status_code == 200 and "tidak bisa dibatalkan" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert other.erased_at is None
    assert client.form_post(f"/privasi/permintaan/{second.id}/terima", {"confirmed": "1"}).status_code == 302
    db.session.expire_all()
    assert other.erased_at is not None and second.status is RequestStatus.ACCEPTED
    assert client.form_post(f"/privasi/permintaan/{second.id}/terima", {"confirmed": "1"}).status_code == 403


def test_a_namesake_keeps_their_name_and_certificate(client, factory, login_as):
    person = factory.user("trainee", region="3171", full_name="Dewi Lestari", phone="+6281234560102")
    namesake = factory.user("trainee", region="3171", full_name="Dewi Lestari", phone="+6281234560103")
    session = factory.session(region="3171")
    factory.register(session, namesake, "present")
    cert = factory.certificate(session=session, holder=namesake)
    req = _erasure_request(person)
    login_as("admin", region=None)
    assert client.form_post(f"/privasi/permintaan/{req.id}/terima", {"confirmed": "1"}).status_code == 302
    db.session.expire_all()
    assert person.full_name == f"Pengguna dihapus #{person.id}"
    assert namesake.full_name == "Dewi Lestari" and cert.holder_name == "Dewi Lestari"


# --- THE test -----------------------------------------------------------------------------------------

def _rich_world(client, factory, login_as, app):  # type: ignore[no-untyped-def]
    """A manager with everything the system can hold about a person, and a neighbour who must stay whole."""
    from lms.certification import services as certificates
    from lms.feedback.models import FeedbackResponse
    from lms.imports import staging
    from lms.notifications import services as notifications
    from lms.people import phone_codes
    from lms.privacy import export
    from lms.programme import services as programme
    from lms.visits.recording import ActionInput, VisitInput, log_visit

    app.config["DATA_EXPORT_WORKER"] = "off"
    outlet = factory.outlet("3171", name="e-Warong Melati", phone=PHONE, address="Jl. Melati No. 3")
    person = factory.user("trainee", region="3171", outlet=outlet, full_name=OLD_NAME, email=EMAIL, phone=OLD_PHONE)
    neighbour = factory.user("trainee", region="3171", full_name="Budi Santoso", email="budi@warung.example",
                             phone="+6281355566677")
    mentor = factory.user("mentor", region="3171", full_name="Pendamping Rahmat")
    coordinator = factory.user("coordinator", region="3171", full_name="Koordinator Wati")
    admin = factory.user("admin", region=None, full_name="Admin Data")
    cohort = factory.cohort(regions=("3171",))
    factory.enrolment(cohort=cohort, trainee=person)
    factory.enrolment(cohort=cohort, trainee=neighbour)
    for o in (outlet, neighbour.managed_outlet):
        factory.assign_mentor(mentor, o)
    with transaction():
        notifications.record_whatsapp_opt_in(person, source="test")

    # sign-ins: a code to the (old) number, a wrong password, then the sign-in form (a device record)
    row_id, code = phone_codes.request_login_code(OLD_PHONE, "203.0.113.7", None)
    assert code
    phone_codes.sign_in_with_code(row_id, code, "203.0.113.7", None)
    client.form_post("/login", {"email": EMAIL, "password": "bukan-kata-sandinya"},  # from elsewhere: kept
                     environ_base={"REMOTE_ADDR": "198.51.100.9"})
    login_as(person)

    # evidence: a licence scan naming her, a marketing step and a monthly report she wrote, a financing
    licence = programme.save_licence(person, outlet, programme.LicenceInput("NIB", "9120001234567", date(2018, 3, 1),
                                                                            "OSS"),
                                     CheckedUpload(_pdf_with(f"NIB atas nama {OLD_NAME}"), PDF, f"NIB {OLD_NAME}.pdf"))
    marketing = programme.save_marketing(person, outlet, programme.MarketingInput(
        "online_shop", f"Toko online {OLD_NAME}, hubungi 0813-7770-0001", "tokopedia.com/ewarong-melati"), None)
    month = (utcnow().date().replace(day=1) - timedelta(days=1)).replace(day=1)
    programme.save_report(person, outlet, programme.ReportInput(month, 5_000_000, 3_000_000, 500_000,
                                                                f"Dicatat oleh {OLD_NAME}"),
                          upload=CheckedUpload(_pdf_with(f"Buku kas {OLD_NAME}"), PDF, "buku-kas.pdf"))
    programme.save_financing(person, outlet, programme.FinancingInput(
        "bank_dki", "", "KUR Mikro", 10_000_000, 10_000_000, "approved", month, month, None), None)
    programme.review(mentor, licence, "verify", f"Sudah dicek bersama Bu {OLD_NAME}")
    programme.review(mentor, marketing, "return", f"Bu {OLD_NAME}, tautannya belum bisa dibuka")

    # a visit with photos, notes naming her and an action item for her; another at the neighbour's
    from lms.i18n import to_wib
    from lms.places.models import OutletManagerTerm

    with transaction():  # she has managed the outlet for two days
        db.session.execute(sa.update(OutletManagerTerm).values(started_at=utcnow() - timedelta(days=2)))
    an_hour_ago = (to_wib(utcnow()) - timedelta(hours=1)).replace(tzinfo=None, second=0, microsecond=0)
    log_visit(mentor, outlet, VisitInput(
        visited_at=an_hour_ago, duration_minutes=60, kind="field_visit", stages=["pendampingan"],
        observations=f"Ibu {OLD_NAME} sudah menata stok", staff_notes=f"Nomor Ibu {OLD_NAME}: 0813-7770-0001",
        actions=[ActionInput(f"Kirim foto buku kas ke {EMAIL}", OLD_NAME, utcnow().date() + timedelta(days=7))],
        client_key=secrets.token_hex(16)), [CheckedUpload(tiny_png(), PNG, "warung.png")])
    log_visit(mentor, neighbour.managed_outlet, VisitInput(
        visited_at=an_hour_ago, duration_minutes=30, kind="field_visit", stages=["pendampingan"],
        observations="Pak Budi Santoso menata rak", client_key=secrets.token_hex(16)),
        [CheckedUpload(tiny_png(), PNG, "budi.png")])

    # a Bimtek she attended: a certificate (stored PDF) under her old name, a feedback comment
    session = factory.session(region="3171", cohort=cohort)
    factory.register(session, person, "present")
    factory.register(session, neighbour, "present")
    cert = certificates.issue_for_session(SYSTEM, certificates.design_for("bimtek"), session, person).certificate
    neighbour_cert = certificates.issue_for_session(SYSTEM, certificates.design_for("bimtek"), session,
                                                    neighbour).certificate
    # stored PDFs (stand-ins for the rendered ones, which take seconds: the same folder, rows and checks)
    from lms.certification.pdf import store_pdf

    store_pdf(cert.id, _pdf_with(f"Sertifikat {OLD_NAME}"))
    store_pdf(neighbour_cert.id, _pdf_with("Sertifikat Budi Santoso"))
    with transaction():
        db.session.add(FeedbackResponse(session_id=session.id, user_id=person.id, questionnaire_key="bimtek",
                                        comment=f"Terima kasih, salam dari {OLD_NAME}"))

    # corrections she asked for, applied by the coordinator: her number, then her full name
    _sign_out(client)
    login_as(person)
    for field, value in (("phone", "0813-7778-8899"), ("full_name", NAME)):
        resp = client.form_post("/privasi/permintaan/baru", {"kind": "correction", "field": field,
                                                             "message": "Data saya berubah", "proposed_value": value})
        assert resp.status_code == 302, resp.get_data(as_text=True)
    _sign_out(client)
    login_as(coordinator)
    for req in db.session.scalars(sa.select(DataRequest).where(DataRequest.user_id == person.id)):
        assert client.form_post(f"/privasi/permintaan/{req.id}/terima", {}).status_code == 302
    _sign_out(client)
    db.session.expire_all()
    assert (person.full_name, person.phone) == (NAME, PHONE)

    # "Data saya": a ZIP of everything (built by the export worker)
    export.request_export(person)
    assert export.build_pending() == 1

    # a spreadsheet import waiting for confirmation that names her, and one that does not
    naming = staging.stage(coordinator.id, f"kode,nama,hp\n{outlet.code},{NAME},{PHONE}\n".encode(), "impor.csv", None)
    unrelated = staging.stage(coordinator.id, b"kode,nama,hp\nEW-3171-9999,Rina,081299990000\n", "lain.csv", None)

    # her erasure request (the admin is told, naming her), then every event dispatched through the real
    # notification dispatcher and sent to the local SMTP and WhatsApp servers
    login_as(person)
    assert client.form_post("/privasi/permintaan/baru", {  # still waiting when she asks to be erased
        "kind": "correction", "field": "other", "message": f"Kelurahan salah; atas nama {NAME}"}).status_code == 302
    assert client.form_post("/privasi/permintaan/baru", {"kind": "erasure", "reason": f"Saya {NAME}, pindah kota",
                                                         "confirmed": "1"}).status_code == 302
    _sign_out(client)
    dispatch.run_once()
    req = db.session.scalars(sa.select(DataRequest).where(DataRequest.kind == RequestKind.ERASURE)).one()
    return {"person": person, "neighbour": neighbour, "admin": admin, "cert": cert, "neighbour_cert": neighbour_cert,
            "request": req, "staged": (naming, unrelated), "outlet": outlet}


def test_erasure_leaves_no_trace_yet_keeps_counts_verify_pages_and_other_people(
        client, factory, login_as, app, channels):
    from lms.imports import staging
    from lms.programme.models import StoredFile
    from lms.programme.services import refresh_for_users

    smtp, wa = channels
    w = _rich_world(client, factory, login_as, app)
    person, neighbour = w["person"], w["neighbour"]
    instance = Path(app.instance_path)

    # the world really holds her everywhere (the search below can fail)
    before_hits = _scan_database()
    tables_before = {h.split(".")[0] for h in before_hits}
    assert {"users", "outlets", "certificates", "notifications", "deliveries", "outbox_events", "audit_log",
            "login_failures", "sign_in_codes", "visits", "action_items", "marketing_steps", "financial_reports",
            "evidence_reviews", "feedback_responses", "data_requests", "stored_files"} <= tables_before, tables_before
    assert _scan_files(instance), "her files should name her before the erasure"
    assert smtp.messages and wa.received  # messages really went out to her
    her_files = [instance / "uploads" / p for p in db.session.scalars(
        sa.select(StoredFile.path).where(StoredFile.uploaded_by_id == person.id))]
    assert len(her_files) >= 2 and all(p.exists() for p in her_files)
    neighbour_files = [instance / "uploads" / p for p in db.session.scalars(sa.select(StoredFile.path).where(
        StoredFile.original_name == "budi.png"))]
    her_outlet_photo = [instance / "uploads" / p for p in db.session.scalars(sa.select(StoredFile.path).where(
        StoredFile.original_name == "warung.png"))]
    assert len(neighbour_files) == len(her_outlet_photo) == 1 and her_outlet_photo[0].exists()
    cert_pdfs = sorted((instance / "certificates").rglob("*.pdf"))
    assert len(cert_pdfs) == 2
    counts_before = _snapshot_counts()
    chain_before = _audit_chain()
    neighbour_notes = db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                        .where(Notification.user_id == neighbour.id))

    # the admin erases her
    login_as(w["admin"])
    page = client.get(f"/privasi/permintaan/{w['request'].id}").get_data(as_text=True)
    assert "Pengajuan pembiayaan yang masih diproses bank" in page
    resp = client.form_post(f"/privasi/permintaan/{w['request'].id}/terima", {"confirmed": "1"})
    assert resp.status_code == 302
    db.session.expire_all()

    # SQLite: not even in the database file's free pages or its write-ahead log (secure_delete, checkpoint)
    if db.engine.dialect.name == "sqlite":
        database = Path(db.engine.url.database)
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                raw = path.read_bytes().lower()
                assert not [n for n in NEEDLES if n.lower().encode() in raw], path.name

    # nothing of her in any table, nor in any file
    hits = _scan_database()
    assert not hits, "\n".join(hits)
    file_hits = _scan_files(instance)
    assert not file_hits, "\n".join(file_hits)
    assert not any(p.exists() for p in her_files)
    assert all(p.exists() for p in neighbour_files)
    assert not her_outlet_photo[0].exists()  # a photo of her outlet from her time
    assert [p.exists() for p in cert_pdfs].count(True) == 1  # the neighbour's PDF stays
    assert not storage().exists(staging.AREA, w["staged"][0]) and storage().exists(staging.AREA, w["staged"][1])

    # the account: anonymised, signed out for good
    assert person.full_name == f"Pengguna dihapus #{person.id}"
    assert (person.email, person.phone, person.password_hash, person.active) == (None, None, None, False)
    assert person.erased_at is not None and person.notice_version is not None
    assert w["request"].status is RequestStatus.ACCEPTED
    waiting = db.session.scalars(sa.select(DataRequest).where(DataRequest.field == "other")).one()
    assert waiting.status is RequestStatus.WITHDRAWN and waiting.message is None
    assert client.get(f"/users/{person.id}").status_code == 200  # the row stays for the admin

    # counts, dashboards and progress hold, also when progress is computed again
    assert _snapshot_counts() == counts_before
    refresh_for_users([person.id])
    db.session.commit()
    assert _snapshot_counts() == counts_before
    assert client.get("/dashboard").status_code == 200

    # the audit chain is intact: nothing removed, who/what/which/when unchanged; the erasure says counts only
    chain_after = _audit_chain()
    assert chain_after[:len(chain_before)] == chain_before
    done = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "privacy.erasure_done")).one()
    assert done.target_id == str(person.id) and set(done.details) == {"request_id", "counts"}
    assert all(isinstance(v, int) for v in done.details["counts"].values())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.actor_id == person.id, AuditEntry.ip.is_not(None))) == 0

    # the certificate stays valid, without her name, on its public page
    _sign_out(client)
    resp = client.get(f"/verify/{w['cert'].verification_code}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Sertifikat ini sah dan berlaku." in html
    assert "Nama pemegang dihapus atas permintaannya" in html and not _found_in_text(html)
    assert w["cert"].status.value == "active" and w["cert"].holder_name == ""

    # the neighbour is untouched
    assert (neighbour.full_name, neighbour.email, neighbour.phone, neighbour.active) == (
        "Budi Santoso", "budi@warung.example", "+6281355566677", True)
    assert w["neighbour_cert"].holder_name == "Budi Santoso"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.user_id == neighbour.id)) == neighbour_notes
    assert w["outlet"].name == "e-Warong Melati" and w["outlet"].address == "Jl. Melati No. 3"
    assert w["outlet"].phone is None  # the outlet's number was hers

    # she cannot sign in any more, by e-mail or by her number
    assert client.form_post("/login", {"email": EMAIL, "password": "Uji-coba-7PAS-kuat"}).status_code == 200
    from lms.people import phone_codes

    _row, code = phone_codes.request_login_code(PHONE, "203.0.113.8", None)
    assert code is None


def test_the_erasure_is_one_transaction(client, factory, login_as, app, monkeypatch):
    """A failure half-way leaves everything as it was, files included."""
    from lms.files import PDF as PDF_
    from lms.programme import services as programme

    person = factory.user("trainee", region="3171", full_name="Rina Marlina", phone="+6281234560104")
    programme.save_licence(person, person.managed_outlet, programme.LicenceInput("NIB", "9120001234568",
                                                                                 date(2018, 3, 1), "OSS"),
                           CheckedUpload(_pdf_with("Rina Marlina"), PDF_, "nib.pdf"))
    req = _erasure_request(person)
    admin = factory.user("admin", region=None)
    stored = list(Path(app.instance_path, "uploads").rglob("*.pdf"))
    assert stored

    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(erasure, "redact_audit", boom)
    with pytest.raises(RuntimeError):
        erasure.erase(admin, req)
    db.session.expire_all()
    assert person.full_name == "Rina Marlina" and person.erased_at is None and req.status is RequestStatus.PENDING
    assert all(p.exists() for p in stored)


def test_the_redactor_replaces_whole_words_in_any_case():
    r = erasure.Redactor(["Siti Aminah", "+6281377788899", "0813-7778-8899"])
    assert r.text("Ibu siti aminah datang") == "Ibu [dihapus] datang"
    assert r.text("Siti Aminahwati datang") == "Siti Aminahwati datang"  # another name
    assert r.text("wa.me/+6281377788899 atau 0813-7778-8899") == "wa.me/[dihapus] atau [dihapus]"
    assert r.json({"a": ["Siti Aminah", {"b": "x Siti Aminah"}], "n": 3}) == {"a": ["[dihapus]", {"b": "x [dihapus]"}],
                                                                                  "n": 3}
    assert erasure.phone_forms("+6281377788899") == {"+6281377788899", "081377788899", "0813-7778-8899",
                                                     "6281377788899"}
