"""Issuing: serial numbers and verification codes, the dates as printed, issuing one certificate, revoking and correcting.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any, NamedTuple
import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from .. import outbox
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotFound
from ..extensions import db
from ..i18n import to_wib
from ..people.models import User
from ..places.models import Outlet
from ..programme.models import Enrolment
from ..sessions.models import Registration, TrainingSession
from .designs import Design
from .models import Certificate, CertificateCounter, CertificateStatus
from .branding import newest_id as branding_newest_id
from .eligibility import CERT_LOCALE, NBSP, _require, design_for, enrolment_reason, session_reason


# --- numbers and codes -------------------------------------------------------------------------

def _insert_ignore(table: Any, values: dict[str, Any]) -> Any:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).values(**values).on_conflict_do_nothing()


def next_number(kind: str, year: int) -> int:
    """Take the next number of (kind, year) inside the caller's transaction (row-locked until commit)."""
    db.session.execute(_insert_ignore(CertificateCounter.__table__, {"kind": kind, "year": year, "last_number": 0}))
    number = db.session.execute(
        sa.update(CertificateCounter).where(CertificateCounter.kind == kind, CertificateCounter.year == year)
        .values(last_number=CertificateCounter.last_number + 1).returning(CertificateCounter.last_number)
        .execution_options(synchronize_session=False)).scalar_one()
    return int(number)


def format_serial(prefix: str, year: int, number: int) -> str:
    return f"{prefix}/{year}/{number:06d}"


def new_verification_code() -> str:
    """192 random bits, URL-safe; never derived from ids or serials."""
    return secrets.token_urlsafe(24)


def verify_url(code: str) -> str:
    """The absolute URL in the QR code: from BASE_URL (LMS_BASE_URL), never from the request's Host."""
    return current_app.config["BASE_URL"].rstrip("/") + "/verify/" + code


# --- dates as printed ------------------------------------------------------------------------------

def _long_date(d: date) -> str:
    return format_date(d, "d MMMM y", locale=CERT_LOCALE).replace(" ", NBSP)


def date_range(start: datetime | date, end: datetime | date) -> str:
    """10 April 2018; 10–11 April 2018; 30 April – 2 Mei 2018 (WIB)."""
    s = to_wib(start).date() if isinstance(start, datetime) else start
    e = to_wib(end).date() if isinstance(end, datetime) else end
    if s == e:
        return _long_date(s)
    if (s.year, s.month) == (e.year, e.month):
        return f"{s.day}–{_long_date(e)}"
    if s.year == e.year:
        return format_date(s, "d MMMM", locale=CERT_LOCALE).replace(" ", NBSP) + " – " + _long_date(e)
    return _long_date(s) + " – " + _long_date(e)


# --- issuing ---------------------------------------------------------------------------------------

class IssueResult(NamedTuple):
    certificate: Certificate
    #: False when an active certificate already existed (nothing was written)
    created: bool


def _existing(kind: str, holder_id: int, subject_key: str) -> Certificate | None:
    return db.session.scalar(sa.select(Certificate).where(
        Certificate.kind == kind, Certificate.holder_id == holder_id, Certificate.subject_key == subject_key,
        Certificate.status == CertificateStatus.ACTIVE))


def _create(actor: Any, design: Design, *, holder: User, holder_name: str, subject_key: str, subject_type: str,
            region_id: int, outlet: Outlet | None, subject_title: str, details: dict[str, Any],
            session_id: int | None = None, enrolment_id: int | None = None, cohort_id: int | None = None,
            issued_at: datetime | None = None, replaces: Certificate | None = None, ip: str | None = None) -> Certificate:
    """Write a new certificate (inside the caller's transaction; the counter row stays locked until commit)."""
    issued_at = issued_at or utcnow()
    year = to_wib(issued_at).year
    number = next_number(design.kind, year)
    cert = Certificate(
        kind=design.kind, design=design.key, serial=format_serial(design.serial_prefix, year, number), year=year,
        number=number, verification_code=new_verification_code(), status=CertificateStatus.ACTIVE,
        holder_id=holder.id, holder_name=holder_name, subject_type=subject_type, subject_key=subject_key,
        session_id=session_id, enrolment_id=enrolment_id, cohort_id=cohort_id, region_id=region_id,
        outlet_id=outlet.id if outlet else None, outlet_name=outlet.name if outlet else "",
        outlet_code=outlet.code if outlet else "", subject_title=subject_title, details=details,
        issued_at=issued_at, issued_by_id=getattr(actor, "id", None), replaces_id=replaces.id if replaces else None,
        branding_id=branding_newest_id(design.key))  # the design's branding as it is now, kept for good
    db.session.add(cert)
    db.session.flush()
    from ..credentials.status import assign_status_index  # its random bit in the published revocation list

    assign_status_index(cert.id)
    record("certificate.issued", actor=actor, target=cert, ip=ip, serial=cert.serial, kind=cert.kind,
           holder_id=holder.id, subject=subject_key, replaces=replaces.serial if replaces else None)
    outbox.announce("certificate.issued", {"certificate_id": cert.id}, actor=actor)
    return cert


def _session_facts(session: TrainingSession) -> tuple[str, dict[str, Any]]:
    from ..programme.services import curriculum_for

    from ..sessions.organisers import organisers_of

    details = {"starts_at": session.starts_at.isoformat(), "ends_at": session.ends_at.isoformat(),
               "venue": session.venue_name, "region": session.region.name if session.region else "",
               "cohort": session.cohort.name, "programme": curriculum_for(session.cohort).name.id,
               # "diselenggarakan oleh": the session's co-hosting agencies, else its speakers' agencies
               "organisers": organisers_of(session)}
    return session.title, details


def _enrolment_facts(enrolment: Enrolment) -> tuple[str, dict[str, Any]]:
    from ..programme.services import curriculum_for

    cohort = enrolment.cohort
    curriculum = curriculum_for(cohort)
    programme = curriculum.name.id
    details = {"cohort": cohort.name, "programme": programme, "partners": list(curriculum.partners),
               "cohort_start": cohort.start_date.isoformat(),
               "cohort_end": cohort.end_date.isoformat(),
               "completed_at": enrolment.completed_at.isoformat() if enrolment.completed_at else None}
    return programme, details


def _issue_guarded(create: Any, kind: str, holder_id: int, subject_key: str) -> IssueResult:
    """Return the active certificate if there is one, else create one; a lost race returns the winner's."""
    existing = _existing(kind, holder_id, subject_key)
    if existing is not None:
        return IssueResult(existing, False)
    try:
        with transaction():
            # re-check under the write lock (SQLite) / after the counter row lock (PostgreSQL)
            existing = _existing(kind, holder_id, subject_key)
            if existing is not None:
                return IssueResult(existing, False)
            cert = create()
        return IssueResult(cert, True)
    except IntegrityError:
        # another coordinator issued the same certificate at the same moment
        existing = _existing(kind, holder_id, subject_key)
        if existing is None:
            raise
        return IssueResult(existing, False)


def attendee(session: TrainingSession, user_id: int | None) -> User:
    """A user registered for ``session`` (whatever their attendance); NotFound otherwise."""
    user = db.session.scalar(sa.select(User).join(Registration, Registration.user_id == User.id).where(
        Registration.session_id == session.id, User.id == user_id)) if user_id is not None else None
    if user is None:
        raise NotFound("not registered for this session")
    return user


def issue_for_session(actor: Any, design: Design, session: TrainingSession, holder: User, *,
                      issued_at: datetime | None = None, ip: str | None = None) -> IssueResult:
    """Issue ``design``'s certificate to ``holder`` for attending ``session``. Invalid names the reason."""
    _require(actor, "certificates.session", session)
    reg = db.session.scalar(sa.select(Registration).where(Registration.session_id == session.id,
                                                          Registration.user_id == holder.id))
    reason = session_reason(design, session, reg)
    if reason:
        raise Invalid(reason)
    subject_key = f"session:{session.id}"

    def create() -> Certificate:
        title, details = _session_facts(session)
        return _create(actor, design, holder=holder, holder_name=holder.full_name, subject_key=subject_key,
                       subject_type="session", region_id=session.region_id, outlet=holder.managed_outlet,
                       subject_title=title, details=details, session_id=session.id, cohort_id=session.cohort_id,
                       issued_at=issued_at, ip=ip)

    return _issue_guarded(create, design.kind, holder.id, subject_key)


def issue_for_enrolment(actor: Any, design: Design, enrolment: Enrolment, *, issued_at: datetime | None = None,
                        ip: str | None = None) -> IssueResult:
    """Issue ``design``'s certificate for ``enrolment`` (e.g. completing all seven steps)."""
    _require(actor, "certificates.enrolment", enrolment)
    reason = enrolment_reason(design, enrolment)
    if reason:
        raise Invalid(reason)
    subject_key = f"enrolment:{enrolment.id}"

    def create() -> Certificate:
        title, details = _enrolment_facts(enrolment)
        return _create(actor, design, holder=enrolment.user, holder_name=enrolment.user.full_name,
                       subject_key=subject_key, subject_type="enrolment", region_id=enrolment.region_id,
                       outlet=enrolment.outlet, subject_title=title, details=details, enrolment_id=enrolment.id,
                       cohort_id=enrolment.cohort_id, issued_at=issued_at, ip=ip)

    return _issue_guarded(create, design.kind, enrolment.user_id, subject_key)


# --- revoking and correcting -------------------------------------------------------------------------

def _clean_text(value: str, field: str, minimum: int, maximum: int, label: str) -> str:
    text = " ".join((value or "").split())
    if len(text) < minimum:
        raise Invalid({field: [_("%(label)s minimal %(n)d karakter.", label=label, n=minimum)]})
    if len(text) > maximum:
        raise Invalid({field: [_("%(label)s maksimal %(n)d karakter.", label=label, n=maximum)]})
    return text


def _revoke(actor: Any, cert: Certificate, reason: str, ip: str | None) -> None:
    if not cert.is_active:
        raise Invalid({"reason": [_("Sertifikat ini sudah dicabut.")]})
    cert.status = CertificateStatus.REVOKED
    cert.revoked_at = utcnow()
    cert.revoked_by_id = getattr(actor, "id", None)
    cert.revocation_reason = reason
    db.session.flush()
    record("certificate.revoked", actor=actor, target=cert, ip=ip, serial=cert.serial, reason=reason)
    outbox.announce("certificate.revoked", {"certificate_id": cert.id}, actor=actor)


def revoke(actor: Any, cert: Certificate, reason: str, ip: str | None = None) -> Certificate:
    """Revoke at once; the verify page shows it revoked from now on."""
    _require(actor, "certificate.manage", cert)
    reason = _clean_text(reason, "reason", 5, 500, _("Alasan"))
    with transaction():
        db.session.refresh(cert)
        _revoke(actor, cert, reason, ip)
    return cert


def correct_name(actor: Any, cert: Certificate, new_name: str, ip: str | None = None) -> Certificate:
    """A misspelt name: revoke ``cert`` and issue a new certificate with ``new_name``, linked to it."""
    _require(actor, "certificate.manage", cert)
    new_name = _clean_text(new_name, "full_name", 2, 160, _("Nama"))
    if new_name == cert.holder_name:
        raise Invalid({"full_name": [_("Nama baru sama dengan nama di sertifikat.")]})
    design = design_for(cert.kind)
    with transaction():
        db.session.refresh(cert)
        _revoke(actor, cert, _("Koreksi nama: %(old)s → %(new)s", old=cert.holder_name, new=new_name), ip)
        new = _create(actor, design, holder=cert.holder, holder_name=new_name, subject_key=cert.subject_key,
                      subject_type=cert.subject_type, region_id=cert.region_id, outlet=None,
                      subject_title=cert.subject_title, details=dict(cert.details or {}), session_id=cert.session_id,
                      enrolment_id=cert.enrolment_id, cohort_id=cert.cohort_id, replaces=cert, ip=ip)
        # the outlet as printed on the original (the manager may have moved since)
        new.outlet_id, new.outlet_name, new.outlet_code = cert.outlet_id, cert.outlet_name, cert.outlet_code
    return new
