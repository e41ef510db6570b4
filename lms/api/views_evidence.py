"""API operations: evidence (read; create with a multipart upload; verify or return it).

The same rulebook as the pages: ``evidence.view`` (the outlet's) for reading, and for lists the
same SQL scope as the review queue (the outlets the user may see); ``evidence.create`` on the
outlet for a new record; ``evidence.review`` (a verifier role the curriculum names, never one's
own work: four eyes) for a decision. The files are checked by content as on the forms
(lms/files.check_upload) and the records saved by the same services (lms/programme/evidence.py,
review.py): one transaction, audit entry and domain event each.
"""
from __future__ import annotations

from typing import Any, Callable

import sqlalchemy as sa
from flask import send_file, url_for
from sqlalchemy.orm import joinedload

from .. import files, permissions
from ..errors import Invalid
from ..people.auth import client_ip
from ..people.models import User
from ..places.models import Outlet
from ..programme import services as programme
from ..programme.models import (Enrolment, Evidence, EvidenceStatus, FinancialReport, Financing, Licence,
                                MarketingStep, StoredFile)
from . import present
from .auth import actor, allowed, load, not_found
from .core import bp, documented
from .paging import paginate
from .schemas import (EvidenceArgs, EvidenceDetailSchema, EvidenceList, FinancingIn, LicenceIn, MarketingIn,
                      ReportIn, ReviewIn)

#: the multipart field that carries the file, per evidence type (as on the pages' forms)
FILE_FIELD = {"licence": "scan", "marketing": "attachment", "financial_report": "attachment",
              "financing": "attachment"}

_PERSON = (User.id, User.full_name)


def _list_options(poly: Any) -> tuple[Any, ...]:
    return (joinedload(poly.outlet).load_only(Outlet.id, Outlet.code, Outlet.name),
            joinedload(poly.submitted_by).load_only(*_PERSON), joinedload(poly.reviewed_by).load_only(*_PERSON),
            joinedload(poly.file).load_only(StoredFile.id, StoredFile.content_type, StoredFile.size,
                                            StoredFile.sha256))


def _ref(user: User | None) -> dict[str, Any] | None:
    return present.person_ref(user) if user is not None else None


def _fields(ev: Evidence) -> tuple[str, dict[str, Any]]:
    if isinstance(ev, Licence):
        return "licence", {"licence_type": ev.licence_type.value, "number": ev.number, "issued_on": ev.issued_on,
                           "issuing_office": ev.issuing_office}
    if isinstance(ev, MarketingStep):
        return "marketing", {"kind": ev.kind.value, "description": ev.description, "link": ev.link}
    if isinstance(ev, FinancialReport):
        return "financial_report", {"month": ev.month.strftime("%Y-%m"), "turnover": ev.turnover,
                                    "cost_of_goods": ev.cost_of_goods, "operating_expenses": ev.operating_expenses,
                                    "profit": ev.profit, "notes": ev.notes}
    assert isinstance(ev, Financing), type(ev)
    return "financing", {"lender": ev.lender.value, "lender_name": ev.lender_name, "product": ev.product,
                         "amount_requested": ev.amount_requested, "amount_approved": ev.amount_approved,
                         "application_status": ev.application_status.value, "applied_on": ev.applied_on,
                         "decided_on": ev.decided_on, "disbursed_on": ev.disbursed_on}


def _evidence(ev: Evidence) -> dict[str, Any]:
    f = ev.file
    out: dict[str, Any] = {
        "id": ev.id, "type": ev.type, "status": ev.status.value, "stage_key": ev.stage_key,
        "outlet": present.outlet_ref(ev.outlet), "region": present.region_ref(ev.region_id),
        "submitted_by": _ref(ev.submitted_by), "submitted_at": ev.submitted_at,
        "reviewed_by": _ref(ev.reviewed_by), "reviewed_at": ev.reviewed_at, "review_comment": ev.review_comment,
        "file": {"content_type": f.content_type, "size": f.size, "sha256": f.sha256} if f is not None else None,
    }
    key, fields = _fields(ev)
    out[key] = fields
    out["created_at"], out["updated_at"] = ev.created_at, ev.updated_at
    return out


def _detail(ev: Evidence) -> dict[str, Any]:
    out = _evidence(ev)
    out["history"] = [{"decision": h.decision.value, "at": h.at, "by": _ref(h.by), "comment": h.comment}
                      for h in programme.evidence_history(ev)]
    out["review_allowed"] = allowed("evidence.review", ev)
    return out


def _stage_keys() -> set[str]:
    return {k for cur in programme.curricula().values() for k in cur.stage_keys}


@bp.route("/evidence", tags=["Evidence"])
@documented("read")
@bp.arguments(EvidenceArgs, location="query", as_kwargs=True)
@bp.response(200, EvidenceList)
def evidence_list(**args: Any):
    """Evidence the token's user may see

    The review queue's scope: the evidence of the outlets the user may see (admins all,
    coordinators their region, mentors their caseload, a manager their outlet's). `status=submitted`
    lists what waits for review; `stage` is a curriculum step key; `cohort` the evidence of the
    outlets enrolled in that cohort."""
    poly = sa.orm.with_polymorphic(Evidence, "*")
    q = sa.select(poly).where(permissions.outlet_scope(actor(), Evidence.outlet_id, Evidence.region_id))
    rid = present.region_id_of(args.get("region"))
    if rid is not None:
        q = q.where(Evidence.region_id == rid)
    kid = present.kecamatan_id_of(args.get("kecamatan"))
    if kid is not None:
        q = q.where(Evidence.outlet_id.in_(sa.select(Outlet.id).where(Outlet.kecamatan_id == kid)))
    if args.get("cohort") is not None:
        q = q.where(Evidence.outlet_id.in_(sa.select(Enrolment.outlet_id).where(Enrolment.cohort_id == args["cohort"])))
    stage = args.get("stage")
    if stage:
        if stage not in _stage_keys():
            raise present.stage_problem(stage)
        q = q.where(Evidence.stage_key == stage)
    if args.get("status"):
        q = q.where(Evidence.status == EvidenceStatus(args["status"]))
    if args.get("type"):
        q = q.where(Evidence.type == args["type"])
    if args.get("outlet") is not None:
        q = q.where(Evidence.outlet_id == args["outlet"])
    page = paginate(q, Evidence, args, options=_list_options(poly))
    return present.ok(page.body([_evidence(ev) for ev in page.items]))


@bp.route("/evidence/<int:evidence_id>", tags=["Evidence"])
@documented("read", detail=True)
@bp.response(200, EvidenceDetailSchema)
def evidence_detail(evidence_id: int):
    """One piece of evidence with its history, and whether the token's user may review it now"""
    return present.ok(_detail(load(Evidence, evidence_id, "evidence.view")))


@bp.route("/evidence/<int:evidence_id>/file", tags=["Evidence"])
@documented("read", detail=True)
@bp.doc(responses={200: {"description": "The stored file (PDF, JPEG or PNG; its type in `Content-Type`).",
                         "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                     for t in ("application/pdf", "image/jpeg", "image/png")}}})
def evidence_file(evidence_id: int):
    """The evidence's file (a licence scan, a photo of the buku kas …)

    Recorded as an access to the manager's data, as when the page serves it. 404 without a file."""
    ev = load(Evidence, evidence_id, "evidence.view")
    if ev.file is None:
        raise not_found()
    try:
        path = files.open_stored(ev.file)
    except FileNotFoundError:
        raise not_found() from None
    if not path.exists():
        raise not_found()
    from ..privacy import access

    access.record_outlet_file(actor(), ev.outlet_id, ev.created_at, f"evidence:{ev.id}")
    resp = send_file(path, mimetype=ev.file.content_type, as_attachment=True, max_age=0,
                     download_name=f"bukti-{ev.id}.{files.EXTENSIONS[ev.file.content_type]}")
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


# --- creating evidence (multipart/form-data) --------------------------------------------------------------

def _create(outlet_id: int, kind: str, body: dict[str, Any], check: Callable[[Outlet, bool], dict[str, list[str]]],
            save: Callable[[Outlet, Any], Evidence]):  # type: ignore[no-untyped-def]
    """Load the outlet (404/403 by ``evidence.create``), check the file by content and the rules together
    (every problem at once, as the form does), then save through the service."""
    outlet = load(Outlet, outlet_id, "outlet.view", "evidence.create")
    field = FILE_FIELD[kind]
    storage = body.get(field)
    upload, problems = None, {}
    if storage is not None:
        try:
            upload = files.check_upload(storage.stream, storage.filename or "", field=field)
        except Invalid as e:
            problems = dict(e.reasons)
    if problems:
        for name, messages in check(outlet, storage is not None).items():
            problems.setdefault(name, []).extend(messages)
        raise Invalid(problems)
    ev = save(outlet, upload)
    resp = present.ok(_detail(load(Evidence, ev.id, "evidence.view")), 201)
    resp.headers["Location"] = url_for("api.evidence_detail", evidence_id=ev.id, _external=True)
    return resp


@bp.route("/outlets/<int:outlet_id>/evidence/licence", methods=["POST"], tags=["Evidence"])
@documented("write:evidence", detail=True, write=True)
@bp.arguments(LicenceIn, location="multipart")
@bp.response(201, EvidenceDetailSchema)
def evidence_create_licence(body: dict[str, Any], outlet_id: int):
    """Record the outlet's business licence with its scan (sent for verification)

    Its manager, mentor, region's coordinator or an admin. NIB: 13 digits."""
    data = programme.LicenceInput(licence_type=body["licence_type"], number=body["number"],
                                  issued_on=body["issued_on"], issuing_office=body["issuing_office"])
    return _create(outlet_id, "licence", body, lambda outlet, has_file: programme.check_licence(data, has_file)[0],
                   lambda outlet, upload: programme.save_licence(actor(), outlet, data, upload, ip=client_ip()))


@bp.route("/outlets/<int:outlet_id>/evidence/marketing", methods=["POST"], tags=["Evidence"])
@documented("write:evidence", detail=True, write=True)
@bp.arguments(MarketingIn, location="multipart")
@bp.response(201, EvidenceDetailSchema)
def evidence_create_marketing(body: dict[str, Any], outlet_id: int):
    """Record a marketing step (a plan, an online shop, a bazaar …), sent for verification"""
    data = programme.MarketingInput(kind=body["kind"], description=body["description"], link=body.get("link"))
    return _create(outlet_id, "marketing", body, lambda outlet, has_file: programme.check_marketing(data)[0],
                   lambda outlet, upload: programme.save_marketing(actor(), outlet, data, upload, ip=client_ip()))


@bp.route("/outlets/<int:outlet_id>/evidence/financial-reports", methods=["POST"], tags=["Evidence"])
@documented("write:evidence", detail=True, write=True)
@bp.arguments(ReportIn, location="multipart")
@bp.response(201, EvidenceDetailSchema)
def evidence_create_report(body: dict[str, Any], outlet_id: int):
    """Record a month's financial report (one per outlet and month; not in the future)"""
    data = programme.ReportInput(month=body["month"], turnover=body["turnover"], cost_of_goods=body["cost_of_goods"],
                                 operating_expenses=body["operating_expenses"], notes=body.get("notes") or "")
    return _create(outlet_id, "financial_report", body,
                   lambda outlet, has_file: programme.check_report(outlet, data)[0],
                   lambda outlet, upload: programme.save_report(actor(), outlet, data, ip=client_ip(), upload=upload))


@bp.route("/outlets/<int:outlet_id>/evidence/financing", methods=["POST"], tags=["Evidence"])
@documented("write:evidence", detail=True, write=True)
@bp.arguments(FinancingIn, location="multipart")
@bp.response(201, EvidenceDetailSchema)
def evidence_create_financing(body: dict[str, Any], outlet_id: int):
    """Record a financing application (lender, product, amounts, status)

    Approved or disbursed applications are sent for verification; others are kept as drafts."""
    data = programme.FinancingInput(
        lender=body["lender"], lender_name=body.get("lender_name") or "", product=body["product"],
        amount_requested=body["amount_requested"], amount_approved=body.get("amount_approved"),
        application_status=body["application_status"], applied_on=body.get("applied_on"),
        decided_on=body.get("decided_on"), disbursed_on=body.get("disbursed_on"))
    return _create(outlet_id, "financing", body, lambda outlet, has_file: programme.check_financing(data)[0],
                   lambda outlet, upload: programme.save_financing(actor(), outlet, data, upload, ip=client_ip()))


# --- review ----------------------------------------------------------------------------------------------

@bp.route("/evidence/<int:evidence_id>/review", methods=["POST"], tags=["Evidence"])
@documented("review", "review.queue", detail=True, write=True)
@bp.arguments(ReviewIn, location="json")
@bp.response(200, EvidenceDetailSchema)
def evidence_review(body: dict[str, Any], evidence_id: int):
    """Verify or return submitted evidence (with a comment when returning)

    The same rules as the review page: a verifier role the curriculum names for this type, in
    scope, and never one's own work (whoever submitted, saved or changed it may not decide: 403)."""
    ev = load(Evidence, evidence_id, "evidence.view", "evidence.review")
    programme.review(actor(), ev, body["decision"], body.get("comment") or "", ip=client_ip())
    return present.ok(_detail(load(Evidence, ev.id, "evidence.view")))

