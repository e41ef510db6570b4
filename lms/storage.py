"""Where stored files live: one interface, two backends (a local folder, an S3-compatible object store).

Every stored file belongs to an *area* and has a *key* (a relative POSIX path, as kept in the
database rows that refer to it):

``uploads``
    licence scans, report attachments, visit photos (``StoredFile.path``) and the person's
    "Data saya" ZIPs (``DataRequest.file_key``, under ``exports/``)
``certificates``
    rendered certificate PDFs (``Certificate.pdf_path``)
``imports``
    staged import files waiting for their confirmation
``branding``
    logos, signature and stamp images of certificate designs

The backend is chosen by ``STORAGE_URL`` (``LMS_STORAGE_URL``):

* unset or ``file:`` – the local folders as before (``UPLOAD_DIR``, ``CERTIFICATE_DIR``,
  ``IMPORT_DIR``, ``BRANDING_DIR``, each defaulting to a folder in the instance path), so an
  existing installation keeps its files where they are;
* ``s3://bucket/prefix`` – objects ``prefix/<area>/<key>`` in that bucket (``LMS_S3_ENDPOINT_URL``
  for MinIO, Ceph or a cloud other than AWS; credentials from the usual AWS variables).

Downloads are always streamed through the application after the permission check (no presigned
URLs): the object store never needs to be reachable from a phone, and a link cannot be shared.

Writes are whole-object (``put``): a reader never sees half a file, on either backend.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import IO, Iterator, Protocol

from flask import current_app

AREAS = ("uploads", "certificates", "imports", "branding")
#: the config key of each area's local folder and its default name in the instance path
LOCAL_DIRS = {"uploads": ("UPLOAD_DIR", "uploads"), "certificates": ("CERTIFICATE_DIR", "certificates"),
              "imports": ("IMPORT_DIR", "imports"), "branding": ("BRANDING_DIR", "branding")}


class NotStored(FileNotFoundError):
    """No such key in this area (or a key that tries to leave it)."""


class Storage(Protocol):
    """What every backend offers. Keys are relative POSIX paths without ``..``."""

    #: "file" or "s3", for messages and the manifest of a backup
    kind: str

    def put(self, area: str, key: str, data: bytes) -> None:
        """Store ``data`` under the key, replacing what was there, atomically."""

    def put_file(self, area: str, key: str, source: Path) -> None:
        """Store a (large) local file under the key without reading it into memory."""

    def get(self, area: str, key: str) -> bytes:
        """The whole object. NotStored when missing."""

    def open(self, area: str, key: str) -> IO[bytes]:
        """A binary stream to read the object (for streaming a download). NotStored when missing."""

    def exists(self, area: str, key: str) -> bool: ...

    def size(self, area: str, key: str) -> int:
        """Bytes. NotStored when missing."""

    def delete(self, area: str, key: str) -> None:
        """Remove it; a missing key is not an error."""

    def keys(self, area: str) -> Iterator[str]:
        """Every key in the area (for backups and ``storage migrate``), in no particular order."""

    def local_path(self, area: str, key: str) -> Path | None:
        """A path on this machine's disk when the backend has one (the local folder), else None."""

    def check(self) -> None:
        """Raise when the store cannot be reached or written (``/readyz``)."""


def check_key(key: str) -> str:
    """Refuse keys that are absolute, empty, or climb out of their area."""
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
        raise NotStored(key)
    return key


def check_area(area: str) -> str:
    if area not in AREAS:
        raise ValueError(f"unknown storage area {area!r}")
    return area


class LocalStorage:
    """Files in local folders (one per area), written to a temporary name and renamed into place."""

    kind = "file"

    def __init__(self, roots: dict[str, Path]):
        self.roots = {a: Path(p) for a, p in roots.items()}

    def _root(self, area: str) -> Path:
        root = self.roots[check_area(area)]
        root.mkdir(parents=True, exist_ok=True)
        return root

    def _path(self, area: str, key: str) -> Path:
        root = self._root(area).resolve()
        path = (root / check_key(key)).resolve()
        if root not in path.parents:
            raise NotStored(key)
        return path

    def put(self, area: str, key: str, data: bytes) -> None:
        path = self._path(area, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def put_file(self, area: str, key: str, source: Path) -> None:
        import shutil

        path = self._path(area, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if Path(source).resolve() == path:
            return
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)

    def get(self, area: str, key: str) -> bytes:
        try:
            return self._path(area, key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotStored(key) from None

    def open(self, area: str, key: str) -> IO[bytes]:
        try:
            return open(self._path(area, key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotStored(key) from None

    def exists(self, area: str, key: str) -> bool:
        try:
            return self._path(area, key).is_file()
        except NotStored:
            return False

    def size(self, area: str, key: str) -> int:
        try:
            return self._path(area, key).stat().st_size
        except FileNotFoundError:
            raise NotStored(key) from None

    def delete(self, area: str, key: str) -> None:
        try:
            self._path(area, key).unlink(missing_ok=True)
        except NotStored:
            pass

    def keys(self, area: str) -> Iterator[str]:
        root = self._root(area)
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                if name.startswith(".") and name.endswith(".part"):
                    continue
                yield (Path(dirpath) / name).relative_to(root).as_posix()

    def local_path(self, area: str, key: str) -> Path | None:
        return self._path(area, key)

    def check(self) -> None:
        for area in AREAS:
            root = self._root(area)
            if not os.access(root, os.W_OK):
                raise OSError(f"{area} folder is not writable")


def local_roots(app=None) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    app = app or current_app
    return {area: Path(app.config.get(cfg) or Path(app.instance_path) / default)
            for area, (cfg, default) in LOCAL_DIRS.items()}


def make_storage(app=None) -> Storage:  # type: ignore[no-untyped-def]
    """The backend STORAGE_URL names (built once per app; see :func:`storage`)."""
    app = app or current_app
    url = (app.config.get("STORAGE_URL") or "").strip()
    if not url or url.startswith("file:"):
        return LocalStorage(local_roots(app))
    if url.startswith("s3://"):
        from .storage_s3 import S3Storage

        return S3Storage.from_url(url, app.config)
    raise ValueError(f"LMS_STORAGE_URL: unknown storage {url!r} (use file: or s3://bucket/prefix)")


def storage() -> Storage:
    """This app's storage backend."""
    ext = current_app.extensions
    if "lms.storage" not in ext:
        ext["lms.storage"] = make_storage(current_app)
    return ext["lms.storage"]


def sha256_of(stream: IO[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        h.update(chunk)
    return h.hexdigest()
