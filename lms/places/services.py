"""Outlets and their managers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import permissions
from ..audit.services import record
from ..db import contains_text, transaction, utcnow
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
    """Save the outlet's fields; a new kecamatan moves it (and its world) through :func:`move_outlet`."""
    if not permissions.can(actor, "outlet.edit", outlet):
        raise NotAllowed()
    with transaction():
        code, kec, phone = _validate(actor, data, outlet)
        if kec.id != outlet.kecamatan_id:
            move_outlet(actor, outlet, kec, ip=ip)
        changes = {}
        for field, value in (("code", code), ("name", data.name.strip()), ("kube_name", data.kube_name.strip()),
                             ("address", data.address.strip()), ("kelurahan", data.kelurahan.strip()),
                             ("phone", phone), ("active", data.active)):
            if getattr(outlet, field) != value:
                changes[field] = [getattr(outlet, field), value]
                setattr(outlet, field, value)
        if changes:
            record("outlet.updated", actor=actor, target=outlet, ip=ip, changes=changes)
            from ..programme.services import refresh_for_outlets

            db.session.flush()
            refresh_for_outlets([outlet.id])
    return outlet


# --- moving an outlet -------------------------------------------------------------------------
#
# Where the region lives: on the outlet (``outlets.region_id``, from its kecamatan). Rows that
# belong to the outlet keep a copy of it (``region_id`` beside ``outlet_id``) because the
# region-scoped lists read them through indexes that start with the region (the review queue's
# ix_evidence_queue, the dashboard's ix_enrolments_stuck, the visits overview's
# ix_visits_region_visited) and stay fast at national scale. The copies are therefore never
# written on their own: the outlet's region changes only here, and every copy changes with it in
# the same transaction. tests/test_outlet_move.py checks that every table holding both columns is
# listed below, so a new one cannot be forgotten.

#: tables whose ``region_id`` copies the outlet's: moved with it. The value narrows the rows
#: (None: every row of the outlet).
REGION_COPIES: dict[str, Callable[[sa.Table], Any] | None] = {
    "enrolments": None,
    "evidence": None,
    "visits": None,
    # a programme certificate follows its enrolment; a Bimtek certificate keeps its session's region
    "certificates": lambda t: t.c.subject_type == "enrolment",
}
#: tables holding ``region_id`` and ``outlet_id`` whose region is not the outlet's, and why
REGION_OWN: dict[str, str] = {}


@dataclass
class MovePlan:
    """What moving ``outlet`` to ``kecamatan`` will change (shown before the move, audited after)."""

    outlet: Outlet
    kecamatan: Kecamatan
    old_region: Region
    new_region: Region
    #: rows per table that carry the region and will follow the outlet
    rows: dict[str, int]
    #: the mentor whose assignment ends (a mentor works in one region), if any
    mentor: User | None

    @property
    def changes_region(self) -> bool:
        return self.old_region.id != self.new_region.id


def _copies_of(outlet_id: int) -> list[tuple[str, sa.Table, Any]]:
    from ..db import Base

    out = []
    for name, narrow in REGION_COPIES.items():
        t = Base.metadata.tables[name]
        where = t.c.outlet_id == outlet_id
        out.append((name, t, where if narrow is None else sa.and_(where, narrow(t))))
    return out


def plan_move(actor: Any, outlet: Outlet, kecamatan: Kecamatan) -> MovePlan:
    """Check a move and say what it changes; Invalid (on ``kecamatan_id``) when it may not happen."""
    from ..programme.models import Cohort, Enrolment, EnrolmentStatus
    from ..visits.services import current_assignment

    if not permissions.can(actor, "outlet.edit", outlet):
        raise NotAllowed()
    if not (permissions.is_admin(actor) or permissions.in_region(actor, kecamatan.region_id)):
        raise Invalid({"kecamatan_id": [_("Kecamatan ini di luar wilayah Anda.")]})
    new_region = db.session.get(Region, kecamatan.region_id)
    old_region = db.session.get(Region, outlet.region_id)
    assert new_region is not None and old_region is not None
    plan = MovePlan(outlet=outlet, kecamatan=kecamatan, old_region=old_region, new_region=new_region, rows={},
                    mentor=None)
    if not plan.changes_region:
        return plan
    # an active enrolment stays in its cohort, so the cohort must cover the new region
    outside = list(db.session.scalars(
        sa.select(Cohort.name).join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(Enrolment.outlet_id == outlet.id, Enrolment.status == EnrolmentStatus.ACTIVE,
               ~Cohort.regions.any(Region.id == new_region.id)).order_by(Cohort.name)))
    if outside:
        raise Invalid({"kecamatan_id": [_(
            "e-Warong ini terdaftar di angkatan %(cohorts)s, yang tidak mencakup %(region)s. Tambahkan wilayah "
            "itu ke angkatan lebih dulu, atau akhiri pendaftarannya.", cohorts=", ".join(outside),
            region=new_region.name)]})
    for name, t, where in _copies_of(outlet.id):
        plan.rows[name] = int(db.session.scalar(sa.select(sa.func.count()).select_from(t).where(where)) or 0)
    assignment = current_assignment(outlet.id)
    if assignment is not None and assignment.mentor.region_id != new_region.id:
        plan.mentor = assignment.mentor
    return plan


def preview_move(actor: Any, outlet: Outlet, kecamatan_id: int | None) -> MovePlan | None:
    """The plan when ``kecamatan_id`` would take the outlet to another region (to confirm first), else None."""
    kecamatan = db.session.get(Kecamatan, kecamatan_id) if kecamatan_id else None
    if kecamatan is None or kecamatan.region_id == outlet.region_id:
        return None
    return plan_move(actor, outlet, kecamatan)


def move_outlet(actor: Any, outlet: Outlet, kecamatan: Kecamatan, ip: str | None = None) -> MovePlan:
    """Move ``outlet`` to ``kecamatan``; when that is in another region, its whole world moves along.

    In one transaction: the outlet's kecamatan and region; every copy of its region
    (:data:`REGION_COPIES`: enrolments, evidence, visits, programme certificates); its manager's
    region; the end of its mentor's assignment (the new region's coordinator assigns one of
    theirs); the dashboard summaries of the old and the new kecamatan (recounted at commit by
    lms.dashboard.summaries, which sees the outlet change); and one audit entry saying all of it.
    """
    from ..visits.models import MentorAssignment

    with transaction():
        plan = plan_move(actor, outlet, kecamatan)
        old_kecamatan_id = outlet.kecamatan_id
        outlet.kecamatan_id, outlet.region_id = kecamatan.id, kecamatan.region_id
        moved: dict[str, int] = {}
        mentor_id = None
        if plan.changes_region:
            db.session.flush()  # pending ORM changes first: the UPDATEs below bypass the identity map
            for name, t, where in _copies_of(outlet.id):
                moved[name] = db.session.execute(
                    sa.update(t).where(where).values(region_id=kecamatan.region_id)).rowcount or 0
            # objects already loaded read the new region from the database on their next use
            copied = set(REGION_COPIES)
            for obj in list(db.session.identity_map.values()):
                if any(t.name in copied for t in sa.inspect(obj).mapper.tables):
                    db.session.expire(obj, ["region_id"])
            if outlet.manager is not None:
                outlet.manager.region_id = kecamatan.region_id
            if plan.mentor is not None:
                assignment = db.session.scalar(sa.select(MentorAssignment).where(
                    MentorAssignment.outlet_id == outlet.id, MentorAssignment.ended_at.is_(None)))
                if assignment is not None:
                    assignment.ended_at = utcnow()
                    mentor_id = assignment.mentor_id
        db.session.flush()
        record("outlet.moved", actor=actor, target=outlet, ip=ip,
               old_kecamatan_id=old_kecamatan_id, new_kecamatan_id=kecamatan.id,
               old_region_id=plan.old_region.id, new_region_id=plan.new_region.id,
               manager_id=outlet.manager_id, previous_mentor_id=mentor_id, moved=moved)
    return plan


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


def outlet_text(q: str) -> Any:
    """An outlet whose name, code, KUBE or kelurahan holds ``q`` (literally)."""
    return contains_text(q, Outlet.name, Outlet.code, Outlet.kube_name, Outlet.kelurahan)


def search_outlets(actor: Any, *, q: str = "", region_id: int | None = None, kecamatan_id: int | None = None,
                   active: bool | None = None, page: int = 1, per_page: int = 25) -> tuple[list[Outlet], int]:
    where = [permissions.outlet_scope(actor)]
    if q:
        where.append(outlet_text(q))
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
