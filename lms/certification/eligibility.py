"""Which designs a session or an enrolment may give, and who is eligible (with the reason in words when not).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload
from .. import permissions
from ..db import utcnow
from ..errors import NotAllowed, NotFound
from ..extensions import db
from ..people.models import User
from ..places.models import Outlet
from ..programme.models import Cohort, Enrolment, EnrolmentStatus
from ..sessions.models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .designs import Design
from .models import Certificate, CertificateStatus


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
