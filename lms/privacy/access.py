"""Who looked at whom: records of access to a person's data (DataAccess rows), and reading them.

What is recorded (``action``; ``what`` names the object, never personal data):

* ``record``: someone else opened the person's full record: their user page (people.user_detail),
  or their outlet's page (places.outlet_detail, the outlet's current manager is the subject: that
  page shows their name, phone, evidence and the outlet's history);
* ``file``: someone else downloaded one of their files: an evidence scan or report attachment
  (the manager whose term covered the evidence's creation), a photo of their outlet taken on a
  visit (the manager whose term covered the visit), a certificate PDF (its holder);
* ``export``: a list that holds the person left the system: the exports page (progress,
  attendance, visits, certificates), the visits CSV, a bulk run's certificate ZIP. One row per
  person contained, written by ONE ``INSERT … SELECT`` built from the export's own query, so an
  export of 253 people costs one statement, in the same transaction as its audit entry;
* ``data_export``: the person downloaded the copy of their own data ("Data saya"): it is their own
  access, listed for the data protection officer (a full copy of them left the system).

Opening one's own record or file is not recorded. A GET records in its own small transaction
(one INSERT); a service records inside the transaction of its work.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..db import UTCDateTime, transaction, utcnow
from ..extensions import db
from ..people.models import User
from .models import DataAccess

RECORD, FILE, EXPORT, DATA_EXPORT = "record", "file", "export", "data_export"
ACTIONS = (RECORD, FILE, EXPORT, DATA_EXPORT)
_COLUMNS = ["at", "actor_id", "subject_id", "action", "what"]


def _actor_id(actor: Any) -> int | None:
    """The acting user's id; None for the system (CLI, jobs) and anonymous visitors."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return getattr(actor, "id", None)


def record(actor: Any, subject_id: int | None, action: str, what: str) -> bool:
    """One access by ``actor`` to ``subject_id``'s data (one INSERT). Looking at oneself is not
    recorded (except ``data_export``). Joins the caller's transaction, or runs its own."""
    assert action in ACTIONS, action
    actor_id = _actor_id(actor)
    if subject_id is None or (actor_id == subject_id and action != DATA_EXPORT):
        return False
    with transaction():
        db.session.execute(sa.insert(DataAccess).values(at=utcnow(), actor_id=actor_id, subject_id=subject_id,
                                                        action=action, what=what[:120]))
    return True


def _constants(actor_id: int | None, action: str, what: str, at: datetime) -> list[Any]:
    """The constant columns of an ``INSERT … SELECT``, typed (no CAST: SQLite would turn a date into a number)."""
    return [sa.literal(at, UTCDateTime()).label("at"), sa.literal(actor_id, sa.Integer()).label("actor_id"),
            sa.literal(action, sa.String(24)).label("action"), sa.literal(what[:120], sa.String(120)).label("what")]


def record_many(actor: Any, subjects: sa.Select[Any], action: str, what: str) -> None:
    """One row per distinct person of ``subjects`` (a SELECT of user ids), in ONE ``INSERT … SELECT``:
    bounded whatever the number of people. The actor themselves is left out."""
    assert action in ACTIONS, action
    actor_id = _actor_id(actor)
    sub = subjects.order_by(None).subquery()
    uid = list(sub.c)[0]
    at, actor_col, action_col, what_col = _constants(actor_id, action, what, utcnow())
    people = sa.select(uid.label("subject_id")).where(uid.is_not(None)).distinct()
    if actor_id is not None:
        people = people.where(uid != actor_id)
    people_sub = people.subquery()
    rows = sa.select(at, actor_col, people_sub.c.subject_id, action_col, what_col)
    with transaction():
        db.session.execute(sa.insert(DataAccess).from_select(_COLUMNS, rows))


def record_export(actor: Any, subjects: sa.Select[Any], what: str) -> None:
    """A list or file export holding the people of ``subjects``."""
    record_many(actor, subjects, EXPORT, what)


def record_certificate_job(actor: Any, job_id: int) -> None:
    """A bulk run's ZIP downloaded: its holders whose PDF is in it (one statement)."""
    from ..certification.models import Certificate, CertificateJobItem

    record_many(actor, sa.select(Certificate.holder_id)
                .join(CertificateJobItem, CertificateJobItem.certificate_id == Certificate.id)
                .where(CertificateJobItem.job_id == job_id, Certificate.pdf_path.is_not(None)),
                EXPORT, f"certificate_job:{job_id}")


def visit_people(visits: sa.Select[Any]) -> sa.Select[Any]:
    """The people a list of visits holds (``visits``: a SELECT from Visit): the mentors who made them
    and the managers of the visited outlets at the time of each visit."""
    from ..places.models import OutletManagerTerm as T
    from ..visits.models import Visit

    mentors = visits.with_only_columns(Visit.mentor_id).order_by(None)
    managers = (visits.with_only_columns(T.user_id).order_by(None)
                .join(T, sa.and_(T.outlet_id == Visit.outlet_id, T.started_at <= Visit.visited_at,
                                 sa.or_(T.ended_at.is_(None), T.ended_at > Visit.visited_at))))
    return sa.select(sa.union(mentors, managers).subquery().c[0])


def managers_at(outlet_id: Any, at: Any) -> sa.Select[Any]:
    """The outlet's manager(s) whose term covered the moment ``at`` (values or SQL columns)."""
    from ..places.models import OutletManagerTerm as T

    return sa.select(T.user_id).where(T.outlet_id == outlet_id, T.started_at <= at,
                                      sa.or_(T.ended_at.is_(None), T.ended_at > at))


def record_outlet_file(actor: Any, outlet_id: int, at: datetime, what: str) -> None:
    """A file of an outlet (a scan, a visit photo) downloaded: recorded against the manager whose
    term covered ``at`` (when the evidence was made, when the visit took place). One statement."""
    record_many(actor, managers_at(outlet_id, at), FILE, what)


def record_outlet_page(actor: Any, outlet: Any) -> bool:
    """A staff member opened an outlet's page: its current manager's record was viewed."""
    return record(actor, outlet.manager_id, RECORD, f"outlet:{outlet.id}")


# --- reading --------------------------------------------------------------------------------------

def find_person(text: str | None) -> User | None:
    """A person by id or e-mail (the admin's search)."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isdigit() and len(text) <= 9:
        return db.session.get(User, int(text))
    return db.session.scalar(sa.select(User).where(User.email == text.lower()))


def accesses_to(subject_id: int, *, page: int = 1, per_page: int = 50) -> tuple[list[DataAccess], int]:
    """The accesses to one person's data, newest first, with their actors: two queries."""
    where = DataAccess.subject_id == subject_id
    total = db.session.scalar(sa.select(sa.func.count()).select_from(DataAccess).where(where)) or 0
    rows = db.session.scalars(
        sa.select(DataAccess).where(where).options(joinedload(DataAccess.actor))
        .order_by(DataAccess.at.desc(), DataAccess.id.desc())
        .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return list(rows), total


def by_others(subject_id: int, limit: int = 20) -> list[DataAccess]:
    """What "Data saya" shows: the latest accesses by someone else (staff, the system), one query."""
    rows = db.session.scalars(
        sa.select(DataAccess).where(DataAccess.subject_id == subject_id,
                                    sa.or_(DataAccess.actor_id.is_(None), DataAccess.actor_id != subject_id))
        .options(joinedload(DataAccess.actor)).order_by(DataAccess.at.desc(), DataAccess.id.desc()).limit(limit))
    return list(rows)


def action_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {RECORD: _("Membuka data pribadi"), FILE: _("Mengunduh berkas"),
            EXPORT: _("Ekspor daftar yang memuat orang ini"), DATA_EXPORT: _("Mengunduh salinan data sendiri")}


def what_label(what: str) -> str:
    """``outlet:3`` → "Halaman e-Warong #3" and so on; anything else as stored."""
    from flask_babel import gettext as _

    kind, _sep, ident = what.partition(":")
    labels = {"user": _("Halaman pengguna"), "outlet": _("Halaman e-Warong"), "evidence": _("Berkas bukti"),
              "visit_photo": _("Foto kunjungan"), "certificate": _("PDF sertifikat"),
              "certificate_job": _("ZIP sertifikat massal"), "data_request": _("Salinan data pribadi")}
    if kind in labels and ident.isdigit():
        return f"{labels[kind]} #{ident}"
    if kind == "exports":
        return _("Ekspor data: %(name)s", name=ident)
    return what
