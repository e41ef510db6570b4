"""Who signs: the issuer profile published at ``/kredensial/penerbit`` with its public key.

The profile is an Open Badges ``Profile`` and, for Data Integrity verifiers, the controller
document of the key: its ``verificationMethod`` holds the key as a ``Multikey``
(``publicKeyMultibase`` z6Mk…) and ``assertionMethod`` lists it, so a verifier that dereferences a
proof's ``verificationMethod`` (``…/kredensial/penerbit#z6Mk…``) finds the key there. URLs come from
BASE_URL, never from the request's Host.
"""
from __future__ import annotations

from typing import Any

from flask import current_app

from .keys import public_key_multibase
from .loader import CREDENTIALS_V2, OB_V3P0

PROFILE_PATH = "/kredensial/penerbit"
#: the Controlled Identifiers context defines verificationMethod, assertionMethod and Multikey for the
#: profile's readers; the profile is served, never signed or processed here, so it is not vendored
CID_V1 = "https://www.w3.org/ns/cid/v1"


def base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def profile_url() -> str:
    return base_url() + PROFILE_PATH


def issuer_name() -> str:
    return str(current_app.config.get("PRIVACY_CONTROLLER") or "Dinas Sosial Provinsi DKI Jakarta")


def verification_method() -> str:
    """The key's id: the profile's URL with the key's multibase as fragment (a new key, a new id)."""
    return f"{profile_url()}#{public_key_multibase()}"


def issuer_summary() -> dict[str, Any]:
    """The issuer as embedded in each credential."""
    return {"id": profile_url(), "type": ["Profile"], "name": issuer_name(), "url": base_url()}


def profile_document() -> dict[str, Any]:
    vm = verification_method()
    return {
        "@context": [CREDENTIALS_V2, OB_V3P0, CID_V1],
        "id": profile_url(),
        "type": ["Profile"],
        "name": issuer_name(),
        "url": base_url(),
        "description": "Penerbit sertifikat Program 7 PAS OK OCE e-Warong (Open Badges 3.0).",
        "verificationMethod": [{"id": vm, "type": "Multikey", "controller": profile_url(),
                                "publicKeyMultibase": public_key_multibase()}],
        "assertionMethod": [vm],
    }
