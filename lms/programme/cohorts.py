"""Cohorts and enrolments: creating, enrolling outlets, a manager change, and the lists.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload
from .. import permissions
from ..audit.services import record
from ..db import built, contains_text, transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..people.models import User
from ..places.models import Outlet, Region
from .models import Cohort, Enrolment, EnrolmentStatus
from .summary import _active_enrolments, curricula, curriculum_for, refresh_progress


# --- cohorts and enrolments --------------------------------------------------------------

@dataclass
class CohortInput:
    name: str
    curriculum_key: str
    start_date: date | None
    end_date: date | None
    region_ids: list[int]


def _cohort_regions_ok(actor: Any, region_ids: list[int]) -> bool:
    return permissions.is_admin(actor) or all(permissions.in_region(actor, r) for r in region_ids)


def _validate_cohort(actor: Any, data: CohortInput, existing: Cohort | None) -> list[Region]:
    errors: dict[str, list[str]] = {}
    if not data.name.strip():
        errors.setdefault("name", []).append(_("Nama angkatan wajib diisi."))
    else:
        clash = db.session.scalar(sa.select(Cohort.id).where(Cohort.name == data.name.strip()))
        if clash is not None and (existing is None or clash != existing.id):
            errors.setdefault("name", []).append(_("Nama angkatan ini sudah dipakai."))
    if data.curriculum_key not in curricula():
        errors.setdefault("curriculum_key", []).append(_("Kurikulum tidak dikenal."))
    if data.start_date is None:
        errors.setdefault("start_date", []).append(_("Tanggal mulai wajib diisi."))
    if data.end_date is None:
        errors.setdefault("end_date", []).append(_("Tanggal selesai wajib diisi."))
    if data.start_date and data.end_date and data.end_date < data.start_date:
        errors.setdefault("end_date", []).append(_("Tanggal selesai tidak boleh sebelum tanggal mulai."))
    from ..forms_common import DATE_MIN, check_range, date_max

    check_range(data.start_date, DATE_MIN, date_max, "start_date", errors)
    check_range(data.end_date, DATE_MIN, date_max, "end_date", errors)
    regions = list(db.session.scalars(sa.select(Region).where(Region.id.in_(data.region_ids or [0]))))
    if not regions:
        errors.setdefault("region_ids", []).append(_("Pilih minimal satu wilayah."))
    elif not _cohort_regions_ok(actor, [r.id for r in regions]):
        errors.setdefault("region_ids", []).append(_("Ada wilayah di luar kewenangan Anda."))
    if errors:
        raise Invalid(errors)
    return regions


def create_cohort(actor: Any, data: CohortInput) -> Cohort:
    if not permissions.can(actor, "cohorts.create"):
        raise NotAllowed()
    with transaction():
        regions = _validate_cohort(actor, data, None)
        cohort = Cohort(name=data.name.strip(), curriculum_key=data.curriculum_key, start_date=data.start_date,
                        end_date=data.end_date, regions=regions)
        db.session.add(cohort)
        db.session.flush()
        record("cohort.created", actor=actor, target=cohort, name=cohort.name)
    return cohort


def update_cohort(actor: Any, cohort: Cohort, data: CohortInput) -> Cohort:
    if not permissions.can(actor, "cohort.edit", cohort):
        raise NotAllowed()
    with transaction():
        regions = _validate_cohort(actor, data, cohort)
        changed_curriculum = cohort.curriculum_key != data.curriculum_key
        cohort.name, cohort.curriculum_key = data.name.strip(), data.curriculum_key
        cohort.start_date, cohort.end_date, cohort.regions = data.start_date, data.end_date, regions
        record("cohort.updated", actor=actor, target=cohort)
        if changed_curriculum:
            refresh_progress(_active_enrolments("cohort_id", [cohort.id]))
    return cohort


def new_enrolment(cohort: Cohort, outlet: Outlet, user: User, now: datetime | None = None) -> Enrolment:
    """An active enrolment at the first stage, added to the session (no checks, no audit, no refresh).

    For bulk callers that have checked permissions and duplicates themselves and refresh progress
    for all the new enrolments at once (``refresh_progress``), inside their own transaction.
    """
    e = Enrolment(cohort=cohort, cohort_id=cohort.id, user_id=user.id, outlet_id=outlet.id,
                  region_id=outlet.region_id, status=EnrolmentStatus.ACTIVE, started_at=now or utcnow(),
                  current_stage=curriculum_for(cohort).stage_keys[0], completed_count=0,
                  progress_changed_at=now or utcnow())
    db.session.add(e)
    return e


def enrol_outlet(actor: Any, cohort: Cohort, outlet: Outlet) -> Enrolment:
    """Enrol the outlet's current manager in ``cohort``."""
    if not (permissions.can(actor, "cohort.enrol", cohort) and permissions.can(actor, "outlet.edit", outlet)):
        raise NotAllowed()
    if outlet.manager is None:
        raise Invalid(_("e-Warong %(code)s belum punya pengelola.", code=outlet.code))
    if outlet.region_id not in {r.id for r in cohort.regions}:
        raise Invalid(_("e-Warong %(code)s tidak berada di wilayah angkatan ini.", code=outlet.code))
    with transaction():
        existing = db.session.scalar(sa.select(Enrolment).where(
            Enrolment.cohort_id == cohort.id, Enrolment.outlet_id == outlet.id,
            Enrolment.status == EnrolmentStatus.ACTIVE))
        if existing is not None:
            return existing
        e = new_enrolment(cohort, outlet, outlet.manager)
        db.session.flush()
        refresh_progress([e])
        record("enrolment.created", actor=actor, target=e, cohort_id=cohort.id, outlet_id=outlet.id)
    return e


def enrol_all(actor: Any, cohort: Cohort) -> int:
    """Enrol every active managed outlet of the cohort's regions (within the actor's scope) not yet enrolled."""
    if not permissions.can(actor, "cohort.enrol", cohort):
        raise NotAllowed()
    with transaction():
        region_ids = [r.id for r in cohort.regions if permissions.is_admin(actor) or permissions.in_region(actor, r.id)]
        already = sa.select(Enrolment.outlet_id).where(Enrolment.cohort_id == cohort.id,
                                                       Enrolment.status == EnrolmentStatus.ACTIVE)
        outlets = list(db.session.scalars(
            sa.select(Outlet).where(Outlet.region_id.in_(region_ids or [0]), Outlet.active.is_(True),
                                    Outlet.manager_id.is_not(None), Outlet.id.not_in(already))
            .options(joinedload(Outlet.manager))))
        new = [new_enrolment(cohort, o, o.manager) for o in outlets]  # type: ignore[arg-type]
        db.session.flush()
        refresh_progress(new)
        if new:
            record("enrolment.bulk_created", actor=actor, target=cohort, count=len(new))
    return len(new)


def end_outlet_enrolments(actor: Any, outlet: Outlet) -> list[Cohort]:
    """End the outlet's active enrolments (its manager left); returns their cohorts.

    The outlet's evidence (licence, reports, …) stays with the outlet.
    """
    with transaction():
        olds = list(db.session.scalars(sa.select(Enrolment).where(
            Enrolment.outlet_id == outlet.id, Enrolment.status == EnrolmentStatus.ACTIVE)
            .options(joinedload(Enrolment.cohort))))
        for e in olds:
            e.status = EnrolmentStatus.ENDED
            e.ended_at = utcnow()
        if olds:
            db.session.flush()
            record("enrolment.ended", actor=actor, target=outlet, enrolments=[e.id for e in olds])
    return [e.cohort for e in olds]


def enrol_new_manager(actor: Any, outlet: Outlet, user: User, cohorts: list[Cohort]) -> list[Enrolment]:
    """The new manager continues the outlet's cohorts; the outlet's records count at once."""
    with transaction():
        new = [new_enrolment(c, outlet, user) for c in cohorts]
        db.session.flush()
        refresh_progress(new)
        if new:
            record("enrolment.manager_changed", actor=actor, target=outlet, new_user_id=user.id,
                   enrolments=[e.id for e in new])
    return new


def enrolment_list(actor: Any, cohort: Cohort, *, stage: str | None = None, region_id: int | None = None,
                   q: str = "", page: int = 1, per_page: int = 25,
                   status: EnrolmentStatus | None = EnrolmentStatus.ACTIVE) -> tuple[list[Enrolment], int]:
    where: list[Any] = [Enrolment.cohort_id == cohort.id,
                        permissions.outlet_scope(actor, Enrolment.outlet_id, Enrolment.region_id)]
    if status is not None:
        where.append(Enrolment.status == status)
    if stage == "done":
        where.append(Enrolment.current_stage.is_(None))
    elif stage:
        where.append(Enrolment.current_stage == stage)
    if region_id:
        where.append(Enrolment.region_id == region_id)
    base = sa.select(Enrolment).join(User, User.id == Enrolment.user_id).join(Outlet, Outlet.id == Enrolment.outlet_id)
    if q:
        where.append(contains_text(q, User.full_name, Outlet.code, Outlet.name))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.where(*where).subquery())) or 0
    rows = db.session.scalars(
        base.where(*where).options(joinedload(Enrolment.user), joinedload(Enrolment.outlet).joinedload(Outlet.kecamatan),
                                   joinedload(Enrolment.outlet).joinedload(Outlet.region))
        .order_by(Outlet.code, Enrolment.id).limit(per_page).offset((max(page, 1) - 1) * per_page)).unique().all()
    return list(rows), total


def stage_counts(actor: Any, cohort: Cohort) -> dict[str | None, int]:
    rows = db.session.execute(
        sa.select(Enrolment.current_stage, sa.func.count())
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE,
               permissions.outlet_scope(actor, Enrolment.outlet_id, Enrolment.region_id))
        .group_by(Enrolment.current_stage)).all()
    return {k: n for k, n in rows}


def cohorts_for(actor: Any) -> list[Cohort]:
    q = sa.select(Cohort).options(selectinload(Cohort.regions)).order_by(Cohort.start_date.desc(), Cohort.id.desc())
    rows = list(db.session.scalars(q))
    return [c for c in rows if permissions.can(actor, "cohort.view", c)]


def current_enrolment(user: User) -> Enrolment | None:
    """The user's active enrolment (the latest), with its cohort and its outlet with the kecamatan."""
    return db.session.scalar(built(("current_enrolment",), lambda: (
        sa.select(Enrolment)
        .where(Enrolment.user_id == sa.bindparam("user_id"), Enrolment.status == EnrolmentStatus.ACTIVE)
        .options(joinedload(Enrolment.cohort), joinedload(Enrolment.outlet).joinedload(Outlet.kecamatan))
        .order_by(Enrolment.started_at.desc()).limit(1))), {"user_id": user.id})


def outlet_enrolment(outlet_id: int) -> Enrolment | None:
    """The outlet's active enrolment (its current manager's journey), the latest when there are several."""
    return db.session.scalar(
        sa.select(Enrolment).where(Enrolment.outlet_id == outlet_id, Enrolment.status == EnrolmentStatus.ACTIVE)
        .options(joinedload(Enrolment.cohort), joinedload(Enrolment.user))
        .order_by(Enrolment.started_at.desc(), Enrolment.id.desc()).limit(1))
