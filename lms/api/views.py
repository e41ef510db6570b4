"""API operations: reference data, outlets, people, the token itself and the dashboard's counts.
Thin: authenticate (``documented``), load and authorize through the rulebook, call the area's
service or its list scope, present. Cohorts and enrolments: views_programme.py; sessions:
views_sessions.py; certificates: views_certificates.py."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .. import permissions
from ..extensions import db
from ..people.models import Role, User
from ..places.models import Kecamatan, Outlet
from . import present
from .auth import actor, allowed, load
from .core import bp, documented
from .paging import ListArgs, paginate
from .schemas import (DashboardArgs, DashboardSchema, KecamatanArgs, KecamatanList, OutletArgs, OutletList,
                      OutletSchema, PersonArgs, PersonList, PersonSchema, RegionList, RegionSchema, TokenInfoSchema)


# --- regions and kecamatan (reference data: every token may read them) ---------------------------------

@bp.route("/regions", tags=["Reference data"])
@documented("read")
@bp.arguments(ListArgs, location="query", as_kwargs=True)
@bp.response(200, RegionList)
def region_list(**args: Any):
    """Regions (kota/kabupaten administrasi of DKI Jakarta), by BPS code"""
    rows = sorted(present.regions().values(), key=lambda r: r.code)
    return present.ok({"items": [{"code": r.code, "name": r.name} for r in rows], "next": None, "next_cursor": None})


@bp.route("/regions/<string:code>", tags=["Reference data"])
@documented("read", detail=True)
@bp.response(200, RegionSchema)
def region_detail(code: str):
    """One region"""
    r = next((r for r in present.regions().values() if r.code == code), None)
    if r is None:
        from .auth import not_found

        raise not_found()
    return present.ok({"code": r.code, "name": r.name})


@bp.route("/kecamatan", tags=["Reference data"])
@documented("read")
@bp.arguments(KecamatanArgs, location="query", as_kwargs=True)
@bp.response(200, KecamatanList)
def kecamatan_list(**args: Any):
    """Kecamatan (districts), by BPS code; filter by `region`"""
    q = sa.select(Kecamatan)
    rid = present.region_id_of(args.get("region"))
    if rid is not None:
        q = q.where(Kecamatan.region_id == rid)
    args.pop("updated_since", None)  # reference data carries no change time: the whole list is small
    page = paginate(q, Kecamatan, args)
    return present.ok(page.body([{"code": k.code, "name": k.name, "region_code": present.regions()[k.region_id].code}
                      for k in page.items]))


# --- outlets --------------------------------------------------------------------------------------------

def _outlet(o: Any) -> dict[str, Any]:
    """An outlet from a row of :func:`_outlet_rows` (the columns it needs, nothing else)."""
    out = {"id": o.id, "code": o.code, "name": o.name, "kube_name": o.kube_name, "address": o.address,
           "kelurahan": o.kelurahan, "kecamatan": {"code": o.kecamatan_code, "name": o.kecamatan_name},
           "region": present.region_ref(o.region_id), "active": o.active, "last_visit_on": o.last_visit_on,
           "manager": {"id": o.manager_id, "name": o.manager_name} if o.manager_id is not None else None,
           "created_at": o.created_at, "updated_at": o.updated_at}
    if allowed("outlet.edit", o):  # the outlet's number: for those who may change it, as on its form (the rule
        out["phone"] = o.phone     # reads the row's region_id)
    return out


def _outlet_rows() -> sa.Select[Any]:
    """The columns an outlet's answer needs, its kecamatan's and its manager's name joined in."""
    return (sa.select(Outlet.id, Outlet.code, Outlet.name, Outlet.kube_name, Outlet.address, Outlet.kelurahan,
                      Outlet.region_id, Outlet.active, Outlet.last_visit_on, Outlet.phone, Outlet.created_at,
                      Outlet.updated_at, Outlet.manager_id, Kecamatan.code.label("kecamatan_code"),
                      Kecamatan.name.label("kecamatan_name"), User.full_name.label("manager_name"))
            .join(Kecamatan, Kecamatan.id == Outlet.kecamatan_id).outerjoin(User, User.id == Outlet.manager_id))


@bp.route("/outlets", tags=["Outlets"])
@documented("read", "outlets.list")
@bp.arguments(OutletArgs, location="query", as_kwargs=True)
@bp.response(200, OutletList)
def outlet_list(**args: Any):
    """Outlets (e-Warong) the token's user may see

    The same list scope as the outlet list page: admins all, coordinators their region,
    mentors their caseload."""
    q = _outlet_rows().where(permissions.outlet_scope(actor()))
    rid = present.region_id_of(args.get("region"))
    if rid is not None:
        q = q.where(Outlet.region_id == rid)
    kid = present.kecamatan_id_of(args.get("kecamatan"))
    if kid is not None:
        q = q.where(Outlet.kecamatan_id == kid)
    if args.get("active") is not None:
        q = q.where(Outlet.active.is_(args["active"]))
    page = paginate(q, Outlet, args, rows_of_columns=True)
    return present.ok(page.body([_outlet(o) for o in page.items]))


@bp.route("/outlets/<int:outlet_id>", tags=["Outlets"])
@documented("read", detail=True)
@bp.response(200, OutletSchema)
def outlet_detail(outlet_id: int):
    """One outlet"""
    o = load(Outlet, outlet_id, "outlet.view")
    return present.ok(_outlet(db.session.execute(_outlet_rows().where(Outlet.id == o.id)).one()))


# --- people ---------------------------------------------------------------------------------------------------

def _person(u: User) -> dict[str, Any]:
    out = {"id": u.id, "name": u.full_name, "role": u.role.value, "region": present.region_ref(u.region_id),
           "active": u.active, "updated_at": u.updated_at}
    if allowed("user.edit", u):  # contacts only for those who may change them (as on the user's form)
        out["email"] = u.email
        out["phone"] = u.phone
    return out


@bp.route("/people", tags=["People"])
@documented("read", "users.list")
@bp.arguments(PersonArgs, location="query", as_kwargs=True)
@bp.response(200, PersonList)
def person_list(**args: Any):
    """People the token's user may see (limited fields)

    The user list's scope: admins everyone, coordinators the people of their region. E-mail and
    phone only for the people the token's user may edit."""
    q = sa.select(User).where(permissions.user_scope(actor()))
    rid = present.region_id_of(args.get("region"))
    if rid is not None:
        q = q.where(User.region_id == rid)
    if args.get("role"):
        q = q.where(User.role == Role(args["role"]))
    page = paginate(q, User, args)
    return present.ok(page.body([_person(u) for u in page.items]))


@bp.route("/people/<int:person_id>", tags=["People"])
@documented("read", detail=True)
@bp.response(200, PersonSchema)
def person_detail(person_id: int):
    """One person (limited fields)"""
    return present.ok(_person(load(User, person_id, "user.view")))


@bp.route("/me", tags=["People"])
@documented("read")
@bp.response(200, TokenInfoSchema)
def me():
    """The token making the request and its user"""
    from flask import g

    token = g.api_token
    return present.ok({"person": _person(actor()), "token_name": token.name, "token_prefix": token.prefix,
            "scopes": list(token.scopes or []), "expires_at": token.expires_at})


# --- the dashboard's counts -------------------------------------------------------------------------------------

@bp.route("/dashboard", tags=["Dashboard"])
@documented("read", "dashboard.view")
@bp.arguments(DashboardArgs, location="query", as_kwargs=True)
@bp.response(200, DashboardSchema)
def dashboard(**args: Any):
    """The regional dashboard's counts (the same scope as the dashboard page)

    Admins and all-DKI coordinators: all regions, or one with `region`; a regional
    coordinator: their region. Optional `kecamatan` and `cohort`."""
    from ..dashboard import scopes, services

    user = actor()
    regions = scopes.allowed_regions(user)
    kecamatan = None
    kid = present.kecamatan_id_of(args.get("kecamatan"))
    if kid is not None:
        kecamatan = db.session.get(Kecamatan, kid)
    rid = present.region_id_of(args.get("region"))
    cohort_id = args.get("cohort")
    if cohort_id is not None and cohort_id not in {c.id for c in scopes.cohort_choices(user)}:
        cohort_id = -1  # a cohort the user may not see counts nothing (as an unknown one would)
    scope = scopes.scope_for(user, regions=regions, region_id=rid, cohort_id=cohort_id, kecamatan=kecamatan)
    if rid is not None and scope.region_ids != [rid] or (kecamatan is not None and scope.kecamatan_id is None):
        scope.region_ids = []  # outside the user's regions: nothing to count
    data = services.dashboard(user, scope, present.lang())
    codes = {r.id: r.code for r in present.regions().values()}
    cov = data.coverage
    return present.ok({
        "regions": [codes[i] for i in scope.region_ids if i in codes],
        "cohort_id": args.get("cohort"), "kecamatan": args.get("kecamatan"),
        "enrolled": data.enrolled, "completed": data.done,
        "stages": [{"key": s.key, "name": str(s.name), "count": s.count} for s in data.stages],
        "stuck_days": scope.stuck_days, "stuck_total": data.stuck_total,
        "stuck_by_stage": [{"key": s.key, "name": str(s.name), "count": s.count} for s in data.stuck_by_stage],
        "coverage": {"outlets": cov.outlets, "visited_recently": cov.recent, "overdue": cov.overdue,
                     "never_visited": cov.never, "past_due_actions": cov.past_due_actions,
                     "window_days": cov.window_days, "overdue_days": cov.overdue_days},
        "sessions": {"upcoming": len(data.upcoming), "upcoming_fill_rate": data.upcoming_fill,
                     "past_attendance_rate": data.past_attendance},
        "certificates_by_month": [{"month": m.month.strftime("%Y-%m"), "count": m.count} for m in data.certificates],
        "completions_by_month": [{"month": m.month.strftime("%Y-%m"), "count": m.count} for m in data.completions],
    })


from . import (views_certificates, views_evidence, views_programme, views_sessions,  # noqa: E402,F401
               views_visits)  # (their operations)
