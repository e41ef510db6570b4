"""API operations: training sessions (list with filters, detail), one's own registration, and attendance
(read and record, for those who manage the session)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from ..errors import Invalid
from ..extensions import db
from ..people.models import User
from ..places.models import Outlet
from ..sessions import rules
from ..sessions import services as sessions
from ..sessions.models import Registration, RegistrationStatus, SessionSpeaker, TrainingSession
from . import present
from .auth import actor, load
from .core import bp, documented
from .paging import ListArgs, paginate
from .schemas import (AttendanceIn, AttendanceList, AttendanceResultSchema, RegistrationResultSchema, SessionArgs,
                      SessionDetailSchema, SessionList)

def _session_rows() -> sa.Select[Any]:
    """The columns a session's answer needs (rows: cheaper than ORM objects for a list)."""
    S = TrainingSession
    return sa.select(S.id, S.title, S.stage_key, S.cohort_id, S.region_id, S.venue_name, S.venue_address, S.starts_at,
                     S.ends_at, S.capacity, S.seats_taken, S.status, S.backdated, S.certificate_kind, S.updated_at)


def _speakers(ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """The sessions' speakers in their order: one query for a page."""
    out: dict[int, list[dict[str, str]]] = {i: [] for i in ids}
    if ids:
        sp = SessionSpeaker
        for sid, name, agency, other in db.session.execute(
                sa.select(sp.session_id, sp.name, sp.agency, sp.agency_other).where(sp.session_id.in_(ids))
                .order_by(sp.session_id, sp.position, sp.id)):
            out[sid].append({"name": name, "agency": agency.value, "agency_other": other})
    return out


def _session(s: Any, speakers: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": s.id, "title": s.title, "stage_key": s.stage_key, "cohort_id": s.cohort_id,
            "region": present.region_ref(s.region_id), "venue_name": s.venue_name, "venue_address": s.venue_address,
            "starts_at": s.starts_at, "ends_at": s.ends_at, "capacity": s.capacity, "seats_taken": s.seats_taken,
            "status": s.status.value, "backdated": s.backdated, "certificate_kind": s.certificate_kind,
            "speakers": speakers, "updated_at": s.updated_at}


@bp.route("/sessions", tags=["Training sessions"])
@documented("read", "sessions.list")
@bp.arguments(SessionArgs, location="query", as_kwargs=True)
@bp.response(200, SessionList)
def session_list(**args: Any):
    """Training sessions the token's user may see (as on the schedule)

    Filters: `region`, `cohort`, `stage`, `starts_from`, `starts_before`, `updated_since`."""
    q = _session_rows().where(rules.session_scope(actor()))
    rid = present.region_id_of(args.get("region"))
    if rid is not None:
        q = q.where(TrainingSession.region_id == rid)
    if args.get("cohort") is not None:
        q = q.where(TrainingSession.cohort_id == args["cohort"])
    if args.get("stage"):
        q = q.where(TrainingSession.stage_key == args["stage"])
    if args.get("starts_from") is not None:
        q = q.where(TrainingSession.starts_at >= args["starts_from"])
    if args.get("starts_before") is not None:
        q = q.where(TrainingSession.starts_at < args["starts_before"])
    page = paginate(q, TrainingSession, args, rows_of_columns=True)
    speakers = _speakers([r.id for r in page.items])
    return present.ok(page.body([_session(r, speakers[r.id]) for r in page.items]))


def _place(place: Any) -> dict[str, Any] | None:
    if place is None or place.status == "cancelled":
        return None
    att = place.registration.attendance
    return {"status": place.status, "waitlist_position": place.position, "attendance": att.value if att else None}


@bp.route("/sessions/<int:session_id>", tags=["Training sessions"])
@documented("read", detail=True)
@bp.response(200, SessionDetailSchema)
def session_detail(session_id: int):
    """One session, with the token user's own place in it"""
    s = load(TrainingSession, session_id, "session.view")
    out = _session(s, _speakers([s.id])[s.id])
    out["registration_open"] = sessions.registration_open(s)
    out["my_place"] = _place(sessions.place_of(actor(), s))
    return present.ok(out)


@bp.route("/sessions/<int:session_id>/registration", methods=["POST"], tags=["Training sessions"])
@documented("write:attendance", detail=True, write=True)
@bp.response(200, RegistrationResultSchema)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def session_register(session_id: int):
    """Register the token's user (a trainee) for the session

    A seat when one is free, else the waitlist; repeating it changes nothing (the same answer).
    The same service as the session page's button."""
    s = load(TrainingSession, session_id, "session.view", "session.register")
    reg = sessions.register(actor(), s)
    place = sessions.place_of(actor(), s)
    return present.ok({"session_id": s.id, "status": reg.status.value,
            "waitlist_position": place.position if place is not None else None})


@bp.route("/sessions/<int:session_id>/registration", methods=["DELETE"], tags=["Training sessions"])
@documented("write:attendance", detail=True, write=True)
@bp.response(200, RegistrationResultSchema)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def session_unregister(session_id: int):
    """Give up the token user's place (or waitlist place); the seat goes to the waitlist's first"""
    s = load(TrainingSession, session_id, "session.view", "session.register")
    sessions.unregister(actor(), s)
    return present.ok({"session_id": s.id, "status": "cancelled", "waitlist_position": None})


# --- attendance ------------------------------------------------------------------------------------------

_ATTENDANCE_LOAD = (joinedload(Registration.user).load_only(User.id, User.full_name)
                    .joinedload(User.managed_outlet).load_only(Outlet.id, Outlet.code, Outlet.name),)


def _attendance(r: Registration) -> dict[str, Any]:
    o = r.user.managed_outlet
    return {"registration_id": r.id, "person": present.person_ref(r.user),
            "outlet": present.outlet_ref(o) if o is not None else None,
            "attendance": r.attendance.value if r.attendance is not None else None,
            "marked_at": r.attendance_marked_at, "checked_in_by_qr": r.checked_in_by_qr, "updated_at": r.updated_at}


@bp.route("/sessions/<int:session_id>/attendance", tags=["Training sessions"])
@documented("read", detail=True)
@bp.arguments(ListArgs, location="query", as_kwargs=True)
@bp.response(200, AttendanceList)
def session_attendance(session_id: int, **args: Any):
    """The session's registered people and their attendance (for those who manage it)

    As the attendance page: the session's coordinator (or an admin); others who may see the
    session get 403. `attendance` is null until marked."""
    s = load(TrainingSession, session_id, "session.view", "session.manage")
    q = sa.select(Registration).where(Registration.session_id == s.id,
                                      Registration.status == RegistrationStatus.REGISTERED)
    page = paginate(q, Registration, args, options=_ATTENDANCE_LOAD)
    return present.ok(page.body([_attendance(r) for r in page.items]))


@bp.route("/sessions/<int:session_id>/attendance", methods=["POST"], tags=["Training sessions"])
@documented("write:attendance", detail=True, write=True)
@bp.arguments(AttendanceIn, location="json")
@bp.response(200, AttendanceResultSchema)
def session_attendance_record(body: dict[str, Any], session_id: int):
    """Record attendance (a coordinator of the session's region, or an admin)

    `marks` sets present/late/excused/absent for registered people (by person id; the others keep
    their marks); `all_present` marks everyone present. From 30 minutes before the start; not for a
    cancelled session. Progress (the training step) follows at once. The attendance page's service."""
    s = load(TrainingSession, session_id, "session.view", "session.manage")
    wanted = [m["person_id"] for m in body["marks"]]
    registered = dict(db.session.execute(
        sa.select(Registration.user_id, Registration.id).where(
            Registration.session_id == s.id, Registration.status == RegistrationStatus.REGISTERED,
            Registration.user_id.in_(wanted))).all()) if wanted else {}
    problems = {f"marks.{i}.person_id": [_("Orang ini tidak terdaftar di sesi ini.")]
                for i, m in enumerate(body["marks"]) if m["person_id"] not in registered}
    if problems:
        raise Invalid(problems)
    marks = {registered[m["person_id"]]: m["attendance"] for m in body["marks"]}
    changed = sessions.save_attendance(actor(), s, marks, all_present=body["all_present"])
    return present.ok({"session_id": s.id, "changed": changed})
