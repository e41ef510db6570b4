"""Outlets and their managers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import permissions
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..people.models import Role, User
from ..people.phone import normalize_phone
from .models import Kecamatan, Outlet, OutletManagerTerm, Region


@dataclass
class OutletInput:
    code: str
    name: str
    kecamatan_id: int
    kube_name: str = ""
    address: str = ""
    kelurahan: str = ""
    phone: str | None = None
    active: bool = True


def _validate(actor: Any, data: OutletInput, existing: Outlet | None) -> tuple[str, Kecamatan, str | None]:
    errors: dict[str, list[str]] = {}
    code = (data.code or "").strip().upper()
    if not code:
        errors.setdefault("code", []).append(_("Kode e-Warong wajib diisi."))
    else:
        clash = db.session.scalar(sa.select(Outlet.id).where(Outlet.code == code))
        if clash is not None and (existing is None or clash != existing.id):
            errors.setdefault("code", []).append(_("Kode ini sudah dipakai e-Warong lain."))
    if not (data.name or "").strip():
        errors.setdefault("name", []).append(_("Nama e-Warong wajib diisi."))
    kec = db.session.get(Kecamatan, data.kecamatan_id) if data.kecamatan_id else None
    if kec is None:
        errors.setdefault("kecamatan_id", []).append(_("Pilih kecamatan."))
    elif not (permissions.is_admin(actor) or permissions.in_region(actor, kec.region_id)):
        errors.setdefault("kecamatan_id", []).append(_("Kecamatan ini di luar wilayah Anda."))
    phone = None
    try:
        phone = normalize_phone(data.phone)
    except ValueError:
        errors.setdefault("phone", []).append(_("Nomor telepon tidak valid. Contoh: 0812-3456-7890."))
    if errors:
        raise Invalid(errors)
    assert kec is not None
    return code, kec, phone


def create_outlet(actor: Any, data: OutletInput, ip: str | None = None) -> Outlet:
    if not permissions.can(actor, "outlets.create"):
        raise NotAllowed()
    with transaction():
        code, kec, phone = _validate(actor, data, None)
        outlet = Outlet(code=code, name=data.name.strip(), kube_name=data.kube_name.strip(),
                        address=data.address.strip(), kelurahan=data.kelurahan.strip(),
                        kecamatan_id=kec.id, region_id=kec.region_id, phone=phone, active=data.active)
        db.session.add(outlet)
        db.session.flush()
        record("outlet.created", actor=actor, target=outlet, ip=ip, code=code)
    return outlet


def update_outlet(actor: Any, outlet: Outlet, data: OutletInput, ip: str | None = None) -> Outlet:
    if not permissions.can(actor, "outlet.edit", outlet):
        raise NotAllowed()
    with transaction():
        code, kec, phone = _validate(actor, data, outlet)
        changes = {}
        for field, value in (("code", code), ("name", data.name.strip()), ("kube_name", data.kube_name.strip()),
                             ("address", data.address.strip()), ("kelurahan", data.kelurahan.strip()),
                             ("kecamatan_id", kec.id), ("region_id", kec.region_id), ("phone", phone),
                             ("active", data.active)):
            if getattr(outlet, field) != value:
                changes[field] = [getattr(outlet, field), value]
                setattr(outlet, field, value)
        if outlet.manager is not None and "region_id" in changes:
            outlet.manager.region_id = outlet.region_id
        if changes:
            record("outlet.updated", actor=actor, target=outlet, ip=ip, changes=changes)
            from ..programme.services import refresh_for_outlets

            db.session.flush()
            refresh_for_outlets([outlet.id])
    return outlet


def end_outlet_manager(actor: Any, outlet: Outlet, ip: str | None = None) -> list[Any]:
    """Close the current manager's term and enrolments; returns the cohorts they were in."""
    from ..programme.services import end_outlet_enrolments

    with transaction():
        cohorts = end_outlet_enrolments(actor, outlet)
        term = db.session.scalar(sa.select(OutletManagerTerm).where(
            OutletManagerTerm.outlet_id == outlet.id, OutletManagerTerm.ended_at.is_(None)))
        if term is not None:
            term.ended_at = utcnow()
        if outlet.manager_id is not None:
            record("outlet.manager_ended", actor=actor, target=outlet, ip=ip, user_id=outlet.manager_id)
        outlet.manager_id = None
        db.session.flush()
    return cohorts


def set_outlet_manager(actor: Any, outlet: Outlet, user: User, ip: str | None = None) -> None:
    """Make ``user`` the outlet's manager; the previous manager's term is kept as history."""
    if user.role is not Role.TRAINEE:
        raise Invalid({"manager": [_("Hanya akun pengelola yang bisa mengelola e-Warong.")]})
    with transaction():
        if outlet.manager_id == user.id:
            return
        # the user leaves any outlet they managed before
        if user.managed_outlet is not None:
            end_outlet_manager(actor, user.managed_outlet, ip=ip)
        cohorts = end_outlet_manager(actor, outlet, ip=ip) if outlet.manager_id is not None else []
        db.session.add(OutletManagerTerm(outlet_id=outlet.id, user_id=user.id))
        outlet.manager_id = user.id
        user.region_id = outlet.region_id
        db.session.flush()
        record("outlet.manager_set", actor=actor, target=outlet, ip=ip, user_id=user.id)
        from ..programme.services import enrol_new_manager

        enrol_new_manager(actor, outlet, user, cohorts)


def search_outlets(actor: Any, *, q: str = "", region_id: int | None = None, kecamatan_id: int | None = None,
                   active: bool | None = None, page: int = 1, per_page: int = 25) -> tuple[list[Outlet], int]:
    where = [permissions.outlet_scope(actor)]
    if q:
        text = q.strip().lower()  # matched literally: % and _ are not wildcards
        where.append(sa.or_(*[sa.func.lower(c).contains(text, autoescape=True)
                              for c in (Outlet.name, Outlet.code, Outlet.kube_name, Outlet.kelurahan)]))
    if region_id:
        where.append(Outlet.region_id == region_id)
    if kecamatan_id:
        where.append(Outlet.kecamatan_id == kecamatan_id)
    if active is not None:
        where.append(Outlet.active == active)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Outlet).where(*where)) or 0
    rows = db.session.scalars(
        sa.select(Outlet).where(*where)
        .options(sa.orm.selectinload(Outlet.region), sa.orm.selectinload(Outlet.kecamatan),
                 sa.orm.selectinload(Outlet.manager))
        .order_by(Outlet.code).limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(rows), total


def regions_for(actor: Any) -> list[Region]:
    return list(db.session.scalars(sa.select(Region).where(permissions.region_choices_for(actor)).order_by(Region.code)))


def kecamatan_for(actor: Any) -> list[Kecamatan]:
    q = sa.select(Kecamatan).join(Region).where(permissions.region_choices_for(actor)).order_by(Kecamatan.code)
    return list(db.session.scalars(q.options(sa.orm.selectinload(Kecamatan.region))))


def manager_history(outlet: Outlet) -> list[OutletManagerTerm]:
    return list(db.session.scalars(
        sa.select(OutletManagerTerm).where(OutletManagerTerm.outlet_id == outlet.id)
        .options(sa.orm.joinedload(OutletManagerTerm.user))
        .order_by(OutletManagerTerm.started_at.desc(), OutletManagerTerm.id.desc())))
