"""Checking credentials: lms.credentials.verify and the public "Periksa kredensial" page.

Genuine credentials pass (pasted or uploaded); tampered ones (name, date, proof, key, context,
not JSON, too large, undefined terms) are refused with a clear message and never a 500; a
revoked certificate's credential says so; nothing sent is stored; the page is rate-limited.
"""
from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lms.certification import services
from lms.credentials import proof
from lms.credentials.issuing import ensure_credential
from lms.credentials.verify import MAX_BYTES, verify_credential
from lms.db import Base
from lms.permissions import SYSTEM

URL = "/kredensial/periksa"


@pytest.fixture(autouse=True)
def _generous_verify_limit(app):  # type: ignore[no-untyped-def]
    app.config["RATELIMIT_VERIFY"] = "1000/minute"


def _doc(cert: Any) -> dict[str, Any]:
    return json.loads(ensure_credential(cert))


def _check(client, content: str | bytes, *, upload: bool = False):  # type: ignore[no-untyped-def]
    if upload:
        data = {"file": (io.BytesIO(content if isinstance(content, bytes) else content.encode()), "kredensial.json")}
        resp = client.form_post(URL, data, content_type="multipart/form-data")
    else:
        resp = client.form_post(URL, {"credential": content})
    assert resp.status_code != 500
    return resp, resp.get_data(as_text=True)


def _resign(doc: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The same credential signed by someone else's key (claiming our verification method)."""
    unsigned = {k: v for k, v in doc.items() if k != "proof"}
    from datetime import datetime, timezone

    return proof.sign(unsigned, key, doc["proof"]["verificationMethod"], datetime.now(timezone.utc))


def test_a_genuine_credential_passes_pasted_or_uploaded(client, factory):
    cert = factory.certificate()
    text = ensure_credential(cert)
    for upload in (False, True):
        resp, page = _check(client, text, upload=upload)
        assert resp.status_code == 200
        assert "Kredensial ini sah" in page and cert.serial in page and cert.holder_name in page
        assert resp.headers["Cache-Control"] == "no-store"
    # re-indented and reordered JSON is the same credential
    resp, page = _check(client, json.dumps(json.loads(text), sort_keys=True))
    assert "Kredensial ini sah" in page
    result = verify_credential(text)
    assert result.ok and result.status == "valid" and result.certificate.id == cert.id


def test_tampered_credentials_are_refused_with_a_clear_message(client, factory):
    cert, other = factory.certificate(), factory.certificate()
    genuine, second = _doc(cert), _doc(other)

    def changed(change) -> str:  # type: ignore[no-untyped-def]
        doc = copy.deepcopy(genuine)
        change(doc)
        return json.dumps(doc)

    def set_name(d: dict[str, Any]) -> None:
        d["credentialSubject"]["identifier"][0]["identityHash"] = "Nama Lain"

    def set_date(d: dict[str, Any]) -> None:
        d["validFrom"] = "2017-01-01T00:00:00Z"

    def swap_proof(d: dict[str, Any]) -> None:
        d["proof"] = second["proof"]

    def unknown_context(d: dict[str, Any]) -> None:
        d["@context"].append("https://evil.example/context.jsonld")

    def add_field(d: dict[str, Any]) -> None:
        d["credentialSubject"]["catatan"] = "Lulus dengan pujian"

    def other_key_id(d: dict[str, Any]) -> None:
        d["proof"]["verificationMethod"] = "https://evil.example/issuer#z6MkEvil"

    cases = [
        (changed(set_name), "isi kredensial telah diubah"),
        (changed(set_date), "isi kredensial telah diubah"),
        (changed(swap_proof), "isi kredensial telah diubah"),
        (json.dumps(_resign(genuine, Ed25519PrivateKey.generate())), "isi kredensial telah diubah"),
        (changed(other_key_id), "kunci yang bukan kunci penerbit"),
        (changed(unknown_context), "Konteks JSON-LD tidak dikenal: https://evil.example/context.jsonld"),
        (changed(add_field), "tidak didefinisikan konteksnya"),
        ("ini bukan JSON {", "bukan JSON yang sah"),
        ("[1, 2, 3]", "harus berupa objek"),
        ("[" * 5000 + "]" * 5000, "bukan JSON yang sah"),
        (json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "VerifiableCredential"}),
         "Konteks (@context) kredensial tidak sah"),
    ]
    for content, message in cases:
        for upload in (False, True):
            resp, page = _check(client, content, upload=upload)
            assert resp.status_code == 200, (message, upload)
            assert "Kredensial ini TIDAK sah." in page, message
            assert message in page, (message, upload, page[page.find("verify-verdict"):][:400])
            assert "Kredensial ini sah" not in page


def test_too_large_is_refused_before_it_is_checked(client, factory):
    cert = factory.certificate()
    doc = _doc(cert)
    doc["description"] = "x" * (MAX_BYTES + 10)
    huge = json.dumps(doc)
    for upload in (False, True):
        resp, page = _check(client, huge, upload=upload)
        assert resp.status_code == 422
        assert "paling besar 256 KB" in page
    assert "paling besar 256 KB" in verify_credential(huge).reason
    # a request body far over the limit is answered without reading it, whatever it holds
    # (the bodies are built by hand: the test client would spool them to a temporary file of its own)
    boundary = "----batas"
    for name, filename in (("credential", ""), ("file", '; filename="besar.json"')):
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{client.csrf_token()}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{filename}\r\n\r\n').encode() \
            + b"z" * (3 * MAX_BYTES) + f"\r\n--{boundary}--\r\n".encode()
        resp = client.post(URL, data=body, content_type=f"multipart/form-data; boundary={boundary}")
        assert resp.status_code == 413 and "paling besar 256 KB" in resp.get_data(as_text=True), name


def test_empty_form_and_missing_csrf_are_refused(client, factory):
    resp = client.get(URL)
    assert resp.status_code == 200 and 'name="credential"' in resp.get_data(as_text=True)
    resp = client.form_post(URL, {"credential": "  "})
    assert resp.status_code == 422 and "Tempel isi kredensial" in resp.get_data(as_text=True)
    resp = client.post(URL, data={"credential": ensure_credential(factory.certificate())})  # no CSRF token
    assert resp.status_code == 400 and "Kredensial ini sah" not in resp.get_data(as_text=True)


def test_a_revoked_certificates_credential_is_reported_revoked(client, factory):
    cert = factory.certificate()
    text = ensure_credential(cert)
    services.revoke(SYSTEM, cert, "Peserta tidak hadir penuh")
    resp, page = _check(client, text)
    assert resp.status_code == 200
    assert "telah DICABUT" in page and cert.serial in page and "Kredensial ini sah" not in page
    result = verify_credential(text)
    assert not result.ok and result.revoked and result.status == "revoked"


def test_a_replaced_credential_is_not_the_current_one(app, factory, db):
    from lms.certification.models import Certificate

    cert = factory.certificate()
    old = ensure_credential(cert)
    with db.session.begin_nested():
        db.session.execute(sa.update(Certificate).where(Certificate.id == cert.id).values(credential_json=None))
    db.session.commit()
    db.session.refresh(cert)
    assert ensure_credential(cert) != old
    result = verify_credential(old)
    assert not result.ok and "sudah diganti" in result.reason


def test_what_is_checked_is_never_stored(client, factory, app, db):
    cert = factory.certificate()
    text = ensure_credential(cert)
    tampered = text.replace(cert.holder_name, "Nama Palsu")

    def snapshot() -> tuple[dict[str, int], set[Path]]:
        counts = {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) or 0
                  for t in Base.metadata.sorted_tables}
        files = {p for p in Path(app.instance_path).rglob("*") if p.is_file()}
        return counts, files

    before = snapshot()
    for content in (text, tampered, "bukan json"):
        for upload in (False, True):
            _check(client, content, upload=upload)
    db.session.commit()
    assert snapshot() == before


def test_the_check_page_is_rate_limited_like_the_verify_page(client, app):
    app.config["RATELIMIT_VERIFY"] = "2/minute"
    assert client.get(URL).status_code == 200
    assert client.form_post(URL, {"credential": "{}"}).status_code == 200
    resp = client.form_post(URL, {"credential": "{}"})
    assert resp.status_code == 429 and resp.headers["Retry-After"]


def test_the_verify_page_links_to_the_check(client, factory):
    cert = factory.certificate()
    page = client.get(f"/verify/{cert.verification_code}").get_data(as_text=True)
    assert 'href="/kredensial/periksa"' in page
