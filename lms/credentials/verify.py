"""Checking a credential someone hands us: :func:`verify_credential`.

A credential passes when, in this order,

1. it is at most MAX_BYTES of JSON text, an object of a sane size and depth, with ``@context``
   exactly the two vendored contexts (no inline or other contexts anywhere);
2. it is an ``OpenBadgeCredential`` issued by our profile, with one ``eddsa-rdfc-2022`` proof for
   our key's verification method;
3. the proof verifies (RDFC-1.0 offline and strict, SHA-256, Ed25519) with our public key;
4. its ``credentialStatus`` points at a certificate we hold, whose verify link (``evidence``) it
   carries, and it is the credential stored for that certificate (a replaced one does not pass);
5. that certificate is not revoked (what the published status list says).

Every failure is a :class:`VerifyResult` with a clear reason, never an exception. Nothing is
stored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from ..certification.issuing import verify_url
from ..certification.models import Certificate
from ..extensions import db
from .issuer import base_url, profile_url, verification_method
from .keys import issuer_key
from .loader import CREDENTIALS_V2, FILES, OB_V3P0, ContextRefused, UndefinedTerm, root_cause
from .proof import CRYPTOSUITE, PROOF_TYPE, PURPOSE, signature_valid
from .status import LIST_SIZE, STATUS_PATH, list_url

#: the largest credential accepted (ours are about 3 KB)
MAX_BYTES = 256 * 1024
#: limits on the JSON's shape, checked before any canonicalisation (which a crafted graph can make slow)
MAX_DEPTH = 12
MAX_NODES = 400
MAX_STRING = 20_000
OB_TYPES = {"OpenBadgeCredential", "AchievementCredential"}


@dataclass
class VerifyResult:
    ok: bool
    #: why it failed (empty when it passed)
    reason: str = ""
    certificate: Certificate | None = None
    revoked: bool = False
    #: the parsed credential when it could be read
    credential: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        """valid | revoked | invalid"""
        return "valid" if self.ok else ("revoked" if self.revoked else "invalid")


def _fail(reason: str, **kw: Any) -> VerifyResult:
    return VerifyResult(False, reason, **kw)


def _shape_problem(doc: Any) -> str | None:
    count = 0
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            return _("Struktur kredensial terlalu rumit.")
        if isinstance(node, dict):
            if depth > 1 and "@context" in node:
                return _("Kredensial memuat konteks JSON-LD tambahan yang tidak diizinkan.")
            for k, v in node.items():
                if len(k) > 200:
                    return _("Struktur kredensial terlalu rumit.")
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str) and len(node) > MAX_STRING:
            return _("Kredensial memuat teks yang terlalu panjang.")
    return None


def _context_problem(ctx: Any) -> str | None:
    if not isinstance(ctx, list) or not ctx or not all(isinstance(c, str) for c in ctx):
        return _("Konteks (@context) kredensial tidak sah.")
    unknown = [c for c in ctx if c not in FILES]
    if unknown:
        return _("Konteks JSON-LD tidak dikenal: %(url)s. Hanya konteks Verifiable Credentials 2.0 dan "
                 "Open Badges 3.0 yang diterima.", url=unknown[0][:200])
    if ctx != [CREDENTIALS_V2, OB_V3P0]:
        return _("Konteks (@context) kredensial tidak sah.")
    return None


def _types(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


def _status_index(status: Any) -> int | None:
    """The global position named by ``credentialStatus`` (list URL and bit), if it is one of ours."""
    if not isinstance(status, dict) or status.get("type") != "BitstringStatusListEntry":
        return None
    url, bit = status.get("statusListCredential"), status.get("statusListIndex")
    if not isinstance(url, str) or not isinstance(bit, str) or not bit.isdigit() or len(bit) > 7:
        return None
    prefix = base_url() + STATUS_PATH
    if not url.startswith(prefix) or not url[len(prefix):].isdigit() or len(url) - len(prefix) > 7:
        return None
    list_no, pos = int(url[len(prefix):]), int(bit)
    if list_no < 1 or pos >= LIST_SIZE or list_url(list_no) != url:
        return None
    return (list_no - 1) * LIST_SIZE + pos


def verify_credential(text: str | bytes) -> VerifyResult:
    """Check a credential (its JSON text); see the module's docstring."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_BYTES:
        return _fail(_("Berkas terlalu besar: kredensial paling besar %(kb)d KB.", kb=MAX_BYTES // 1024))
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _fail(_("Isinya bukan JSON yang sah, jadi bukan kredensial."))
    if not isinstance(doc, dict):
        return _fail(_("Isinya bukan kredensial: JSON-nya harus berupa objek."))
    problem = _shape_problem(doc) or _context_problem(doc.get("@context"))
    if problem:
        return _fail(problem)
    types = _types(doc.get("type"))
    if "VerifiableCredential" not in types or not types & OB_TYPES:
        return _fail(_("Ini bukan kredensial Open Badges (OpenBadgeCredential)."), credential=doc)
    issuer = doc.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id != profile_url():
        return _fail(_("Kredensial ini tidak diterbitkan oleh %(site)s.", site=profile_url()), credential=doc)
    proof = doc.get("proof")
    if not isinstance(proof, dict) or proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE \
            or proof.get("proofPurpose") != PURPOSE:
        return _fail(_("Kredensial tidak memuat tanda tangan digital yang dikenali (eddsa-rdfc-2022)."),
                     credential=doc)
    if proof.get("verificationMethod") != verification_method():
        return _fail(_("Kredensial ditandatangani dengan kunci yang bukan kunci penerbit ini."), credential=doc)
    try:
        valid = signature_valid(doc, issuer_key().public_key())
    except Exception as e:  # noqa: BLE001 - whatever a crafted document makes PyLD raise is a rejection
        cause = root_cause(e)
        if isinstance(cause, ContextRefused):
            return _fail(_("Konteks JSON-LD tidak dikenal: %(url)s.", url=cause.url[:200]), credential=doc)
        if isinstance(cause, UndefinedTerm):
            return _fail(_("Kredensial memuat isian yang tidak didefinisikan konteksnya (%(term)s), jadi tidak "
                           "tercakup tanda tangan.", term=cause.what[:100]), credential=doc)
        return _fail(_("Tanda tangan digital kredensial tidak dapat diperiksa: isinya rusak."), credential=doc)
    if not valid:
        return _fail(_("Tanda tangan digital tidak cocok: isi kredensial telah diubah setelah diterbitkan."),
                     credential=doc)

    index = _status_index(doc.get("credentialStatus"))
    cert = db.session.scalar(sa.select(Certificate).where(Certificate.status_index == index)) \
        if index is not None else None
    evidence = doc.get("evidence")
    links = {e.get("id") for e in evidence if isinstance(e, dict)} if isinstance(evidence, list) else set()
    if cert is None or verify_url(cert.verification_code) not in links:
        return _fail(_("Tanda tangannya sah, tetapi sertifikatnya tidak ada dalam catatan kami."), credential=doc)
    stored_id = None
    if cert.credential_json:
        try:
            stored_id = json.loads(cert.credential_json).get("id")
        except ValueError:
            stored_id = None
    if stored_id != doc.get("id"):
        return _fail(_("Kredensial ini sudah diganti dengan yang baru untuk sertifikat %(serial)s.",
                       serial=cert.serial), certificate=cert, credential=doc)
    if not cert.is_active:
        return _fail(_("Sertifikat %(serial)s telah DICABUT dan tidak berlaku lagi.", serial=cert.serial),
                     certificate=cert, revoked=True, credential=doc)
    return VerifyResult(True, "", certificate=cert, credential=doc)
