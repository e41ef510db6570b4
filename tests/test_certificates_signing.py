"""Signed certificate PDFs: PDF/A-3b, tagged, with a language and the credential attached, signed
with PAdES (B-B; B-T against a local RFC 3161 server), and the public "Periksa berkas" page.

The PDFs are checked with pyHanko's own validator against the test authority's root (read from
the PKCS#12 file, not through lms/certification/signing.py), and with pypdf for their structure.
The tests sign with the test authority made once per test process (signing.signer_spec under
TESTING), so every render here is signed.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import warnings
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.utils import CryptographyDeprecationWarning

from lms.certification import jobs, render, services, signing
from lms.certification.models import Certificate, CertificateJob
from lms.permissions import SYSTEM

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext


# --- helpers ------------------------------------------------------------------------------------------

def _roots(p12_path: str, password: str | None = None) -> list[asn1_x509.Certificate]:
    """The self-signed certificates in the PKCS#12 file: the trust root, read independently."""
    _key, cert, extra = pkcs12.load_key_and_certificates(Path(p12_path).read_bytes(),
                                                         password.encode() if password else None)
    certs = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in [cert, *extra]]
    return [c for c in certs if c.self_signed]


def _validate(data: bytes, roots: list[asn1_x509.Certificate], ts_roots: list[asn1_x509.Certificate] | None = None):
    """pyHanko's validator on the PDF's only signature, with an explicit trust root and no fetching."""
    reader = PdfFileReader(io.BytesIO(data))
    assert len(reader.embedded_signatures) == 1
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    ts_context = ValidationContext(trust_roots=ts_roots, allow_fetching=False) if ts_roots else None
    return validate_pdf_signature(reader.embedded_signatures[0], context, ts_context)


def _flip_in_signed_range(data: bytes) -> bytes:
    """One bit changed inside a stream's data in the first signed byte range (the xref stays readable)."""
    reader = PdfFileReader(io.BytesIO(data))
    _start, len1, _start2, _len2 = reader.embedded_signatures[0].byte_range
    for m in re.finditer(rb"stream\r?\n", data):
        pos = m.end() + 40
        if len1 // 3 < pos < len1 and b"endstream" not in data[m.end():pos + 1]:
            return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]
    raise AssertionError("no stream inside the signed range")


def _pdf(factory) -> tuple[Certificate, bytes]:  # type: ignore[no-untyped-def]
    cert = factory.certificate()
    return cert, services.ensure_pdf(cert)


_shared: dict[str, tuple[str, bytes]] = {}


def _any_pdf(factory) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    """(serial, bytes) of one signed certificate, rendered once per test process, for the tests that
    only read the bytes (the test authority, hence the trust root, lasts as long as the process)."""
    if "pdf" not in _shared:
        cert, data = _pdf(factory)
        _shared["pdf"] = (cert.serial, data)
    return _shared["pdf"]


def _catalog(data: bytes) -> tuple[pypdf.PdfReader, dict]:  # type: ignore[type-arg]
    reader = pypdf.PdfReader(io.BytesIO(data))
    return reader, reader.trailer["/Root"]


def _file_count(*folders: str | Path) -> int:
    return sum(len(files) for folder in folders if os.path.isdir(folder) for _r, _d, files in os.walk(folder))


# --- the signature -------------------------------------------------------------------------------------

def test_the_stored_pdf_is_signed_whole_and_trusted_by_the_test_root(app, factory, db):
    cert, data = _pdf(factory)
    status = _validate(data, _roots(signing.signer_spec().p12))
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.subject.native["common_name"] == signing.DEV_SIGNER_NAME
    assert status.timestamp_validity is None  # B-B: no TSA configured
    # PAdES (ETSI.CAdES.detached), not the older adbe.pkcs7.detached
    reader = PdfFileReader(io.BytesIO(data))
    assert reader.embedded_signatures[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    # the stored bytes are what was signed: its sha256 is on the row
    db.session.refresh(cert)
    import hashlib

    assert cert.pdf_sha256 == hashlib.sha256(data).hexdigest()


def test_a_changed_byte_breaks_the_signature(app, factory):
    _serial, data = _any_pdf(factory)
    changed = _flip_in_signed_range(data)
    assert changed != data and len(changed) == len(data)
    status = _validate(changed, _roots(signing.signer_spec().p12))
    assert not status.intact and not status.bottom_line


def test_a_signature_from_another_authority_is_not_trusted(app, factory, tmp_path):
    _serial, data = _any_pdf(factory)
    other_p12, _ca = signing.make_dev_keys(tmp_path / "other")
    status = _validate(data, _roots(str(other_p12)))
    assert status.intact and status.valid and not status.trusted


def test_the_pdf_is_pdf_a_3b_tagged_with_its_language(app, factory):
    _serial, data = _any_pdf(factory)
    reader, root = _catalog(data)
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r'pdfaid:part(="|>)3', xmp) and re.search(r'pdfaid:conformance(="|>)B', xmp)
    assert "/StructTreeRoot" in root and bool(root["/MarkInfo"]["/Marked"]) is True
    assert root["/Lang"] == "id"
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    # PDF/A: the document information and the XMP say the same (pyHanko rewrote both when signing)
    info = reader.metadata
    producer = re.search(r'pdf:Producer(?:="|>)([^"<]+)', xmp)
    assert producer and info is not None and info.producer == producer.group(1)
    assert info.title and info.title in xmp
    # the signature widget is invisible and printable (PDF/A forbids hidden annotations)
    widget = root["/AcroForm"]["/Fields"][0].get_object()
    assert [float(v) for v in widget["/Rect"]] == [0, 0, 0, 0] and int(widget["/F"]) & 4


def test_the_credential_is_embedded_as_an_associated_file(app, factory, db):
    cert, data = _pdf(factory)
    db.session.refresh(cert)
    assert cert.credential_json, "lms.credentials.issuing.ensure_credential made no credential"
    reader, root = _catalog(data)
    assert reader.attachments[signing.CREDENTIAL_FILE] == [cert.credential_json.encode("utf-8")]
    json.loads(reader.attachments[signing.CREDENTIAL_FILE][0])
    spec = [f.get_object() for f in root["/AF"]]
    assert [(s["/UF"], s["/AFRelationship"]) for s in spec] == [(signing.CREDENTIAL_FILE, "/Alternative")]
    stream = spec[0]["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/application/json" and "/ModDate" in stream["/Params"]


def test_b_t_with_a_local_rfc_3161_timestamp_server(app, factory, tsa):
    app.config["TSA_URL"] = tsa.url
    _cert, data = _pdf(factory)
    status = _validate(data, _roots(signing.signer_spec().p12), ts_roots=[tsa.root])
    assert status.intact and status.valid and status.trusted
    ts = status.timestamp_validity
    assert ts is not None and ts.intact and ts.valid and ts.trusted
    assert len(tsa.requests) == 1  # one query per signature: no dry run against the TSA
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_when_the_timestamp_server_fails_nothing_is_stored(app, factory, tsa):
    app.config["TSA_URL"] = tsa.url
    tsa.refuse = True
    cert = factory.certificate()
    with pytest.raises(render.RenderError, match="sign"):
        services.ensure_pdf(cert)
    assert cert.pdf_path is None and tsa.requests


def test_a_bulk_run_signs_in_the_render_processes(app, factory, db):
    app.config["CERTIFICATE_RENDER_PROCESSES"] = 2
    s = factory.session()
    people = [factory.attendee(s, "present") for _ in range(3)]
    design = services.design_for("bimtek")
    job = services.start_session_job(SYSTEM, design, s)
    jobs.WORKER.join()
    db.session.commit()
    job = db.session.get(CertificateJob, job.id)
    assert job.done == 3 and job.failed == 0
    roots = _roots(signing.signer_spec().p12)
    certs = db.session.scalars(sa.select(Certificate).where(Certificate.holder_id.in_([u.id for u in people]))).all()
    for cert in certs:
        data = services.ensure_pdf(cert)
        assert _validate(data, roots).bottom_line
        assert pypdf.PdfReader(io.BytesIO(data)).attachments[signing.CREDENTIAL_FILE] == [cert.credential_json.encode()]


def test_the_key_is_loaded_once_per_process(app):
    spec = signing.signer_spec()
    assert signing.load(spec) is signing.load(spec)


def test_no_key_outside_tests_is_a_clear_error(app):
    app.config["TESTING"] = False
    try:
        with pytest.raises(signing.SigningError, match="dev-keys"):
            signing.signer_spec()
    finally:
        app.config["TESTING"] = True


def test_a_configured_key_with_its_password_wins(app, factory, tmp_path):
    p12, ca = signing.make_dev_keys(tmp_path / "agency", password="rahasia")
    app.config.update(SIGNING_P12=str(p12), SIGNING_P12_PASSWORD="rahasia")
    _cert, data = _pdf(factory)
    assert _validate(data, _roots(str(p12), "rahasia")).bottom_line
    app.config["SIGNING_P12_PASSWORD"] = "salah"
    with pytest.raises(signing.SigningError, match="wrong password"):
        signing.load(signing.signer_spec())


def test_the_pdf_still_looks_like_a_certificate(app, factory, tmp_path):
    serial, data = _any_pdf(factory)
    (tmp_path / "c.pdf").write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-singlefile", str(tmp_path / "c.pdf"), str(tmp_path / "c")],
                   check=True)
    from PIL import Image

    with Image.open(tmp_path / "c.png") as img:
        assert img.width > img.height  # A4 landscape
        colours = img.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is not None and len(colours) > 50  # drawn, not a blank page
    text = subprocess.run(["pdftotext", str(tmp_path / "c.pdf"), "-"], capture_output=True, check=True).stdout
    assert serial.encode() in text


# --- the dev-keys command ------------------------------------------------------------------------------

def test_dev_keys_makes_a_labelled_test_authority_the_app_then_signs_with(app, factory):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["certificates", "dev-keys"])
    assert result.exit_code == 0, result.output
    assert "NOT FOR PRODUCTION" in result.output
    folder = Path(app.instance_path) / "signing"
    p12, ca_pem = folder / "dev-signer.p12", folder / "dev-ca.pem"
    assert p12.is_file() and ca_pem.is_file() and (p12.stat().st_mode & 0o077) == 0
    from cryptography import x509

    ca = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    assert ca.subject.rfc4514_string().find("OTORITAS UJI (bukan untuk produksi)") >= 0
    _key, cert, extra = pkcs12.load_key_and_certificates(p12.read_bytes(), None)
    assert cert is not None and cert.issuer == ca.subject and extra == [ca]
    # again: refused without --force, quietly kept with --if-missing
    again = runner.invoke(args=["certificates", "dev-keys"])
    assert again.exit_code != 0 and "--force" in again.output
    kept = runner.invoke(args=["certificates", "dev-keys", "--if-missing"])
    assert kept.exit_code == 0 and p12.read_bytes() == p12.read_bytes()
    # the app signs with it (SIGNING_P12 unset)
    assert signing.signer_spec().p12 == str(p12)
    _cert, data = _pdf(factory)
    roots = [asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))]
    assert _validate(data, roots).bottom_line


def test_dev_keys_if_missing_does_nothing_when_a_key_is_configured(app, tmp_path):
    p12, _ca = signing.make_dev_keys(tmp_path / "agency")
    app.config["SIGNING_P12"] = str(p12)
    result = app.test_cli_runner().invoke(args=["certificates", "dev-keys", "--if-missing"])
    assert result.exit_code == 0 and "LMS_SIGNING_P12 is set" in result.output
    assert not (Path(app.instance_path) / "signing" / "dev-signer.p12").exists()


# --- "Periksa berkas" ----------------------------------------------------------------------------------

def _multipart(fields: dict[str, str], file: bytes | None, name: str = "sertifikat.pdf") -> tuple[bytes, str]:
    """A multipart/form-data body built in memory (the test client would spool a large one to a
    temporary file of its own)."""
    boundary = "----7pas-" + os.urandom(8).hex()
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    if file is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                     "Content-Type: application/pdf\r\n\r\n".encode() + file + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _check(client, data: bytes | None, name: str = "sertifikat.pdf", token: bool = True):  # type: ignore[no-untyped-def]
    body, content_type = _multipart({"csrf_token": client.csrf_token()} if token else {}, data, name)
    return client.post("/verify/berkas", data=body, content_type=content_type)


def _stored_files(app) -> int:  # type: ignore[no-untyped-def]
    return _file_count(app.instance_path, app.config.get("CERTIFICATE_DIR") or "", app.config.get("UPLOAD_DIR") or "")


def test_the_file_check_page_is_public_and_linked_from_the_verify_page(client, factory):
    cert = factory.certificate()
    page = client.get(f"/verify/{cert.verification_code}").get_data(as_text=True)
    assert 'href="/verify/berkas"' in page
    resp = client.get("/verify/berkas")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'enctype="multipart/form-data"' in html and 'name="csrf_token"' in html
    assert resp.headers["Cache-Control"] == "no-store" and "noindex" in resp.headers["X-Robots-Tag"]


def test_an_issued_file_is_asli_with_its_signer(client, factory, db, app):
    cert, data = _pdf(factory)
    before = _stored_files(app)
    resp = _check(client, data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Berkas ini asli" in html and cert.serial in html
    assert signing.DEV_SIGNER_NAME in html and "Utuh" in html
    assert "Cap waktu (RFC 3161)" in html and "Tidak ada" in html  # B-B: no timestamp
    assert f"/verify/{cert.verification_code}" in html
    assert _stored_files(app) == before


def test_a_revoked_certificate_file_says_so(client, factory, db):
    cert, data = _pdf(factory)
    services.revoke(SYSTEM, cert, "Salah cetak nama pemegang")
    html = _check(client, data).get_data(as_text=True)
    assert "Berkas ini asli" in html and "DICABUT" in html


def test_a_timestamped_file_shows_its_timestamp(client, factory, app, tsa):
    app.config["TSA_URL"] = tsa.url
    _cert, data = _pdf(factory)
    html = _check(client, data).get_data(as_text=True)
    assert "Berkas ini asli" in html and "Ada: " in html


def test_a_modified_file_is_not_the_issued_file_and_its_signature_is_broken(client, factory):
    cert, data = _pdf(factory)
    html = _check(client, _flip_in_signed_range(data)).get_data(as_text=True)
    assert "Berkas ini asli" not in html and cert.serial not in html
    assert "BUKAN berkas sertifikat yang kami terbitkan" in html and "Rusak" in html


def test_a_file_with_bytes_added_after_signing_is_not_whole(client, factory):
    _cert, data = _pdf(factory)
    html = _check(client, data + b"\n% tambahan\n").get_data(as_text=True)
    assert "Berkas ini asli" not in html and "Tidak mencakup seluruh berkas" in html


def test_an_unknown_pdf_is_unknown(client, app):
    from weasyprint import HTML

    other = HTML(string="<html lang='id'><p>Sertifikat palsu</p></html>").write_pdf()
    html = _check(client, other).get_data(as_text=True)
    assert "Berkas ini tidak dikenal" in html and "tidak ditandatangani" in html


@pytest.mark.parametrize("garbage", [
    b"", b"bukan pdf", b"%PDF-1.7\n" + os.urandom(2000), b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
    b"%PDF-1.7\ntrailer << /Root 1 0 R /Size 99999999999 >>\nstartxref\n9\n%%EOF",
])
def test_garbage_is_answered_not_a_500(client, garbage):
    resp = _check(client, garbage, "x.pdf")
    assert resp.status_code in (200, 422), resp.status_code
    if resp.status_code == 200:
        assert "tidak dikenal" in resp.get_data(as_text=True)


def test_a_truncated_certificate_is_unknown(client, factory):
    _serial, data = _any_pdf(factory)
    html = _check(client, data[: len(data) // 2]).get_data(as_text=True)
    assert "Berkas ini asli" not in html


def test_no_file_is_a_form_error(client):
    resp = _check(client, None)
    assert resp.status_code == 422 and "Pilih berkas PDF sertifikat." in resp.get_data(as_text=True)


def test_an_oversized_upload_is_refused_with_a_message_and_nothing_is_kept(client, app):
    app.config["CERTIFICATE_FILE_CHECK_MAX_BYTES"] = 1024 * 1024
    before = _stored_files(app)
    resp = _check(client, b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 413 and "Berkas terlalu besar" in html and "1 MB" in html
    # just over the limit, within the multipart envelope's allowance: the view's own check
    resp = _check(client, b"%PDF-1.7\n" + b"0" * (1024 * 1024))
    assert resp.status_code == 413 and "Berkas terlalu besar" in resp.get_data(as_text=True)
    assert _stored_files(app) == before


def test_the_upload_never_touches_the_disk(client, factory, app, monkeypatch):
    """Werkzeug spools uploads over 500 KB to a temporary file; this page keeps them in memory."""
    import tempfile

    from werkzeug import formparser

    _cert, data = _pdf(factory)
    # 700 KB appended (Werkzeug would spool that), then the end of file again so it still reads
    padded = data + b"\n%" + b"x" * (700 * 1024) + b"\n" + data[data.rindex(b"startxref"):]

    def refuse(*a, **kw):  # type: ignore[no-untyped-def]
        raise AssertionError("an upload was written to a temporary file")

    for module in (tempfile, formparser):
        monkeypatch.setattr(module, "SpooledTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with pytest.raises(AssertionError, match="temporary file"):  # what any other upload would meet
        formparser.default_stream_factory(len(padded), "application/pdf", "x.pdf")
    resp = _check(client, padded)
    assert resp.status_code == 200 and "Tidak mencakup seluruh berkas" in resp.get_data(as_text=True)


def test_the_file_check_needs_a_csrf_token(client, factory):
    _serial, data = _any_pdf(factory)
    client.get("/verify/berkas")  # a session exists, but its token is not sent
    assert _check(client, data, token=False).status_code == 400


def test_the_file_check_shares_the_verify_pages_rate_limit(app, client):
    app.config["RATELIMIT_VERIFY"] = "2/minute"
    assert client.get("/verify/berkas").status_code == 200
    assert client.get("/verify/tidak-ada").status_code == 404
    resp = client.get("/verify/berkas")
    assert resp.status_code == 429 and "Terlalu banyak pemeriksaan sertifikat" in resp.get_data(as_text=True)


# --- the local timestamping authority ------------------------------------------------------------------

@pytest.fixture(scope="module")
def _tsa_server():  # type: ignore[no-untyped-def]
    from tests.servers import TimestampServer

    server = TimestampServer().start()
    yield server
    server.stop()


@pytest.fixture
def tsa(_tsa_server):  # type: ignore[no-untyped-def]
    _tsa_server.requests.clear()
    _tsa_server.refuse = False
    return _tsa_server


@pytest.mark.slow
def test_the_result_pages_pass_the_html_checker(client, factory, app, tsa, tmp_path):
    from tests.markup import Page, require_tools, vnu

    require_tools()
    app.config["TSA_URL"] = tsa.url
    cert, data = _pdf(factory)
    other, other_data = _pdf(factory)
    services.revoke(SYSTEM, other, "Salah cetak nama pemegang")
    app.config["CERTIFICATE_FILE_CHECK_MAX_BYTES"] = 1024 * 1024
    answers = {"asli": _check(client, data), "revoked": _check(client, other_data),
               "broken": _check(client, _flip_in_signed_range(data)), "appended": _check(client, data + b"\n%\n"),
               "unreadable": _check(client, b"bukan pdf"), "no file": _check(client, None),
               "too large": _check(client, b"0" * (2 * 1024 * 1024))}
    assert [r.status_code for r in answers.values()] == [200, 200, 200, 200, 200, 422, 413]
    pages = [Page("anonymous", name, r.status_code, r.get_data(as_text=True), "certification.verify_file")
             for name, r in answers.items()]
    assert vnu(pages, tmp_path / "pages") == []


def test_signing_and_checking_work_under_a_running_event_loop(app, factory):
    """Playwright's synchronous API (the browser tests) leaves an event loop marked running in the
    main thread, as an async server would: pyHanko's own synchronous wrappers then fail."""
    import asyncio

    cert = factory.certificate()
    pdf = render.render_pdf(services.design_for("bimtek"), {**jobs.render_context(cert), "signing": None})
    spec = signing.signer_spec()

    async def inside() -> tuple[bytes, signing.SignatureReport]:
        signed = signing.sign(pdf, spec)  # blocking, as a view or a render would be
        return signed, signing.inspect(signed, signing.trust_roots())

    signed, report = asyncio.run(inside())
    assert report.ok and report.signer_name == signing.DEV_SIGNER_NAME


def test_the_room_reserved_for_the_signature_is_fitted_after_the_first(app, factory):
    cert = factory.certificate()
    context = {**jobs.render_context(cert), "signing": None}
    pdf = render.render_pdf(services.design_for("bimtek"), context)  # PDF/A, not yet signed
    spec = signing.signer_spec()
    loaded = signing.load(spec)
    loaded.fitted = None
    first = signing.sign(pdf, spec)
    assert loaded.fitted is not None and loaded.fitted < loaded.reserve
    second = signing.sign(pdf, spec)
    assert len(second) < len(first)
    loaded.fitted = 100  # far too small (say, a longer timestamp token): signed with the generous room again
    third = signing.sign(pdf, spec)
    assert loaded.fitted > 100
    roots = _roots(spec.p12)
    assert all(_validate(d, roots).bottom_line for d in (first, second, third))


def test_a_download_that_cannot_be_signed_is_a_503_with_a_message_and_nothing_stored(app, factory, client,
                                                                                      login_as, tsa, caplog, db):
    cert = factory.certificate()
    login_as(cert.holder)
    app.config["SIGNING_P12"] = "/nonexistent/signer.p12"  # a key that is not there
    resp = client.get(f"/certificates/{cert.id}/pdf")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "300"
    assert "belum bisa dibuat saat ini" in resp.get_data(as_text=True)
    assert "could not be made" in caplog.text and cert.serial in caplog.text
    del app.config["SIGNING_P12"]
    app.config["TSA_URL"] = tsa.url  # the timestamping authority refuses
    tsa.refuse = True
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 503
    db.session.refresh(cert)
    assert cert.pdf_path is None
    tsa.refuse = False  # back: the same link gives the signed PDF
    resp = client.get(f"/certificates/{cert.id}/pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
