"""Uploaded spreadsheets waiting between the preview and the coordinator's confirmation.

The bytes are kept in the storage area ``imports`` (lms/storage.py: locally ``instance/imports/<token>``,
or the object store, so a preview made on one app server can be confirmed on another), beside a
JSON sidecar ``<token>.json`` with the owner's user id, the file's sha256, its name and the chosen
cohort. The confirm form posts only the token; the server reads the file again and checks owner
and checksum.

- A token belongs to one user: anyone else gets :class:`~lms.errors.NotFound` (404).
- Tokens expire after ``IMPORT_STAGING_SECONDS`` (default one hour); old files are swept
  whenever a new one is staged.
- Confirming *claims* the file by creating ``<token>.claimed`` only if it does not exist (an
  exclusive create, on disk and on the object store alike) and then taking the sidecar away, so a
  double-submitted confirm cannot run twice; after success the bytes are deleted and a small
  ``<token>.done`` marker says so (until it expires), which lets the second click get a friendly answer.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from ..errors import NotFound
from ..storage import NotStored, storage

DEFAULT_TTL_SECONDS = 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")

EXPIRED, BUSY, DONE = "expired", "busy", "done"
#: the storage area of lms/storage.py
AREA = "imports"


class Gone(Exception):
    """The staged file is no longer waiting: ``state`` is expired, busy (being imported) or done."""

    def __init__(self, state: str, info: dict[str, Any] | None = None) -> None:
        self.state = state
        self.info = info or {}
        super().__init__(state)


@dataclass
class Staged:
    token: str
    owner_id: int
    filename: str
    sha256: str
    cohort_id: int | None
    created_at: float
    data: bytes = field(repr=False, default=b"")


def ttl() -> int:
    return int(current_app.config.get("IMPORT_STAGING_SECONDS", DEFAULT_TTL_SECONDS))


def _keys(token: str) -> dict[str, str]:
    return {"data": token, "meta": token + ".json", "claimed": token + ".claimed", "done": token + ".done"}


def _read_json(key: str) -> dict[str, Any] | None:
    try:
        value = json.loads(storage().get(AREA, key).decode("utf-8"))
    except (NotStored, ValueError):
        return None
    return value if isinstance(value, dict) else None


def sweep(now: float | None = None) -> None:
    """Delete staged files, claims and done markers older than the time-to-live."""
    now = now or time.time()
    limit = ttl()
    backend = storage()
    for entry in list(backend.listing(AREA)):
        if now - entry.modified > limit:
            try:
                backend.delete(AREA, entry.key)
            except Exception:  # noqa: BLE001 - the next sweep tries again
                continue


def stage(owner_id: int, data: bytes, filename: str, cohort_id: int | None) -> str:
    """Keep ``data`` for ``owner_id``; returns the token for the confirm form."""
    sweep()
    token = secrets.token_urlsafe(24)
    keys = _keys(token)
    backend = storage()
    backend.put(AREA, keys["data"], data)
    meta = {"owner_id": owner_id, "filename": filename, "sha256": hashlib.sha256(data).hexdigest(),
            "cohort_id": cohort_id, "created_at": time.time(), "size": len(data)}
    backend.put(AREA, keys["meta"], json.dumps(meta).encode())  # the sidecar last: it makes the token valid
    return token


def _own(meta: dict[str, Any] | None, owner_id: int) -> dict[str, Any]:
    if meta is None or meta.get("owner_id") != owner_id:
        raise NotFound()
    return meta


def load(owner_id: int, token: str) -> Staged:
    """The staged file of ``token`` for its owner. NotFound for another user's token; Gone otherwise."""
    if not _TOKEN.fullmatch(token or ""):
        raise Gone(EXPIRED)
    keys = _keys(token)
    meta = _read_json(keys["meta"])
    if meta is None:
        claimed = _read_json(keys["claimed"])
        if claimed is not None:
            _own(claimed, owner_id)
            raise Gone(BUSY)
        done = _read_json(keys["done"])
        if done is not None:
            raise Gone(DONE, _own(done, owner_id))
        raise Gone(EXPIRED)
    _own(meta, owner_id)
    if time.time() - float(meta.get("created_at") or 0) > ttl():
        discard(token)
        raise Gone(EXPIRED)
    try:
        data = storage().get(AREA, keys["data"])
    except NotStored:
        raise Gone(EXPIRED) from None
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        discard(token)
        raise Gone(EXPIRED)
    return Staged(token=token, owner_id=owner_id, filename=str(meta.get("filename") or ""), sha256=meta["sha256"],
                  cohort_id=meta.get("cohort_id"), created_at=float(meta["created_at"]), data=data)


def claim(staged: Staged) -> None:
    """Take the file for this request; a second request for the same token gets Gone(busy).

    Only one request can create the claim; it then takes the sidecar away. A request that creates
    a claim after the file was imported (and its claim removed) finds no sidecar and lets go."""
    keys = _keys(staged.token)
    backend = storage()
    meta = {"owner_id": staged.owner_id, "filename": staged.filename, "sha256": staged.sha256,
            "cohort_id": staged.cohort_id, "created_at": staged.created_at, "size": len(staged.data)}
    if not backend.put_new(AREA, keys["claimed"], json.dumps(meta).encode()):
        raise Gone(BUSY)
    if not backend.exists(AREA, keys["meta"]):  # imported or discarded meanwhile
        backend.delete(AREA, keys["claimed"])
        raise Gone(BUSY)
    backend.delete(AREA, keys["meta"])


def release(staged: Staged) -> None:
    """Give a claimed file back (the import failed unexpectedly): the coordinator may confirm again."""
    keys = _keys(staged.token)
    backend = storage()
    try:
        claimed = backend.get(AREA, keys["claimed"])
    except NotStored:
        return
    backend.put(AREA, keys["meta"], claimed)
    backend.delete(AREA, keys["claimed"])


def finish(staged: Staged, summary: dict[str, Any]) -> None:
    """The import is written: drop the bytes, leave a marker for a second click."""
    keys = _keys(staged.token)
    backend = storage()
    backend.put(AREA, keys["done"], json.dumps({"owner_id": staged.owner_id, "done_at": time.time(),
                                                 "filename": staged.filename, **summary}).encode())
    for key in ("data", "claimed", "meta"):
        backend.delete(AREA, keys[key])


def discard(token: str) -> None:
    """Forget a staged file entirely."""
    if not _TOKEN.fullmatch(token or ""):
        return
    backend = storage()
    for key in _keys(token).values():
        backend.delete(AREA, key)
