"""Lists of certificates within the rulebook, and the public verification.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from .. import permissions
from ..db import utcnow
from ..extensions import db
from ..programme.models import Cohort
from ..sessions.models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .models import Certificate, CertificateStatus
from .eligibility import CODE_RE, _require


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
