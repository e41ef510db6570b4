"""Uploaded files: checked by content, stored through lms/storage.py (area ``uploads``), never in static/.

Only PDF, JPEG and PNG are accepted, whatever the file is called. PDFs are kept as sent.
Images are bounded before anything is decoded: the header alone gives the size, and more
than ``UPLOAD_MAX_PIXELS`` (default 40 megapixels) is refused, whatever the file's size.
Then they are decoded and encoded again (:func:`clean_image`): upright as the camera meant
(EXIF orientation applied), at most ``MAX_SIDE`` pixels on the longer side, in sRGB, and
without EXIF, GPS, XMP, comments, text chunks, ICC profiles or trailing bytes.
:func:`store` cleans any image that has not been cleaned yet, so every stored image is
clean, whichever form it came from.
"""
from __future__ import annotations

import hashlib
import io
import logging
import math
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _

from .errors import Invalid

MAX_BYTES = 5 * 1024 * 1024
#: most pixels an uploaded image may have (a 600 dpi A4 scan has 35 million; phones take 12 to 50)
MAX_PIXELS = 40_000_000
#: longest side of a stored image, pixels
MAX_SIDE = 2560
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
    #: the bytes came out of clean_image (an image without metadata), or are a PDF kept as sent
    clean: bool = False


def max_pixels() -> int:
    return int(current_app.config.get("UPLOAD_MAX_PIXELS") or MAX_PIXELS)


def _megapixels(n: int) -> str:
    from .i18n import number

    return number(math.ceil(n / 100_000) / 10)  # 40.2 Mpx reads "40,2", never "40" beside a limit of 40


def image_size(data: bytes, kind: str) -> tuple[int, int]:
    """Width and height from the header alone; no pixel is decoded, Pillow's bomb check is not involved."""
    from PIL import JpegImagePlugin, PngImagePlugin

    reader = JpegImagePlugin.JpegImageFile if kind == JPEG else PngImagePlugin.PngImageFile
    with reader(io.BytesIO(data)) as img:
        return img.size


def _check_pixels(data: bytes, kind: str, field: str) -> None:
    try:
        width, height = image_size(data, kind)
    except Exception:
        raise Invalid({field: [_("Gambar rusak atau tidak bisa dibaca.")]}) from None
    limit = max_pixels()
    if width * height > limit:
        raise Invalid({field: [_("Gambar terlalu besar: %(size)s megapiksel (maksimal %(max)s megapiksel). "
                                 "Perkecil gambarnya atau pindai dengan resolusi lebih rendah, lalu unggah lagi.",
                                 size=_megapixels(width * height), max=_megapixels(limit))]})


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
    name = Path(filename or "").name[:200]
    if kind == PDF:
        if b"%%EOF" not in data[-2048:]:
            raise Invalid({field: [_("Berkas PDF rusak atau tidak lengkap.")]})
        return CheckedUpload(data, kind, name, clean=True)
    return reencode_image(CheckedUpload(data, kind, name), field=field)


def clean_image(data: bytes, kind: str, *, max_side: int = MAX_SIDE, field: str = "file") -> bytes:
    """The image decoded and encoded again, upright, bounded and without any metadata.

    Raises Invalid when it has more pixels than allowed (checked before decoding) or does not decode.
    """
    from PIL import Image, ImageOps

    _check_pixels(data, kind, field)
    try:
        with warnings.catch_warnings():
            # the pixel count is checked above against our own limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["JPEG" if kind == JPEG else "PNG"]) as img:
                if kind == JPEG:
                    img.draft(None, (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale when that is enough
                img.load()
                if max(img.size) > max_side:
                    img.thumbnail((max_side, max_side))
                upright = ImageOps.exif_transpose(img)  # keep the picture upright once the tag is gone
                clean = _to_srgb(upright, img.info.get("icc_profile"))
                out = io.BytesIO()
                if kind == JPEG:
                    clean = clean.convert("L" if clean.mode in ("1", "L") else "RGB")
                    clean.info = {}  # Pillow would copy the JPEG comment from info
                    clean.save(out, format="JPEG", quality=85, optimize=True)
                else:
                    clean = clean.convert(_png_mode(clean))
                    clean.info = {}  # no ICC profile, text chunks, XMP or eXIf from info
                    clean.save(out, format="PNG", optimize=True)
    except Invalid:
        raise
    except Exception:
        raise Invalid({field: [_("Gambar rusak atau tidak bisa dibaca.")]}) from None
    return out.getvalue()


def _png_mode(img) -> str:  # type: ignore[no-untyped-def]
    if img.mode in ("RGB", "RGBA", "L", "LA"):
        return img.mode
    if img.mode == "1":
        return "L"
    if img.mode == "P":
        return "RGBA" if "transparency" in img.info else "RGB"
    return "RGBA"


def _to_srgb(img, icc: bytes | None):  # type: ignore[no-untyped-def]
    """Colours converted to sRGB when the image names another profile (the profile itself is dropped)."""
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"),
                                         outputMode="RGBA" if img.mode == "RGBA" else "RGB")
    except Exception:  # noqa: BLE001 - an unreadable profile: keep the pixels as they are
        return img


def reencode_image(upload: CheckedUpload, *, max_side: int = MAX_SIDE, field: str = "file") -> CheckedUpload:
    """The upload with its image cleaned (see :func:`clean_image`); PDFs and clean images as they are."""
    if upload.clean or upload.content_type == PDF:
        return upload
    return CheckedUpload(clean_image(upload.data, upload.content_type, max_side=max_side, field=field),
                         upload.content_type, upload.original_name, clean=True)


def limit_pillow(pixels: int) -> None:
    """Pillow's own decompression-bomb limit follows ours (it warns above it and refuses above twice it)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = pixels


AREA = "uploads"


def store(upload: CheckedUpload, uploaded_by_id: int | None):  # type: ignore[no-untyped-def]
    """Store the bytes (area ``uploads`` of lms/storage.py) and add a StoredFile row to the current unit of work.

    An image that has not been cleaned yet is cleaned here, and bytes that are not what
    ``content_type`` says are refused (Invalid), so no caller can store metadata or a disguised file.
    If the transaction rolls back, the stored object is deleted again (nothing refers to it).
    """
    from .extensions import db
    from .programme.models import StoredFile
    from .storage import storage

    if sniff(upload.data[:16]) != upload.content_type or upload.content_type not in EXTENSIONS:
        raise Invalid({"file": [_("Jenis berkas tidak diterima. Unggah %(types)s.", types="PDF, JPG, PNG")]})
    upload = reencode_image(upload)

    digest = hashlib.sha256(upload.data).hexdigest()
    rel = f"{digest[:2]}/{secrets.token_hex(16)}.{EXTENSIONS[upload.content_type]}"
    backend = storage()
    backend.put(AREA, rel, upload.data)
    db.session.info.setdefault(_WRITTEN, []).append((backend, rel))  # removed again if the transaction rolls back
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
    for backend, key in session.info.pop(_WRITTEN, []):
        try:
            backend.delete(AREA, key)
        except Exception:  # noqa: BLE001 - a read-only disk, an unreachable store: the object stays, nothing refers to it
            logging.getLogger(__name__).warning("could not remove orphaned upload %s", key)


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


def open_stored(row) -> IO[bytes]:  # type: ignore[no-untyped-def]
    """A stream of a StoredFile's bytes (close it); NotStored (a FileNotFoundError) when the file is missing."""
    from .storage import storage

    return storage().open(AREA, row.path)


def read_stored(row) -> bytes:  # type: ignore[no-untyped-def]
    """A StoredFile's bytes; NotStored (a FileNotFoundError) when the file is missing."""
    from .storage import storage

    return storage().get(AREA, row.path)


def stored_exists(row) -> bool:  # type: ignore[no-untyped-def]
    from .storage import storage

    try:
        return storage().exists(AREA, row.path)
    except FileNotFoundError:
        return False


def send(row, *, download_name: str, as_attachment: bool = False):  # type: ignore[no-untyped-def]
    """The response streaming a StoredFile (after the caller's permission check), ETag its sha256.

    NotStored (a FileNotFoundError) when the file is missing: the caller answers 404."""
    from .storage import send_stored

    return send_stored(AREA, row.path, mimetype=row.content_type, download_name=download_name,
                       as_attachment=as_attachment, etag=row.sha256 or True)
