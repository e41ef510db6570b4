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
from flask import url_for

from .. import files, permissions
from ..errors import Invalid
from ..extensions import db
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

_SUBMITTER, _REVIEWER = sa.orm.aliased(User), sa.orm.aliased(User)
_LIC, _MKT, _REP, _FIN = (Licence.__table__, MarketingStep.__table__, FinancialReport.__table__,
                          Financing.__table__)


def _evidence_rows() -> sa.Select[Any]:
    """The columns an evidence answer needs, its type's own table, outlet, people and file joined in:
    one query of rows (ORM objects of four subclasses cost more to build than the query)."""
    E = Evidence
    return (sa.select(
        E.id, E.type, E.status, E.stage_key, E.outlet_id, E.region_id, E.submitted_at, E.reviewed_at,
        E.review_comment, E.created_at, E.updated_at, Outlet.code.label("outlet_code"),
        Outlet.name.label("outlet_name"), E.submitted_by_id, _SUBMITTER.full_name.label("submitted_by_name"),
        E.reviewed_by_id, _REVIEWER.full_name.label("reviewed_by_name"), E.file_id, StoredFile.content_type,
        StoredFile.size, StoredFile.sha256,
        _LIC.c.licence_type, _LIC.c.number, _LIC.c.issued_on, _LIC.c.issuing_office,
        _MKT.c.kind, _MKT.c.description, _MKT.c.link,
        _REP.c.month, _REP.c.turnover, _REP.c.cost_of_goods, _REP.c.operating_expenses, _REP.c.notes,
        _FIN.c.lender, _FIN.c.lender_name, _FIN.c.product, _FIN.c.amount_requested, _FIN.c.amount_approved,
        _FIN.c.application_status, _FIN.c.applied_on, _FIN.c.decided_on, _FIN.c.disbursed_on)
        .join(Outlet, Outlet.id == E.outlet_id)
        .outerjoin(_SUBMITTER, _SUBMITTER.id == E.submitted_by_id)
        .outerjoin(_REVIEWER, _REVIEWER.id == E.reviewed_by_id)
        .outerjoin(StoredFile, StoredFile.id == E.file_id)
        .outerjoin(_LIC, _LIC.c.id == E.id).outerjoin(_MKT, _MKT.c.id == E.id)
        .outerjoin(_REP, _REP.c.id == E.id).outerjoin(_FIN, _FIN.c.id == E.id))


def _fields(r: Any) -> dict[str, Any]:
    if r.type == "licence":
        return {"licence_type": r.licence_type.value, "number": r.number, "issued_on": r.issued_on,
                "issuing_office": r.issuing_office}
    if r.type == "marketing":
        return {"kind": r.kind.value, "description": r.description, "link": r.link}
    if r.type == "financial_report":
        return {"month": r.month.strftime("%Y-%m"), "turnover": r.turnover, "cost_of_goods": r.cost_of_goods,
                "operating_expenses": r.operating_expenses,
                "profit": r.turnover - r.cost_of_goods - r.operating_expenses, "notes": r.notes}
    return {"lender": r.lender.value, "lender_name": r.lender_name, "product": r.product,
            "amount_requested": r.amount_requested, "amount_approved": r.amount_approved,
            "application_status": r.application_status.value, "applied_on": r.applied_on,
            "decided_on": r.decided_on, "disbursed_on": r.disbursed_on}


def _evidence(r: Any) -> dict[str, Any]:
    """Evidence from a row of :func:`_evidence_rows`: the common fields and its type's own."""
    return {
        "id": r.id, "type": r.type, "status": r.status.value, "stage_key": r.stage_key,
        "outlet": {"id": r.outlet_id, "code": r.outlet_code, "name": r.outlet_name},
        "region": present.region_ref(r.region_id),
        "submitted_by": {"id": r.submitted_by_id, "name": r.submitted_by_name} if r.submitted_by_id else None,
        "submitted_at": r.submitted_at,
        "reviewed_by": {"id": r.reviewed_by_id, "name": r.reviewed_by_name} if r.reviewed_by_id else None,
        "reviewed_at": r.reviewed_at, "review_comment": r.review_comment,
        "file": {"content_type": r.content_type, "size": r.size, "sha256": r.sha256} if r.file_id else None,
        r.type: _fields(r), "created_at": r.created_at, "updated_at": r.updated_at,
    }


def _ref(user: User | None) -> dict[str, Any] | None:
    return present.person_ref(user) if user is not None else None


def _detail(ev: Evidence) -> dict[str, Any]:
    out = _evidence(db.session.execute(_evidence_rows().where(Evidence.id == ev.id)).one())
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
    q = _evidence_rows().where(permissions.outlet_scope(actor(), Evidence.outlet_id, Evidence.region_id))
    rid = present.region_id_of(args.get("region"))
    if rid is not None:
        q = q.where(Evidence.region_id == rid)
    kid = present.kecamatan_id_of(args.get("kecamatan"))
    if kid is not None:
        q = q.where(Outlet.kecamatan_id == kid)  # the outlet is joined in
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
    page = paginate(q, Evidence, args, rows_of_columns=True)
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
        resp = files.send(ev.file, as_attachment=True,
                          download_name=f"bukti-{ev.id}.{files.EXTENSIONS[ev.file.content_type]}")
    except FileNotFoundError:
        raise not_found() from None
    from ..privacy import access

    access.record_outlet_file(actor(), ev.outlet_id, ev.created_at, f"evidence:{ev.id}")
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

