"""Certificates: eligibility, issuing, revoking, correcting, bulk runs, storage and verification.

Every function takes the acting user explicitly and writes in one transaction. Which kinds
of certificate exist and who is eligible comes from the designs (certificates/*/metadata.yaml,
see designs.py); the code knows only the two subjects (a session, an enrolment).

Numbers: a serial is ``<PREFIX>/<year>/<number>``, the number taken from a counter row per
(kind, year) with an atomic ``UPDATE … RETURNING`` inside the issuing transaction, so two
coordinators issuing at the same moment never get the same number (and a rolled-back issue
leaves no gap). A partial unique index allows one active certificate per kind, holder and
subject; issuing again returns the certificate that exists.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import permissions
from .. import outbox
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed, NotFound
from ..extensions import db
from ..i18n import to_wib
from ..people.models import User
from ..places.models import Outlet
from ..programme.models import Cohort, Enrolment, EnrolmentStatus
from ..sessions.models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .designs import Design
from .models import (Certificate, CertificateCounter, CertificateJob, CertificateJobItem, CertificateStatus,
                     JobItemStatus)

#: the certificate's own language (the UI may be English; the certificate is not)
CERT_LOCALE = "id"
NBSP = "\u00a0"
#: a verification code as made by secrets.token_urlsafe (anything else is not looked up)
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

ATTENDANCE_LABELS = {
    Attendance.PRESENT: _l("hadir"),
    Attendance.LATE: _l("terlambat"),
    Attendance.EXCUSED: _l("izin"),
    Attendance.ABSENT: _l("tidak hadir"),
}


# --- designs ---------------------------------------------------------------------------------

def designs() -> dict[str, Design]:
    return current_app.extensions["lms.certificate_designs"]


def design_for(kind: str | None) -> Design:
    d = designs().get(kind or "")
    if d is None:
        raise NotFound(f"no certificate design of kind {kind!r}")
    return d


def designs_for(subject: str) -> list[Design]:
    return [d for d in designs().values() if d.subject == subject]


def _require(actor: Any, action: str, obj: Any) -> None:
    if not permissions.can(actor, action, obj):
        raise NotAllowed(action)


# --- eligibility ------------------------------------------------------------------------------

@dataclass
class Candidate:
    """Someone a certificate could be issued to, with the verdict and the reason when not eligible."""

    holder: User
    subject_id: int
    outlet: Outlet | None
    eligible: bool
    reason: str | None
    #: the holder's active certificate of this kind for this subject, if any
    certificate: Certificate | None = None
    #: a short fact for the list: attendance, or "4/7 langkah"
    status_label: str = ""
    registration: Registration | None = None
    enrolment: Enrolment | None = None

    @property
    def issued(self) -> bool:
        return self.certificate is not None


def session_problem(design: Design, session: TrainingSession) -> str | None:
    """Why nobody earns ``design``'s certificate for ``session``, in words a coordinator can act on (None: the
    session gives it). The rule is data: the design's ``session_stages`` and the session's chosen design."""
    from ..sessions import services as sessions

    if design.subject != "session":
        return _("Sertifikat ini bukan untuk sesi pelatihan.")
    if session.status is SessionStatus.CANCELLED:
        return _("Sesi ini dibatalkan.")
    label = design.label(_lang())
    if design.session_stages and session.stage_key not in design.session_stages:
        return _("Sesi ini untuk tahap %(stage)s; desain “%(design)s” hanya untuk sesi %(stages)s. "
                 "Ubah desain sertifikat sesi ini di halaman Ubah sesi.",
                 stage=sessions.stage_label(session.cohort, session.stage_key), design=label,
                 stages=sessions.stages_text(design, session.cohort))
    if session.certificate_kind is None:
        return _("Sesi ini diatur tanpa sertifikat. Pilih desain sertifikat di halaman Ubah sesi.")
    if session.certificate_kind != design.kind:
        return _("Sesi ini memberikan “%(chosen)s”, bukan “%(design)s”. Ubah desain sertifikat sesi ini di "
                 "halaman Ubah sesi.", chosen=sessions.certificate_label(session.certificate_kind), design=label)
    return None


def _lang() -> str:
    from flask_babel import get_locale

    try:
        loc = get_locale()
    except RuntimeError:  # outside a request (CLI, worker)
        return CERT_LOCALE
    return loc.language if loc else CERT_LOCALE


_UNKNOWN: Any = object()


def session_reason(design: Design, session: TrainingSession, registration: Registration | None,
                   now: datetime | None = None, post_test: Any = _UNKNOWN) -> str | None:
    """Why ``registration`` earns no certificate of ``design`` for ``session`` (None: eligible).
    ``post_test``: the holder's finished post-test (or None), when the caller already read it."""
    now = now or utcnow()
    problem = session_problem(design, session)
    if problem:
        return problem
    if session.ends_at > now:
        return _("Sesi belum selesai.")
    if registration is None:
        return _("Tidak terdaftar di sesi ini.")
    if registration.status is RegistrationStatus.CANCELLED:
        return _("Pendaftarannya dibatalkan.")
    if registration.status is RegistrationStatus.WAITLISTED:
        return _("Masih di daftar tunggu, belum mendapat tempat.")
    if registration.attendance is None:
        return _("Kehadiran belum dicatat.")
    if registration.attendance.value not in design.eligible_attendance:
        return _("Kehadiran tercatat: %(status)s.", status=ATTENDANCE_LABELS[registration.attendance])
    if design.post_test_threshold is not None:
        return _post_test_reason(design.post_test_threshold, session, registration, post_test)
    return None


def _post_test_reason(threshold: float, session: TrainingSession, registration: Registration,
                      attempt: Any) -> str | None:
    from ..feedback import services as feedback

    if attempt is _UNKNOWN:
        attempt = feedback.post_scores(session.id, [registration.user_id]).get(registration.user_id)
    need = round(threshold * 100)
    if attempt is None:
        return _("Post-test belum diselesaikan (perlu nilai paling sedikit %(need)d%%).", need=need)
    if not feedback.passed(attempt, threshold):
        return _("Nilai post-test %(score)d%%, di bawah batas %(need)d%%.", score=round((attempt.score or 0) * 100),
                 need=need)
    return None


def enrolment_reason(design: Design, enrolment: Enrolment) -> str | None:
    """Why ``enrolment`` earns no certificate of ``design`` (None: eligible)."""
    if design.subject != "enrolment":
        return _("Sertifikat ini bukan untuk kelulusan program.")
    if enrolment.status is EnrolmentStatus.WITHDRAWN:
        return _("Mengundurkan diri dari program.")
    if design.requires == "all_stages_complete":
        from ..programme.services import curriculum_for

        total = len(curriculum_for(enrolment.cohort).stages)
        if enrolment.completed_at is None or enrolment.current_stage is not None:
            if enrolment.current_stage:
                stage = curriculum_for(enrolment.cohort).stage(enrolment.current_stage)
                return _("Baru %(done)d dari %(total)d langkah selesai; langkah saat ini: %(stage)s.",
                         done=enrolment.completed_count, total=total, stage=stage.name.id)
            return _("Belum menyelesaikan ketujuh langkah.")
    return None


def _active_certificates(kind: str, subject_keys: list[str]) -> dict[tuple[int, str], Certificate]:
    if not subject_keys:
        return {}
    rows = db.session.scalars(sa.select(Certificate).where(
        Certificate.kind == kind, Certificate.status == CertificateStatus.ACTIVE,
        Certificate.subject_key.in_(subject_keys)))
    return {(c.holder_id, c.subject_key): c for c in rows}


def session_candidates(actor: Any, design: Design, session: TrainingSession) -> list[Candidate]:
    """Everyone registered for the session, eligible first, each with the reason when not."""
    _require(actor, "certificates.session", session)
    regs = list(db.session.scalars(
        sa.select(Registration).where(Registration.session_id == session.id)
        .options(joinedload(Registration.user).joinedload(User.managed_outlet))))
    issued = _active_certificates(design.kind, [f"session:{session.id}"])
    now = utcnow()
    posts: dict[int, Any] = {}
    if design.post_test_threshold is not None:
        from ..feedback import services as feedback

        posts = feedback.post_scores(session.id, [r.user_id for r in regs])
    out = []
    for r in regs:
        reason = session_reason(design, session, r, now,
                                **({"post_test": posts.get(r.user_id)} if design.post_test_threshold is not None else {}))
        label = str(ATTENDANCE_LABELS[r.attendance]) if r.attendance else _("belum dicatat")
        out.append(Candidate(holder=r.user, subject_id=session.id, outlet=r.user.managed_outlet,
                             eligible=reason is None, reason=reason, status_label=label, registration=r,
                             certificate=issued.get((r.user_id, f"session:{session.id}"))))
    out.sort(key=lambda c: (not c.eligible, c.holder.full_name.lower()))
    return out


def cohort_candidates(actor: Any, design: Design, cohort: Cohort) -> list[Candidate]:
    """The cohort's enrolments the actor may see, eligible first, each with the reason when not."""
    _require(actor, "certificates.cohort", cohort)
    enrolments = list(db.session.scalars(
        sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id,
                                   permissions.outlet_scope(actor, Enrolment.outlet_id, Enrolment.region_id))
        .options(joinedload(Enrolment.user), joinedload(Enrolment.outlet), joinedload(Enrolment.cohort))))
    issued = _active_certificates(design.kind, [f"enrolment:{e.id}" for e in enrolments])
    from ..programme.services import curriculum_for

    total = len(curriculum_for(cohort).stages)
    out = []
    for e in enrolments:
        reason = enrolment_reason(design, e)
        out.append(Candidate(holder=e.user, subject_id=e.id, outlet=e.outlet, eligible=reason is None, reason=reason,
                             status_label=_("%(done)d/%(total)d langkah", done=e.completed_count, total=total),
                             enrolment=e, certificate=issued.get((e.user_id, f"enrolment:{e.id}"))))
    out.sort(key=lambda c: (not c.eligible, c.holder.full_name.lower()))
    return out


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
        issued_at=issued_at, issued_by_id=getattr(actor, "id", None), replaces_id=replaces.id if replaces else None)
    db.session.add(cert)
    db.session.flush()
    record("certificate.issued", actor=actor, target=cert, ip=ip, serial=cert.serial, kind=cert.kind,
           holder_id=holder.id, subject=subject_key, replaces=replaces.serial if replaces else None)
    outbox.announce("certificate.issued", {"certificate_id": cert.id}, actor=actor)
    return cert


def _session_facts(session: TrainingSession) -> tuple[str, dict[str, Any]]:
    from ..programme.services import curriculum_for

    details = {"starts_at": session.starts_at.isoformat(), "ends_at": session.ends_at.isoformat(),
               "venue": session.venue_name, "region": session.region.name if session.region else "",
               "cohort": session.cohort.name, "programme": curriculum_for(session.cohort).name.id}
    return session.title, details


def _enrolment_facts(enrolment: Enrolment) -> tuple[str, dict[str, Any]]:
    from ..programme.services import curriculum_for

    cohort = enrolment.cohort
    programme = curriculum_for(cohort).name.id
    details = {"cohort": cohort.name, "programme": programme, "cohort_start": cohort.start_date.isoformat(),
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


# --- the PDF ------------------------------------------------------------------------------------------

def render_context(cert: Certificate) -> dict[str, Any]:
    """Everything the design's template prints, as plain texts (sent to a render process)."""
    design = design_for(cert.kind)
    d = cert.details or {}
    if cert.subject_type == "session":
        dates = date_range(datetime.fromisoformat(d["starts_at"]), datetime.fromisoformat(d["ends_at"]))
    else:
        dates = date_range(date.fromisoformat(d["cohort_start"]), date.fromisoformat(d["cohort_end"]))
    completed = d.get("completed_at")
    return {
        "holder_name": cert.holder_name, "outlet_name": cert.outlet_name, "outlet_code": cert.outlet_code,
        "serial": cert.serial, "verify_url": verify_url(cert.verification_code), "kind_name": design.label("id"),
        "subject_title": cert.subject_title, "subject_dates": dates, "venue": d.get("venue", ""),
        "region_name": d.get("region", ""), "cohort_name": d.get("cohort", ""),
        "programme_name": d.get("programme", ""),
        "completed_on": _long_date(to_wib(datetime.fromisoformat(completed)).date()) if completed else "",
        "issued_on": _long_date(to_wib(cert.issued_at).date()), "issued_iso": to_wib(cert.issued_at).isoformat(),
        "place": design.place, "hosts": list(design.hosts), "signatories": [s.as_dict() for s in design.signatories],
        "pdf": dict(design.pdf), "texts": dict(design.texts),
    }


def storage_root() -> Path:
    root = Path(current_app.config.get("CERTIFICATE_DIR") or Path(current_app.instance_path) / "certificates")
    root.mkdir(parents=True, exist_ok=True)
    return root


def pdf_file(cert: Certificate) -> Path:
    """The stored PDF's path (it must be inside the storage root)."""
    root = storage_root().resolve()
    path = (root / (cert.pdf_path or "")).resolve()
    if not cert.pdf_path or not path.is_relative_to(root):
        raise FileNotFoundError(cert.pdf_path)
    return path


def store_pdf(cert_id: int, pdf: bytes, then: Any = None) -> None:
    """Keep the rendered PDF with its sha256. The first render stored wins; later ones are discarded.

    ``then`` (a callable) runs in the same transaction (a bulk run counts the item done there).
    """
    cert = db.session.get(Certificate, cert_id)
    assert cert is not None
    rel = f"{cert.kind}/{cert.year}/{secrets.token_hex(16)}.pdf"
    path = storage_root() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(pdf)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction():
        n = db.session.execute(
            sa.update(Certificate).where(Certificate.id == cert_id, Certificate.pdf_path.is_(None))
            .values(pdf_path=rel, pdf_sha256=digest, pdf_size=len(pdf), rendered_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        if then is not None:
            then()
    if n == 0:
        path.unlink(missing_ok=True)


def ensure_pdf(cert: Certificate) -> bytes:
    """The certificate's PDF bytes, rendering and storing it first if needed (lazy rendering).

    The stored file is checked against its sha256, so a download always returns the bytes issued.
    """
    if cert.pdf_path is None:
        from . import jobs

        pdf = jobs.render_now(cert)
        store_pdf(cert.id, pdf)
        db.session.refresh(cert)
    data = pdf_file(cert).read_bytes()
    if hashlib.sha256(data).hexdigest() != cert.pdf_sha256:
        current_app.logger.error("certificate %s: stored PDF does not match its sha256", cert.serial)
        raise FileNotFoundError(cert.pdf_path)
    return data


# --- lists -------------------------------------------------------------------------------------------

def my_certificates(actor: Any) -> list[Certificate]:
    _require(actor, "certificates.own", None)
    return list(db.session.scalars(sa.select(Certificate).where(Certificate.holder_id == actor.id)
                                   .order_by(Certificate.issued_at.desc(), Certificate.id.desc())))


@dataclass
class Overview:
    sessions: list[tuple[TrainingSession, int, int]]  # session, attendees eligible by attendance, issued
    cohorts: list[Cohort]


def overview(actor: Any, design_kinds: list[str] | None = None) -> Overview:
    """What a coordinator can certify: past sessions in scope (with counts) and cohorts."""
    _require(actor, "certificates.manage", None)
    region_filter = sa.true()
    if not permissions.is_admin(actor) and actor.region_id is not None:
        region_filter = TrainingSession.region_id == actor.region_id
    sessions = list(db.session.scalars(
        sa.select(TrainingSession).where(region_filter, TrainingSession.status == SessionStatus.SCHEDULED,
                                         TrainingSession.ends_at <= utcnow())
        .options(joinedload(TrainingSession.region)).order_by(TrainingSession.starts_at.desc()).limit(200)))
    ids = [s.id for s in sessions]
    attended: dict[int, int] = {}
    issued: dict[int, int] = {}
    if ids:
        attended = dict(db.session.execute(
            sa.select(Registration.session_id, sa.func.count()).where(
                Registration.session_id.in_(ids), Registration.status == RegistrationStatus.REGISTERED,
                Registration.attendance.in_([Attendance.PRESENT, Attendance.LATE]))
            .group_by(Registration.session_id)).all())
        issued = dict(db.session.execute(
            sa.select(Certificate.session_id, sa.func.count()).where(
                Certificate.session_id.in_(ids), Certificate.status == CertificateStatus.ACTIVE)
            .group_by(Certificate.session_id)).all())
    from ..programme.services import cohorts_for

    return Overview(sessions=[(s, attended.get(s.id, 0), issued.get(s.id, 0)) for s in sessions],
                    cohorts=list(cohorts_for(actor)))


def certificate_list(actor: Any, *, kind: str | None = None, status: str | None = None, q: str = "",
                     page: int = 1, per_page: int = 25) -> tuple[list[Certificate], int]:
    _require(actor, "certificates.manage", None)
    where = [permissions.certificate_scope(actor)]
    if kind:
        where.append(Certificate.kind == kind)
    if status in ("active", "revoked"):
        where.append(Certificate.status == CertificateStatus(status))
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(sa.or_(Certificate.holder_name.ilike(like, escape="\\"), Certificate.serial.ilike(like, escape="\\"),
                            Certificate.outlet_code.ilike(like, escape="\\")))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Certificate).where(*where)) or 0
    rows = list(db.session.scalars(sa.select(Certificate).where(*where)
                                   .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
                                   .limit(per_page).offset((page - 1) * per_page)))
    return rows, total


def certificate_detail(cert: Certificate) -> Certificate:
    """Load what the detail page shows (the links to the certificate replaced and its replacement)."""
    db.session.scalars(sa.select(Certificate).where(Certificate.id == cert.id)
                       .options(joinedload(Certificate.replaces), joinedload(Certificate.replaced_by),
                                joinedload(Certificate.revoked_by), joinedload(Certificate.issued_by))).unique().all()
    return cert


# --- verification -------------------------------------------------------------------------------------

def find_by_code(code: str) -> Certificate | None:
    """The certificate with this verification code (public: no actor), with its replacement loaded."""
    if not CODE_RE.match(code or ""):
        return None
    return db.session.scalar(sa.select(Certificate).where(Certificate.verification_code == code)
                             .options(joinedload(Certificate.replaced_by)))


# --- bulk runs ------------------------------------------------------------------------------------------

def _start_job(actor: Any, design: Design, candidates: list[Candidate], *, scope: str, title: str,
               session_id: int | None, cohort_id: int | None, region_id: int | None,
               ip: str | None) -> CertificateJob:
    todo = [c for c in candidates if c.eligible and not c.issued]
    if not todo:
        raise Invalid(_("Tidak ada yang memenuhi syarat dan belum memiliki sertifikat."))
    with transaction():
        job = CertificateJob(kind=design.kind, scope=scope, session_id=session_id, cohort_id=cohort_id,
                             region_id=region_id, title=title[:300], created_by_id=getattr(actor, "id", None),
                             total=len(todo))
        db.session.add(job)
        db.session.flush()
        db.session.add_all([CertificateJobItem(job_id=job.id, holder_id=c.holder.id, holder_name=c.holder.full_name,
                                               subject_id=c.subject_id) for c in todo])
        record("certificate.bulk_started", actor=actor, target_type="certificate_job", target_id=job.id, ip=ip,
               kind=design.kind, scope=scope, total=len(todo))
    from . import jobs

    jobs.dispatch(job.id)
    return job


def start_session_job(actor: Any, design: Design, session: TrainingSession, ip: str | None = None) -> CertificateJob:
    """"Issue to all eligible" for a session: a background job over the eligible attendees without one."""
    candidates = session_candidates(actor, design, session)
    return _start_job(actor, design, candidates, scope="session", title=session.title, session_id=session.id,
                      cohort_id=session.cohort_id, region_id=session.region_id, ip=ip)


def start_cohort_job(actor: Any, design: Design, cohort: Cohort, ip: str | None = None) -> CertificateJob:
    candidates = cohort_candidates(actor, design, cohort)
    region_id = None if permissions.is_admin(actor) else actor.region_id
    return _start_job(actor, design, candidates, scope="cohort", title=cohort.name, session_id=None,
                      cohort_id=cohort.id, region_id=region_id, ip=ip)


def retry_job(actor: Any, job: CertificateJob, ip: str | None = None) -> int:
    """Put the failed items back in the queue (and any left pending by a stopped worker); returns how many."""
    _require(actor, "certificate_job.view", job)
    with transaction():
        failed_ids = list(db.session.scalars(sa.select(CertificateJobItem.id).where(
            CertificateJobItem.job_id == job.id, CertificateJobItem.status == JobItemStatus.FAILED)))
        if failed_ids:
            db.session.execute(sa.update(CertificateJobItem).where(CertificateJobItem.id.in_(failed_ids))
                               .values(status=JobItemStatus.PENDING, error=None)
                               .execution_options(synchronize_session=False))
            db.session.execute(sa.update(CertificateJob).where(CertificateJob.id == job.id)
                               .values(failed=CertificateJob.failed - len(failed_ids), finished_at=None)
                               .execution_options(synchronize_session=False))
        pending = db.session.scalar(sa.select(sa.func.count()).select_from(CertificateJobItem).where(
            CertificateJobItem.job_id == job.id, CertificateJobItem.status == JobItemStatus.PENDING)) or 0
        if pending:
            record("certificate.bulk_retried", actor=actor, target_type="certificate_job", target_id=job.id, ip=ip,
                   retried=len(failed_ids), pending=pending)
    if pending:
        from . import jobs

        jobs.dispatch(job.id)
    db.session.refresh(job)
    return int(pending)


def job_progress(job: CertificateJob) -> dict[str, Any]:
    db.session.refresh(job)
    return {"id": job.id, "total": job.total, "done": job.done, "failed": job.failed, "remaining": job.remaining,
            "finished": job.finished,
            "percent": 100 if job.total == 0 else int(round(100 * (job.done + job.failed) / job.total))}


def job_items(job: CertificateJob) -> list[CertificateJobItem]:
    return list(db.session.scalars(sa.select(CertificateJobItem).where(CertificateJobItem.job_id == job.id)
                                   .options(joinedload(CertificateJobItem.certificate))
                                   .order_by(CertificateJobItem.holder_name, CertificateJobItem.id)))


def job_zip(actor: Any, job: CertificateJob) -> Any:
    """A temporary file holding a ZIP of the run's certificates (rendered ones), rewound; the caller closes it."""
    import tempfile
    import zipfile

    _require(actor, "certificate_job.view", job)
    items = [i for i in job_items(job) if i.certificate is not None and i.certificate.pdf_path]
    tmp = tempfile.TemporaryFile()
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for item in items:
                cert = item.certificate
                assert cert is not None
                safe_name = re.sub(r"[^A-Za-z0-9]+", "-", cert.holder_name).strip("-")[:60] or "pemegang"
                zf.write(pdf_file(cert), arcname=f"{cert.serial.replace('/', '-')}_{safe_name}.pdf")
        tmp.seek(0)
    except BaseException:
        tmp.close()
        raise
    return tmp
