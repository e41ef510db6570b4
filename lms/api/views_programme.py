"""API operations: cohorts, and enrolments with their progress per stage (the programme's summary)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .. import permissions
from ..extensions import db
from ..people.models import User
from ..places.models import Kecamatan, Outlet
from ..programme import services as programme
from ..programme.models import Cohort, Enrolment, EnrolmentStage, EnrolmentStatus
from . import present
from .auth import actor, load
from .core import bp, documented
from .paging import ListArgs, paginate, paginate_rows
from .schemas import (AllEnrolmentArgs, CohortDetailSchema, CohortList, EnrolmentArgs, EnrolmentList,
                      EnrolmentSchema)


def _stages(cur: Any) -> list[dict[str, Any]]:
    lang = present.lang()
    return [{"key": s.key, "number": s.number, "name": s.name.get(lang)} for s in cur.stages]


def _cohort(c: Cohort) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "curriculum_key": c.curriculum_key, "start_date": c.start_date,
            "end_date": c.end_date, "regions": [{"code": r.code, "name": r.name} for r in c.regions],
            "stages": _stages(programme.curriculum_for(c)), "updated_at": c.updated_at}


@bp.route("/cohorts", tags=["Cohorts and enrolments"])
@documented("read", "cohorts.list")
@bp.arguments(ListArgs, location="query", as_kwargs=True)
@bp.response(200, CohortList)
def cohort_list(**args: Any):
    """Cohorts the token's user may see (as on the cohorts page)"""
    page = paginate_rows(programme.cohorts_for(actor()), args)
    return present.ok(page.body([_cohort(c) for c in page.items]))


@bp.route("/cohorts/<int:cohort_id>", tags=["Cohorts and enrolments"])
@documented("read", detail=True)
@bp.response(200, CohortDetailSchema)
def cohort_detail(cohort_id: int):
    """One cohort, with its active enrolments per current stage (those the user may see)"""
    cohort = load(Cohort, cohort_id, "cohort.view")
    counts = programme.stage_counts(actor(), cohort)
    cur = programme.curriculum_for(cohort)
    out = _cohort(cohort)
    out["stage_counts"] = ([{"stage": s.key, "count": counts.get(s.key, 0)} for s in cur.stages]
                           + [{"stage": "done", "count": counts.get(None, 0)}])
    return present.ok(out)


# --- enrolments -------------------------------------------------------------------------------------------

def _enrolment_rows() -> sa.Select[Any]:
    """The columns an enrolment's answer needs (its person's name, outlet, kecamatan and curriculum
    joined in): rows, not ORM objects, which cost more to build than the query itself."""
    return (sa.select(Enrolment.id, Enrolment.cohort_id, Enrolment.status, Enrolment.region_id, Enrolment.started_at,
                      Enrolment.ended_at, Enrolment.current_stage, Enrolment.completed_count, Enrolment.completed_at,
                      Enrolment.progress_changed_at, Enrolment.updated_at, Enrolment.user_id,
                      User.full_name.label("person_name"), Enrolment.outlet_id, Outlet.code.label("outlet_code"),
                      Outlet.name.label("outlet_name"), Kecamatan.code.label("kecamatan_code"),
                      Kecamatan.name.label("kecamatan_name"), Cohort.curriculum_key)
            .join(User, User.id == Enrolment.user_id).join(Outlet, Outlet.id == Enrolment.outlet_id)
            .join(Kecamatan, Kecamatan.id == Outlet.kecamatan_id).join(Cohort, Cohort.id == Enrolment.cohort_id))


def _stage_dates(ids: list[int]) -> dict[int, dict[str, Any]]:
    """When each enrolment completed each stage: one query for a page."""
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    if ids:
        for eid, key, at in db.session.execute(sa.select(EnrolmentStage.enrolment_id, EnrolmentStage.stage_key,
                                                         EnrolmentStage.completed_at)
                                               .where(EnrolmentStage.enrolment_id.in_(ids))):
            out[eid][key] = at
    return out


def _enrolment(e: Any, done_at: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    """An enrolment from a row of :func:`_enrolment_rows` and its stage dates; with ``progress``
    (the detail) each stage's milestones, computed now."""
    cur = programme.curricula().get(e.curriculum_key) or programme.default_curriculum()
    stages = []
    if progress is None:  # the stored summary: the first ``completed_count`` stages are done
        for i, s in enumerate(cur.stages):
            if i < e.completed_count:
                stages.append({"key": s.key, "number": s.number, "status": "done", "completed_at": done_at.get(s.key)})
            else:
                stages.append({"key": s.key, "number": s.number,
                               "status": "current" if s.key == e.current_stage else "locked", "completed_at": None})
    else:  # the detail: computed now, with each milestone
        lang = present.lang()
        for st in progress.stages:
            stages.append({"key": st.stage.key, "number": st.stage.number, "status": st.status,
                           "completed_at": done_at.get(st.stage.key) if st.status == "done" else None,
                           "milestones": [{"key": m.milestone.key, "kind": m.milestone.kind,
                                           "name": m.milestone.name.get(lang), "met": m.met, "count": m.count,
                                           "threshold": m.threshold, "evidence_state": m.evidence_state}
                                          for m in st.milestones]})
    return {"id": e.id, "cohort_id": e.cohort_id, "status": e.status.value,
            "person": {"id": e.user_id, "name": e.person_name},
            "outlet": {"id": e.outlet_id, "code": e.outlet_code, "name": e.outlet_name},
            "region": present.region_ref(e.region_id),
            "kecamatan": {"code": e.kecamatan_code, "name": e.kecamatan_name}, "started_at": e.started_at,
            "ended_at": e.ended_at, "current_stage": e.current_stage, "completed_count": e.completed_count,
            "total_stages": len(cur.stages), "completed_at": e.completed_at,
            "progress_changed_at": e.progress_changed_at, "stages": stages, "updated_at": e.updated_at}


def _enrolment_page(q: sa.Select[Any], args: dict[str, Any]):  # type: ignore[no-untyped-def]
    page = paginate(q, Enrolment, args, rows_of_columns=True)
    dates = _stage_dates([e.id for e in page.items])
    return present.ok(page.body([_enrolment(e, dates[e.id]) for e in page.items]))


def _enrolment_query(args: dict[str, Any], cohort: Cohort | None) -> sa.Select[Any]:
    q = _enrolment_rows().where(permissions.enrolment_scope(actor()))
    if cohort is not None:
        q = q.where(Enrolment.cohort_id == cohort.id)
    elif args.get("cohort") is not None:
        q = q.where(Enrolment.cohort_id == args["cohort"])
    status = args.get("status") or "active"
    q = q.where(Enrolment.status == EnrolmentStatus(status))
    rid = present.region_id_of(args.get("region"))
    if rid is not None:
        q = q.where(Enrolment.region_id == rid)
    kid = present.kecamatan_id_of(args.get("kecamatan"))
    if kid is not None:
        q = q.where(Outlet.kecamatan_id == kid)  # the outlet is joined in
    stage = args.get("stage")
    if stage:
        keys = (programme.curriculum_for(cohort) if cohort is not None else programme.default_curriculum()).stage_keys
        if stage == "done":
            q = q.where(Enrolment.current_stage.is_(None))
        elif stage in keys or cohort is None:
            q = q.where(Enrolment.current_stage == stage)
        else:
            raise present.stage_problem(stage)
    return q


@bp.route("/cohorts/<int:cohort_id>/enrolments", tags=["Cohorts and enrolments"])
@documented("read", detail=True)
@bp.arguments(EnrolmentArgs, location="query", as_kwargs=True)
@bp.response(200, EnrolmentList)
def cohort_enrolments(cohort_id: int, **args: Any):
    """A cohort's enrolments with their progress per stage and dates

    The enrolments of the cohort the token's user may see (a coordinator: their region's).
    `stage` is a stage key (the enrolments currently at it) or `done`."""
    cohort = load(Cohort, cohort_id, "cohort.view")
    return _enrolment_page(_enrolment_query(args, cohort), args)


@bp.route("/enrolments", tags=["Cohorts and enrolments"])
@documented("read")
@bp.arguments(AllEnrolmentArgs, location="query", as_kwargs=True)
@bp.response(200, EnrolmentList)
def enrolment_list(**args: Any):
    """Enrolments the token's user may see, across cohorts

    A trainee sees their own; mentors their caseload's; coordinators their region's."""
    return _enrolment_page(_enrolment_query(args, None), args)


@bp.route("/enrolments/<int:enrolment_id>", tags=["Cohorts and enrolments"])
@documented("read", detail=True)
@bp.response(200, EnrolmentSchema)
def enrolment_detail(enrolment_id: int):
    """One enrolment, its progress computed now, with each milestone"""
    e = load(Enrolment, enrolment_id, "enrolment.view")
    row = db.session.execute(_enrolment_rows().where(Enrolment.id == e.id)).one()
    return present.ok(_enrolment(row, _stage_dates([e.id])[e.id], programme.progress_for(e)))
