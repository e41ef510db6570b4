"""Bulk runs: a job per session or cohort, its items and progress, retry and the ZIP.
"""
from __future__ import annotations

import re
from typing import Any
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from .. import permissions
from ..audit.services import record
from ..db import transaction
from ..errors import Invalid
from ..extensions import db
from ..programme.models import Cohort
from ..sessions.models import TrainingSession
from .designs import Design
from .models import CertificateJob, CertificateJobItem, JobItemStatus
from .eligibility import Candidate, _require, cohort_candidates, session_candidates
from .pdf import open_pdf


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


def _zip_time(at: Any) -> tuple[int, int, int, int, int, int]:
    """A ZIP entry's time: when the PDF was rendered, in WIB (ZIP times have no zone)."""
    from ..i18n import to_wib

    t = to_wib(at) if at is not None else None
    if t is None or t.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (t.year, t.month, t.day, t.hour, t.minute, t.second)


def job_zip(actor: Any, job: CertificateJob) -> Any:
    """A temporary file holding a ZIP of the run's certificates (rendered ones), rewound; the caller closes it."""
    import shutil
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
                info = zipfile.ZipInfo(f"{cert.serial.replace('/', '-')}_{safe_name}.pdf",
                                       date_time=_zip_time(cert.rendered_at))
                with open_pdf(cert) as src, zf.open(info, "w") as dst:  # streamed from the store
                    shutil.copyfileobj(src, dst, 256 * 1024)
        tmp.seek(0)
    except BaseException:
        tmp.close()
        raise
    return tmp
