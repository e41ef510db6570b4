"""Certificates: the PDF and its QR code, verification, numbering, eligibility, revoking and correcting.

The PDF is read back with real tools: pdftotext for its text, pypdf for its metadata, and
pdftoppm + zbar (pyzbar) for the QR code.
"""
from __future__ import annotations

import io
import re
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.certification import services
from lms.certification.models import Certificate, CertificateCounter, CertificateStatus
from lms.errors import Invalid, NotAllowed
from lms.permissions import SYSTEM
from lms.storage import storage


# --- reading a PDF back -------------------------------------------------------------------------

def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode("utf-8").replace("\u00a0", " ")


def pdf_qr_codes(data: bytes, tmp_path: Path, dpi: int = 150) -> list[str]:
    """Rasterise page 1 with pdftoppm and decode every QR code on it with zbar."""
    from PIL import Image
    from pyzbar.pyzbar import ZBarSymbol, decode

    pdf = tmp_path / "qr.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-f", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    with Image.open(tmp_path / "page.png") as img:
        return [d.data.decode("utf-8") for d in decode(img, symbols=[ZBarSymbol.QRCODE])]


def logout(client) -> None:  # type: ignore[no-untyped-def]
    client.form_post("/logout")


def download(client, cert) -> bytes:  # type: ignore[no-untyped-def]
    resp = client.get(f"/certificates/{cert.id}/pdf")
    assert resp.status_code == 200, resp.status_code
    data = resp.data
    resp.close()
    return data


# --- the PDF -----------------------------------------------------------------------------------------

def test_pdf_text_has_holder_name_serial_outlet_session_and_metadata(client, factory, login_as):
    session = factory.session(title="Bimtek e-Warong Jakarta Pusat")
    holder = factory.attendee(session, full_name="Siti Nurhaliza Aminah")
    cert = factory.certificate(session=session, holder=holder)
    assert re.fullmatch(r"BIMTEK/\d{4}/\d{6}", cert.serial)
    login_as(holder)
    data = download(client, cert)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "Siti Nurhaliza Aminah" in text
    assert cert.serial in text
    assert holder.managed_outlet.name in text and holder.managed_outlet.code in text
    assert "Bimtek e-Warong Jakarta Pusat" in text
    assert "10 April 2018" in text  # the session's date in WIB
    for agency in ("Dinas Sosial Provinsi DKI Jakarta", "Bank Indonesia", "BNI", "PGO OK OCE"):
        assert agency in text
    design = services.design_for("bimtek")
    for s in design.signatories:
        assert s.name in text and s.title in text
    import pypdf

    meta = pypdf.PdfReader(io.BytesIO(data)).metadata
    assert meta is not None
    assert meta.title and design.pdf["title"] in meta.title and cert.serial in meta.title
    assert meta.author == design.pdf["author"]
    assert meta.subject == design.pdf["subject"]
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert width > height and abs(width - 842) < 2 and abs(height - 595) < 2  # A4 landscape in points


def test_qr_code_decodes_to_the_verify_url_built_from_base_url(app, client, factory, login_as, tmp_path):
    app.config["BASE_URL"] = "https://sertifikat.dinsos.example.go.id/"
    cert = factory.certificate()
    # rendered while serving a request to another host name: the request's Host must not matter
    with app.test_request_context("/", base_url="http://evil.example"):
        data = services.ensure_pdf(cert)
    expected = f"https://sertifikat.dinsos.example.go.id/verify/{cert.verification_code}"
    assert pdf_qr_codes(data, tmp_path) == [expected]
    assert expected in pdf_text(data).replace("\n", "").replace(" ", "")
    # and the URL from the QR opens the verify page
    path = expected.split("example.go.id", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and cert.serial in page.get_data(as_text=True)


def test_downloading_again_returns_the_same_bytes_with_the_stored_sha256(client, factory, login_as, db):
    import hashlib

    cert = factory.certificate()
    login_as(db.session.get(type(cert.holder), cert.holder_id))
    first = download(client, cert)
    second = download(client, cert)
    assert first == second
    db.session.refresh(cert)
    assert cert.pdf_sha256 == hashlib.sha256(first).hexdigest() and cert.pdf_size == len(first)
    assert storage().get("certificates", cert.pdf_path) == first


def test_certificate_dir_is_configurable(app, factory, tmp_path):
    app.config["CERTIFICATE_DIR"] = str(tmp_path / "elsewhere")
    cert = factory.certificate()
    services.ensure_pdf(cert)
    assert storage().local_path("certificates", cert.pdf_path).is_relative_to(tmp_path / "elsewhere")


def test_a_name_with_markup_is_printed_literally_and_nothing_is_fetched(client, factory, login_as):
    name = '<img src="file:///etc/passwd"> & <b>Budi</b>'
    session = factory.session()
    holder = factory.attendee(session, full_name=name)
    cert = factory.certificate(session=session, holder=holder)
    login_as(holder)
    data = download(client, cert)
    text = pdf_text(data)
    assert '<img src="file:///etc/passwd"> & <b>Budi</b>' in text
    assert "root:" not in text
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    images = [img for page in reader.pages for img in page.images]
    assert images == []  # the QR code and the seal are vector drawings; no image was fetched


def test_the_render_has_a_cpu_time_limit(factory, app):
    from lms.certification import render

    cert = factory.certificate()
    with pytest.raises(render.RenderTimeout):
        render.render_pdf(services.design_for("bimtek"), services.render_context(cert), time_limit=0.001)


# --- verification -------------------------------------------------------------------------------------

def test_verify_page_for_a_valid_certificate_shows_name_kind_subject_date_and_nothing_personal(client, factory):
    session = factory.session(title="Bimtek Jakarta Pusat Gelombang 1")
    holder = factory.attendee(session, full_name="Rahmat Hidayat", phone="+6281298765432",
                              email="rahmat.rahasia@uji.example")
    cert = factory.certificate(session=session, holder=holder)
    resp = client.get(f"/verify/{cert.verification_code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Rahmat Hidayat" in html and cert.serial in html and "Bimtek Jakarta Pusat Gelombang 1" in html
    assert "Sertifikat Bimbingan Teknis" in html
    assert "sah dan berlaku" in html
    assert "rahmat.rahasia" not in html and "98765432" not in html
    assert holder.managed_outlet.address not in html
    assert resp.headers["X-Robots-Tag"].startswith("noindex")


def test_verify_page_for_a_revoked_certificate_says_revoked_with_its_date(client, factory):
    cert = factory.certificate()
    services.revoke(SYSTEM, cert, "Diterbitkan keliru (uji)")
    resp = client.get(f"/verify/{cert.verification_code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "DICABUT" in html and "sah dan berlaku" not in html
    from lms.i18n import to_wib

    assert str(to_wib(cert.revoked_at).year) in html
    assert "Diterbitkan keliru" not in html  # the reason is for staff, not the public


@pytest.mark.parametrize("code", ["tidak-ada-kode-seperti-ini-sama-sekali", "x", "%00", "a" * 200])
def test_verify_page_for_an_unknown_code_is_a_clear_404(client, factory, code):
    factory.certificate()
    resp = client.get(f"/verify/{code}")
    assert resp.status_code == 404
    assert "Sertifikat tidak ditemukan" in resp.get_data(as_text=True)


# the verify page's rate limit (per address, shared by all workers): tests/test_ratelimit.py


# --- numbers and codes -------------------------------------------------------------------------------------

def test_serials_are_sequential_per_kind_and_year(factory, db):
    s = factory.session()
    a, b = factory.attendee(s), factory.attendee(s)
    design = services.design_for("bimtek")
    first = services.issue_for_session(SYSTEM, design, s, a, issued_at=datetime(2018, 4, 16, 3, tzinfo=timezone.utc))
    second = services.issue_for_session(SYSTEM, design, s, b, issued_at=datetime(2018, 12, 31, 18, tzinfo=timezone.utc))
    assert first.certificate.serial == "BIMTEK/2018/000001"
    # 31 Dec 18:00 UTC is 1 January 2019 01:00 WIB: the year is the WIB year
    assert second.certificate.serial == "BIMTEK/2019/000001"
    e = factory.completed_enrolment()
    done = services.issue_for_enrolment(SYSTEM, services.design_for("completion"), e,
                                        issued_at=datetime(2018, 11, 28, 3, tzinfo=timezone.utc))
    assert done.certificate.serial == "7PAS/2018/000001"
    third = factory.attendee(s)
    again = services.issue_for_session(SYSTEM, design, s, third, issued_at=datetime(2018, 5, 1, 3, tzinfo=timezone.utc))
    assert again.certificate.serial == "BIMTEK/2018/000002"


def test_verification_codes_are_random_long_and_unique(factory):
    s = factory.session()
    certs = [factory.certificate(session=s, holder=factory.attendee(s)) for _ in range(5)]
    codes = [c.verification_code for c in certs]
    assert len(set(codes)) == 5
    for c in certs:
        assert len(c.verification_code) >= 32  # token_urlsafe(24): 192 bits
        assert str(c.id) not in c.verification_code[:3] or len(c.verification_code) >= 32
        assert c.serial not in c.verification_code


def _issue_in_own_context(app, session_id: int, user_id: int, barrier: threading.Barrier,
                          results: list, errors: list) -> None:
    from lms.extensions import db as _db
    from lms.people.models import User
    from lms.sessions.models import TrainingSession

    try:
        with app.app_context():
            s = _db.session.get(TrainingSession, session_id)
            u = _db.session.get(User, user_id)
            _db.session.commit()  # end the read transaction before racing
            barrier.wait(timeout=20)
            r = services.issue_for_session(SYSTEM, services.design_for("bimtek"), s, u)
            results.append((r.certificate.serial, r.created))
            _db.session.remove()
    except Exception as e:  # pragma: no cover - reported by the assertion
        errors.append(repr(e))


def test_serials_stay_unique_when_coordinators_issue_at_the_same_moment(app, factory, db):
    s = factory.session()
    people = [factory.attendee(s) for _ in range(8)]
    barrier = threading.Barrier(len(people))
    results: list = []
    errors: list = []
    threads = [threading.Thread(target=_issue_in_own_context, args=(app, s.id, u.id, barrier, results, errors))
               for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    serials = sorted(serial for serial, _created in results)
    assert len(serials) == 8 and len(set(serials)) == 8
    year = serials[0].split("/")[1]
    assert serials == [f"BIMTEK/{year}/{n:06d}" for n in range(1, 9)]
    db.session.commit()  # end the test's own read snapshot
    assert db.session.scalar(sa.select(CertificateCounter.last_number)) == 8


def test_issuing_twice_at_the_same_moment_makes_one_active_certificate(app, factory, db):
    s = factory.session()
    holder = factory.attendee(s)
    barrier = threading.Barrier(4)
    results: list = []
    errors: list = []
    threads = [threading.Thread(target=_issue_in_own_context, args=(app, s.id, holder.id, barrier, results, errors))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len({serial for serial, _ in results}) == 1
    assert sum(1 for _, created in results if created) == 1
    db.session.commit()  # end the test's own read snapshot
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 1
    # no number was used up by the losers
    assert db.session.scalar(sa.select(CertificateCounter.last_number)) == 1


def test_the_database_refuses_a_second_active_certificate_for_the_same_subject(factory, db):
    from sqlalchemy.exc import IntegrityError

    cert = factory.certificate()
    twin = Certificate(kind=cert.kind, design=cert.design, serial="BIMTEK/2018/999999", year=2018, number=999999,
                       verification_code="kembar-" + "x" * 30, holder_id=cert.holder_id, holder_name="x",
                       subject_type=cert.subject_type, subject_key=cert.subject_key, region_id=cert.region_id,
                       subject_title="x", details={})
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_issuing_again_returns_the_existing_certificate(factory, db):
    s = factory.session()
    holder = factory.attendee(s)
    design = services.design_for("bimtek")
    first = services.issue_for_session(SYSTEM, design, s, holder)
    second = services.issue_for_session(SYSTEM, design, s, holder)
    assert first.created and not second.created
    assert first.certificate.id == second.certificate.id


# --- eligibility --------------------------------------------------------------------------------------

@pytest.mark.parametrize("attendance, registration, eligible, reason", [
    ("present", "registered", True, None),
    ("late", "registered", True, None),
    ("excused", "registered", False, "Kehadiran tercatat: izin."),
    ("absent", "registered", False, "Kehadiran tercatat: tidak hadir."),
    (None, "registered", False, "Kehadiran belum dicatat."),
    (None, "waitlisted", False, "Masih di daftar tunggu"),
    ("present", "cancelled", False, "Pendaftarannya dibatalkan."),
])
def test_session_eligibility_follows_attendance(factory, attendance, registration, eligible, reason):
    s = factory.session()
    user = factory.user("trainee")
    factory.register(s, user, attendance, registration)
    coordinator = factory.user("coordinator", region="3171")
    design = services.design_for("bimtek")
    [c] = services.session_candidates(coordinator, design, s)
    assert c.eligible is eligible
    if reason:
        assert reason in c.reason
        with pytest.raises(Invalid) as e:
            services.issue_for_session(coordinator, design, s, user)
        assert reason in str(e.value)
    else:
        assert services.issue_for_session(coordinator, design, s, user).created


def test_no_certificate_for_a_cancelled_session_or_one_not_yet_over_or_not_a_bimtek(factory):
    design = services.design_for("bimtek")
    cancelled = factory.session(cancelled=True)
    future = factory.session(days_ago=-3)
    other_stage = factory.session(stage_key="pemasaran")
    for s, reason in ((cancelled, "dibatalkan"), (future, "belum selesai"), (other_stage, "Sesi ini untuk tahap Pemasaran; desain “Sertifikat Bimbingan Teknis” hanya untuk sesi Pelatihan. Ubah desain sertifikat sesi ini di halaman Ubah sesi")):
        u = factory.attendee(s)
        with pytest.raises(Invalid) as e:
            services.issue_for_session(SYSTEM, design, s, u)
        assert reason in str(e.value)


def test_completion_needs_all_seven_stages(factory):
    design = services.design_for("completion")
    unfinished = factory.enrolment()
    with pytest.raises(Invalid) as e:
        services.issue_for_enrolment(SYSTEM, design, unfinished)
    assert "dari 7 langkah" in str(e.value) and "langkah saat ini: Pelatihan" in str(e.value)
    done = factory.completed_enrolment()
    result = services.issue_for_enrolment(SYSTEM, design, done)
    assert result.created and result.certificate.serial.startswith("7PAS/")
    assert result.certificate.outlet_code == done.outlet.code


def test_designs_decide_kinds_and_eligibility(app):
    ds = services.designs()
    assert set(ds) == {"bimtek", "completion"}
    assert ds["bimtek"].subject == "session" and ds["bimtek"].eligible_attendance == ("present", "late")
    assert ds["completion"].subject == "enrolment" and ds["completion"].requires == "all_stages_complete"


def test_the_session_page_lists_eligible_and_ineligible_people_with_reasons(client, factory, login_as):
    s = factory.session()
    ok = factory.attendee(s, "present", full_name="Ani Hadir")
    late = factory.attendee(s, "late", full_name="Beni Terlambat")
    no = factory.attendee(s, "absent", full_name="Citra Absen")
    login_as("coordinator", region="3171")
    html = client.get(f"/certificates/sessions/{s.id}").get_data(as_text=True)
    assert "Ani Hadir" in html and "Beni Terlambat" in html and "Citra Absen" in html
    assert "Kehadiran tercatat: tidak hadir." in html
    assert "2</strong> memenuhi syarat" in html
    # one by one
    resp = client.form_post(f"/certificates/sessions/{s.id}/attendees/{late.id}", {"kind": "bimtek"})
    assert resp.status_code == 302
    resp = client.form_post(f"/certificates/sessions/{s.id}/attendees/{no.id}", {"kind": "bimtek"})
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "tidak dapat diterbitkan untuk Citra Absen" in html and "tidak hadir" in html
    del ok


# --- revoking and correcting -----------------------------------------------------------------------------

def test_revoking_needs_a_reason_takes_effect_at_once_and_is_audited(client, factory, login_as, db):
    cert = factory.certificate()
    login_as("coordinator", region="3171")
    resp = client.form_post(f"/certificates/{cert.id}/revoke", {"reason": ""})
    assert resp.status_code == 422
    resp = client.form_post(f"/certificates/{cert.id}/revoke", {"reason": "Peserta tidak hadir sebenarnya"})
    assert resp.status_code == 302
    db.session.refresh(cert)
    assert cert.status is CertificateStatus.REVOKED and cert.revoked_at is not None
    assert "DICABUT" in client.get(f"/verify/{cert.verification_code}").get_data(as_text=True)
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_type == "certificate",
                                                                    AuditEntry.target_id == str(cert.id))).all()
    assert "certificate.issued" in actions and "certificate.revoked" in actions
    with pytest.raises(Invalid):
        services.revoke(SYSTEM, cert, "sekali lagi")


def test_a_revoked_pdf_is_no_longer_handed_to_its_holder(client, factory, login_as):
    cert = factory.certificate()
    services.revoke(SYSTEM, cert, "Diterbitkan keliru (uji)")
    login_as(factory.db.session.get(type(cert.holder), cert.holder_id))
    assert client.get(f"/certificates/{cert.id}").status_code == 200
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 403
    logout(client)
    login_as("coordinator", region="3171")
    resp = client.get(f"/certificates/{cert.id}/pdf")
    assert resp.status_code == 200  # kept for the record
    resp.close()


def test_correcting_a_misspelt_name_revokes_and_reissues_linked(client, factory, login_as, db):
    s = factory.session()
    holder = factory.attendee(s, full_name="Siti Aminha")
    cert = factory.certificate(session=s, holder=holder)
    login_as("coordinator", region="3171")
    resp = client.form_post(f"/certificates/{cert.id}/correct", {"full_name": "Siti Aminah"})
    assert resp.status_code == 302
    db.session.expire_all()
    new = db.session.scalar(sa.select(Certificate).where(Certificate.replaces_id == cert.id))
    assert new is not None and new.holder_name == "Siti Aminah" and new.status is CertificateStatus.ACTIVE
    old = db.session.get(Certificate, cert.id)
    assert old.status is CertificateStatus.REVOKED and old.replaced_by.id == new.id
    assert new.serial != old.serial and new.outlet_code == old.outlet_code
    assert "Siti Aminah" in pdf_text(services.ensure_pdf(new))
    verify_old = client.get(f"/verify/{old.verification_code}").get_data(as_text=True)
    assert "DICABUT" in verify_old and new.serial in verify_old
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("certificate.%"))).all()
    assert actions.count("certificate.issued") == 2 and actions.count("certificate.revoked") == 1


def test_services_check_the_actor(factory):
    cert = factory.certificate()
    other_coordinator = factory.user("coordinator", region="3172")
    with pytest.raises(NotAllowed):
        services.revoke(other_coordinator, cert, "bukan wilayah saya")
    trainee = factory.db.session.get(type(cert.holder), cert.holder_id)
    with pytest.raises(NotAllowed):
        services.correct_name(trainee, cert, "Nama Lain")


# --- lists ---------------------------------------------------------------------------------------------

def test_a_trainee_lists_only_their_own_certificates(client, factory, login_as):
    s = factory.session()
    mine = factory.certificate(session=s, holder=factory.attendee(s, full_name="Saya Sendiri"))
    theirs = factory.certificate(session=s, holder=factory.attendee(s, full_name="Orang Lain"))
    login_as(factory.db.session.get(type(mine.holder), mine.holder_id))
    html = client.get("/certificates/mine").get_data(as_text=True)
    assert mine.serial in html and theirs.serial not in html
    assert "Sertifikat Saya" in client.get("/home").get_data(as_text=True)


def test_a_coordinator_lists_only_their_region(client, factory, login_as):
    here = factory.certificate(region="3171")
    there = factory.certificate(region="3172")
    login_as("coordinator", region="3171")
    html = client.get("/certificates").get_data(as_text=True)
    assert here.serial in html and there.serial not in html
    html = client.get("/certificates?q=" + here.serial).get_data(as_text=True)
    assert "1 sertifikat" in html


# --- the demo seed and start-up -----------------------------------------------------------------------------

def test_seed_certificates_is_idempotent_and_numbers_2018(factory, db):
    from lms.certification.seed import seed_certificates

    s = factory.session()
    for att in ("present", "late", "absent", "excused"):
        factory.attendee(s, att)
    cancelled = factory.session(cancelled=True)
    factory.attendee(cancelled)
    assert seed_certificates() == 2
    assert seed_certificates() == 0
    serials = sorted(db.session.scalars(sa.select(Certificate.serial)))
    assert serials == ["BIMTEK/2018/000001", "BIMTEK/2018/000002"]
    assert all(c.pdf_path is None for c in db.session.scalars(sa.select(Certificate)))  # rendered on first download


def test_the_app_warns_at_start_when_harfbuzz_subset_is_missing(app, monkeypatch, caplog):
    import ctypes.util

    from lms.certification import warn_if_slow_fonts

    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None if name == "harfbuzz-subset" else real(name))
    with caplog.at_level("WARNING"):
        warn_if_slow_fonts(app)
    assert "libharfbuzz-subset" in caplog.text


def test_the_app_refuses_to_start_on_an_invalid_design(tmp_path, db_url):
    import shutil

    from lms import ConfigError, create_app

    designs = tmp_path / "designs"
    shutil.copytree(Path(__file__).resolve().parents[1] / "certificates", designs)
    meta = designs / "bimtek" / "metadata.yaml"
    meta.write_text(meta.read_text().replace("eligible_attendance: [present, late]",
                                             "eligible_attendance: [present, asleep]"))
    with pytest.raises(ConfigError) as e:
        create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "i"),
                    "CERTIFICATE_DESIGNS_DIR": str(designs)})
    assert "eligible_attendance" in str(e.value) and "bimtek" in str(e.value)


def test_adding_a_design_needs_no_code_and_signatories_can_be_overridden(tmp_path):
    import shutil

    from lms.certification.designs import load_dir

    designs = tmp_path / "designs"
    shutil.copytree(Path(__file__).resolve().parents[1] / "certificates", designs)
    shutil.copytree(designs / "bimtek", designs / "marketing")
    meta = designs / "marketing" / "metadata.yaml"
    meta.write_text(meta.read_text().replace("kind: bimtek", "kind: pemasaran")
                    .replace("serial_prefix: BIMTEK", "serial_prefix: PASAR")
                    .replace("session_stages: [pelatihan]", "session_stages: [pemasaran]"))
    found = load_dir(designs, {"pemasaran": [{"name": "Ir. Pengganti", "title": "Plt. Kepala Dinas"}]})
    assert set(found) == {"bimtek", "completion", "pemasaran"}
    assert found["pemasaran"].serial_prefix == "PASAR"
    assert [s.name for s in found["pemasaran"].signatories] == ["Ir. Pengganti"]


@pytest.mark.parametrize("mutation, problem", [
    (lambda d: (d / "template.html").write_text((d / "template.html").read_text().replace("{{ serial }}", "")),
     "does not show {{ serial }}"),
    (lambda d: (d / "template.html").write_text((d / "template.html").read_text().replace("{{ holder_name }}",
                                                                                          "{{ holder_name|safe }}")),
     "|safe is not allowed"),
    (lambda d: (d / "style.css").write_text("@font-face { src: url(https://fonts.example/x.ttf) }"),
     "must be a relative path"),
    (lambda d: (d / "style.css").write_text("@font-face { src: url(../../etc/passwd) }"), "outside the design folder"),
    (lambda d: (d / "fonts" / "OFL.txt").unlink(), "no licence file"),
])
def test_design_validation_names_the_problem(tmp_path, mutation, problem):
    import shutil

    from lms.certification.designs import DesignError, parse

    d = tmp_path / "bimtek"
    shutil.copytree(Path(__file__).resolve().parents[1] / "certificates" / "bimtek", d)
    mutation(d)
    with pytest.raises(DesignError) as e:
        parse(d)
    assert problem in str(e.value)
