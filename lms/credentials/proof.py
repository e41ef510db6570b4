"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C VC Data Integrity EdDSA).

Creating a proof (the suite's "Create Proof" with "Transformation", "Hashing" and "Proof
Serialization"):

1. the proof options are the proof without ``proofValue``, with the document's ``@context``;
2. both the document without its proof and the proof options are canonicalised with RDFC-1.0
   (:func:`lms.credentials.loader.canonize`, offline and strict);
3. hashData = SHA-256(canonical proof options) || SHA-256(canonical document);
4. proofValue = "z" + base58btc(Ed25519 signature of hashData).

Verifying recomputes hashData from the document as received and checks the signature.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .keys import b58decode, b58encode
from .loader import canonize

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PURPOSE = "assertionMethod"


def xsd_datetime(moment: datetime) -> str:
    """2018-04-10T08:00:00Z (UTC, whole seconds)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def hash_data(document: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {k: v for k, v in proof_options.items() if k != "proofValue"}
    options["@context"] = unsecured.get("@context")
    proof_hash = hashlib.sha256(canonize(options).encode("utf-8")).digest()
    doc_hash = hashlib.sha256(canonize(unsecured).encode("utf-8")).digest()
    return proof_hash + doc_hash


def sign(document: dict[str, Any], key: Ed25519PrivateKey, verification_method: str,
         created: datetime) -> dict[str, Any]:
    """``document`` with an ``eddsa-rdfc-2022`` proof added (a new dict; the input is not changed)."""
    options = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": xsd_datetime(created),
               "verificationMethod": verification_method, "proofPurpose": PURPOSE}
    signature = key.sign(hash_data(document, options))
    secured = {k: v for k, v in document.items() if k != "proof"}
    secured["proof"] = {**options, "proofValue": "z" + b58encode(signature)}
    return secured


def signature_valid(document: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """Does the document's (single) proof verify with ``public_key``? Structural problems raise
    ValueError; canonicalisation problems raise whatever PyLD raised (see loader.root_cause)."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise ValueError("proof")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ValueError("proofValue")
    signature = b58decode(value[1:])
    if len(signature) != 64:
        raise ValueError("proofValue")
    try:
        public_key.verify(signature, hash_data(document, proof))
    except InvalidSignature:
        return False
    return True
