"""API operations: certificates (read) and the public verification (no token), as the verify page."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import request
from sqlalchemy.orm import joinedload

from .. import permissions
from ..certification import services as certification
from ..certification.models import Certificate, CertificateStatus
from ..errors import Invalid
from . import present
from .auth import ApiProblem, actor, allowed, forbidden, load
from .core import bp, documented
from .paging import paginate
from .schemas import CertificateArgs, CertificateList, CertificateSchema, VerificationSchema

_CERT_LOAD = (joinedload(Certificate.holder),)


def _certificate(c: Certificate) -> dict[str, Any]:
    return {"id": c.id, "serial": c.serial, "kind": c.kind, "status": c.status.value,
            "holder": {"id": c.holder_id, "name": c.holder_name}, "subject_type": c.subject_type,
            "subject_title": c.subject_title, "session_id": c.session_id, "enrolment_id": c.enrolment_id,
            "cohort_id": c.cohort_id, "region": present.region_ref(c.region_id), "outlet_code": c.outlet_code,
            "outlet_name": c.outlet_name, "issued_at": c.issued_at, "revoked_at": c.revoked_at,
            "replaces_id": c.replaces_id, "verify_url": certification.verify_url(c.verification_code),
            "updated_at": c.updated_at}


@bp.route("/certificates", tags=["Certificates"])
@documented("read")
@bp.arguments(CertificateArgs, location="query", as_kwargs=True)
@bp.response(200, CertificateList)
def certificate_list(**args: Any):
    """Certificates the token's user may see

    A trainee: their own; coordinators: their region's; admins: all. Mentors have none (403)."""
    if not (allowed("certificates.own") or allowed("certificates.manage")):
        raise forbidden()
    q = sa.select(Certificate).where(permissions.certificate_scope(actor()))
    rid = present.region_id_of(args.get("region"))
    if rid is not None:
        q = q.where(Certificate.region_id == rid)
    if args.get("cohort") is not None:
        q = q.where(Certificate.cohort_id == args["cohort"])
    if args.get("kind"):
        q = q.where(Certificate.kind == args["kind"])
    if args.get("status"):
        q = q.where(Certificate.status == CertificateStatus(args["status"]))
    page = paginate(q, Certificate, args)
    return present.ok(page.body([_certificate(c) for c in page.items]))


@bp.route("/certificates/<int:certificate_id>", tags=["Certificates"])
@documented("read", detail=True)
@bp.response(200, CertificateSchema)
def certificate_detail(certificate_id: int):
    """One certificate"""
    return present.ok(_certificate(load(Certificate, certificate_id, "certificate.view")))


@bp.route("/certificates/verify/<string:code>", tags=["Certificates"])
@documented(None)
@bp.response(200, VerificationSchema)
def certificate_verify(code: str):
    """Verify a certificate by the code in its QR link (public: no token)

    The same facts as the public verify page `/verify/{code}`: whether it is valid, its number,
    holder, subject and dates. 404 for an unknown code."""
    cert = certification.find_by_code(code)
    if cert is None:
        raise ApiProblem(404)
    design = certification.designs().get(cert.kind)
    dates = None
    if design is not None:
        try:
            dates = certification.subject_dates(cert) or None
        except (Invalid, KeyError, ValueError):
            dates = None
    lang = present.lang()
    replaced = cert.replaced_by
    return present.ok({"valid": cert.status is CertificateStatus.ACTIVE, "status": cert.status.value, "serial": cert.serial,
            "kind": cert.kind, "kind_name": design.label(lang) if design else cert.kind,
            "holder_name": cert.holder_name or None, "subject_title": cert.subject_title, "dates": dates,
            "issued_at": cert.issued_at, "revoked_at": cert.revoked_at,
            "replaced_by_serial": replaced.serial if replaced is not None and replaced.is_active else None})


@bp.after_request
def _verify_headers(resp):  # type: ignore[no-untyped-def]
    if request.endpoint == "api.certificate_verify":
        resp.headers["X-Robots-Tag"] = "noindex, nofollow"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cache-Control"] = "no-store"
    return resp

