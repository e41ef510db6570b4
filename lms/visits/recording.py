"""Logging and editing a visit from a phone (offline-safe: a client key makes a resend harmless), its photos and action items.
"""
from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Sequence
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from .. import permissions
from .. import outbox
from ..audit.services import record
from ..db import built, transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..files import CheckedUpload, reencode_image, store
from ..i18n import WIB, to_wib, wib_date
from ..people.models import User
from ..places.models import Outlet
from ..programme import services as programme
from .models import MAX_ACCURACY_M, ActionItem, Visit, VisitKind, VisitPhoto
from .status import CLIENT_KEY_RE, EARLIEST_VISIT, FUTURE_TOLERANCE, MAX_ACTION_ITEMS, MAX_DURATION_MINUTES, MAX_PHOTOS, PHOTO_TYPES, PLAN_DAYS, wib_today


# --- logging a visit ---------------------------------------------------------------------------

@dataclass
class ActionInput:
    description: str = ""
    owner: str = ""
    due_on: date | None = None
    #: an existing item (edit form)
    id: int | None = None

    @property
    def blank(self) -> bool:
        return not (self.description.strip() or self.owner.strip() or self.due_on)


@dataclass
class VisitInput:
    #: a naive datetime is WIB wall-clock time (what <input type=datetime-local> sends)
    visited_at: datetime | None
    duration_minutes: int | None
    kind: str
    stages: list[str]
    observations: str
    staff_notes: str = ""
    next_visit_on: date | None = None
    actions: list[ActionInput] = field(default_factory=list)
    share_location: bool = False
    latitude: Any = None
    longitude: Any = None
    accuracy: Any = None
    client_key: str = ""
    remove_photo_ids: list[int] = field(default_factory=list)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=WIB)
    return value.astimezone(timezone.utc)


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def location_of(data: VisitInput) -> tuple[float | None, float | None, float | None]:
    """The position to store: only when the mentor ticked "share my location" and it is a real one."""
    if not data.share_location:
        return None, None, None
    lat, lon, acc = _float(data.latitude), _float(data.longitude), _float(data.accuracy)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None, None
    if acc is not None and not 0 <= acc <= MAX_ACCURACY_M:
        acc = None
    return round(lat, 6), round(lon, 6), (round(acc, 1) if acc is not None else None)


def _validate(outlet: Outlet, data: VisitInput, now: datetime, photo_count: int) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}

    def err(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    visited_at = None
    if data.visited_at is None:
        err("visited_at", _("Isi tanggal dan jam kunjungan."))
    elif data.visited_at.date() < EARLIEST_VISIT:
        err("visited_at", _("Tanggal kunjungan paling awal %(date)s.", date=wib_date(EARLIEST_VISIT)))
    elif data.visited_at.date() > wib_today(now) + timedelta(days=1):
        err("visited_at", _("Kunjungan tidak boleh di masa depan."))
    else:
        visited_at = _as_utc(data.visited_at)
        if visited_at > now + FUTURE_TOLERANCE:
            err("visited_at", _("Kunjungan tidak boleh di masa depan."))
    visit_day = to_wib(visited_at).date() if visited_at else None
    # plans and deadlines: from the visit's day until a year after it
    plan_from = visit_day or EARLIEST_VISIT
    plan_until = (visit_day or wib_today(now)) + timedelta(days=PLAN_DAYS)
    too_late = _("Paling lambat satu tahun setelah kunjungan (%(date)s).", date=wib_date(plan_until))
    if data.duration_minutes is None or not 1 <= data.duration_minutes <= MAX_DURATION_MINUTES:
        err("duration_minutes", _("Durasi antara 1 dan %(max)d menit.", max=MAX_DURATION_MINUTES))
    try:
        kind = VisitKind(data.kind)
    except ValueError:
        err("kind", _("Pilih jenis kunjungan."))
        kind = VisitKind.FIELD_VISIT
    stage_keys = programme.curriculum_for_outlet(outlet.id).stage_keys
    stages = [s for s in stage_keys if s in set(data.stages or [])]
    if not data.stages:
        err("stages", _("Pilih minimal satu langkah 7 PAS yang dibahas."))
    elif len(stages) != len(set(data.stages)):
        err("stages", _("Ada langkah yang tidak dikenal."))
    observations = (data.observations or "").strip()
    if not observations:
        err("observations", _("Tulis pengamatan dan masalah yang ditemukan."))
    if data.next_visit_on is not None and data.next_visit_on < plan_from:
        err("next_visit_on", _("Rencana kunjungan berikutnya tidak boleh sebelum tanggal kunjungan ini."))
    elif data.next_visit_on is not None and data.next_visit_on > plan_until:
        err("next_visit_on", too_late)
    actions: list[tuple[int, ActionInput]] = []
    for i, a in enumerate(data.actions):
        if a.blank and a.id is None:
            continue
        if a.id is not None and not a.description.strip():
            actions.append((i, a))  # an emptied existing item is removed
            continue
        if not a.description.strip():
            err(f"action_items-{i}-description", _("Tulis tindak lanjut yang disepakati."))
        if not a.owner.strip():
            err(f"action_items-{i}-owner", _("Siapa yang mengerjakan?"))
        if a.due_on is None:
            err(f"action_items-{i}-due_on", _("Isi tenggat."))
        elif a.due_on < plan_from:
            err(f"action_items-{i}-due_on", _("Tenggat tidak boleh sebelum tanggal kunjungan."))
        elif a.due_on > plan_until:
            err(f"action_items-{i}-due_on", too_late)
        actions.append((i, a))
    if sum(1 for _i, a in actions if a.description.strip()) > MAX_ACTION_ITEMS:
        err("", _("Paling banyak %(n)d tindak lanjut per kunjungan.", n=MAX_ACTION_ITEMS))
    if photo_count > MAX_PHOTOS:
        err("photos", _("Paling banyak %(n)d foto per kunjungan.", n=MAX_PHOTOS))
    if errors:
        raise Invalid(errors)
    lat, lon, acc = location_of(data)
    return {"visited_at": visited_at, "duration_minutes": data.duration_minutes, "kind": kind, "stages": stages,
            "observations": observations, "staff_notes": (data.staff_notes or "").strip(),
            "next_visit_on": data.next_visit_on, "latitude": lat, "longitude": lon, "location_accuracy_m": acc,
            "actions": [a for _i, a in actions]}


def normalise_client_key(key: str | None) -> str:
    key = (key or "").strip()
    return key if CLIENT_KEY_RE.match(key) else uuid.uuid4().hex


def find_by_client_key(key: str | None) -> Visit | None:
    key = (key or "").strip()
    if not key or not CLIENT_KEY_RE.match(key):
        return None
    return db.session.scalar(sa.select(Visit).where(Visit.client_key == key))


def _prepare_photos(photos: Sequence[CheckedUpload]) -> list[CheckedUpload]:
    out = []
    for p in photos:
        if p.content_type not in PHOTO_TYPES:
            raise Invalid({"photos": [_("Foto harus JPG atau PNG.")]})
        out.append(reencode_image(p))  # no EXIF, no GPS, no trailing bytes
    return out


def _discard(paths: Iterable[str]) -> None:
    import logging

    from ..files import AREA
    from ..storage import storage

    backend = storage()
    for rel in paths:
        try:
            backend.delete(AREA, rel)
        except Exception:  # noqa: BLE001 - an unreachable store: the object stays, nothing refers to it
            logging.getLogger(__name__).warning("could not remove the photo %s", rel)


def log_visit(actor: Any, outlet: Outlet, data: VisitInput, photos: Sequence[CheckedUpload] = (), *,
              now: datetime | None = None, ip: str | None = None) -> tuple[Visit, bool]:
    """Record a visit. Returns (visit, created); a repeated ``client_key`` returns the visit already stored."""
    if not permissions.can(actor, "visit.create", outlet):
        raise NotAllowed()
    now = now or utcnow()
    key = normalise_client_key(data.client_key)
    existing = find_by_client_key(key)
    if existing is not None:
        if existing.mentor_id != actor.id:
            raise Invalid(_("Formulir ini sudah pernah dikirim oleh akun lain. Muat ulang halaman lalu coba lagi."))
        return existing, False
    clean = _validate(outlet, data, now, len(photos))
    images = _prepare_photos(photos)
    written: list[str] = []
    try:
        with transaction():
            visit = Visit(outlet_id=outlet.id, mentor_id=actor.id, region_id=outlet.region_id, client_key=key,
                          **{k: v for k, v in clean.items() if k != "actions"})
            db.session.add(visit)
            for a in clean["actions"]:
                visit.action_items.append(ActionItem(outlet_id=outlet.id, description=a.description.strip(),
                                                     owner=a.owner.strip(), due_on=a.due_on))
            for img in images:
                sf = store(img, actor.id)
                written.append(sf.path)
                visit.photos.append(VisitPhoto(file=sf))
            db.session.flush()
            record("visit.created", actor=actor, target=visit, ip=ip, outlet_id=outlet.id,
                   action_items=len(clean["actions"]), photos=len(images),
                   location=visit.latitude is not None)
            outbox.announce("visit.logged", {"visit_id": visit.id}, actor=actor)
            programme.refresh_for_outlets([outlet.id])
    except IntegrityError:
        # the same submission arrived twice at once: the unique client_key let one through
        _discard(written)
        again = find_by_client_key(key)
        if again is not None and again.mentor_id == actor.id:
            return again, False
        raise
    return visit, True


def full_snapshot(visit: Visit) -> dict[str, Any]:
    """What an edit can change: the visit's own fields, its action items, photos and location."""
    snap = visit.snapshot()
    snap["action_items"] = [{"id": a.id, "description": a.description, "owner": a.owner,
                             "due_on": a.due_on.isoformat()} for a in visit.action_items]
    snap["photos"] = [p.file_id for p in visit.photos]
    snap["location"] = ([visit.latitude, visit.longitude, visit.location_accuracy_m]
                        if visit.latitude is not None else None)
    return snap


def update_visit(actor: Any, visit: Visit, data: VisitInput, photos: Sequence[CheckedUpload] = (), *,
                 now: datetime | None = None, ip: str | None = None) -> Visit:
    """Edit a visit (its outlet and mentor stay). Audited with the old and new values."""
    now = now or utcnow()
    if not permissions.can_edit_visit(actor, visit, now):
        raise NotAllowed()
    remove = {p.id for p in visit.photos if p.id in set(data.remove_photo_ids or [])}
    clean = _validate(visit.outlet, data, now, len(visit.photos) - len(remove) + len(photos))
    known = {a.id: a for a in visit.action_items}
    for a in clean["actions"]:
        if a.id is not None and a.id not in known:
            raise Invalid(_("Tindak lanjut tidak ditemukan. Muat ulang halaman lalu coba lagi."))
    images = _prepare_photos(photos)
    before = full_snapshot(visit)
    written: list[str] = []
    dropped: list[str] = []
    try:
        with transaction():
            for k, v in clean.items():
                if k != "actions":
                    setattr(visit, k, v)
            for a in clean["actions"]:
                if a.id is None:
                    visit.action_items.append(ActionItem(outlet_id=visit.outlet_id, description=a.description.strip(),
                                                         owner=a.owner.strip(), due_on=a.due_on))
                elif not a.description.strip():
                    visit.action_items.remove(known[a.id])
                else:
                    item = known[a.id]
                    item.description, item.owner, item.due_on = a.description.strip(), a.owner.strip(), a.due_on
            for p in list(visit.photos):
                if p.id in remove:
                    dropped.append(p.file.path)
                    visit.photos.remove(p)
                    db.session.delete(p.file)
            for img in images:
                sf = store(img, getattr(actor, "id", None))
                written.append(sf.path)
                visit.photos.append(VisitPhoto(file=sf))
            db.session.flush()
            after = full_snapshot(visit)
            changes = sorted(k for k in after if before.get(k) != after.get(k))
            if changes:
                record("visit.updated", actor=actor, target=visit, ip=ip, changed=changes, old=before, new=after,
                       by_author=getattr(actor, "id", None) == visit.mentor_id)
            programme.refresh_for_outlets([visit.outlet_id])
    except BaseException:
        _discard(written)
        raise
    _discard(dropped)
    return visit


#: how an action item names the outlet's manager ("who will do it" is free text agreed at the visit):
#: these words, or the manager's own name, compared without case, honorifics and punctuation
MANAGER_OWNERS = {"pengelola", "pengelola e-warong", "pengelola ewarong", "pengelola warung", "manager"}
_HONORIFIC = re.compile(r"^(ibu|bu|bapak|pak|bp|sdr|sdri|saudara|saudari)\.?\s+", re.I)


def _owner_key(text: str) -> str:
    key = " ".join((text or "").replace(",", " ").split()).lower().rstrip(".")
    return _HONORIFIC.sub("", key)


def is_manager_task(owner: str, manager: Any) -> bool:
    """Is an action item with this ``owner`` text the outlet manager's own task ("Pengelola", "Ibu Siti Rahmawati")?"""
    key = _owner_key(owner)
    if not key:
        return False
    name = _owner_key(getattr(manager, "full_name", "") or "")
    return key in MANAGER_OWNERS or (bool(name) and key == name)


def manager_action_items(manager: User, outlet_id: int, *, open_only: bool = True) -> list[ActionItem]:
    """The action items of the outlet's visits that are the manager's own tasks, due first (one query)."""
    def build() -> sa.Select[tuple[ActionItem]]:
        q = sa.select(ActionItem).where(ActionItem.outlet_id == sa.bindparam("outlet_id"))
        if open_only:
            q = q.where(ActionItem.done_at.is_(None))
        return q.options(joinedload(ActionItem.visit)).order_by(ActionItem.due_on, ActionItem.id)

    items = db.session.scalars(built(("manager_action_items", open_only), build), {"outlet_id": outlet_id}).all()
    return [a for a in items if is_manager_task(a.owner, manager)]


def set_action_done(actor: Any, item: ActionItem, done: bool = True, *, now: datetime | None = None,
                    ip: str | None = None) -> ActionItem:
    """Mark an action item done (or open again): staff who may mark the visit's items, or the outlet's
    manager for the items assigned to them (``action_item.mark``)."""
    if not permissions.can(actor, "action_item.mark", item):
        raise NotAllowed()
    with transaction():
        if done and item.done_at is None:
            item.done_at = now or utcnow()
            record("action_item.done", actor=actor, target_type="action_item", target_id=item.id, ip=ip,
                   visit_id=item.visit_id)
        elif not done and item.done_at is not None:
            item.done_at = None
            record("action_item.reopened", actor=actor, target_type="action_item", target_id=item.id, ip=ip,
                   visit_id=item.visit_id)
    return item
