"""THE rulebook: who may do what.

Every view declares its rule with :func:`rule`; a view without one is refused (deny by
default). Object rules come in pairs: ``*.view`` decides whether the object exists for
the user (404 otherwise), the action rule whether they may act on it (403 otherwise).
The list filters (``outlet_scope``, ``user_scope``) express the same ``*.view`` rules as
SQL, so a list never shows what its detail page would refuse. Templates call ``can``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import sqlalchemy as sa
from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from .people.models import Role, User
from .places.models import Outlet

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
AUTHENTICATED = "authenticated"

Actor = Any  # a User or Flask-Login's anonymous user


def _is(user: Actor, *roles: Role) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.active and user.role in roles


def is_admin(user: Actor) -> bool:
    return _is(user, Role.ADMIN)


def is_coordinator(user: Actor) -> bool:
    return _is(user, Role.COORDINATOR)


def is_staff(user: Actor) -> bool:
    return _is(user, Role.ADMIN, Role.COORDINATOR, Role.MENTOR)


def in_region(user: Actor, region_id: int | None) -> bool:
    """A coordinator or mentor's region covers ``region_id`` (a coordinator with no region covers all)."""
    if user.role is Role.COORDINATOR and user.region_id is None:
        return True
    return region_id is not None and user.region_id == region_id


# --- object rules ------------------------------------------------------------------

def _caseload_ids(user: Actor) -> sa.Select[tuple[int]]:
    from .visits.models import MentorAssignment

    return sa.select(MentorAssignment.outlet_id).where(MentorAssignment.mentor_id == user.id,
                                                       MentorAssignment.ended_at.is_(None))


def in_caseload(user: Actor, outlet_id: int) -> bool:
    """Is the outlet in the mentor's current caseload?"""
    from .extensions import db
    from .visits.models import MentorAssignment

    return db.session.scalar(sa.select(sa.literal(True)).where(
        MentorAssignment.mentor_id == user.id, MentorAssignment.outlet_id == outlet_id,
        MentorAssignment.ended_at.is_(None))) is not None


def can_view_outlet(user: Actor, outlet: Outlet) -> bool:
    """Admins: all. Coordinators: their region. Mentors: their caseload. Trainees: their own outlet."""
    if is_admin(user):
        return True
    if is_coordinator(user):
        return in_region(user, outlet.region_id)
    if _is(user, Role.MENTOR):
        return in_caseload(user, outlet.id)
    if _is(user, Role.TRAINEE):
        return outlet.manager_id == user.id
    return False


def can_edit_outlet(user: Actor, outlet: Outlet) -> bool:
    return is_admin(user) or (is_coordinator(user) and in_region(user, outlet.region_id))


def can_view_user(user: Actor, target: User) -> bool:
    if is_admin(user):
        return True
    if is_coordinator(user):
        if target.role is Role.ADMIN:
            return False
        return in_region(user, target.region_id) or target.id == user.id
    return bool(getattr(user, "is_authenticated", False)) and target.id == user.id


def can_edit_user(user: Actor, target: User) -> bool:
    if is_admin(user):
        return True
    return (is_coordinator(user) and can_view_user(user, target)
            and target.role in (Role.TRAINEE, Role.MENTOR))


def can_assign_role(user: Actor, role: Role, region_id: int | None) -> bool:
    """May ``user`` give ``role`` (in ``region_id``) to someone?"""
    if is_admin(user):
        return True
    return (is_coordinator(user) and role in (Role.TRAINEE, Role.MENTOR)
            and region_id is not None and in_region(user, region_id))


def can_administer_user(user: Actor, target: User) -> bool:
    """Deactivate/reactivate and reset passwords: admins, never on themselves."""
    return is_admin(user) and target.id != user.id


def can_create_evidence(user: Actor, outlet: Outlet) -> bool:
    """Record evidence for an outlet: its manager, its mentor, its region's coordinator, an admin."""
    return can_view_outlet(user, outlet) and outlet.active


def can_edit_evidence(user: Actor, ev: Any) -> bool:
    from .programme.models import EvidenceStatus

    if ev.status is EvidenceStatus.VERIFIED:
        # verified evidence is locked; only a coordinator (audited) may correct it
        return is_admin(user) or (is_coordinator(user) and in_region(user, ev.region_id))
    return can_create_evidence(user, ev.outlet)


def can_review_evidence(user: Actor, ev: Any) -> bool:
    """Verify or return: a verifier role the curriculum names, in scope, never one's own work.

    Four eyes: whoever submitted the evidence, or saved or changed it at any time (a mentor who
    corrected a trainee's pending licence), may not decide on it; another reviewer must.
    """
    return _may_review_but_for_own_work(user, ev) and not worked_on_evidence(user, ev)


def _may_review_but_for_own_work(user: Actor, ev: Any) -> bool:
    from .programme.models import EvidenceStatus
    from .programme.services import reviewable_types

    if not is_staff(user) or ev.status is not EvidenceStatus.SUBMITTED:
        return False
    if ev.type not in reviewable_types(user):
        return False
    return can_view_outlet(user, ev.outlet)


#: the history rows that make evidence someone's own work (decisions by a reviewer do not)
def _authoring_decisions() -> tuple[Any, ...]:
    from .programme.models import ReviewDecision

    return (ReviewDecision.SUBMITTED, ReviewDecision.SAVED, ReviewDecision.EDITED)


def worked_on_evidence(user: Actor, ev: Any) -> bool:
    """Did ``user`` submit, save or change ``ev`` (its history, or its submitter)?"""
    if getattr(user, "id", None) is None:
        return False
    if ev.submitted_by_id is not None and ev.submitted_by_id == user.id:
        return True
    return bool(worked_on_ids(user, [ev.id]))


def worked_on_ids(user: Actor, evidence_ids: list[int]) -> set[int]:
    """Which of ``evidence_ids`` ``user`` submitted, saved or changed (one query, for lists)."""
    from .extensions import db
    from .programme.models import EvidenceReview

    if getattr(user, "id", None) is None or not evidence_ids:
        return set()
    return set(db.session.scalars(sa.select(EvidenceReview.evidence_id).where(
        EvidenceReview.evidence_id.in_(evidence_ids), EvidenceReview.by_id == user.id,
        EvidenceReview.decision.in_(_authoring_decisions())).distinct()))


def review_refused_as_own_work(user: Actor, ev: Any) -> bool:
    """The reason to show on the page: ``user`` could review ``ev`` but worked on it."""
    return _may_review_but_for_own_work(user, ev) and worked_on_evidence(user, ev)


def can_view_cohort(user: Actor, cohort: Any) -> bool:
    if is_admin(user) or (is_coordinator(user) and user.region_id is None):
        return True
    return is_coordinator(user) and user.region_id in {r.id for r in cohort.regions}


def can_edit_cohort(user: Actor, cohort: Any) -> bool:
    """Name, dates and regions: admins, all-DKI coordinators, or the coordinator of a one-region cohort."""
    if is_admin(user) or (is_coordinator(user) and user.region_id is None):
        return True
    return is_coordinator(user) and [r.id for r in cohort.regions] == [user.region_id]


def can_view_enrolment(user: Actor, enrolment: Any) -> bool:
    if _is(user, Role.TRAINEE):
        return enrolment.user_id == user.id
    return can_view_outlet(user, enrolment.outlet)


# --- mentor visits ----------------------------------------------------------------------

#: days after logging (created_at) during which a mentor may still edit their own visit
VISIT_EDIT_DAYS = 7


def can_log_visit(user: Actor, outlet: Outlet) -> bool:
    """Log a visit: a mentor, for an active outlet in their current caseload."""
    return _is(user, Role.MENTOR) and outlet.active and in_caseload(user, outlet.id)


def can_view_visit(user: Actor, visit: Any) -> bool:
    """Whoever may see the outlet; a mentor also always sees the visits they logged."""
    if _is(user, Role.MENTOR) and visit.mentor_id == user.id:
        return True
    return can_view_outlet(user, visit.outlet)


def can_edit_visit(user: Actor, visit: Any, now: Any = None) -> bool:
    """The mentor who logged it, for VISIT_EDIT_DAYS after logging; then only a coordinator in region (or admin)."""
    from datetime import timedelta

    from .db import utcnow

    if is_admin(user):
        return True
    if is_coordinator(user):
        return in_region(user, visit.region_id)
    if _is(user, Role.MENTOR) and visit.mentor_id == user.id:
        return (now or utcnow()) < visit.created_at + timedelta(days=VISIT_EDIT_DAYS)
    return False


def can_mark_actions(user: Actor, visit: Any, outlet_in_caseload: bool | None = None) -> bool:
    """Mark a visit's action items done: the outlet's current mentor or the visit's author, a coordinator in region, an admin.

    ``outlet_in_caseload`` lets a page that shows many visits of one outlet ask the caseload once.
    """
    if is_admin(user):
        return True
    if is_coordinator(user):
        return in_region(user, visit.region_id)
    if _is(user, Role.MENTOR):
        if visit.mentor_id == user.id:
            return True
        return outlet_in_caseload if outlet_in_caseload is not None else in_caseload(user, visit.outlet_id)
    return False


def can_mark_action_item(user: Actor, item: Any) -> bool:
    """One action item: whoever may mark the visit's items; the outlet's manager marks the items
    assigned to them ("Pengelola" or their name, see visits.services.is_manager_task)."""
    if _is(user, Role.TRAINEE):
        from .visits.services import is_manager_task

        return item.visit.outlet.manager_id == user.id and is_manager_task(item.owner, user)
    return can_mark_actions(user, item.visit)


def can_assign_mentor(user: Actor, outlet: Outlet) -> bool:
    """Put an outlet in a mentor's caseload: coordinators in region (all-DKI: all), admins."""
    return can_edit_outlet(user, outlet)


# --- end mentor visits ------------------------------------------------------------------


# --- certificates -------------------------------------------------------------------------

def can_view_certificate(user: Actor, cert: Any) -> bool:
    """Admins: all. Coordinators: their region's. Trainees: their own. Mentors: none."""
    if is_admin(user):
        return True
    if is_coordinator(user):
        return in_region(user, cert.region_id)
    return _is(user, Role.TRAINEE) and cert.holder_id == user.id


def can_manage_certificate(user: Actor, cert: Any) -> bool:
    """Revoke and correct: admins, coordinators of the certificate's region."""
    return is_admin(user) or (is_coordinator(user) and in_region(user, cert.region_id))


def can_download_certificate(user: Actor, cert: Any) -> bool:
    """The PDF: whoever sees the certificate while it is active; once revoked, only those who manage it."""
    return can_view_certificate(user, cert) and (cert.status.value == "active" or can_manage_certificate(user, cert))


def can_certify_session(user: Actor, session: Any) -> bool:
    return is_admin(user) or (is_coordinator(user) and in_region(user, session.region_id))


def can_certify_enrolment(user: Actor, enrolment: Any) -> bool:
    return is_admin(user) or (is_coordinator(user) and in_region(user, enrolment.region_id))


def can_certify_cohort(user: Actor, cohort: Any) -> bool:
    return _is(user, Role.ADMIN, Role.COORDINATOR) and can_view_cohort(user, cohort)


def can_view_certificate_job(user: Actor, job: Any) -> bool:
    """A bulk run: admins; the coordinator who started it; coordinators of its region (all-DKI runs: all-DKI coordinators)."""
    if is_admin(user):
        return True
    if not is_coordinator(user):
        return False
    if job.created_by_id == user.id:
        return True
    return user.region_id is None if job.region_id is None else in_region(user, job.region_id)


def certificate_scope(user: Actor) -> sa.ColumnElement[bool]:
    """``can_view_certificate`` as SQL."""
    from .certification.models import Certificate

    if is_admin(user):
        return sa.true()
    if is_coordinator(user):
        return sa.true() if user.region_id is None else Certificate.region_id == user.region_id
    if _is(user, Role.TRAINEE):
        return Certificate.holder_id == user.id
    return sa.false()


# --- end certificates ---------------------------------------------------------------------


# --- training sessions ------------------------------------------------------------------

def _sessions():  # type: ignore[no-untyped-def]
    """The session rules (lms/sessions/rules.py), imported late: they need the session models."""
    from .sessions import rules

    return rules


# --- end training sessions --------------------------------------------------------------


# --- session feedback and knowledge tests (the rules: lms/feedback/rules.py) ---------------

def _feedback():  # type: ignore[no-untyped-def]
    from .feedback import rules

    return rules


# --- end session feedback ------------------------------------------------------------------


def _privacy():  # type: ignore[no-untyped-def]
    from .privacy import rules

    return rules


RULES: dict[str, Callable[..., bool]] = {
    AUTHENTICATED: lambda u, obj=None: bool(getattr(u, "is_authenticated", False)) and u.active,
    "users.list": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "users.create": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "user.view": lambda u, obj: can_view_user(u, obj),
    "user.edit": lambda u, obj: can_edit_user(u, obj),
    "user.administer": lambda u, obj: can_administer_user(u, obj),
    #: second factor: staff may have one (mentors) or must (coordinators, admins); admins reset other staff's
    "account.two_factor": lambda u, obj=None: _is(u, Role.MENTOR, Role.COORDINATOR, Role.ADMIN),
    "user.reset_2fa": lambda u, obj: can_administer_user(u, obj) and obj.role is not Role.TRAINEE,
    "outlets.list": lambda u, obj=None: is_staff(u),
    "outlets.create": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "outlet.view": lambda u, obj: can_view_outlet(u, obj),
    "outlet.edit": lambda u, obj: can_edit_outlet(u, obj),
    "audit.view": lambda u, obj=None: is_admin(u),
    # the regional dashboard and its drill-down list (a coordinator's is their region's)
    "dashboard.view": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    # the 7 PAS journey
    "progress.own": lambda u, obj=None: _is(u, Role.TRAINEE),
    "evidence.create": lambda u, obj: can_create_evidence(u, obj),
    "evidence.view": lambda u, obj: can_view_outlet(u, obj.outlet),
    "evidence.edit": lambda u, obj: can_edit_evidence(u, obj),
    "evidence.review": lambda u, obj: can_review_evidence(u, obj),
    "review.queue": lambda u, obj=None: is_staff(u),
    "cohorts.list": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "cohorts.create": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "cohort.view": lambda u, obj: can_view_cohort(u, obj),
    "cohort.edit": lambda u, obj: can_edit_cohort(u, obj),
    "cohort.enrol": lambda u, obj: can_view_cohort(u, obj),
    "enrolment.view": lambda u, obj: can_view_enrolment(u, obj),
    # mentor visits
    "caseload.own": lambda u, obj=None: _is(u, Role.MENTOR),
    "caseloads.manage": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "outlet.assign_mentor": lambda u, obj: can_assign_mentor(u, obj),
    "visits.log": lambda u, obj=None: _is(u, Role.MENTOR),
    "visits.offline": lambda u, obj=None: is_staff(u),
    "visit.create": lambda u, obj: can_log_visit(u, obj),
    "visit.view": lambda u, obj: can_view_visit(u, obj),
    "visit.edit": lambda u, obj: can_edit_visit(u, obj),
    "visit.staff_notes": lambda u, obj=None: is_staff(u),
    "visit.actions": lambda u, obj: can_mark_actions(u, obj),
    "action_item.mark": lambda u, obj: can_mark_action_item(u, obj),
    "visits.mine": lambda u, obj=None: _is(u, Role.TRAINEE),
    "visits.dashboard": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "visits.export": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    # end mentor visits
    # certificates
    "certificates.own": lambda u, obj=None: _is(u, Role.TRAINEE),
    "certificates.manage": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "certificate.view": lambda u, obj: can_view_certificate(u, obj),
    "certificate.manage": lambda u, obj: can_manage_certificate(u, obj),
    "certificate.download": lambda u, obj: can_download_certificate(u, obj),
    "certificates.session": lambda u, obj: can_certify_session(u, obj),
    "certificates.enrolment": lambda u, obj: can_certify_enrolment(u, obj),
    "certificates.cohort": lambda u, obj: can_certify_cohort(u, obj),
    "certificate_job.view": lambda u, obj: can_view_certificate_job(u, obj),
    #: the designs' logos, signatories and stamp (lms/certification/branding.py): admins only
    "certificates.branding": lambda u, obj=None: is_admin(u),
    # end certificates
    # training sessions (the rules themselves: lms/sessions/rules.py)
    "sessions.list": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR, Role.MENTOR, Role.TRAINEE),
    "sessions.create": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "session.view": lambda u, obj: _sessions().can_view_session(u, obj),
    "session.manage": lambda u, obj: _sessions().can_manage_session(u, obj),
    "session.register": lambda u, obj: _sessions().can_register(u, obj),
    "calendar.feed": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR, Role.MENTOR, Role.TRAINEE),
    # end training sessions
    # session feedback and pre/post tests (lms/feedback/rules.py); each after "session.view" (404)
    "session.feedback": lambda u, obj: _feedback().attended(u, obj),
    "session.pretest": lambda u, obj: _feedback().registered(u, obj),
    "session.posttest": lambda u, obj: _feedback().attended(u, obj),
    "session.feedback_report": lambda u, obj: _feedback().can_read_report(u, obj),
    "feedback.overview": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    # end session feedback
    # exports (lms/reports) and the audit log viewer ("audit.view" above)
    "exports.download": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    # end exports
    # spreadsheet import of outlets and managers (lms/imports; the region rules are in its service)
    "outlets.import": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    # end spreadsheet import
    # notifications (lms/notifications): the outbox of messages, and messages to groups
    "notifications.outbox": lambda u, obj=None: is_admin(u),
    "broadcast.send": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    # end notifications
    # personal data (lms/privacy/rules.py)
    "privacy.own": lambda u, obj=None: bool(getattr(u, "is_authenticated", False)) and u.active,
    "privacy.requests": lambda u, obj=None: _is(u, Role.ADMIN, Role.COORDINATOR),
    "privacy.request.view": lambda u, obj: _privacy().can_view_request(u, obj),
    "privacy.request.handle": lambda u, obj: _privacy().can_handle_request(u, obj),
    "privacy.admin": lambda u, obj=None: is_admin(u),
    # end personal data
    # the JSON API (lms/api): who may make personal access tokens (the scopes per role: lms/api/tokens.py)
    "api.tokens": lambda u, obj=None: _is(u, Role.TRAINEE, Role.MENTOR, Role.COORDINATOR, Role.ADMIN),
    # webhooks (lms/webhooks): endpoints, their secrets and deliveries
    "webhooks.manage": lambda u, obj=None: is_admin(u),
}


def can(user: Actor, action: str, obj: Any = None) -> bool:
    if action == PUBLIC:
        return True
    check = RULES.get(action)
    if check is None:
        raise KeyError(f"no rule named {action!r}")
    if not (getattr(user, "is_authenticated", False) and user.active):
        return False
    return bool(check(user, obj) if obj is not None else check(user))


def allowed(action: str, obj: Any = None) -> bool:
    """``can`` for the signed-in user (views)."""
    return can(current_user, action, obj)


# --- list filters: the same rules as SQL -----------------------------------------------

def outlet_scope(user: Actor, outlet_id: Any = None, region_id: Any = None) -> sa.ColumnElement[bool]:
    """``can_view_outlet`` as SQL. Pass other columns to filter rows that carry an outlet id and region id."""
    outlet_id = Outlet.id if outlet_id is None else outlet_id
    region_id = Outlet.region_id if region_id is None else region_id
    if is_admin(user):
        return sa.true()
    if is_coordinator(user):
        return sa.true() if user.region_id is None else region_id == user.region_id
    if _is(user, Role.MENTOR):
        return outlet_id.in_(_caseload_ids(user))
    if _is(user, Role.TRAINEE):
        return outlet_id.in_(sa.select(Outlet.id).where(Outlet.manager_id == user.id))
    return sa.false()


def enrolment_scope(user: Actor) -> sa.ColumnElement[bool]:
    """``can_view_enrolment`` as SQL: a trainee's own enrolments; staff, the outlets they may see."""
    from .programme.models import Enrolment

    if _is(user, Role.TRAINEE):
        return Enrolment.user_id == user.id
    return outlet_scope(user, Enrolment.outlet_id, Enrolment.region_id)


def visit_scope(user: Actor) -> sa.ColumnElement[bool]:
    """``can_view_visit`` as SQL: the visits of the outlets the user may see; a mentor's own too."""
    from .visits.models import Visit

    seen = outlet_scope(user, Visit.outlet_id, Visit.region_id)
    return sa.or_(seen, Visit.mentor_id == user.id) if _is(user, Role.MENTOR) else seen


def user_scope(user: Actor) -> sa.ColumnElement[bool]:
    if is_admin(user):
        return sa.true()
    if is_coordinator(user):
        not_admin = User.role != Role.ADMIN
        if user.region_id is None:
            return not_admin
        return sa.and_(not_admin, sa.or_(User.region_id == user.region_id, User.id == user.id))
    if getattr(user, "is_authenticated", False):
        return User.id == user.id
    return sa.false()


def region_choices_for(user: Actor) -> sa.ColumnElement[bool]:
    """Regions a user may pick in filters and forms."""
    from .places.models import Region

    if is_admin(user) or (is_coordinator(user) and user.region_id is None):
        return sa.true()
    return Region.id == user.region_id


# --- views ----------------------------------------------------------------------------

def rule(action: str) -> Callable[[F], F]:
    """Declare the rule a view needs. Anonymous users are sent to sign in; others get 403."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if action != PUBLIC:
                if not getattr(current_user, "is_authenticated", False):
                    return redirect(url_for("people.login", next=request.full_path.rstrip("?")))
                if not can(current_user, action):
                    abort(403)
            return view(*args, **kwargs)

        wrapped._lms_rule = action  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def authorize(obj: Any, view_action: str, action: str | None = None) -> Any:
    """404 when the current user may not see ``obj``; 403 when they may see but not ``action`` it."""
    if obj is None or not can(current_user, view_action, obj):
        abort(404)
    if action is not None and not can(current_user, action, obj):
        abort(403)
    return obj


def load(model: type, ident: Any, view_action: str, action: str | None = None) -> Any:
    from .extensions import db

    from .forms_common import int_or_none

    pk = int_or_none(ident)  # None for non-numbers and for numbers too large for the database
    obj = db.session.get(model, pk) if pk is not None else None
    return authorize(obj, view_action, action)


def init_app(app: Flask) -> None:
    @app.before_request
    def _deny_undeclared() -> None:
        endpoint = request.endpoint
        if endpoint is None or endpoint == "static":
            return
        view = current_app.view_functions.get(endpoint)
        if view is not None and not hasattr(view, "_lms_rule"):
            current_app.logger.error("view %s declares no permission rule; refused", endpoint)
            abort(403)

    @app.context_processor
    def _inject() -> dict[str, Any]:
        from .nav import nav_links
        from .people.forms import ROLE_LABELS

        # the user behind the proxy, resolved once per render: a page asks ``can`` some fifty times
        # (the menu), and each attribute read through the proxy costs a Flask-Login lookup
        user = current_user._get_current_object()  # type: ignore[attr-defined]
        return {"can": lambda action, obj=None: can(user, action, obj), "Role": Role,
                "nav_links": lambda: nav_links(user),
                "role_label": lambda role: ROLE_LABELS[getattr(role, "value", role)]}


class _SystemActor:
    """The actor for CLI commands and background jobs run by the operator: full rights, no user row."""

    id = None
    is_authenticated = True
    is_anonymous = False
    active = True
    role = Role.ADMIN
    region_id = None
    full_name = "system"

    def __repr__(self) -> str:
        return "<SystemActor>"


SYSTEM = _SystemActor()
