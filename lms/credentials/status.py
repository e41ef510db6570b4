"""Revocation as a W3C Bitstring Status List.

Each certificate gets a random free position (``certificates.status_index``) when it is issued;
position ``i`` is bit ``i % LIST_SIZE`` of list ``i // LIST_SIZE + 1``, published at
``/kredensial/status/<list>`` as a signed ``BitstringStatusListCredential`` whose bits are set
for the revoked certificates. Nothing is stored for it: the list is derived from the
certificates' status with one query, so a revocation flips the bit at once (readers may keep a
copy for the 5 minutes the answer's Cache-Control allows).

A list holds 131,072 positions (16 KB before compression), the spec's minimum for herd privacy:
a reader who fetches the list learns nothing about which certificate is being checked. Positions
are drawn at random among the free ones of the lists in use; a new list is opened when those are
half full, so a random draw rarely meets a taken position (a collision is drawn again).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ..certification.models import Certificate, CertificateStatus
from ..db import utcnow
from ..extensions import db
from .issuer import base_url, profile_url, verification_method
from .keys import issuer_key
from .loader import CREDENTIALS_V2
from .proof import sign, xsd_datetime

LIST_SIZE = 131_072
#: seconds a published list may be cached (its Cache-Control and its ``ttl``)
MAX_AGE = 300
STATUS_PATH = "/kredensial/status/"
ATTEMPTS = 20


@dataclass(frozen=True)
class Position:
    list_no: int
    bit: int


def position(index: int) -> Position:
    return Position(index // LIST_SIZE + 1, index % LIST_SIZE)


def list_url(list_no: int) -> str:
    return f"{base_url()}{STATUS_PATH}{list_no}"


def entry(index: int) -> dict[str, Any]:
    """The credential's ``credentialStatus``."""
    pos = position(index)
    url = list_url(pos.list_no)
    return {"id": f"{url}#{pos.bit}", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": str(pos.bit), "statusListCredential": url}


def lists_in_use() -> int:
    """How many lists are published: enough for the highest position taken (at least one)."""
    top = db.session.scalar(sa.select(sa.func.max(Certificate.status_index)))
    return 1 if top is None else int(top) // LIST_SIZE + 1


def _capacity() -> int:
    used = db.session.scalar(sa.select(sa.func.count()).where(Certificate.status_index.is_not(None))) or 0
    return LIST_SIZE * (1 + int(used) // (LIST_SIZE // 2))


def assign_status_index(cert_id: int) -> int:
    """Give the certificate a random free position, inside the caller's transaction; return it.

    A certificate that has one keeps it. A position another writer took meanwhile (the unique
    constraint) is drawn again, in a savepoint so the caller's transaction goes on.
    """
    current = db.session.scalar(sa.select(Certificate.status_index).where(Certificate.id == cert_id))
    if current is not None:
        return int(current)
    capacity = _capacity()
    for _ in range(ATTEMPTS):
        index = secrets.randbelow(capacity)
        if db.session.scalar(sa.select(Certificate.id).where(Certificate.status_index == index)) is not None:
            continue
        try:
            with db.session.begin_nested():
                db.session.execute(
                    sa.update(Certificate).where(Certificate.id == cert_id, Certificate.status_index.is_(None))
                    .values(status_index=index, updated_at=Certificate.updated_at)
                    .execution_options(synchronize_session=False))
        except IntegrityError:
            continue
        taken = int(db.session.scalar(sa.select(Certificate.status_index).where(Certificate.id == cert_id)))
        cert = db.session.get(Certificate, cert_id)
        if cert is not None:
            set_committed_value(cert, "status_index", taken)
        return taken
    raise RuntimeError("no free status list position found")


# --- the published list ------------------------------------------------------------------------

def revoked_bits(list_no: int) -> bytes:
    """The list's bitstring: bit ``i`` (left-most first) set when that position's certificate is revoked."""
    lo = (list_no - 1) * LIST_SIZE
    bits = bytearray(LIST_SIZE // 8)
    for (index,) in db.session.execute(sa.select(Certificate.status_index).where(
            Certificate.status == CertificateStatus.REVOKED, Certificate.status_index >= lo,
            Certificate.status_index < lo + LIST_SIZE)):
        bit = int(index) - lo
        bits[bit // 8] |= 0x80 >> (bit % 8)
    return bytes(bits)


def encode_list(bits: bytes) -> str:
    """Multibase base64url (no padding) of the GZIP-compressed bitstring."""
    return "u" + base64.urlsafe_b64encode(gzip.compress(bits, mtime=0)).decode("ascii").rstrip("=")


def decode_list(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("not multibase base64url")
    data = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))


_cache_lock = threading.Lock()
#: (profile url, verification method (names the key), list) -> (the bits' digest, when signed (monotonic),
#: the signed text); a new key is never answered with a copy signed by the old one
_cache: dict[tuple[str, str, int], tuple[str, float, str]] = {}


def status_list_credential(list_no: int) -> str:
    """The signed BitstringStatusListCredential of list ``list_no`` as JSON text.

    Signed again only when its bits changed or the copy is older than MAX_AGE (the one query
    runs every time)."""
    bits = revoked_bits(list_no)
    digest = hashlib.sha256(bits).hexdigest()
    method = verification_method()
    key = (profile_url(), method, list_no)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit and hit[0] == digest and now - hit[1] < MAX_AGE:
        return hit[2]
    url = list_url(list_no)
    moment = utcnow()
    doc = {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": profile_url(),
        "validFrom": xsd_datetime(moment),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                              "encodedList": encode_list(bits), "ttl": MAX_AGE * 1000},
    }
    text = json.dumps(sign(doc, issuer_key(), method, moment), ensure_ascii=False, indent=2)
    with _cache_lock:
        _cache[key] = (digest, now, text)
    return text
