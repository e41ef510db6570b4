"""Caseloads: which mentor visits which outlet, managed by coordinators.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from .. import permissions
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..people.models import Role, User
from ..places.models import Outlet
from ..places.services import outlet_text
from .models import MentorAssignment
from .status import open_assignment


# --- caseload management (coordinators) ------------------------------------------------------

def _region_where(actor: Any, region_col: Any, region_id: int | None) -> Any:
    conds = [permissions.outlet_scope(actor, region_id=region_col)]
    if region_id:
        conds.append(region_col == region_id)
    return sa.and_(*conds)


#: outlets one assignment may change (a page holds the setting CASELOAD_PAGE_SIZE, 50)
MAX_ASSIGN = 500


def assignable_outlets(actor: Any, region_id: int | None = None, unassigned_only: bool = False, *, q: str = "",
                       page: int = 1, per_page: int) -> tuple[list[tuple[Outlet, MentorAssignment | None]], int]:
    """A page of the active outlets the actor may assign (by code), with their current assignment (and
    mentor), and how many there are in all. ``q``: part of the code, name, KUBE or kelurahan (literally)."""
    if not permissions.can(actor, "caseloads.manage"):
        raise NotAllowed()
    where = [_region_where(actor, Outlet.region_id, region_id), Outlet.active.is_(True)]
    if (q or "").strip():
        where.append(outlet_text(q[:100]))
    if unassigned_only:
        where.append(MentorAssignment.id.is_(None))
    total = db.session.scalar(sa.select(sa.func.count(Outlet.id)).select_from(Outlet)
                              .outerjoin(MentorAssignment, open_assignment()).where(*where)) or 0
    rows = db.session.execute(
        sa.select(Outlet, MentorAssignment).outerjoin(MentorAssignment, open_assignment()).where(*where)
        .options(joinedload(Outlet.kecamatan), joinedload(Outlet.region), joinedload(MentorAssignment.mentor))
        .order_by(Outlet.code).limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return [(o, a) for o, a in rows], int(total)


def mentors_for(actor: Any, region_id: int | None = None) -> list[User]:
    """Active mentors in the actor's regions."""
    return list(db.session.scalars(
        sa.select(User).where(User.role == Role.MENTOR, User.active.is_(True),
                              _region_where(actor, User.region_id, region_id))
        .options(joinedload(User.region)).order_by(User.region_id, User.full_name)))


def assign_mentor(actor: Any, outlet_ids: Iterable[int], mentor_id: int | None, *, ip: str | None = None,
                  now: datetime | None = None) -> int:
    """Put the outlets in the mentor's caseload (ending any other mentor's). Returns how many changed.

    ``mentor_id`` None releases the outlets (ends their assignment without a new one).
    History is kept: the open assignment is ended and a new one opened.
    """
    now = now or utcnow()
    ids = sorted({int(i) for i in outlet_ids})
    if not ids:
        raise Invalid({"outlet_ids": [_("Pilih minimal satu e-Warong.")]})
    if len(ids) > MAX_ASSIGN:
        raise Invalid({"outlet_ids": [_("Pilih paling banyak %(n)d e-Warong sekaligus.", n=MAX_ASSIGN)]})
    try:
        with transaction():
            outlets = list(db.session.scalars(sa.select(Outlet).where(Outlet.id.in_(ids))
                                              .options(joinedload(Outlet.region))))
            if len(outlets) != len(ids) or not all(permissions.can(actor, "outlet.assign_mentor", o) for o in outlets):
                raise NotAllowed()
            mentor = None
            if mentor_id is not None:
                mentor = db.session.get(User, mentor_id)
                if mentor is None or mentor.role is not Role.MENTOR or not mentor.active:
                    raise Invalid({"mentor_id": [_("Pilih pendamping yang aktif.")]})
                wrong = [o.code for o in outlets if o.region_id != mentor.region_id]
                if wrong:
                    raise Invalid({"mentor_id": [_(
                        "Pendamping hanya dapat ditugaskan di wilayahnya sendiri. Di luar wilayahnya: %(codes)s.",
                        codes=", ".join(wrong))]})
            q = sa.select(MentorAssignment).where(MentorAssignment.outlet_id.in_(ids),
                                                  MentorAssignment.ended_at.is_(None))
            if db.session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update()
            open_rows = {a.outlet_id: a for a in db.session.scalars(q)}
            changed = 0
            for outlet in outlets:
                current = open_rows.get(outlet.id)
                if current is not None and mentor is not None and current.mentor_id == mentor.id:
                    continue
                if current is None and mentor is None:
                    continue
                if current is not None:
                    current.ended_at = now
                    db.session.flush()  # the partial unique index allows one open row per outlet
                if mentor is not None:
                    db.session.add(MentorAssignment(outlet_id=outlet.id, mentor_id=mentor.id, started_at=now,
                                                    assigned_by_id=getattr(actor, "id", None)))
                record("mentor.assigned" if mentor else "mentor.released", actor=actor, target=outlet, ip=ip,
                       mentor_id=mentor.id if mentor else None,
                       previous_mentor_id=current.mentor_id if current else None)
                changed += 1
            db.session.flush()
    except IntegrityError:
        # another coordinator changed the same outlet at the same moment
        raise Invalid(_("e-Warong ini baru saja diubah orang lain. Muat ulang halaman lalu coba lagi.")) from None
    return changed
