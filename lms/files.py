"""Uploaded files: checked by content, stored under the instance folder, never in static/.

Only PDF, JPEG and PNG are accepted, whatever the file is called. Images are opened
with Pillow to prove they decode; ``reencode_image`` also strips EXIF and location tags.
"""
from __future__ import annotations

import hashlib
import io
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _

from .errors import Invalid

MAX_BYTES = 5 * 1024 * 1024
PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png"}


def sniff(head: bytes) -> str | None:
    """The content type from the first bytes, or None."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return None


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


@dataclass
class CheckedUpload:
    data: bytes
    content_type: str
    original_name: str


def check_upload(stream: IO[bytes], filename: str, *, allowed: tuple[str, ...] = (PDF, JPEG, PNG),
                 field: str = "file", max_bytes: int | None = None) -> CheckedUpload:
    """Read and check an upload; raise Invalid with a message for the form field."""
    if max_bytes is None:
        max_bytes = int(current_app.config.get("UPLOAD_MAX_BYTES", MAX_BYTES))
    data = stream.read(max_bytes + 1)
    if not data:
        raise Invalid({field: [_("Berkas kosong.")]})
    if len(data) > max_bytes:
        raise Invalid({field: [_("Berkas terlalu besar (maksimal %(size)s).", size=_size(max_bytes))]})
    kind = sniff(data[:16])
    if kind is None or kind not in allowed:
        names = ", ".join(EXTENSIONS[a].upper() for a in allowed)
        raise Invalid({field: [_("Jenis berkas tidak diterima. Unggah %(types)s.", types=names)]})
    if kind == PDF:
        if b"%%EOF" not in data[-2048:]:
            raise Invalid({field: [_("Berkas PDF rusak atau tidak lengkap.")]})
    else:
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as img:
                img.verify()
        except Exception:
            raise Invalid({field: [_("Gambar rusak atau tidak bisa dibaca.")]}) from None
    return CheckedUpload(data, kind, Path(filename or "").name[:200])


def reencode_image(upload: CheckedUpload, *, max_side: int = 2560) -> CheckedUpload:
    """Decode and encode the image again: no EXIF, no GPS, no trailing bytes, bounded size."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(upload.data)) as img:
        img = ImageOps.exif_transpose(img)  # keep the picture upright once the tag is gone
        if max(img.size) > max_side:
            img.thumbnail((max_side, max_side))
        out = io.BytesIO()
        if upload.content_type == JPEG:
            img.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
        else:
            # a fresh image carries pixels only: no text chunks, no eXIf chunk
            mode = img.mode if img.mode in ("RGB", "RGBA", "L", "LA") else "RGBA"
            clean = Image.new(mode, img.size)
            clean.paste(img.convert(mode))
            clean.save(out, format="PNG", optimize=True)
    return CheckedUpload(out.getvalue(), upload.content_type, upload.original_name)


def upload_root() -> Path:
    root = Path(current_app.config.get("UPLOAD_DIR") or Path(current_app.instance_path) / "uploads")
    root.mkdir(parents=True, exist_ok=True)
    return root


def store(upload: CheckedUpload, uploaded_by_id: int | None):  # type: ignore[no-untyped-def]
    """Write the bytes and add a StoredFile row to the current unit of work."""
    from .extensions import db
    from .programme.models import StoredFile

    digest = hashlib.sha256(upload.data).hexdigest()
    rel = f"{digest[:2]}/{secrets.token_hex(16)}.{EXTENSIONS[upload.content_type]}"
    path = upload_root() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(upload.data)
    tmp.replace(path)
    db.session.info.setdefault(_WRITTEN, []).append(path)  # removed again if the transaction rolls back
    row = StoredFile(path=rel, sha256=digest, size=len(upload.data), content_type=upload.content_type,
                     original_name=upload.original_name, uploaded_by_id=uploaded_by_id)
    db.session.add(row)
    return row


_WRITTEN = "lms.files.written"
_installed = False


def _forget_written(session: Any) -> None:
    session.info.pop(_WRITTEN, None)


def _remove_written(session: Any) -> None:
    """The transaction that would have recorded these files rolled back: no row points at them."""
    for path in session.info.pop(_WRITTEN, []):
        try:
            path.unlink(missing_ok=True)
        except OSError:  # a read-only disk: the file stays, nothing refers to it
            logging.getLogger(__name__).warning("could not remove orphaned upload %s", path)


def install() -> None:
    """Files written by store() are kept when their transaction commits and removed when it rolls back."""
    global _installed
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "after_commit", _forget_written)
    event.listen(Session, "after_rollback", _remove_written)
    _installed = True


def open_stored(row) -> Path:  # type: ignore[no-untyped-def]
    root = upload_root().resolve()
    path = (root / row.path).resolve()
    if root not in path.parents:
        raise FileNotFoundError(row.path)
    return path
