"""A certificate's PDF: the render context, rendered once and stored.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime
from typing import IO, Any
import sqlalchemy as sa
from flask import current_app
from ..db import transaction, utcnow
from ..extensions import db
from ..i18n import to_wib
from .models import Certificate
from .eligibility import design_for
from .issuing import _long_date, date_range, verify_url


# --- the PDF ------------------------------------------------------------------------------------------

def subject_dates(cert: Certificate) -> str:
    """The dates as printed (WIB): the session's, or the cohort's (pages that show only these need no images)."""
    d = cert.details or {}
    if cert.subject_type == "session":
        return date_range(datetime.fromisoformat(d["starts_at"]), datetime.fromisoformat(d["ends_at"]))
    return date_range(date.fromisoformat(d["cohort_start"]), date.fromisoformat(d["cohort_end"]))


def render_context(cert: Certificate) -> dict[str, Any]:
    """Everything the design's template prints, as plain texts (sent to a render process); the logos,
    signatories (with their signature images) and stamp of the certificate's own branding version, as
    ``data:`` URIs, and the organisers copied into its details when it was issued (branding.py)."""
    from .branding import printed

    design = design_for(cert.kind)
    d = cert.details or {}
    dates = subject_dates(cert)
    completed = d.get("completed_at")
    return {
        "holder_name": cert.holder_name, "outlet_name": cert.outlet_name, "outlet_code": cert.outlet_code,
        "serial": cert.serial, "verify_url": verify_url(cert.verification_code), "kind_name": design.label("id"),
        "subject_title": cert.subject_title, "subject_dates": dates, "venue": d.get("venue", ""),
        "region_name": d.get("region", ""), "cohort_name": d.get("cohort", ""),
        "programme_name": d.get("programme", ""),
        "completed_on": _long_date(to_wib(datetime.fromisoformat(completed)).date()) if completed else "",
        "issued_on": _long_date(to_wib(cert.issued_at).date()), "issued_iso": to_wib(cert.issued_at).isoformat(),
        "place": design.place, **printed(cert, design),  # hosts, signatories, logo_left, logo_right, stamp
        "pdf": dict(design.pdf), "texts": dict(design.texts),
    }


#: where the PDFs are kept (lms/storage.py); the key is ``Certificate.pdf_path``
AREA = "certificates"


def open_pdf(cert: Certificate) -> IO[bytes]:
    """A stream of the stored PDF (unchecked: :func:`ensure_pdf` checks the sha256). NotStored when missing."""
    from ..storage import NotStored, storage

    if not cert.pdf_path:
        raise NotStored(cert.pdf_path or "")
    return storage().open(AREA, cert.pdf_path)


def pdf_exists(cert: Certificate) -> bool:
    from ..storage import storage

    try:
        return bool(cert.pdf_path) and storage().exists(AREA, cert.pdf_path or "")
    except FileNotFoundError:
        return False


def store_pdf(cert_id: int, pdf: bytes, then: Any = None) -> None:
    """Keep the rendered PDF with its sha256. The first render stored wins; later ones are discarded.

    ``then`` (a callable) runs in the same transaction (a bulk run counts the item done there).
    """
    from ..storage import storage

    cert = db.session.get(Certificate, cert_id)
    assert cert is not None
    rel = f"{cert.kind}/{cert.year}/{secrets.token_hex(16)}.pdf"
    backend = storage()
    backend.put(AREA, rel, pdf)
    digest = hashlib.sha256(pdf).hexdigest()
    try:
        with transaction():
            n = db.session.execute(
                sa.update(Certificate).where(Certificate.id == cert_id, Certificate.pdf_path.is_(None))
                .values(pdf_path=rel, pdf_sha256=digest, pdf_size=len(pdf), rendered_at=utcnow())
                .execution_options(synchronize_session=False)).rowcount
            if then is not None:
                then()
    except BaseException:
        backend.delete(AREA, rel)
        raise
    if n == 0:
        backend.delete(AREA, rel)


def ensure_pdf(cert: Certificate) -> bytes:
    """The certificate's PDF bytes, rendering and storing it first if needed (lazy rendering).

    The stored file is checked against its sha256, so a download always returns the bytes issued.
    NotStored (a FileNotFoundError) when it is missing or does not match.
    """
    from ..storage import NotStored, storage

    if cert.pdf_path is None:
        from . import jobs

        pdf = jobs.render_now(cert)
        store_pdf(cert.id, pdf)
        db.session.refresh(cert)
    data = storage().get(AREA, cert.pdf_path or "")
    if hashlib.sha256(data).hexdigest() != cert.pdf_sha256:
        current_app.logger.error("certificate %s: stored PDF does not match its sha256", cert.serial)
        raise NotStored(cert.pdf_path or "")
    return data
