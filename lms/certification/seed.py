"""Demo data: the Bimtek certificates of the managers who attended. Idempotent.

Called by lms/seed.py after the sessions are seeded: the 2018 sessions, and the first session
of the current cohort (the one of last week is left for the coordinator to issue). Certificates are issued (numbered,
audited) here in one transaction, dated the last day of their session; their PDFs are
rendered lazily, on first download, so seeding 253 certificates takes about a second.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..db import transaction
from ..extensions import db
from ..people.models import User
from ..permissions import SYSTEM
from ..sessions.models import Registration, SessionStatus, TrainingSession
from . import services
from .models import Certificate, CertificateStatus


def seed_certificates(year: int = 2018, *, session_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Issue every session design's certificate (the Bimtek one) to each eligible attendee of the
    ``year``'s finished sessions (or of ``session_ids``; finished by ``now``) that has none yet.
    Returns how many were issued."""
    created = 0
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    which = (TrainingSession.id.in_(session_ids) if session_ids is not None
             else sa.and_(TrainingSession.starts_at >= start, TrainingSession.starts_at < end))
    with transaction():
        for design in services.designs_for("session"):
            sessions = list(db.session.scalars(
                sa.select(TrainingSession).where(TrainingSession.status == SessionStatus.SCHEDULED, which)
                .options(joinedload(TrainingSession.region), joinedload(TrainingSession.cohort))
                .order_by(TrainingSession.starts_at, TrainingSession.id)))
            if not sessions:
                continue
            have = {(h, k) for h, k in db.session.execute(sa.select(Certificate.holder_id, Certificate.subject_key).where(
                Certificate.kind == design.kind, Certificate.status == CertificateStatus.ACTIVE))}
            regs = db.session.scalars(
                sa.select(Registration).where(Registration.session_id.in_([s.id for s in sessions]))
                .options(joinedload(Registration.user).joinedload(User.managed_outlet))).all()
            by_session: dict[int, list[Registration]] = {}
            for r in regs:
                by_session.setdefault(r.session_id, []).append(r)
            for s in sessions:
                title, details = services._session_facts(s)
                for r in sorted(by_session.get(s.id, []), key=lambda r: (r.user.full_name.lower(), r.user_id)):
                    key = f"session:{s.id}"
                    if (r.user_id, key) in have or services.session_reason(design, s, r, now=now) is not None:
                        continue
                    services._create(SYSTEM, design, holder=r.user, holder_name=r.user.full_name, subject_key=key,
                                     subject_type="session", region_id=s.region_id, outlet=r.user.managed_outlet,
                                     subject_title=title, details=details, session_id=s.id, cohort_id=s.cohort_id,
                                     issued_at=s.ends_at)
                    have.add((r.user_id, key))
                    created += 1
    return created
