"""API operations: mentor visits (read; create from a mobile client with ``Idempotency-Key``).

The key is the visit's ``client_key``, the offline form's dedupe (lms/visits/recording.py): a
replay of the same request returns the first answer (201 and the same body); the same key with
another body is 422. The visit is logged by the same service as the visit form."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from .. import permissions
from ..i18n import to_wib
from ..people.auth import client_ip
from ..people.models import User
from ..places.models import Outlet
from ..visits.models import Visit
from ..visits.recording import ActionInput, VisitInput, find_by_client_key, log_visit
from . import present
from .auth import ApiProblem, actor, allowed, load
from .core import bp, documented
from .paging import paginate
from .schemas import IdempotencyHeader, VisitArgs, VisitIn, VisitList, VisitSchema

_VISIT_LOAD = (joinedload(Visit.outlet).load_only(Outlet.id, Outlet.code, Outlet.name),
               joinedload(Visit.mentor).load_only(User.id, User.full_name), selectinload(Visit.action_items))


def _visit(v: Visit) -> dict[str, Any]:
    out = {"id": v.id, "outlet": present.outlet_ref(v.outlet), "mentor": present.person_ref(v.mentor),
           "region": present.region_ref(v.region_id), "visited_at": v.visited_at,
           "duration_minutes": v.duration_minutes, "kind": v.kind.value, "stages": list(v.stages or []),
           "observations": v.observations, "next_visit_on": v.next_visit_on,
           "action_items": [{"id": a.id, "description": a.description, "owner": a.owner, "due_on": a.due_on,
                             "done": a.done_at is not None} for a in v.action_items],
           "client_key": v.client_key, "created_at": v.created_at, "updated_at": v.updated_at}
    if allowed("visit.staff_notes"):  # never for the trainee, as on the pages
        out["staff_notes"] = v.staff_notes
    return out


@bp.route("/visits", tags=["Visits"])
@documented("read")
@bp.arguments(VisitArgs, location="query", as_kwargs=True)
@bp.response(200, VisitList)
def visit_list(**args: Any):
    """Mentor visits the token's user may see

    The visits of the outlets the user may see (a mentor: also every visit they logged)."""
    q = sa.select(Visit).where(permissions.visit_scope(actor()))
    rid = present.region_id_of(args.get("region"))
    if rid is not None:
        q = q.where(Visit.region_id == rid)
    if args.get("outlet") is not None:
        q = q.where(Visit.outlet_id == args["outlet"])
    page = paginate(q, Visit, args, options=_VISIT_LOAD)
    return present.ok(page.body([_visit(v) for v in page.items]))


@bp.route("/visits/<int:visit_id>", tags=["Visits"])
@documented("read", detail=True)
@bp.response(200, VisitSchema)
def visit_detail(visit_id: int):
    """One visit"""
    return present.ok(_visit(load(Visit, visit_id, "visit.view", options=_VISIT_LOAD)))


def _same(v: Visit, body: dict[str, Any]) -> bool:
    """Is ``body`` the request that made ``v`` (the fields a retry cannot change)?"""
    return (v.outlet_id == body["outlet_id"] and v.visited_at.replace(microsecond=0)
            == body["visited_at"].replace(microsecond=0) and v.duration_minutes == body["duration_minutes"]
            and v.kind.value == body["kind"] and sorted(v.stages or []) == sorted(set(body["stages"]))
            and v.observations == body["observations"].strip())


@bp.route("/visits", methods=["POST"], tags=["Visits"])
@documented("write:visits", write=True)
@bp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@bp.arguments(VisitIn, location="json")
@bp.response(201, VisitSchema)
@bp.alt_response(404, response="NOT_FOUND")
def visit_create(body: dict[str, Any], idempotency_key: str):
    """Log a visit (a mentor, for an outlet in their caseload) with an `Idempotency-Key` header

    A replay with the same key and body returns the first answer (201, the same body); the same
    key with another body is 422 (`#problem-idempotency-mismatch`)."""
    user = actor()
    existing = find_by_client_key(idempotency_key)
    if existing is not None:
        if existing.mentor_id != user.id or not _same(existing, body):
            raise ApiProblem(422, slug="idempotency-mismatch",
                             detail=_("Idempotency-Key ini sudah dipakai untuk kunjungan lain; buat kunci baru."))
        return present.ok(_visit(load(Visit, existing.id, "visit.view", options=_VISIT_LOAD)), 201)
    outlet = load(Outlet, body["outlet_id"], "outlet.view", "visit.create")
    data = VisitInput(visited_at=to_wib(body["visited_at"]), duration_minutes=body["duration_minutes"],
                      kind=body["kind"], stages=list(body["stages"]), observations=body["observations"],
                      staff_notes=body.get("staff_notes") or "", next_visit_on=body.get("next_visit_on"),
                      actions=[ActionInput(a["description"], a["owner"], a["due_on"])
                               for a in body.get("action_items") or []],
                      client_key=idempotency_key)
    visit, _created = log_visit(user, outlet, data, ip=client_ip())
    if not _created and not _same(visit, body):  # a simultaneous request won with another body
        raise ApiProblem(422, slug="idempotency-mismatch")
    return present.ok(_visit(load(Visit, visit.id, "visit.view", options=_VISIT_LOAD)), 201)
