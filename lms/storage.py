"""Where stored files live: one interface, two backends (a local folder, an S3-compatible object store).

Every stored file belongs to an *area* and has a *key* (a relative POSIX path, as kept in the
database rows that refer to it):

``uploads``
    licence scans, report attachments, visit photos (``StoredFile.path``) and the person's
    "Data saya" ZIPs (``DataRequest.file_key``, under ``exports/``)
``certificates``
    rendered certificate PDFs (``Certificate.pdf_path``)
``imports``
    staged import files waiting for their confirmation (so a preview made on one app server can
    be confirmed on another)
``branding``
    logos, signature and stamp images of certificate designs

The backend is chosen by ``STORAGE_URL`` (``LMS_STORAGE_URL``):

* unset or ``file:`` – the local folders as before (``UPLOAD_DIR``, ``CERTIFICATE_DIR``,
  ``IMPORT_DIR``, ``BRANDING_DIR``, each defaulting to a folder in the instance path), so an
  existing installation keeps its files where they are;
* ``s3://bucket/prefix`` – objects ``prefix/<area>/<key>`` in that bucket (``LMS_S3_ENDPOINT_URL``
  for MinIO, Ceph or a cloud other than AWS; credentials from the usual AWS variables), see
  lms/storage_s3.py. ``flask --app lms storage migrate`` copies the local folders there.

Downloads are always streamed through the application after the permission check (no presigned
URLs): the object store never needs to be reachable from a phone, and a link cannot be shared.
:func:`send_stored` makes that response.

Writes are whole-object (``put``): a reader never sees half a file, on either backend.
"""
from __future__ import annotations

import hashlib
import io
import os
import secrets
from pathlib import Path
from typing import IO, Any, Iterator, NamedTuple, Protocol

from flask import current_app

AREAS = ("uploads", "certificates", "imports", "branding")
#: the config key of each area's local folder and its default name in the instance path
LOCAL_DIRS = {"uploads": ("UPLOAD_DIR", "uploads"), "certificates": ("CERTIFICATE_DIR", "certificates"),
              "imports": ("IMPORT_DIR", "imports"), "branding": ("BRANDING_DIR", "branding")}
#: the settings a backend is built from (it is built again when one of them changes)
_SETTINGS = ("STORAGE_URL", "S3_ENDPOINT_URL", "S3_REGION") + tuple(cfg for cfg, _ in LOCAL_DIRS.values())


class NotStored(FileNotFoundError):
    """No such key in this area (or a key that tries to leave it)."""


class Entry(NamedTuple):
    """One stored object, as :meth:`Storage.listing` yields it."""

    key: str
    size: int
    #: last written, seconds since the epoch
    modified: float


class Storage(Protocol):
    """What every backend offers. Keys are relative POSIX paths without ``..``."""

    #: "file" or "s3", for messages and the manifest of a backup
    kind: str

    def put(self, area: str, key: str, data: bytes) -> None:
        """Store ``data`` under the key, replacing what was there, atomically."""

    def put_new(self, area: str, key: str, data: bytes) -> bool:
        """Store ``data`` only if the key is free (atomically); False when something is there already."""

    def put_file(self, area: str, key: str, source: Path) -> None:
        """Store a (large) local file under the key without reading it into memory."""

    def get(self, area: str, key: str) -> bytes:
        """The whole object. NotStored when missing."""

    def open(self, area: str, key: str) -> IO[bytes]:
        """A binary stream to read the object (for streaming a download); its ``size`` attribute
        is the object's length in bytes. NotStored when missing."""

    def exists(self, area: str, key: str) -> bool: ...

    def size(self, area: str, key: str) -> int:
        """Bytes. NotStored when missing."""

    def sha256(self, area: str, key: str) -> str:
        """The object's sha256 (hex): recorded when written where the backend keeps it, else hashed. NotStored when missing."""

    def delete(self, area: str, key: str) -> None:
        """Remove it; a missing key is not an error."""

    def keys(self, area: str, prefix: str = "") -> Iterator[str]:
        """Every key in the area (starting with ``prefix``), in no particular order."""

    def listing(self, area: str, prefix: str = "") -> Iterator[Entry]:
        """Every object in the area (starting with ``prefix``) with its size and time, in no particular order."""

    def local_path(self, area: str, key: str) -> Path | None:
        """A path on this machine's disk when the backend has one (the local folder), else None."""

    def check(self) -> None:
        """Raise when the store cannot be reached or written (``/readyz``)."""


def check_key(key: str) -> str:
    """Refuse keys that are absolute, empty, or climb out of their area."""
    parts = key.split("/") if isinstance(key, str) else [""]
    if not key or key.startswith("/") or "\\" in key or "\x00" in key or any(p in ("", ".", "..") for p in parts):
        raise NotStored(key)
    return key


def check_area(area: str) -> str:
    if area not in AREAS:
        raise ValueError(f"unknown storage area {area!r}")
    return area


class LocalFile(io.FileIO):
    """A file opened for reading, with its ``size`` (as the object store's stream has)."""

    @property
    def size(self) -> int:
        return os.fstat(self.fileno()).st_size


class LocalStorage:
    """Files in local folders (one per area), written to a temporary name and renamed into place."""

    kind = "file"

    def __init__(self, roots: dict[str, Path]):
        self.roots = {a: Path(p) for a, p in roots.items()}

    def __repr__(self) -> str:
        return f"LocalStorage({', '.join(f'{a}={p}' for a, p in self.roots.items())})"

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

    def _tmp(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")

    def _write(self, tmp: Path, data: bytes) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def put(self, area: str, key: str, data: bytes) -> None:
        path = self._path(area, key)
        tmp = self._tmp(path)
        try:
            self._write(tmp, data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def put_new(self, area: str, key: str, data: bytes) -> bool:
        path = self._path(area, key)
        tmp = self._tmp(path)
        try:
            self._write(tmp, data)
            os.link(tmp, path)  # fails when the name is taken; readers never see a partial file
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, area: str, key: str, source: Path) -> None:
        import shutil

        path = self._path(area, key)
        if Path(source).resolve() == path:
            return
        tmp = self._tmp(path)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def get(self, area: str, key: str) -> bytes:
        try:
            return self._path(area, key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotStored(key) from None

    def open(self, area: str, key: str) -> IO[bytes]:
        try:
            path = self._path(area, key)
            if path.is_dir():
                raise NotStored(key)
            return LocalFile(path, "rb")  # type: ignore[return-value]
        except (FileNotFoundError, NotADirectoryError):
            raise NotStored(key) from None

    def exists(self, area: str, key: str) -> bool:
        try:
            return self._path(area, key).is_file()
        except NotStored:
            return False

    def size(self, area: str, key: str) -> int:
        try:
            path = self._path(area, key)
            if not path.is_file():
                raise NotStored(key)
            return path.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            raise NotStored(key) from None

    def sha256(self, area: str, key: str) -> str:
        with self.open(area, key) as f:
            return sha256_of(f)

    def delete(self, area: str, key: str) -> None:
        try:
            self._path(area, key).unlink(missing_ok=True)
        except (NotStored, IsADirectoryError, NotADirectoryError):
            pass

    def listing(self, area: str, prefix: str = "") -> Iterator[Entry]:
        root = self._root(area)
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                if name.startswith(".") and name.endswith(".part"):
                    continue
                path = Path(dirpath) / name
                key = path.relative_to(root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    st = path.stat()
                except FileNotFoundError:  # removed meanwhile
                    continue
                yield Entry(key, st.st_size, st.st_mtime)

    def keys(self, area: str, prefix: str = "") -> Iterator[str]:
        return (e.key for e in self.listing(area, prefix))

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
    """The backend STORAGE_URL names (built once per app and settings; see :func:`storage`)."""
    app = app or current_app
    return storage_for((app.config.get("STORAGE_URL") or "").strip(), app)


def storage_for(url: str, app=None) -> Storage:  # type: ignore[no-untyped-def]
    """The backend a storage URL names (``file:``/empty: the local folders; ``s3://bucket/prefix``)."""
    app = app or current_app
    if not url or url.startswith("file:"):
        return LocalStorage(local_roots(app))
    if url.startswith("s3://"):
        from .storage_s3 import S3Storage

        return S3Storage.from_url(url, app.config)
    raise ValueError(f"LMS_STORAGE_URL: unknown storage {url!r} (use file: or s3://bucket/prefix)")


def storage() -> Storage:
    """This app's storage backend."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = (app.instance_path,) + tuple(str(app.config.get(k) or "") for k in _SETTINGS)
    cached = app.extensions.get("lms.storage")
    if cached is None or cached[0] != settings:  # a test (or the CLI) changed where files go
        cached = (settings, make_storage(app))
        app.extensions["lms.storage"] = cached
    return cached[1]


def sha256_of(stream: IO[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        h.update(chunk)
    return h.hexdigest()


def send_stored(area: str, key: str, *, mimetype: str, download_name: str, as_attachment: bool = False,
                etag: str | bool = True, max_age: int = 0) -> Any:
    """A response streaming the stored object (call it after the permission check). NotStored when missing.

    A local file is sent by its path (ranges, Last-Modified, the server's sendfile, as before); an
    object is streamed from the store with its Content-Length, never read whole into memory."""
    from flask import send_file

    backend = storage()
    path = backend.local_path(area, key)
    if path is not None:
        if not path.is_file():
            raise NotStored(key)
        return send_file(path, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name,
                         max_age=max_age, etag=etag)
    stream = backend.open(area, key)
    try:
        resp = send_file(stream, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name,
                         max_age=max_age, etag=etag if isinstance(etag, str) else False)
    except BaseException:
        stream.close()
        raise
    size = getattr(stream, "size", None)
    if resp.status_code == 200 and size is not None:
        resp.content_length = size
    return resp
