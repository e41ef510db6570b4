"""What each role's home page shows."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .. import permissions
from ..db import transaction
from ..extensions import db
from ..people.models import Role, User
from ..places.models import Outlet, Region


def set_locale(actor: User, lang: str) -> None:
    with transaction():
        actor.locale = lang


def home_context(actor: User) -> dict[str, Any]:
    ctx: dict[str, Any] = {"user": actor}
    if actor.role is Role.TRAINEE:
        from ..programme.services import current_enrolment, curriculum_for

        enrolment = current_enrolment(actor)
        ctx["outlet"] = _managed_outlet(actor, enrolment)
        ctx["enrolment"] = enrolment
        if enrolment is not None:
            cur = curriculum_for(enrolment.cohort)
            ctx["stages"] = cur.stages
            ctx["current_stage"] = cur.stage(enrolment.current_stage) if enrolment.current_stage else None
        ctx.update(trainee_guide(actor, enrolment))
        # training sessions: my upcoming sessions and the cancelled ones to tell me about
        from ..sessions.services import trainee_home

        ctx.update(trainee_home(actor))
        return ctx
    scope = permissions.outlet_scope(actor)
    outlets_by_region = db.session.execute(
        sa.select(Region.name, sa.func.count(Outlet.id))
        .join(Outlet, Outlet.region_id == Region.id)
        .where(scope, Outlet.active.is_(True))
        .group_by(Region.name, Region.code).order_by(Region.code)
    ).all()
    ctx["outlets_by_region"] = [(name, n) for name, n in outlets_by_region]
    ctx["outlet_total"] = sum(n for _, n in outlets_by_region)
    ctx["without_manager"] = db.session.scalar(
        sa.select(sa.func.count()).select_from(Outlet).where(scope, Outlet.active.is_(True), Outlet.manager_id.is_(None))) or 0
    if actor.role in (Role.COORDINATOR, Role.ADMIN):
        user_counts = db.session.execute(
            sa.select(User.role, sa.func.count()).where(permissions.user_scope(actor), User.active.is_(True))
            .group_by(User.role)
        ).all()
        ctx["user_counts"] = {role.value: n for role, n in user_counts}
    if actor.role in (Role.COORDINATOR, Role.ADMIN, Role.MENTOR):
        from ..programme.services import review_queue

        ctx["review_waiting"] = review_queue(actor, per_page=1)[1]
    return ctx


def _managed_outlet(actor: User, enrolment: Any = None) -> Outlet | None:
    """The trainee's outlet with its kecamatan (the page names it): the enrolment's outlet, loaded with it,
    when the trainee manages it (the usual case), else one statement instead of two lazy loads."""
    from sqlalchemy.orm import joinedload
    from sqlalchemy.orm.attributes import set_committed_value

    if "managed_outlet" not in sa.inspect(actor).unloaded:
        return actor.managed_outlet
    if enrolment is not None and enrolment.outlet.manager_id == actor.id:
        outlet = enrolment.outlet
    else:
        outlet = db.session.scalar(sa.select(Outlet).where(Outlet.manager_id == actor.id)
                                   .options(joinedload(Outlet.kecamatan)))
    set_committed_value(actor, "managed_outlet", outlet)
    return outlet


def trainee_guide(actor: User, enrolment: Any) -> dict[str, Any]:
    """What the trainee's home page leads with: the next step in one sentence, submissions sent back,
    their mentor and the visit action items assigned to them."""
    from flask_babel import get_locale

    from ..programme import guide
    from ..programme.services import outlet_evidence, progress_for
    from ..visits.services import current_assignment, manager_action_items, wib_today

    outlet = actor.managed_outlet
    out: dict[str, Any] = {"next": None, "returned": [], "assignment": None, "my_actions": [], "today": wib_today()}
    if enrolment is not None:
        loc = get_locale()
        evidence = outlet_evidence(enrolment.outlet_id, with_files=False)
        out["next"] = guide.next_step(enrolment, progress_for(enrolment, evidence), evidence,
                                      loc.language if loc else "id")
        out["returned"] = sorted((e for e in evidence if e.status.value == "returned"),
                                 key=lambda e: (e.reviewed_at is None, e.reviewed_at, e.id))
    if outlet is not None:
        out["assignment"] = current_assignment(outlet.id)
        out["my_actions"] = manager_action_items(actor, outlet.id)
    return out
