"""Reviewing evidence: verify or return (four eyes), the review queue and an item's history.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from .. import permissions
from .. import outbox
from ..audit.services import record
from ..db import built, transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..places.models import Outlet
from .models import Evidence, EvidenceReview, EvidenceStatus, ReviewDecision
from .summary import curricula, refresh_for_outlets


# --- review ----------------------------------------------------------------------------

def review(actor: Any, ev: Evidence, decision: str, comment: str = "", ip: str | None = None) -> Evidence:
    """Verify or return submitted evidence. Trainees never verify; nobody verifies their own submission."""
    if not permissions.can(actor, "evidence.review", ev):
        raise NotAllowed()
    comment = (comment or "").strip()
    if decision not in ("verify", "return"):
        raise Invalid({"decision": [_("Pilih verifikasi atau kembalikan.")]})
    if decision == "return" and not comment:
        raise Invalid({"comment": [_("Tulis alasan pengembalian agar pengelola tahu apa yang harus diperbaiki.")]})
    with transaction():
        # re-read under the write lock: two reviewers deciding at once cannot both win
        db.session.refresh(ev)
        if ev.status is not EvidenceStatus.SUBMITTED:
            raise Invalid(_("Bukti ini sudah diputuskan oleh peninjau lain."))
        ev.status = EvidenceStatus.VERIFIED if decision == "verify" else EvidenceStatus.RETURNED
        ev.reviewed_by_id = actor.id
        ev.reviewed_at = utcnow()
        ev.review_comment = comment or None
        ev.reviews.append(EvidenceReview(decision=ReviewDecision(ev.status.value), by_id=actor.id, comment=comment or None))
        record(f"evidence.{ev.status.value}", actor=actor, target_type="evidence", target_id=ev.id, ip=ip,
               evidence_type=ev.type, outlet_id=ev.outlet_id)
        outbox.announce(f"evidence.{ev.status.value}", {"evidence_id": ev.id, "comment": comment}, actor=actor)
        refresh_for_outlets([ev.outlet_id])
    return ev


def review_queue(actor: Any, *, region_id: int | None = None, stage: str | None = None,
                 min_age_days: int | None = None, page: int = 1, per_page: int = 25) -> tuple[list[Evidence], int]:
    """Submitted evidence the actor may review, oldest first."""
    where: list[Any] = [Evidence.status == EvidenceStatus.SUBMITTED,
                        permissions.outlet_scope(actor, Evidence.outlet_id, Evidence.region_id)]
    types = reviewable_types(actor)
    where.append(Evidence.type.in_(types or ["-"]))
    if region_id:
        where.append(Evidence.region_id == region_id)
    if stage:
        where.append(Evidence.stage_key == stage)
    if min_age_days:
        where.append(Evidence.submitted_at <= utcnow() - timedelta(days=min_age_days))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Evidence).where(*where)) or 0
    poly = sa.orm.with_polymorphic(Evidence, "*")
    rows = db.session.scalars(
        sa.select(poly).where(*where)
        .options(joinedload(poly.outlet).joinedload(Outlet.region), joinedload(poly.outlet).joinedload(Outlet.manager),
                 joinedload(poly.submitted_by), joinedload(poly.file))
        .order_by(Evidence.submitted_at, Evidence.id).limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).unique().all()
    return list(rows), total


def reviewable_types(actor: Any) -> list[str]:
    """Evidence types the actor's role may verify under any curriculum."""
    role = "coordinator" if permissions.is_admin(actor) else getattr(getattr(actor, "role", None), "value", None)
    types = set()
    for cur in curricula().values():
        for s in cur.stages:
            for m in s.milestones:
                if m.kind == "verified" and role in m.verifiers:
                    types.add(m.evidence)
                if m.rule == "consecutive_reports" and role in ("mentor", "coordinator"):
                    types.add("financial_report")
    return sorted(t for t in types if t)


def outlet_evidence(outlet_id: int, *, with_files: bool = True) -> list[Evidence]:
    """The outlet's evidence, newest first, every subtype's columns and the reviewer loaded.
    ``with_files=False``: without the submitter and the file (the trainee's home shows neither)."""
    def build() -> sa.Select[tuple[Evidence]]:
        poly = sa.orm.with_polymorphic(Evidence, "*")
        options = [joinedload(poly.reviewed_by)]
        if with_files:
            options += [joinedload(poly.submitted_by), joinedload(poly.file)]
        return (sa.select(poly).where(Evidence.outlet_id == sa.bindparam("outlet_id")).options(*options)
                .order_by(Evidence.created_at.desc(), Evidence.id.desc()))

    return list(db.session.scalars(built(("outlet_evidence", with_files), build), {"outlet_id": outlet_id}).unique())


def evidence_history(ev: Evidence) -> list[EvidenceReview]:
    return list(db.session.scalars(sa.select(EvidenceReview).where(EvidenceReview.evidence_id == ev.id)
                                   .options(joinedload(EvidenceReview.by)).order_by(EvidenceReview.at, EvidenceReview.id)))
