"""Certificate branding as data: the logos, signatories (with their signature images) and stamp of a design.

An admin edits a design's branding at /admin/branding (branding_views.py). Nothing is saved until the
admin has seen it printed: the edit is *staged* first (``stage``): the new images, checked and cleaned,
go to the storage area ``branding`` under ``pending/<token>/`` with a small manifest, and a sample
certificate is rendered from them (``preview_pdf``). "Simpan" (``save``) then makes a new
:class:`CertificateBranding` version in one transaction, copying the images to their permanent keys
(``<design>/<tag>/<slot>.png``). Versions are never changed or deleted; a certificate keeps the id of
the version that was newest when it was issued (issuing.py), so a change applies only to certificates
issued afterwards, even ones rendered later.

Images: PNG or JPEG only, recognised by their content (SVG is refused: it is a program as much as a
picture, and a rasterised logo prints just as well); at most ``MAX_UPLOAD_BYTES`` and ``MAX_PIXELS``
(checked from the header before anything is decoded); decoded and encoded again by
``lms.files.clean_image`` (upright, at most ``MAX_SIDE`` pixels, sRGB, every metadata chunk dropped).
They reach the render process as ``data:`` URIs in the render context: the renderer's URL fetcher
still serves nothing but the design folder and ``data:`` (render.py).

Staged previews expire after ``PENDING_TTL``; each new staging removes the expired ones.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from .. import files, permissions
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed, NotFound
from ..extensions import db
from ..storage import NotStored, storage
from .designs import Design, sample_context
from .models import Certificate, CertificateBranding

RULE = "certificates.branding"
AREA = "branding"
#: the images of a version besides the signatures (one per signatory: ``signature_1`` … ``signature_3``)
IMAGE_SLOTS = ("logo_left", "logo_right", "stamp")
MAX_SIGNATORIES = 3
#: largest image accepted, bytes (logos and signatures are small; a 2 MB PNG is already a photo)
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
#: most pixels of an image, read from its header before decoding (4000 × 4000)
MAX_PIXELS = 16_000_000
#: longest side kept, pixels (a 30 mm logo at 600 dpi is about 700 px)
MAX_SIDE = 1200
#: smallest side accepted, pixels: anything smaller prints as a blur
MIN_SIDE = 32
#: a cleaned image larger than this is refused (a noisy photo saved as PNG)
MAX_STORED_BYTES = 3 * 1024 * 1024
NAME_MAX, TITLE_MAX = 120, 160
#: a staged preview is kept this long
PENDING_TTL = 2 * 3600
#: ``<creation time, hex seconds>-<32 random URL-safe characters>``
TOKEN_RE = re.compile(r"^[0-9a-f]{8}-[A-Za-z0-9_-]{32}$")
NIP_RE = re.compile(r"^\d{18}$")
#: versions whose images are kept as data: URIs per app (versions never change)
CACHE_SIZE = 16
EXT = {files.PNG: "png", files.JPEG: "jpg"}


class BrandingImageMissing(FileNotFoundError):
    """A version names an image that the storage no longer has: the certificate is not rendered without it."""


# --- inputs ----------------------------------------------------------------------------------------------

@dataclass
class Upload:
    """An uploaded file as received (checked here, by content)."""

    stream: IO[bytes]
    filename: str = ""


@dataclass
class SignatoryInput:
    name: str = ""
    title: str = ""
    #: Nomor Induk Pegawai: 18 digits (spaces allowed when typed), or empty
    nip: str = ""
    signature: Upload | None = None
    remove_signature: bool = False


@dataclass
class BrandingInput:
    """One edit of the form: the signatory rows in printed order (empty rows are skipped), new images,
    images to drop, and the staged preview the edit started from ("Ubah lagi"), whose images it keeps."""

    signatories: list[SignatoryInput] = field(default_factory=list)
    logo_left: Upload | None = None
    logo_right: Upload | None = None
    stamp: Upload | None = None
    remove: set[str] = field(default_factory=set)
    base: str | None = None


@dataclass
class Pending:
    """A staged edit, waiting for "Simpan": what the manifest in storage says."""

    token: str
    design: str
    user_id: int | None
    created_at: datetime
    #: the newest version when it was staged (None: the design had none)
    based_on: int | None
    logo_left_key: str | None
    logo_right_key: str | None
    stamp_key: str | None
    signatories: list[dict[str, Any]]

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.created_at.timestamp() + PENDING_TTL, tz=timezone.utc)


# --- reading ---------------------------------------------------------------------------------------------

def _require(actor: Any) -> None:
    if not permissions.can(actor, RULE):
        raise NotAllowed(RULE)


def designs() -> list[Design]:
    from .eligibility import designs as all_designs

    return sorted(all_designs().values(), key=lambda d: d.key)


def design_by_key(key: str) -> Design:
    for d in designs():
        if d.key == key:
            return d
    raise NotFound(f"no certificate design {key!r}")


def newest_id(design_key: str) -> int | None:
    """The id of the design's newest version (what a certificate issued now gets), None when it has none."""
    return db.session.scalar(sa.select(CertificateBranding.id).where(CertificateBranding.design == design_key)
                             .order_by(CertificateBranding.id.desc()).limit(1))


def newest(design_key: str) -> CertificateBranding | None:
    version_id = newest_id(design_key)
    return db.session.get(CertificateBranding, version_id) if version_id is not None else None


@dataclass
class DesignRow:
    design: Design
    current: CertificateBranding | None
    #: how many versions the design has had
    versions: int


def overview(actor: Any) -> list[DesignRow]:
    """Every design with its current version (two queries, whatever the number of versions)."""
    _require(actor)
    stats = db.session.execute(sa.select(CertificateBranding.design, sa.func.max(CertificateBranding.id),
                                         sa.func.count(CertificateBranding.id))
                               .group_by(CertificateBranding.design)).all()
    ids = [newest for _d, newest, _n in stats]
    rows = {b.id: b for b in db.session.scalars(sa.select(CertificateBranding).where(CertificateBranding.id.in_(ids))
                                                .options(joinedload(CertificateBranding.created_by)))} if ids else {}
    by_design = {d: (rows.get(newest), n) for d, newest, n in stats}
    return [DesignRow(d, *by_design.get(d.key, (None, 0))) for d in designs()]


def version(design: Design, version_id: int | None) -> CertificateBranding:
    row = db.session.get(CertificateBranding, version_id) if version_id is not None else None
    if row is None or row.design != design.key:
        raise NotFound("no such branding version")
    return row


def image_bytes(key: str) -> bytes:
    try:
        return storage().get(AREA, key)
    except NotStored:
        raise BrandingImageMissing(f"branding image missing from storage: {key}") from None


def image_of(design: Design, slot: str, *, version_id: int | None = None, token: str | None = None,
             actor: Any = None) -> bytes:
    """One image of a saved version or of the actor's staged edit (for the form's thumbnails)."""
    _require(actor)
    source: Any = load_pending(actor, design, token) if token else version(design, version_id)
    key = _keys(source).get(slot)
    if not key:
        raise NotFound("no such image")
    try:
        return image_bytes(key)
    except BrandingImageMissing:
        raise NotFound("image missing") from None


def _keys(source: Any) -> dict[str, str | None]:
    """slot → storage key of a version or a staged edit."""
    keys: dict[str, str | None] = {slot: getattr(source, f"{slot}_key") for slot in IMAGE_SLOTS}
    for i, s in enumerate(source.signatories or [], start=1):
        keys[f"signature_{i}"] = s.get("signature_key")
    return keys


# --- images ---------------------------------------------------------------------------------------------

def _looks_like_svg(head: bytes) -> bool:
    text = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in text


def _size_text(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def check_image(upload: Upload, field_name: str) -> tuple[bytes, str]:
    """The image cleaned (PNG or JPEG, bounded, without metadata) and its type; Invalid names what is wrong."""
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if not data:
        raise Invalid({field_name: [_("Berkas kosong.")]})
    if len(data) > MAX_UPLOAD_BYTES:
        raise Invalid({field_name: [_("Gambar terlalu besar (maksimal %(size)s).", size=_size_text(MAX_UPLOAD_BYTES))]})
    kind = files.sniff(data[:16])
    if kind not in (files.PNG, files.JPEG):
        if _looks_like_svg(data):
            raise Invalid({field_name: [_("SVG tidak diterima. Simpan gambarnya sebagai PNG (dengan latar "
                                          "transparan) atau JPG, lalu unggah lagi.")]})
        raise Invalid({field_name: [_("Jenis berkas tidak diterima. Unggah gambar PNG atau JPG.")]})
    try:
        width, height = files.image_size(data, kind)
    except Exception:
        raise Invalid({field_name: [_("Gambar rusak atau tidak bisa dibaca.")]}) from None
    if width * height > MAX_PIXELS:
        raise Invalid({field_name: [_("Gambar terlalu besar: %(w)d × %(h)d piksel (maksimal %(max)s megapiksel). "
                                      "Perkecil gambarnya, lalu unggah lagi.", w=width, h=height, max="16")]})
    if min(width, height) < MIN_SIDE:
        raise Invalid({field_name: [_("Gambar terlalu kecil: %(w)d × %(h)d piksel (paling sedikit %(min)d piksel "
                                      "tiap sisi).", w=width, h=height, min=MIN_SIDE)]})
    clean = files.clean_image(data, kind, max_side=MAX_SIDE, field=field_name)
    if len(clean) > MAX_STORED_BYTES:
        raise Invalid({field_name: [_("Gambar ini terlalu rumit untuk dicetak sebagai logo atau tanda tangan. "
                                      "Gunakan gambar yang lebih sederhana atau lebih kecil.")]})
    return clean, kind


def data_uri(data: bytes) -> str:
    """A stored image as a ``data:`` URI for the render process (its type from its content, never its name)."""
    kind = files.sniff(data[:16])
    if kind not in (files.PNG, files.JPEG):
        raise BrandingImageMissing("a branding image is neither PNG nor JPEG")
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _uris(keys: dict[str, str | None]) -> dict[str, str | None]:
    return {slot: (data_uri(image_bytes(key)) if key else None) for slot, key in keys.items()}


def _version_uris(row: CertificateBranding) -> dict[str, str | None]:
    """The version's images as data: URIs, kept per app (a version never changes)."""
    cache: OrderedDict[int, dict[str, str | None]] = current_app.extensions.setdefault("lms.branding_images",
                                                                                      OrderedDict())
    hit = cache.get(row.id)
    if hit is None:
        hit = _uris(_keys(row))
        cache[row.id] = hit
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return hit


def _printed(source: Any, uris: dict[str, str | None]) -> dict[str, Any]:
    return {
        "logo_left": uris.get("logo_left"), "logo_right": uris.get("logo_right"), "stamp": uris.get("stamp"),
        "signatories": [{"name": s.get("name", ""), "title": s.get("title", ""), "nip": s.get("nip") or "",
                         "signature": uris.get(f"signature_{i}")}
                        for i, s in enumerate(source.signatories or [], start=1)],
    }


def defaults(design: Design) -> dict[str, Any]:
    """What a certificate without a branding version prints: the design's metadata.yaml, no images."""
    return {"logo_left": None, "logo_right": None, "stamp": None,
            "signatories": [dict(s.as_dict(), signature=None) for s in design.signatories]}


def printed(cert: Certificate, design: Design) -> dict[str, Any]:
    """The render context's branding part for an issued certificate: its own version, else the defaults;
    and who it names as organisers (copied into its details when issued), else the design's hosts."""
    details = cert.details or {}
    hosts = details.get("organisers") or details.get("partners") or list(design.hosts)
    row = cert.branding if cert.branding_id is not None else None
    part = _printed(row, _version_uris(row)) if row is not None else defaults(design)
    return dict(part, hosts=list(hosts))


# --- staging, previewing, saving ----------------------------------------------------------------------

def _new_token() -> str:
    return f"{int(time.time()):08x}-{secrets.token_urlsafe(24)}"


def _token_time(token: str) -> float:
    return float(int(token[:8], 16))


def _pending_prefix(token: str) -> str:
    return f"pending/{token}/"


def _clean_signatories(rows: list[SignatoryInput]) -> tuple[list[tuple[int, dict[str, str]]], dict[str, list[str]]]:
    """The filled rows (with their row index) and the problems, keyed ``signatories.<row>.<field>``."""
    errors: dict[str, list[str]] = {}
    kept: list[tuple[int, dict[str, str]]] = []
    for i, row in enumerate(rows[:MAX_SIGNATORIES]):
        name = " ".join((row.name or "").split())
        title = " ".join((row.title or "").split())
        nip = "".join((row.nip or "").split())
        if not (name or title or nip or row.signature is not None):
            continue
        where = f"signatories.{i}"
        if not name:
            errors.setdefault(f"{where}.name", []).append(_("Tulis nama penanda tangan."))
        elif len(name) > NAME_MAX:
            errors.setdefault(f"{where}.name", []).append(_("Nama paling panjang %(n)d karakter.", n=NAME_MAX))
        if not title:
            errors.setdefault(f"{where}.title", []).append(_("Tulis jabatan penanda tangan."))
        elif len(title) > TITLE_MAX:
            errors.setdefault(f"{where}.title", []).append(_("Jabatan paling panjang %(n)d karakter.", n=TITLE_MAX))
        if nip and not NIP_RE.match(nip):
            errors.setdefault(f"{where}.nip", []).append(_("NIP terdiri dari 18 angka (boleh dikosongkan)."))
        kept.append((i, {"name": name, "title": title, "nip": nip}))
    if not kept and not errors:
        errors["signatories"] = [_("Isi paling sedikit satu penanda tangan (nama dan jabatan).")]
    return kept, errors


def stage(actor: Any, design: Design, data: BrandingInput) -> str:
    """Check an edit and keep it, with its new images, for the preview; returns the preview's token.

    Nothing is saved as a version here. Invalid names every problem (texts and images at once)."""
    _require(actor)
    kept, errors = _clean_signatories(data.signatories)
    cleaned: dict[str, tuple[bytes, str]] = {}
    uploads: dict[str, Upload | None] = {slot: getattr(data, slot) for slot in IMAGE_SLOTS}
    for i, row in enumerate(data.signatories[:MAX_SIGNATORIES]):
        uploads[f"signature_{i + 1}"] = row.signature
    for slot, upload in uploads.items():
        if upload is None:
            continue
        field_name = slot if slot in IMAGE_SLOTS else f"signatories.{int(slot.rsplit('_', 1)[1]) - 1}.signature"
        try:
            cleaned[slot] = check_image(upload, field_name)
        except Invalid as e:
            for k, msgs in e.reasons.items():
                errors.setdefault(k, []).extend(msgs)
    if errors:
        raise Invalid(errors)

    # what an empty image field keeps: the images of the staged edit it started from, else of the newest version
    base: Any = None
    if data.base:
        try:
            base = load_pending(actor, design, data.base)
        except NotFound:
            base = None
    current = newest(design.key)
    base = base or current
    base_keys = _keys(base) if base is not None else {}
    removed = set(data.remove) | {f"signature_{i + 1}" for i, row in enumerate(data.signatories[:MAX_SIGNATORIES])
                                  if row.remove_signature}

    token = _new_token()
    prefix = _pending_prefix(token)
    store = storage()
    written: list[str] = []

    def put(slot: str, payload: bytes, kind: str) -> str:
        key = f"{prefix}{slot}.{EXT[kind]}"
        store.put(AREA, key, payload)
        written.append(key)
        return key

    def image_for(slot: str) -> str | None:
        if slot in cleaned:
            return put(slot, *cleaned[slot])
        if slot in removed:
            return None
        key = base_keys.get(slot)
        if key and key.startswith("pending/"):  # a staged image of the edit this one started from: copy it
            payload = image_bytes(key)
            return put(slot, payload, files.sniff(payload[:16]) or files.PNG)
        return key

    try:
        signatories = []
        for i, s in kept:
            # the image of the form's row i (the manifest says which signatory it belongs to)
            signatories.append(dict(s, signature_key=image_for(f"signature_{i + 1}")))
        manifest = {"design": design.key, "user_id": getattr(actor, "id", None),
                    "created_at": datetime.fromtimestamp(_token_time(token), tz=timezone.utc).isoformat(),
                    "based_on": current.id if current is not None else None,
                    **{f"{slot}_key": image_for(slot) for slot in IMAGE_SLOTS}, "signatories": signatories}
        store.put(AREA, f"{prefix}manifest.json", json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
    except Exception:
        for key in written:
            store.delete(AREA, key)
        raise
    remove_expired()
    return token


def load_pending(actor: Any, design: Design, token: str | None) -> Pending:
    """The actor's staged edit of ``design``; NotFound when unknown, expired, someone else's or another design's."""
    if not token or not TOKEN_RE.match(token) or time.time() - _token_time(token) > PENDING_TTL:
        raise NotFound("no such preview")
    try:
        m = json.loads(storage().get(AREA, f"{_pending_prefix(token)}manifest.json"))
    except (NotStored, ValueError):
        raise NotFound("no such preview") from None
    if m.get("design") != design.key or m.get("user_id") != getattr(actor, "id", None):
        raise NotFound("no such preview")
    return Pending(token=token, design=m["design"], user_id=m["user_id"],
                   created_at=datetime.fromisoformat(m["created_at"]), based_on=m.get("based_on"),
                   logo_left_key=m.get("logo_left_key"), logo_right_key=m.get("logo_right_key"),
                   stamp_key=m.get("stamp_key"), signatories=list(m.get("signatories") or []))


def preview_context(design: Design, source: Any) -> dict[str, Any]:
    """A sample certificate of ``design`` printed with the branding ``source`` (a staged edit or a version)."""
    from .issuing import _long_date
    from ..i18n import to_wib

    ctx = sample_context(design)
    today = to_wib(utcnow()).date()
    ctx.update(_printed(source, _uris(_keys(source))))
    ctx.update(serial=f"{design.serial_prefix}/{today.year}/PRATINJAU", issued_on=_long_date(today),
               verify_url=current_app.config["BASE_URL"].rstrip("/") + "/verify/pratinjau",
               hosts=_sample_hosts(design))
    return ctx


def _sample_hosts(design: Design) -> list[str]:
    if design.subject == "enrolment":
        from ..programme.summary import default_curriculum

        partners = list(getattr(default_curriculum(), "partners", ()))
        if partners:
            return partners
    return list(design.hosts)


def preview_pdf(actor: Any, design: Design, token: str) -> bytes:
    """The sample certificate of a staged edit, rendered once and kept with it."""
    from . import jobs

    pending = load_pending(actor, design, token)
    key = f"{_pending_prefix(token)}preview.pdf"
    store = storage()
    try:
        return store.get(AREA, key)
    except NotStored:
        pass
    cpu, wall = jobs._limits()
    pdf = jobs._result(jobs.renderer().submit(str(design.path), preview_context(design, pending), cpu), wall)
    store.put(AREA, key, pdf)
    return pdf


def _version_tag() -> str:
    return secrets.token_hex(8)


def _create_version(actor: Any, design: Design, images: dict[str, str | tuple[bytes, str] | None],
                    signatories: list[dict[str, str]], ip: str | None = None) -> CertificateBranding:
    """Write a version: ``images`` maps slots to kept permanent keys or new (bytes, type); one transaction.

    New images are stored first under fresh keys; if the transaction fails they are removed again."""
    tag = _version_tag()
    store = storage()
    written: list[str] = []
    keys: dict[str, str | None] = {}
    try:
        for slot, value in images.items():
            if isinstance(value, tuple):
                key = f"{design.key}/{tag}/{slot}.{EXT[value[1]]}"
                store.put(AREA, key, value[0])
                written.append(key)
                keys[slot] = key
            else:
                keys[slot] = value
        with transaction():
            previous = newest_id(design.key)
            row = CertificateBranding(
                design=design.key, logo_left_key=keys.get("logo_left"), logo_right_key=keys.get("logo_right"),
                stamp_key=keys.get("stamp"), created_by_id=getattr(actor, "id", None),
                signatories=[dict(s, signature_key=keys.get(f"signature_{i}"))
                             for i, s in enumerate(signatories, start=1)])
            db.session.add(row)
            db.session.flush()
            record("certificate.branding_changed", actor=actor, target=row, ip=ip, design=design.key,
                   previous_version=previous, signatories=[s["name"] for s in signatories],
                   images=sorted(slot for slot, key in keys.items() if key))
    except Exception:
        for key in written:
            store.delete(AREA, key)
        raise
    return row


def save(actor: Any, design: Design, token: str, ip: str | None = None) -> CertificateBranding:
    """Make the staged edit the design's new version (certificates issued from now on print it)."""
    _require(actor)
    pending = load_pending(actor, design, token)
    images: dict[str, str | tuple[bytes, str] | None] = {}
    for slot, key in _keys(pending).items():
        if key and key.startswith("pending/"):
            payload = image_bytes(key)
            kind = files.sniff(payload[:16])
            if kind not in EXT:
                raise BrandingImageMissing(key)
            images[slot] = (payload, kind)
        else:
            images[slot] = key
    sigs = [{"name": s.get("name", ""), "title": s.get("title", ""), "nip": s.get("nip") or ""}
            for s in pending.signatories]
    row = _create_version(actor, design, images, sigs, ip=ip)
    discard(token)
    return row


def discard(token: str) -> None:
    """Remove a staged edit's files."""
    store = storage()
    prefix = _pending_prefix(token)
    for key in [k for k in store.keys(AREA) if k.startswith(prefix)]:
        store.delete(AREA, key)


def remove_expired(now: float | None = None) -> int:
    """Remove staged edits older than PENDING_TTL (and malformed leftovers); returns how many files went."""
    now = now if now is not None else time.time()
    store = storage()
    gone = 0
    for key in list(store.keys(AREA)):
        if not key.startswith("pending/"):
            continue
        token = key.split("/")[1] if key.count("/") >= 2 else ""
        if TOKEN_RE.match(token) and now - _token_time(token) <= PENDING_TTL:
            continue
        store.delete(AREA, key)
        gone += 1
    return gone


# --- the demo ---------------------------------------------------------------------------------------------

def seed_branding() -> int:
    """A first version of every design without one, from the neutral placeholders in certificates/_placeholders
    (the metadata's signatories, "CONTOH" logos, signatures and stamp). Returns how many were made."""
    from pathlib import Path

    from ..permissions import SYSTEM

    made = 0
    for design in designs():
        if newest_id(design.key) is not None:
            continue
        folder = Path(design.path).parent / "_placeholders"
        if not folder.is_dir():
            continue

        def image(name: str) -> tuple[bytes, str] | None:
            path = folder / name
            return (path.read_bytes(), files.PNG) if path.is_file() else None

        images: dict[str, str | tuple[bytes, str] | None] = {
            "logo_left": image("logo-left.png"), "logo_right": image("logo-right.png"), "stamp": image("stamp.png")}
        sigs = []
        for i, s in enumerate(design.signatories, start=1):
            images[f"signature_{i}"] = image(f"signature-{i}.png")
            sigs.append({"name": s.name, "title": s.title, "nip": s.nip})
        _create_version(SYSTEM, design, images, sigs)
        made += 1
    return made
