"""A certificate as a signed Open Badges 3.0 ``OpenBadgeCredential``: built once, stored, never changed.

:func:`ensure_credential` returns ``certificates.credential_json``, building and signing it first
when it is not there yet (with a conditional UPDATE in its own transaction: the first one stored
wins, like the PDF in lms/certification/pdf.py). The stored text is what the ``.json`` download
serves and what the PDF/A-3 embeds, byte for byte, so it is deterministic per certificate once
stored.

What the credential says about the holder (``credentialSubject.identifier``, IdentityObjects as
Open Badges 3.0 allows instead of a subject ``id``):

- ``name``, in plain text: the name printed on the certificate, which its public verify page shows
  anyway; it is what lets a reader match the credential to the person showing it;
- ``emailAddress``, hashed: ``sha256$`` of the holder's e-mail address (lower-cased) followed by a
  salt of 128 random bits stored beside it. The holder can prove the credential is theirs by
  revealing the address; the credential alone does not reveal it, and the per-credential salt keeps
  two credentials of one person from being linked by the hash;
- no telephone number, not even hashed: an Indonesian mobile number has few enough digits that any
  hash of it is reversed by trying them all;
- when neither a name (erased on request) nor an e-mail address is left: a hashed ``systemId``
  (the holder's account URL with a salt), which means nothing outside this system.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ..certification.eligibility import design_for
from ..certification.issuing import date_range, verify_url
from ..certification.models import Certificate
from ..db import transaction, utcnow
from ..errors import NotFound
from ..extensions import db
from .issuer import base_url, issuer_summary, verification_method
from .keys import issuer_key
from .loader import CREDENTIALS_V2, OB_V3P0
from .proof import sign, xsd_datetime
from .status import assign_status_index, entry

CONTEXT = [CREDENTIALS_V2, OB_V3P0]
#: the stable namespace of achievement ids (urn:uuid, one per kind and subject)
ACHIEVEMENT_NS = uuid.UUID("0b6f0a36-6e43-4d52-9e1f-7a5b1c2d3e4f")
DESCRIPTION = "Diterbitkan oleh Dinas Sosial Provinsi DKI Jakarta dalam Program 7 PAS OK OCE e-Warong."
SEVEN_STEPS = ("Pendaftaran, Pelatihan, Pendampingan, Perizinan, Pemasaran, Pelaporan keuangan dan Permodalan")


def identity_hash(value: str, salt: str) -> str:
    """Open Badges IdentityHash: ``sha256$`` + hex SHA-256 of the UTF-8 value followed by the salt."""
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


def _identifiers(cert: Certificate) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if cert.holder_name:
        out.append({"type": "IdentityObject", "identityType": "name", "hashed": False,
                    "identityHash": cert.holder_name})
    email = (cert.holder.email or "").strip().lower() if cert.holder is not None else ""
    if email:
        salt = secrets.token_hex(16)
        out.append({"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                    "identityHash": identity_hash(email, salt), "salt": salt})
    if not out:
        salt = secrets.token_hex(16)
        out.append({"type": "IdentityObject", "identityType": "systemId", "hashed": True,
                    "identityHash": identity_hash(f"{base_url()}/users/{cert.holder_id}", salt), "salt": salt})
    return out


def _dates(cert: Certificate) -> str:
    d = cert.details or {}
    try:
        if cert.subject_type == "session":
            return date_range(datetime.fromisoformat(d["starts_at"]), datetime.fromisoformat(d["ends_at"]))
        return date_range(date.fromisoformat(d["cohort_start"]), date.fromisoformat(d["cohort_end"]))
    except (KeyError, TypeError, ValueError):
        return ""


def _achievement(cert: Certificate, kind_name: str) -> dict[str, Any]:
    d = cert.details or {}
    dates = _dates(cert).replace("\u00a0", " ")
    if cert.subject_type == "session":
        where = ", ".join(x for x in (d.get("venue"), d.get("region")) if x)
        description = f"{kind_name}: {cert.subject_title}" + (f", {dates}" if dates else "") + (f", {where}" if where else "") + "."
        narrative = ("Hadir pada bimbingan teknis (Bimtek) ini menurut daftar hadir yang dicatat penyelenggara, "
                     "dalam Program 7 PAS OK OCE e-Warong.")
    else:
        description = (f"{kind_name}: {cert.subject_title}" + (f" ({d['cohort']})" if d.get("cohort") else "")
                       + (f", {dates}" if dates else "") + ".")
        narrative = (f"Menyelesaikan ketujuh langkah Program 7 PAS secara berurutan ({SEVEN_STEPS}); "
                     "setiap langkah diverifikasi oleh koordinator atau pendamping.")
    return {
        "id": "urn:uuid:" + str(uuid.uuid5(ACHIEVEMENT_NS, f"{cert.kind}/{cert.subject_key}")),
        "type": ["Achievement"],
        "achievementType": "CertificateOfCompletion",
        "name": cert.subject_title,
        "description": description,
        "criteria": {"narrative": narrative},
    }


def build_credential(cert: Certificate) -> dict[str, Any]:
    """The unsigned credential for ``cert`` (it must have a status position)."""
    if cert.status_index is None:
        raise ValueError("the certificate has no status list position yet")
    try:
        kind_name = design_for(cert.kind).label("id")
    except NotFound:  # a design folder removed since: the kind's key stands in for its label
        kind_name = cert.kind
    link = verify_url(cert.verification_code)
    return {
        "@context": list(CONTEXT),
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_summary(),
        "validFrom": xsd_datetime(cert.issued_at),
        "name": f"{kind_name}: {cert.subject_title}",
        "description": f"{DESCRIPTION} Nomor sertifikat {cert.serial}.",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": _identifiers(cert),
            "achievement": _achievement(cert, kind_name),
        },
        "evidence": [{"id": link, "type": ["Evidence"], "name": f"Halaman verifikasi sertifikat {cert.serial}",
                      "description": "Status sertifikat saat ini menurut penerbitnya."}],
        "credentialStatus": entry(int(cert.status_index)),
    }


def serialize(credential: dict[str, Any]) -> str:
    return json.dumps(credential, ensure_ascii=False, indent=2) + "\n"


def ensure_credential(cert: Certificate) -> str:
    """The certificate's signed credential (JSON text), made and stored on first use."""
    if cert.credential_json:
        return cert.credential_json
    if cert.status_index is None:  # certificates issued before credentials existed
        with transaction():
            assign_status_index(cert.id)
    text = serialize(sign(build_credential(cert), issuer_key(), verification_method(), utcnow()))
    with transaction():
        db.session.execute(
            sa.update(Certificate).where(Certificate.id == cert.id, Certificate.credential_json.is_(None))
            .values(credential_json=text, updated_at=Certificate.updated_at)
            .execution_options(synchronize_session=False))
    db.session.refresh(cert)
    assert cert.credential_json is not None
    return cert.credential_json
