"""What a delivery says about an event, built once with the endpoint owner's rights.

A body is thin: the object's type, id, a link to it in the JSON API (/api/v1/...), its status
and the ids and dates a receiver needs to decide whether to fetch it. Never names, contacts,
free text (comments, observations) or amounts: a receiver that wants more asks the API with a
token, under the same rulebook. Every object passes ``can(owner, "<kind>.view", obj)`` first
(otherwise the delivery is skipped and nothing is sent), and each person it names (a holder, a
mentor, a registrant) appears only when the owner may see that person (``user.view``).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Callable

from flask import current_app

from ..extensions import db
from ..outbox.models import OutboxEvent
from ..people.models import User
from ..permissions import can

#: where each kind of object lives in the JSON API (lms/api), relative to LMS_BASE_URL
API_PATHS = {
    "evidence": "/api/v1/evidence/{id}",
    "enrolment": "/api/v1/enrolments/{id}",
    "session": "/api/v1/sessions/{id}",
    "attendance": "/api/v1/sessions/{id}/attendance",
    "visit": "/api/v1/visits/{id}",
    "certificate": "/api/v1/certificates/{id}",
    "person": "/api/v1/people/{id}",
}


class Skip(Exception):
    """The owner may not see what the event is about (or it is gone): nothing is sent."""


def iso(value: datetime | date | None) -> str | None:
    """UTC ISO 8601 with a Z (dates as YYYY-MM-DD)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def api_url(kind: str, ident: int) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + API_PATHS[kind].format(id=ident)


def _person(owner: User, user_id: int | None) -> int | None:
    """The id of a person the body names, only when the owner may see that person."""
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return user_id if user is not None and can(owner, "user.view", user) else None


def _visible(owner: User, rule: str, obj: Any) -> Any:
    if obj is None:
        raise Skip("the object no longer exists")
    if not can(owner, rule, obj):
        raise Skip("the endpoint's owner may not see this object")
    return obj


def _shell(kind: str, obj_id: int, /, **fields: Any) -> dict[str, Any]:
    """The common head of every ``data``, then the fields (people the owner may not see left out)."""
    out: dict[str, Any] = {"object": kind, "id": obj_id, "url": api_url(kind, obj_id)}
    out.update({k: v for k, v in fields.items() if not (k in _PEOPLE and v is None)})
    return out


#: fields naming a person: dropped (not sent as null) when the owner may not see them
_PEOPLE = {"user_id", "holder_id", "mentor_id"}


# --- per kind of object ---------------------------------------------------------------------------

def _evidence(event: OutboxEvent, owner: User) -> dict[str, Any]:
    from ..programme.models import Evidence

    ev = _visible(owner, "evidence.view", db.session.get(Evidence, event.payload.get("evidence_id")))
    return _shell("evidence", ev.id, type=ev.type, status=ev.status.value, stage=ev.stage_key,
                  outlet_id=ev.outlet_id, region_id=ev.region_id, submitted_at=iso(ev.submitted_at),
                  reviewed_at=iso(ev.reviewed_at), updated_at=iso(ev.updated_at))


def _stage(event: OutboxEvent, owner: User) -> dict[str, Any]:
    from ..programme.models import Enrolment

    enr = _visible(owner, "enrolment.view", db.session.get(Enrolment, event.payload.get("enrolment_id")))
    stage = event.payload.get("stage_key")
    return _shell("enrolment", enr.id, stage=stage if isinstance(stage, str) else None, status=enr.status.value,
                  current_stage=enr.current_stage, completed_stages=enr.completed_count, cohort_id=enr.cohort_id,
                  outlet_id=enr.outlet_id, region_id=enr.region_id, user_id=_person(owner, enr.user_id),
                  updated_at=iso(enr.updated_at))


def _training_session(event: OutboxEvent, owner: User) -> Any:
    from ..sessions.models import TrainingSession

    return _visible(owner, "session.view", db.session.get(TrainingSession, event.payload.get("session_id")))


def _session(event: OutboxEvent, owner: User) -> dict[str, Any]:
    s = _training_session(event, owner)
    return _shell("session", s.id, status=s.status.value, stage=s.stage_key, cohort_id=s.cohort_id,
                  region_id=s.region_id, starts_at=iso(s.starts_at), ends_at=iso(s.ends_at), capacity=s.capacity,
                  seats_taken=s.seats_taken, sequence=s.sequence, updated_at=iso(s.updated_at))


def _registration(event: OutboxEvent, owner: User) -> dict[str, Any]:
    import sqlalchemy as sa

    from ..sessions.models import Registration

    s = _training_session(event, owner)
    person = _person(owner, event.payload.get("user_id"))
    if person is None:  # the event is about this person: without them there is nothing to say
        raise Skip("the endpoint's owner may not see the person registered")
    reg = db.session.scalar(sa.select(Registration).where(Registration.session_id == s.id,
                                                          Registration.user_id == person))
    if reg is None:
        raise Skip("the object no longer exists")
    data = _shell("session", s.id, status=s.status.value, region_id=s.region_id, seats_taken=s.seats_taken,
                  capacity=s.capacity)
    data["registration"] = {"id": reg.id, "user_id": person, "status": reg.status.value,
                            "updated_at": iso(reg.updated_at)}
    return data


def _attendance(event: OutboxEvent, owner: User) -> dict[str, Any]:
    s = _training_session(event, owner)
    ids = [i for i in (event.payload.get("user_ids") or []) if isinstance(i, int)]
    visible = [i for i in ids if _person(owner, i) is not None]
    return {"object": "attendance", "id": s.id, "url": api_url("attendance", s.id), "session_id": s.id,
            "region_id": s.region_id, "present_user_ids": visible}


def _visit(event: OutboxEvent, owner: User) -> dict[str, Any]:
    from ..visits.models import Visit

    v = _visible(owner, "visit.view", db.session.get(Visit, event.payload.get("visit_id")))
    return _shell("visit", v.id, kind=v.kind.value, outlet_id=v.outlet_id, region_id=v.region_id,
                  mentor_id=_person(owner, v.mentor_id), visited_at=iso(v.visited_at), stages=list(v.stages or []),
                  updated_at=iso(v.updated_at))


def _certificate(event: OutboxEvent, owner: User) -> dict[str, Any]:
    from ..certification.models import Certificate

    c = _visible(owner, "certificate.view", db.session.get(Certificate, event.payload.get("certificate_id")))
    return _shell("certificate", c.id, serial=c.serial, kind=c.kind, status=c.status.value, region_id=c.region_id,
                  holder_id=_person(owner, c.holder_id), session_id=c.session_id, enrolment_id=c.enrolment_id,
                  cohort_id=c.cohort_id, issued_at=iso(c.issued_at), revoked_at=iso(c.revoked_at),
                  updated_at=iso(c.updated_at))


def _account(event: OutboxEvent, owner: User) -> dict[str, Any]:
    u = _visible(owner, "user.view", db.session.get(User, event.payload.get("user_id")))
    return _shell("person", u.id, role=u.role.value, region_id=u.region_id, active=u.active,
                  updated_at=iso(u.updated_at))


BUILDERS: dict[str, Callable[[OutboxEvent, User], dict[str, Any]]] = {
    "evidence.submitted": _evidence, "evidence.verified": _evidence, "evidence.returned": _evidence,
    "stage.completed": _stage,
    "session.created": _session, "session.changed": _session, "session.cancelled": _session,
    "registration.confirmed": _registration, "registration.waitlisted": _registration,
    "registration.promoted": _registration, "registration.cancelled": _registration,
    "attendance.recorded": _attendance,
    "visit.logged": _visit,
    "certificate.issued": _certificate, "certificate.revoked": _certificate,
    "account.created": _account,
}


def build(event: OutboxEvent, owner: User, uid: str) -> dict[str, Any]:
    """The whole body of one delivery; raises :class:`Skip` when nothing may be sent."""
    if not owner.active:
        raise Skip("the endpoint's owner is deactivated")
    data = BUILDERS[event.name](event, owner)
    return {"id": uid, "type": event.name, "created_at": iso(event.created_at), "data": data}


def ping(endpoint_id: int, uid: str, now: datetime) -> dict[str, Any]:
    from .catalog import PING

    return {"id": uid, "type": PING, "created_at": iso(now), "data": {"object": "webhook_endpoint", "id": endpoint_id}}
