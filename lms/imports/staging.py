"""Uploaded spreadsheets waiting between the preview and the coordinator's confirmation.

The bytes live in ``instance/imports/<token>``, beside a JSON sidecar ``<token>.json`` with
the owner's user id, the file's sha256, its name and the chosen cohort. The confirm form
posts only the token; the server reads the file again and checks owner and checksum.

- A token belongs to one user: anyone else gets :class:`~lms.errors.NotFound` (404).
- Tokens expire after ``IMPORT_STAGING_SECONDS`` (default one hour); old files are swept
  whenever a new one is staged.
- Confirming *claims* the sidecar with an atomic rename, so a double-submitted confirm
  cannot run twice; after success the bytes are deleted and a small ``<token>.done``
  marker says so (until it expires), which lets the second click get a friendly answer.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app

from ..errors import NotFound

DEFAULT_TTL_SECONDS = 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")

EXPIRED, BUSY, DONE = "expired", "busy", "done"


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


def root() -> Path:
    path = Path(current_app.config.get("IMPORT_DIR") or Path(current_app.instance_path) / "imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def ttl() -> int:
    return int(current_app.config.get("IMPORT_STAGING_SECONDS", DEFAULT_TTL_SECONDS))


def _paths(token: str) -> dict[str, Path]:
    base = root() / token
    return {"data": base, "meta": base.with_name(token + ".json"), "claimed": base.with_name(token + ".claimed"),
            "done": base.with_name(token + ".done")}


def _write(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(content)
    tmp.replace(path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def sweep(now: float | None = None) -> None:
    """Delete staged files, claims and done markers older than the time-to-live."""
    now = now or time.time()
    limit = ttl()
    for path in root().iterdir():
        try:
            if now - path.stat().st_mtime > limit:
                path.unlink()
        except OSError:
            continue


def stage(owner_id: int, data: bytes, filename: str, cohort_id: int | None) -> str:
    """Keep ``data`` for ``owner_id``; returns the token for the confirm form."""
    sweep()
    token = secrets.token_urlsafe(24)
    paths = _paths(token)
    _write(paths["data"], data)
    meta = {"owner_id": owner_id, "filename": filename, "sha256": hashlib.sha256(data).hexdigest(),
            "cohort_id": cohort_id, "created_at": time.time(), "size": len(data)}
    _write(paths["meta"], json.dumps(meta).encode())
    return token


def _own(meta: dict[str, Any] | None, owner_id: int) -> dict[str, Any]:
    if meta is None or meta.get("owner_id") != owner_id:
        raise NotFound()
    return meta


def load(owner_id: int, token: str) -> Staged:
    """The staged file of ``token`` for its owner. NotFound for another user's token; Gone otherwise."""
    if not _TOKEN.fullmatch(token or ""):
        raise Gone(EXPIRED)
    paths = _paths(token)
    meta = _read_json(paths["meta"])
    if meta is None:
        claimed = _read_json(paths["claimed"])
        if claimed is not None:
            _own(claimed, owner_id)
            raise Gone(BUSY)
        done = _read_json(paths["done"])
        if done is not None:
            raise Gone(DONE, _own(done, owner_id))
        raise Gone(EXPIRED)
    _own(meta, owner_id)
    if time.time() - float(meta.get("created_at") or 0) > ttl():
        discard(token)
        raise Gone(EXPIRED)
    try:
        data = paths["data"].read_bytes()
    except OSError:
        raise Gone(EXPIRED) from None
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        discard(token)
        raise Gone(EXPIRED)
    return Staged(token=token, owner_id=owner_id, filename=str(meta.get("filename") or ""), sha256=meta["sha256"],
                  cohort_id=meta.get("cohort_id"), created_at=float(meta["created_at"]), data=data)


def claim(staged: Staged) -> None:
    """Take the file for this request; a second request for the same token gets Gone(busy)."""
    paths = _paths(staged.token)
    try:
        os.rename(paths["meta"], paths["claimed"])
    except FileNotFoundError:
        raise Gone(BUSY) from None


def release(staged: Staged) -> None:
    """Give a claimed file back (the import failed unexpectedly): the coordinator may confirm again."""
    paths = _paths(staged.token)
    try:
        os.rename(paths["claimed"], paths["meta"])
    except FileNotFoundError:
        pass


def finish(staged: Staged, summary: dict[str, Any]) -> None:
    """The import is written: drop the bytes, leave a marker for a second click."""
    paths = _paths(staged.token)
    _write(paths["done"], json.dumps({"owner_id": staged.owner_id, "done_at": time.time(),
                                      "filename": staged.filename, **summary}).encode())
    for key in ("data", "claimed", "meta"):
        paths[key].unlink(missing_ok=True)


def discard(token: str) -> None:
    """Forget a staged file entirely."""
    if not _TOKEN.fullmatch(token or ""):
        return
    for path in _paths(token).values():
        path.unlink(missing_ok=True)
