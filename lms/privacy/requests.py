"""Correction and erasure requests (UU PDP Pasal 6 and 8, recorded as Pasal 14 asks).

The person says what is wrong (a correction) or asks to be erased; a coordinator of their
region (corrections) or an admin (corrections and erasures) answers within
``DATA_REQUEST_HOURS`` (3×24 hours). Accepting a correction applies it through the normal
services (people.services.update_user, places.services.update_outlet), so their rules hold:
a phone number is normalised and must not belong to another active account, staff keep an
e-mail, a coordinator edits only in their region. When a service refuses, nothing changes and
the request stays pending. Accepting an erasure is :mod:`lms.privacy.erasure`.

Every step is audited (privacy.request_*) and announced: ``privacy.request_created`` tells the
people who may handle it (in-app), ``privacy.request_answered`` tells the person.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from .. import outbox, permissions
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..people.models import Role, User
from ..places.models import Outlet
from .models import DataRequest, RequestKind, RequestStatus

#: what a person may ask to correct, in the order the form offers it
FIELD_LABELS: dict[str, Any] = {
    "full_name": _l("Nama lengkap"),
    "phone": _l("Nomor HP"),
    "email": _l("E-mail"),
    "outlet_name": _l("Nama e-Warong"),
    "outlet_address": _l("Alamat e-Warong"),
    "other": _l("Lainnya"),
}
OUTLET_FIELDS = ("outlet_name", "outlet_address")
KIND_LABELS: dict[str, Any] = {"correction": _l("Koreksi data"), "erasure": _l("Penghapusan data")}
STATUS_LABELS: dict[str, Any] = {
    "pending": _l("Menunggu jawaban"), "accepted": _l("Diterima"), "declined": _l("Ditolak"),
    "withdrawn": _l("Ditarik kembali"),
}
#: the statuses a reviewer's list filters by ("" = every status)
LIST_STATUSES = ("pending", "accepted", "declined", "withdrawn")
#: the kinds handled here (exports are "Data saya", lms/privacy/export.py)
KINDS = (RequestKind.CORRECTION, RequestKind.ERASURE)

MESSAGE_MIN, MESSAGE_MAX = 5, 1000
VALUE_MAX = 300
REASON_MIN, REASON_MAX = 5, 1000


def request_hours() -> int:
    return int(current_app.config.get("DATA_REQUEST_HOURS", 72))


def fields_for(person: User) -> list[str]:
    """The items ``person`` may ask to correct: the outlet's only when they manage one."""
    return [f for f in FIELD_LABELS if f not in OUTLET_FIELDS or person.managed_outlet is not None]


def current_value(person: User, field: str | None) -> str:
    """What the record says now (shown beside the request), "" for "other"."""
    from ..people.phone import display_phone

    outlet = person.managed_outlet
    if field == "full_name":
        return person.full_name
    if field == "phone":
        return display_phone(person.phone)
    if field == "email":
        return person.email or ""
    if field == "outlet_name":
        return outlet.name if outlet else ""
    if field == "outlet_address":
        return outlet.address if outlet else ""
    return ""


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _length_problems(text: str, lo: int, hi: int, empty: str) -> list[str]:
    if not text:
        return [empty]
    if len(text) < lo:
        return [_("Minimal %(n)d karakter.", n=lo)]
    if len(text) > hi:
        return [_("Maksimal %(n)d karakter.", n=hi)]
    return []


class DuplicateRequest(Invalid):
    """A pending request of the same kind (and item) exists: ``existing`` is it."""

    def __init__(self, existing: DataRequest) -> None:
        self.existing = existing
        if existing.kind is RequestKind.ERASURE:
            msg = _("Anda sudah punya permintaan penghapusan data yang sedang menunggu jawaban.")
        else:
            msg = _("Anda sudah punya permintaan koreksi \u201c%(field)s\u201d yang sedang menunggu jawaban.",
                    field=FIELD_LABELS.get(existing.field or "", existing.field))
        super().__init__({"": [msg]})


def pending_of(person_id: int, kind: RequestKind, field: str | None = None) -> DataRequest | None:
    where = [DataRequest.user_id == person_id, DataRequest.kind == kind, DataRequest.status == RequestStatus.PENDING]
    if kind is RequestKind.CORRECTION:
        where.append(DataRequest.field == field)
    return db.session.scalar(sa.select(DataRequest).where(*where).order_by(DataRequest.id).limit(1))


def _own(actor: Any) -> User:
    if not permissions.can(actor, "privacy.own"):
        raise NotAllowed()
    return actor  # type: ignore[no-any-return]


def _created(actor: User, req: DataRequest, ip: str | None) -> None:
    db.session.add(req)
    db.session.flush()
    record("privacy.request_created", actor=actor, target=req, ip=ip, kind=req.kind.value, field=req.field)
    outbox.announce("privacy.request_created", {"request_id": req.id}, actor=actor)


def correction_problems(person: User, field: str | None, message: str, proposed: str) -> dict[str, list[str]]:
    """What is wrong with a correction request (field name → messages)."""
    from ..people.phone import normalize_phone

    errors: dict[str, list[str]] = {}
    if field not in fields_for(person):
        errors["field"] = [_("Pilih data yang ingin dikoreksi.")]
    problems = _length_problems(message, MESSAGE_MIN, MESSAGE_MAX, _("Tulis apa yang salah."))
    if problems:
        errors["message"] = problems
    if field != "other" and not proposed:
        errors["proposed_value"] = [_("Tulis data yang benar.")]
    elif len(proposed) > VALUE_MAX:
        errors["proposed_value"] = [_("Maksimal %(n)d karakter.", n=VALUE_MAX)]
    elif field == "phone":
        try:
            normalize_phone(proposed)
        except ValueError:
            errors["proposed_value"] = [_("Nomor telepon tidak valid. Contoh: 0812-3456-7890.")]
    elif field == "email" and ("@" not in proposed or " " in proposed):
        errors["proposed_value"] = [_("Alamat e-mail tidak valid.")]
    elif field in ("full_name", "outlet_name", "outlet_address", "email") and proposed == current_value(person, field):
        errors["proposed_value"] = [_("Data yang benar sama dengan yang tercatat sekarang.")]
    return errors


def create_correction(actor: Any, field: str | None, message: str | None, proposed_value: str | None,
                      ip: str | None = None) -> DataRequest:
    """The signed-in person asks to correct one item of their data."""
    person = _own(actor)
    message_text = (message or "").strip()
    proposed = _text(proposed_value) if field != "outlet_address" else (proposed_value or "").strip()
    if field == "email":
        proposed = proposed.lower()
    with transaction():
        errors = correction_problems(person, field, _text(message_text), proposed)
        if errors:
            raise Invalid(errors)
        existing = pending_of(person.id, RequestKind.CORRECTION, field)
        if existing is not None:
            raise DuplicateRequest(existing)
        now = utcnow()
        req = DataRequest(user_id=person.id, kind=RequestKind.CORRECTION, status=RequestStatus.PENDING,
                          field=field, message=message_text, proposed_value=proposed or None, created_at=now,
                          due_at=now + timedelta(hours=request_hours()))
        _created(person, req, ip)
    return req


def create_erasure(actor: Any, reason: str | None, ip: str | None = None) -> DataRequest:
    """The signed-in person asks to be erased (their reason is optional)."""
    person = _own(actor)
    text = (reason or "").strip()
    if len(text) > MESSAGE_MAX:
        raise Invalid({"reason": [_("Maksimal %(n)d karakter.", n=MESSAGE_MAX)]})
    with transaction():
        existing = pending_of(person.id, RequestKind.ERASURE)
        if existing is not None:
            raise DuplicateRequest(existing)
        now = utcnow()
        req = DataRequest(user_id=person.id, kind=RequestKind.ERASURE, status=RequestStatus.PENDING,
                          message=text or None, created_at=now, due_at=now + timedelta(hours=request_hours()))
        _created(person, req, ip)
    return req


def can_withdraw(actor: Any, req: DataRequest) -> bool:
    return (getattr(actor, "id", None) is not None and req.user_id == actor.id
            and req.status is RequestStatus.PENDING and req.kind in KINDS)


def withdraw(actor: Any, req: DataRequest, ip: str | None = None) -> None:
    """The person takes back their own pending request."""
    if not can_withdraw(actor, req):
        raise NotAllowed()
    with transaction():
        req.status = RequestStatus.WITHDRAWN
        req.handled_at = utcnow()
        req.handled_by_id = actor.id
        record("privacy.request_withdrawn", actor=actor, target=req, ip=ip, kind=req.kind.value, field=req.field)


def _may_handle(actor: Any, req: DataRequest, kind: RequestKind) -> None:
    if req.kind is not kind or not permissions.can(actor, "privacy.request.handle", req):
        raise NotAllowed()


def _answered(actor: Any, req: DataRequest, status: RequestStatus, response: str | None) -> None:
    req.status = status
    req.handled_at = utcnow()
    req.handled_by_id = getattr(actor, "id", None)
    req.response = response or None


def _apply(actor: Any, req: DataRequest, ip: str | None) -> None:
    """Make the change through the service that owns the data (its rules and audit apply)."""
    from ..people import services as people
    from ..places import services as places

    person = req.user
    value = req.proposed_value or ""
    if req.field in ("full_name", "phone", "email"):
        data = people.UserInput(email=person.email or "", full_name=person.full_name, role=person.role,
                                phone=person.phone, region_id=person.region_id, outlet_code=None)
        setattr(data, req.field, value)
        people.update_user(actor, person, data, ip=ip)
    elif req.field in OUTLET_FIELDS:
        outlet = person.managed_outlet
        if outlet is None:
            raise Invalid(_("Orang ini tidak lagi mengelola e-Warong: koreksi ini tidak bisa diterapkan."))
        data_o = places.OutletInput(code=outlet.code, name=outlet.name, kecamatan_id=outlet.kecamatan_id,
                                    kube_name=outlet.kube_name, address=outlet.address, kelurahan=outlet.kelurahan,
                                    phone=outlet.phone, active=outlet.active)
        if req.field == "outlet_name":
            data_o.name = value
        else:
            data_o.address = value
        places.update_outlet(actor, outlet, data_o, ip=ip)


def _refusal(e: Invalid) -> Invalid:
    """The service's messages, said as why the correction could not be applied."""
    messages = [m for ms in e.reasons.values() for m in ms]
    return Invalid({"": [_("Koreksi tidak bisa diterapkan: %(why)s", why=" ".join(str(m) for m in messages))]})


def accept_correction(actor: Any, req: DataRequest, note: str | None = None, ip: str | None = None) -> None:
    """Apply the correction and answer the person; for "other" the note says what was done (required)."""
    _may_handle(actor, req, RequestKind.CORRECTION)
    text = (note or "").strip()
    if req.field == "other":
        problems = _length_problems(_text(text), REASON_MIN, REASON_MAX,
                                    _("Tulis apa yang sudah Anda perbaiki untuk permintaan ini."))
        if problems:
            raise Invalid({"response": problems})
    elif len(text) > REASON_MAX:
        raise Invalid({"response": [_("Maksimal %(n)d karakter.", n=REASON_MAX)]})
    try:
        with transaction():
            _apply(actor, req, ip)
            _answered(actor, req, RequestStatus.ACCEPTED, text)
            record("privacy.request_accepted", actor=actor, target=req, ip=ip, kind=req.kind.value, field=req.field)
            outbox.announce("privacy.request_answered", {"request_id": req.id}, actor=actor)
    except NotAllowed:
        raise Invalid(_("Anda tidak berwenang mengubah data ini. Minta admin menangani permintaan ini, "
                        "atau tolak dengan alasan.")) from None
    except Invalid as e:
        raise _refusal(e) from None


def decline(actor: Any, req: DataRequest, reason: str | None, ip: str | None = None) -> None:
    """Refuse a correction or an erasure; the reason is required and shown to the person."""
    if req.kind not in KINDS or not permissions.can(actor, "privacy.request.handle", req):
        raise NotAllowed()
    text = (reason or "").strip()
    problems = _length_problems(_text(text), REASON_MIN, REASON_MAX, _("Tulis alasan penolakan."))
    if problems:
        raise Invalid({"reason": problems})
    with transaction():
        _answered(actor, req, RequestStatus.DECLINED, text)
        if req.kind is RequestKind.ERASURE:
            record("privacy.erasure_refused", actor=actor, target=req, ip=ip, reason=text)
        else:
            record("privacy.request_declined", actor=actor, target=req, ip=ip, kind=req.kind.value, field=req.field,
                   reason=text)
        outbox.announce("privacy.request_answered", {"request_id": req.id}, actor=actor)


# --- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    """Where a request stands against its deadline."""

    at: datetime | None
    #: whole hours left (pending, not late) or late by (pending, late); None when answered
    hours: int | None
    overdue: bool
    #: answered after the deadline
    answered_late: bool


def due_state(req: DataRequest, now: datetime | None = None) -> Due:
    now = now or utcnow()
    if req.due_at is None:
        return Due(None, None, False, False)
    if req.status is RequestStatus.PENDING:
        seconds = (req.due_at - now).total_seconds()
        if seconds >= 0:
            return Due(req.due_at, int(seconds // 3600), False, False)
        return Due(req.due_at, int(-seconds // 3600), True, False)
    late = req.handled_at is not None and req.handled_at > req.due_at and req.status is not RequestStatus.WITHDRAWN
    return Due(req.due_at, None, False, late)


def request_scope(actor: Any) -> sa.ColumnElement[bool]:
    """``privacy.request.view`` for the reviewers' list, as SQL (the query joins the person as
    ``User`` and their outlet as ``Outlet``). The person's own requests are on their own page."""
    kinds = DataRequest.kind.in_(KINDS)
    if permissions.is_admin(actor):
        return kinds
    if permissions.is_coordinator(actor):
        base = sa.and_(DataRequest.kind == RequestKind.CORRECTION, User.role != Role.ADMIN)
        if actor.region_id is None:
            return base
        return sa.and_(base, sa.func.coalesce(Outlet.region_id, User.region_id) == actor.region_id)
    return sa.false()


def list_requests(actor: Any, *, status: str = "pending", page: int = 1,
                  per_page: int = 25) -> tuple[list[DataRequest], int]:
    """The requests ``actor`` handles: pending ones first, the closest deadline (the overdue) first,
    then the others newest first. One page and the total; a fixed number of queries."""
    if not permissions.can(actor, "privacy.requests"):
        raise NotAllowed()
    where = [request_scope(actor)]
    if status in LIST_STATUSES:
        where.append(DataRequest.status == RequestStatus(status))
    base = (sa.select(DataRequest).join(User, User.id == DataRequest.user_id)
            .outerjoin(Outlet, Outlet.manager_id == User.id).where(*where))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    pending_first = sa.case((DataRequest.status == RequestStatus.PENDING, 0), else_=1)
    due_when_pending = sa.case((DataRequest.status == RequestStatus.PENDING, DataRequest.due_at), else_=None)
    rows = db.session.scalars(
        base.options(selectinload(DataRequest.user).selectinload(User.region),
                     selectinload(DataRequest.user).selectinload(User.managed_outlet),
                     selectinload(DataRequest.handled_by))
        .order_by(pending_first, due_when_pending.asc().nulls_last(), DataRequest.created_at.desc(),
                  DataRequest.id.desc())
        .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return list(rows), total


def my_requests(actor: Any) -> list[DataRequest]:
    """The person's own corrections and erasure requests, newest first."""
    person = _own(actor)
    return list(db.session.scalars(
        sa.select(DataRequest).where(DataRequest.user_id == person.id, DataRequest.kind.in_(KINDS))
        .options(selectinload(DataRequest.handled_by))
        .order_by(DataRequest.created_at.desc(), DataRequest.id.desc())))


def get(request_id: Any) -> DataRequest | None:
    from ..forms_common import int_or_none

    pk = int_or_none(request_id)
    if pk is None:
        return None
    req = db.session.get(DataRequest, pk)
    return req if req is not None and req.kind in KINDS else None
