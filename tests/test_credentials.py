"""Open Badges 3.0 credentials: the document, its eddsa-rdfc-2022 proof, the offline contexts,
the issuer profile, the Bitstring Status List, the .json download.

The proof is checked here by a verification written independently of lms/credentials (PyLD's
canonicalisation with this file's own offline loader, hashlib, base58 decoding and
``cryptography``'s Ed25519 verify, following the eddsa-rdfc-2022 spec), and the signer is
checked against the W3C's published test vector for the suite. The credential is validated with
1EdTech's JSON Schema (tests/data/credentials/README.md says which revision).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import stat
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from lms.certification import services
from lms.certification.models import Certificate
from lms.credentials import loader, proof
from lms.credentials.issuing import ensure_credential
from lms.credentials.keys import issuer_key, key_file
from lms.credentials.status import LIST_SIZE
from lms.permissions import SYSTEM

DATA = Path(__file__).parent / "data" / "credentials"
CONTEXTS = Path(loader.__file__).parent / "contexts"
V2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
BASE = "http://127.0.0.1:5000"


# --- an independent verifier (no lms.credentials code) -------------------------------------------

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58(text: str) -> bytes:
    n = 0
    for ch in text:
        n = n * 58 + _ALPHABET.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def offline_loader(url: str, options: Any = None) -> dict[str, Any]:
    files = {V2: CONTEXTS / "credentials-v2.jsonld", OB: CONTEXTS / "ob-v3p0-context-3.0.3.json",
             EXAMPLES: DATA / "credentials-examples-v2.jsonld"}
    if url not in files:
        raise AssertionError(f"the test tried to load {url}")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": json.loads(files[url].read_text(encoding="utf-8"))}


def rdfc(doc: dict[str, Any]) -> str:
    return jsonld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                  "documentLoader": offline_loader})


def independent_verify(doc: dict[str, Any], public_multibase: str) -> bool:
    """eddsa-rdfc-2022 "Verify Proof": hashData = SHA-256(canonical proof config) || SHA-256(canonical document)."""
    config = {k: v for k, v in doc["proof"].items() if k != "proofValue"}
    config["@context"] = doc["@context"]
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    hash_data = hashlib.sha256(rdfc(config).encode()).digest() + hashlib.sha256(rdfc(unsecured).encode()).digest()
    raw_key = b58(public_multibase[1:])
    assert public_multibase[0] == "z" and raw_key[:2] == b"\xed\x01" and len(raw_key) == 34
    signature = b58(doc["proof"]["proofValue"][1:])
    try:
        Ed25519PublicKey.from_public_bytes(raw_key[2:]).verify(signature, hash_data)
    except InvalidSignature:
        return False
    return True


def decode_status_list(encoded: str) -> bytes:
    assert encoded[0] == "u"
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def bit(bits: bytes, i: int) -> int:
    return (bits[i // 8] >> (7 - i % 8)) & 1


def profile_key(client) -> str:  # type: ignore[no-untyped-def]
    resp = client.get("/kredensial/penerbit")
    assert resp.status_code == 200
    return resp.get_json(force=True)["verificationMethod"][0]["publicKeyMultibase"]


def _credential(cert: Certificate) -> dict[str, Any]:
    return json.loads(ensure_credential(cert))


# --- the W3C test vector -----------------------------------------------------------------------

def test_signer_reproduces_the_w3c_eddsa_rdfc_2022_test_vector(monkeypatch):
    """Our canonicalisation, hashing and signing give the published proofValue byte for byte."""
    monkeypatch.setitem(loader.FILES, EXAMPLES, str(DATA / "credentials-examples-v2.jsonld"))
    signed = json.loads((DATA / "eddsa-rdfc-2022-signed.json").read_text())
    pair = json.loads((DATA / "eddsa-rdfc-2022-keypair.json").read_text())
    secret = b58(pair["privateKeyMultibase"][1:])
    assert secret[:2] == b"\x80\x26"  # multicodec ed25519-priv
    key = Ed25519PrivateKey.from_private_bytes(secret[2:])

    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    assert loader.canonize({**config, "@context": signed["@context"]}) == \
        (DATA / "eddsa-rdfc-2022-proofCanon.txt").read_text()
    assert proof.hash_data(signed, signed["proof"]).hex() == (DATA / "eddsa-rdfc-2022-combinedHash.txt").read_text()

    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    mine = proof.sign(unsigned, key, config["verificationMethod"], datetime(2023, 2, 24, 23, 36, 38, tzinfo=timezone.utc))
    assert mine == signed
    assert proof.signature_valid(signed, key.public_key())
    assert independent_verify(signed, pair["publicKeyMultibase"])
    signed["credentialSubject"]["alumniOf"] = "Another School"
    assert not proof.signature_valid(signed, key.public_key())


# --- the offline loader ----------------------------------------------------------------------------

class _ContextServer(ThreadingHTTPServer):
    hits = 0


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.server.hits += 1  # type: ignore[attr-defined]
        body = b'{"@context": {"name": "https://example.org/evil#name"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/ld+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_loader_refuses_every_url_but_the_vendored_contexts():
    for url in ("https://example.org/context.jsonld", "https://www.w3.org/2018/credentials/v1",
                "https://w3id.org/security/data-integrity/v2", "file:///etc/passwd", V2 + "/", OB + "?x=1"):
        with pytest.raises(loader.ContextRefused):
            loader.document_loader(url)
    assert loader.document_loader(V2)["document"]["@context"]["@protected"] is True
    assert "OpenBadgeCredential" in loader.document_loader(OB)["document"]["@context"]

    server = _ContextServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/context.jsonld"
        with pytest.raises(Exception) as caught:
            loader.canonize({"@context": [V2, url], "type": ["VerifiableCredential"], "name": "x"})
        assert isinstance(loader.root_cause(caught.value), loader.ContextRefused)
        assert server.hits == 0  # nothing was fetched
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def test_canonicalisation_refuses_terms_the_contexts_do_not_define():
    """An undefined property would drop out of the canonical form, unsigned: refused instead."""
    doc = {"@context": [V2, OB], "type": ["VerifiableCredential", "OpenBadgeCredential"], "name": "x",
           "issuer": "https://issuer.example/", "notInAnyContext": "added later"}
    with pytest.raises(Exception) as caught:
        loader.canonize(doc)
    assert isinstance(loader.root_cause(caught.value), loader.UndefinedTerm)
    doc = {"@context": [V2, OB], "type": ["VerifiableCredential", "SomeUndefinedType"], "name": "x"}
    with pytest.raises(loader.UndefinedTerm):
        loader.canonize(doc)


# --- issuing -------------------------------------------------------------------------------------------

def test_issuing_takes_a_random_free_status_position(factory):
    certs = [factory.certificate() for _ in range(3)]
    indexes = [c.status_index for c in certs]
    assert all(i is not None and 0 <= i < LIST_SIZE for i in indexes)
    assert len(set(indexes)) == 3
    # not handed out in order: three consecutive numbers from 131,072 would be a 1 in ~10^10 draw
    assert sorted(indexes) != list(range(min(indexes), min(indexes) + 3))


def test_credential_is_an_open_badge_that_passes_the_1edtech_json_schema(app, factory):
    session = factory.session()
    holder = factory.attendee(session, email="Siti.Aminah@example.com", full_name="Siti Aminah")
    cert = factory.certificate(session=session, holder=holder)
    doc = _credential(cert)

    schema = json.loads((DATA / "ob_v3p0_achievementcredential_schema.json").read_text())
    # the vendored revision still requires the VCDM 1.1 name; OB 3.0.3 on VCDM 2.0 requires validFrom
    assert "issuanceDate" in schema["required"]
    schema["required"] = ["validFrom" if r == "issuanceDate" else r for r in schema["required"]]
    validator = jsonschema.Draft201909Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []

    assert doc["@context"] == [V2, OB]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["id"].startswith("urn:uuid:")
    assert doc["issuer"]["id"] == f"{BASE}/kredensial/penerbit" and doc["issuer"]["type"] == ["Profile"]
    assert doc["validFrom"] == cert.issued_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    achievement = doc["credentialSubject"]["achievement"]
    assert achievement["name"] == cert.subject_title and achievement["type"] == ["Achievement"]
    assert achievement["criteria"]["narrative"] and achievement["achievementType"] == "CertificateOfCompletion"
    assert doc["evidence"][0]["id"] == f"{BASE}/verify/{cert.verification_code}"
    status = doc["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    assert status["statusListCredential"] == f"{BASE}/kredensial/status/1"
    assert int(status["statusListIndex"]) == cert.status_index
    # the holder: the printed name in plain text, the e-mail only as a salted hash, no phone at all
    ids = {i["identityType"]: i for i in doc["credentialSubject"]["identifier"]}
    assert ids["name"] == {"type": "IdentityObject", "identityType": "name", "hashed": False,
                           "identityHash": "Siti Aminah"}
    mail = ids["emailAddress"]
    assert mail["hashed"] is True and len(mail["salt"]) == 32
    assert mail["identityHash"] == "sha256$" + hashlib.sha256(("siti.aminah@example.com" + mail["salt"]).encode()).hexdigest()
    text = ensure_credential(cert)
    assert "siti.aminah@example.com" not in text.lower() and (holder.phone or "no-phone") not in text
    assert doc["proof"]["type"] == "DataIntegrityProof" and doc["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert doc["proof"]["proofPurpose"] == "assertionMethod"


def test_programme_completion_credential_passes_the_schema_too(app, factory):
    enrolment = factory.completed_enrolment()
    cert = services.issue_for_enrolment(SYSTEM, services.design_for("completion"), enrolment).certificate
    doc = _credential(cert)
    schema = json.loads((DATA / "ob_v3p0_achievementcredential_schema.json").read_text())
    schema["required"] = ["validFrom" if r == "issuanceDate" else r for r in schema["required"]]
    jsonschema.Draft201909Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
    assert doc["credentialSubject"]["achievement"]["name"] == cert.subject_title
    assert "7 PAS" in doc["credentialSubject"]["achievement"]["criteria"]["narrative"]


def test_the_proof_verifies_independently_with_the_published_key(client, factory):
    cert = factory.certificate()
    doc = _credential(cert)
    public = profile_key(client)
    assert doc["proof"]["verificationMethod"] == f"{BASE}/kredensial/penerbit#{public}"
    assert independent_verify(doc, public)
    # reordering and re-indenting the JSON changes nothing; changing what it says breaks it
    assert independent_verify(json.loads(json.dumps(doc, sort_keys=True)), public)
    doc["credentialSubject"]["identifier"][0]["identityHash"] = "Orang Lain"
    assert not independent_verify(doc, public)


def test_credential_is_stored_once_and_returned_unchanged(app, factory, db):
    from sqlalchemy.orm.attributes import set_committed_value

    cert = factory.certificate()
    first = ensure_credential(cert)
    assert db.session.scalar(sa.select(Certificate.credential_json).where(Certificate.id == cert.id)) == first
    assert ensure_credential(cert) == first
    # a second maker that did not see the first one's row: its UPDATE … WHERE credential_json IS NULL
    # changes nothing and it returns the stored text
    set_committed_value(cert, "credential_json", None)
    assert ensure_credential(cert) == first


def test_older_certificates_get_a_status_position_when_first_asked(app, factory, db):
    cert = factory.certificate()
    with db.session.begin_nested():
        db.session.execute(sa.update(Certificate).where(Certificate.id == cert.id)
                           .values(status_index=None, credential_json=None))
    db.session.commit()
    db.session.refresh(cert)
    assert cert.status_index is None
    doc = _credential(cert)
    db.session.refresh(cert)
    assert cert.status_index is not None
    assert int(doc["credentialStatus"]["statusListIndex"]) == cert.status_index


# --- the issuer profile and the key ------------------------------------------------------------------

def test_issuer_profile_publishes_the_key_as_multikey(client, app, factory):
    resp = client.get("/kredensial/penerbit")
    assert resp.status_code == 200 and resp.mimetype == "application/ld+json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    doc = resp.get_json(force=True)
    assert doc["id"] == f"{BASE}/kredensial/penerbit" and doc["type"] == ["Profile"] and doc["name"]
    vm = doc["verificationMethod"][0]
    assert vm["type"] == "Multikey" and vm["controller"] == doc["id"]
    assert vm["publicKeyMultibase"].startswith("z6Mk")
    assert doc["assertionMethod"] == [vm["id"]] and vm["id"] == f"{doc['id']}#{vm['publicKeyMultibase']}"
    raw = issuer_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert b58(vm["publicKeyMultibase"][1:]) == b"\xed\x01" + raw
    path = key_file()
    assert path == Path(app.instance_path) / "credential-key.pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8


def test_the_key_comes_from_credential_key_file(client, app, tmp_path):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "issuer.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    app.config["CREDENTIAL_KEY_FILE"] = str(path)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert b58(profile_key(client)[1:]) == b"\xed\x01" + raw
    assert not (Path(app.instance_path) / "credential-key.pem").exists()


# --- the status list ----------------------------------------------------------------------------------------

def _status_list(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = client.get("/kredensial/status/1")
    assert resp.status_code == 200 and resp.mimetype == "application/ld+json"
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    return resp.get_json(force=True)


def test_revoking_sets_the_certificates_bit_in_the_published_list(client, factory):
    cert, other = factory.certificate(), factory.certificate()
    public = profile_key(client)
    before = _status_list(client)
    assert before["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    subject = before["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    bits = decode_status_list(subject["encodedList"])
    assert len(bits) * 8 == LIST_SIZE and not any(bits)
    assert independent_verify(before, public)

    services.revoke(SYSTEM, cert, "Salah cetak nama pemegang")
    after = _status_list(client)
    assert independent_verify(after, public)
    bits = decode_status_list(after["credentialSubject"]["encodedList"])
    assert bit(bits, cert.status_index) == 1
    assert bit(bits, other.status_index) == 0
    assert sum(bin(b).count("1") for b in bits) == 1


def test_a_new_key_signs_the_list_at_once(client, factory, app, tmp_path):
    """The signed list is kept for a while when its bits do not change, but never past a change of key:
    a verifier fetching the issuer's new key must not get a list signed with the old one."""
    factory.certificate()
    assert independent_verify(_status_list(client), profile_key(client))
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "rotated.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    app.config["CREDENTIAL_KEY_FILE"] = str(path)
    new_public = profile_key(client)
    after = _status_list(client)
    assert after["proof"]["verificationMethod"].endswith("#" + new_public)
    assert independent_verify(after, new_public)


def test_only_the_lists_in_use_are_published(client, factory):
    factory.certificate()
    for path in ("/kredensial/status/0", "/kredensial/status/2", "/kredensial/status/-1",
                 "/kredensial/status/abc", "/kredensial/status/99999999999999999999"):
        assert client.get(path).status_code == 404, path


# --- the .json download ------------------------------------------------------------------------------------

def test_holder_downloads_the_credential_others_do_not_see_it(client, factory, login_as):
    cert = factory.certificate()
    login_as(cert.holder)
    resp = client.get(f"/certificates/{cert.id}/credential.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/ld+json"
    assert resp.headers["Content-Disposition"] == f'attachment; filename=sertifikat-{cert.serial.replace("/", "-")}.json'
    assert resp.headers["Cache-Control"] == "private, no-store"
    body = resp.get_data(as_text=True)
    assert body == ensure_credential(cert)
    page = client.get("/certificates/mine").get_data(as_text=True)
    assert f"/certificates/{cert.id}/credential.json" in page
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert f"/certificates/{cert.id}/credential.json" in page
    client.form_post("/logout")

    login_as("trainee", region="3171")
    assert client.get(f"/certificates/{cert.id}/credential.json").status_code == 404


def test_erasing_the_holder_replaces_the_credential_with_one_without_them(client, factory, db):
    """The stored credential names the holder: an erasure drops it, and the next one made has neither
    the name nor the e-mail hash (a salted hash of the account URL stands in), and still verifies."""
    from lms.privacy import erasure, requests

    session = factory.session()
    holder = factory.attendee(session, email="rina.marlina@example.com", full_name="Rina Marlina")
    cert = factory.certificate(session=session, holder=holder)
    before = ensure_credential(cert)
    assert "Rina Marlina" in before
    erasure.erase(factory.user("admin", region=None), requests.create_erasure(holder, "Saya berhenti dari program"))
    db.session.expire_all()
    assert cert.credential_json is None and cert.holder_name == ""
    doc = _credential(cert)
    assert "Rina" not in json.dumps(doc)
    assert [i["identityType"] for i in doc["credentialSubject"]["identifier"]] == ["systemId"]
    assert independent_verify(doc, profile_key(client))
