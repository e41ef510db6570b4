"""A certificate's PDF: the render context, rendered once and stored.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Any
import sqlalchemy as sa
from flask import current_app
from ..db import transaction, utcnow
from ..extensions import db
from ..i18n import to_wib
from .models import Certificate
from .eligibility import design_for
from .issuing import _long_date, date_range, verify_url


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
