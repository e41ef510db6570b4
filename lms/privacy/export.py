""""Data saya": a copy of everything the system holds about a person (UU PDP Pasal 7 and 13:
access, a copy, portability in a machine-readable form).

The person asks on their "Data saya" page (:func:`request_export`: one ``DataRequest`` of kind
``export``, at most one pending or running per person); the copy is built in the background
(:func:`build_export`) with its progress on the request (``progress`` of ``total`` steps: one per
section of data, one per file, one to finish), stored as a ZIP under the upload root
(``exports/<random>.zip``, ``file_key`` relative to that root, with its size and sha256) and kept
for ``DATA_EXPORT_DAYS`` days (``expires_at``); an outbox event ``privacy.export_ready`` tells the
person. Only they may download it (:func:`download_path`), and only while it is ready and not
expired. :func:`delete_expired_exports` (the retention job) deletes the files after their time.

Where the build runs (``LMS_DATA_EXPORT_WORKER``): ``thread`` (default without Redis: one worker
thread per process, :data:`WORKER`; ``WORKER.join()`` waits for it), ``rq`` (default with
``LMS_REDIS_URL``: a job ``lms.privacy.export.rq_build`` on the notifications queue, which
``flask worker`` serves), ``inline`` (in the request, after its commit) or ``off`` (nothing runs
by itself: a test or :func:`build_pending` does it). A build interrupted by a dying process leaves
its request pending or running; after ``STALE_AFTER`` a new request fails it and starts afresh.

What the copy holds, and what it leaves out
-------------------------------------------

The person's own data, and their outlet's records only from their own term(s) as its manager (an
outlet outlives its managers: evidence made and visits held while someone else managed it are that
person's, not theirs). Records staff made about others (a mentor's visits, a reviewer's decisions)
are those others' data: a staff member's copy holds their account, sign-ins, messages, consents,
requests and the accesses to their own data. Staff-only parts are left out: a visit's internal notes (``staff_notes``)
and its recorded location (shown to staff only). Other people appear only as the staff contact
who acted on the person's data (a mentor's or reviewer's name, as the person sees it in the app).

The ZIP
-------

``README.txt``
    what the files are, the schema version and where to ask questions (the DPO).
``data.json``
    everything, machine-readable (UTF-8 JSON), described below.
``ringkasan.html``
    the same, readable, self-contained (no external files), in the person's language (id / en).
``berkas/…``
    the files: ``berkas/bukti/<evidence id>.<ext>`` (licence scans, report attachments and other
    evidence files), ``berkas/foto-kunjungan/<visit id>-<photo id>.<ext>`` (photos of their outlet
    taken on visits in their term), ``berkas/sertifikat/<serial>.pdf`` (their certificates, when
    the PDF has been rendered). Each is listed in ``data.json`` ``files`` with its sha256.

``data.json`` (``schema_version`` 1)
------------------------------------

Keys are stable: a later version only adds keys (and raises ``schema_version`` when one changes
meaning). Times are ISO 8601 in UTC (``…+00:00``), days ``YYYY-MM-DD``; coded values (statuses,
kinds) are the stored codes; ``null`` where nothing is recorded.

* ``schema_version`` (1), ``generated_at``, ``language`` (of ``ringkasan.html``)
* ``controller``: ``name``, ``address``, ``dpo_contact`` (who processes the data, whom to ask)
* ``account``: ``id``, ``full_name``, ``email``, ``phone``, ``role``, ``region`` {``code``, ``name``},
  ``locale``, ``active``, ``created_at``, ``last_sign_in_at``, ``deactivated_at``,
  ``deactivation_reason``, ``privacy_notice_version``
* ``outlet_terms``: the outlets they managed: ``outlet`` {``code``, ``name``, ``kube_name``,
  ``address``, ``kelurahan``, ``kecamatan``, ``region``, ``phone``}, ``started_at``, ``ended_at``
* ``consents``: ``kind`` (programme, whatsapp), ``granted``, ``notice_version``, ``at``, ``source``
* ``notification_preferences``: ``email_enabled``, ``whatsapp_opt_in``, ``whatsapp_opt_in_at``,
  ``whatsapp_opt_in_source``, ``whatsapp_opt_out_at``, ``quiet_start``, ``quiet_end`` (or null)
* ``enrolments``: ``id``, ``cohort``, ``curriculum``, ``outlet_code``, ``status``, ``started_at``,
  ``ended_at``, ``current_stage``, ``completed_count``, ``completed_at``,
  ``stages`` [{``stage``, ``completed_at``}]
* ``evidence``: ``id``, ``type`` (licence, marketing, financial_report, financing), ``outlet_code``,
  ``stage``, ``status``, ``created_at``, ``submitted_at``, ``reviewed_at``, ``details`` (the
  type's fields: licence ``licence_type``, ``number``, ``issued_on``, ``issuing_office``; marketing
  ``kind``, ``description``, ``link``; financial_report ``month``, ``turnover``, ``cost_of_goods``,
  ``operating_expenses``, ``notes`` (whole Rupiah); financing ``lender``, ``lender_name``,
  ``product``, ``amount_requested``, ``amount_approved``, ``application_status``, ``applied_on``,
  ``decided_on``, ``disbursed_on``), ``file`` (a ``files`` entry's ``path`` or null),
  ``history`` [{``decision``, ``at``, ``by``, ``comment``}] (the review history as the person sees it)
* ``registrations``: ``session`` {``id``, ``title``, ``stage``, ``starts_at``, ``ends_at``,
  ``venue_name``, ``venue_address``, ``status``}, ``status``, ``registered_at``,
  ``waitlisted_at``, ``attendance``, ``attendance_marked_at``, ``checked_in_by_qr``
* ``feedback``: ``session_id``, ``session_title``, ``questionnaire``, ``comment``, ``created_at``,
  ``updated_at``, ``ratings`` [{``item``, ``speaker``, ``value``}]
* ``tests``: ``session_id``, ``session_title``, ``phase`` (pre, post), ``test``, ``started_at``,
  ``finished_at``, ``correct``, ``total``, ``answers`` [{``question``, ``choice``, ``correct``}]
* ``certificates``: ``serial``, ``kind``, ``title``, ``holder_name``, ``outlet_code``,
  ``outlet_name``, ``status``, ``issued_at``, ``revoked_at``, ``revocation_reason``,
  ``verify_url``, ``details``, ``file`` (path or null)
* ``visits``: to their outlet during their term: ``id``, ``outlet_code``, ``visited_at``,
  ``duration_minutes``, ``kind``, ``stages``, ``observations``, ``next_visit_on``, ``mentor``
  (the mentor's name: the staff contact), ``action_items`` [{``description``, ``owner``,
  ``due_on``, ``done_at``}], ``photos`` [paths]
* ``notifications``: the in-app list: ``kind``, ``title``, ``body``, ``url``, ``created_at``, ``read_at``
* ``messages``: e-mails and WhatsApp messages sent or kept for them: ``channel``, ``kind``,
  ``status``, ``created_at``, ``sent_at`` (not their text: it is in ``notifications``, and a
  one-time code's text is not kept)
* ``data_requests``: ``id``, ``kind``, ``status``, ``created_at``, ``due_at``, ``field``,
  ``message``, ``proposed_value``, ``handled_at``, ``response``, ``expires_at``
* ``sign_ins``: the latest ``SIGN_INS`` sign-ins: ``at``, ``method`` (password, phone_code,
  setup_link), ``ip`` (the address, or its hash once the retention period passed)
* ``accesses``: who else opened their data (:mod:`lms.privacy.access`): ``at``, ``by``
  {``name``, ``role``} (null: the system), ``action``, ``what``
* ``files``: every file in the ZIP: ``path``, ``category`` (evidence, visit_photo,
  certificate), ``sha256``, ``size``, ``content_type``, ``original_name``; an entry whose file
  was missing on the server has ``missing: true`` and no file in the ZIP
"""
from __future__ import annotations

import hashlib
import json
import logging
import queue
import secrets
import threading
import time as time_
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import joinedload, selectinload, with_polymorphic

from ..audit.services import record
from ..db import transaction, utcnow
from ..extensions import db
from ..people.models import User
from . import access
from .models import Consent, DataAccess, DataRequest, RequestKind, RequestStatus

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: sign-ins listed in the copy
SIGN_INS = 50
#: a pending or running build not touched for this long was interrupted (its process died)
STALE_AFTER = timedelta(minutes=15)
#: where the ZIPs are kept, under the upload root
EXPORT_FOLDER = "exports"
ACTIVE = (RequestStatus.PENDING, RequestStatus.RUNNING)
#: the progress shown is written at most this often (seconds)
PROGRESS_EVERY = 0.5


# --- small helpers ------------------------------------------------------------------------------

def _iso(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def _code(value: Any) -> Any:
    return getattr(value, "value", value)


def _config(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)


def _region(region: Any) -> dict[str, str] | None:
    return {"code": region.code, "name": region.name} if region is not None else None


def _term_covers(T: Any, outlet_col: Any, at_col: Any) -> sa.ColumnElement[bool]:
    return sa.and_(T.outlet_id == outlet_col, T.started_at <= at_col, sa.or_(T.ended_at.is_(None), T.ended_at > at_col))


def evidence_where(user_id: int) -> sa.ColumnElement[bool]:
    """The person's evidence: made at an outlet they managed, during their term. (Not "submitted by
    them": a mentor who records a licence for an outlet records the manager's data, not their own.)"""
    from ..places.models import OutletManagerTerm as T
    from ..programme.models import Evidence

    return sa.exists().where(T.user_id == user_id, _term_covers(T, Evidence.outlet_id, Evidence.created_at))


def visit_where(user_id: int) -> sa.ColumnElement[bool]:
    """Visits to an outlet the person managed, held during their term."""
    from ..places.models import OutletManagerTerm as T
    from ..visits.models import Visit

    return sa.exists().where(T.user_id == user_id, _term_covers(T, Visit.outlet_id, Visit.visited_at))


# --- what the system holds: the sections ---------------------------------------------------------

@dataclass
class FileEntry:
    path: str  #: inside the ZIP
    category: str
    source: Path | None
    sha256: str | None
    size: int | None
    content_type: str
    original_name: str = ""
    missing: bool = False


class Collector:
    """Reads one person's data, section by section (each a few queries), and the files to copy."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.files: list[FileEntry] = []

    # the files ---------------------------------------------------------------------------------
    def _stored(self, row: Any, path: str, category: str) -> str:
        from .. import files

        try:
            source: Path | None = files.open_stored(row)
        except FileNotFoundError:
            source = None
        missing = source is None or not source.exists()
        self.files.append(FileEntry(path, category, None if missing else source, row.sha256, row.size,
                                    row.content_type, row.original_name or "", missing))
        return path

    # the sections ------------------------------------------------------------------------------
    def account(self) -> dict[str, Any]:
        u = self.user
        return {"id": u.id, "full_name": u.full_name, "email": u.email, "phone": u.phone, "role": _code(u.role),
                "region": _region(u.region), "locale": u.locale, "active": u.active,
                "created_at": _iso(u.created_at), "last_sign_in_at": _iso(u.last_login_at),
                "deactivated_at": _iso(u.deactivated_at), "deactivation_reason": u.deactivation_reason,
                "privacy_notice_version": u.notice_version}

    def outlet_terms(self) -> list[dict[str, Any]]:
        from ..places.models import Outlet, OutletManagerTerm

        terms = db.session.scalars(
            sa.select(OutletManagerTerm).where(OutletManagerTerm.user_id == self.user.id)
            .options(joinedload(OutletManagerTerm.outlet).joinedload(Outlet.region),
                     joinedload(OutletManagerTerm.outlet).joinedload(Outlet.kecamatan))
            .order_by(OutletManagerTerm.started_at, OutletManagerTerm.id))
        return [{"outlet": {"code": t.outlet.code, "name": t.outlet.name, "kube_name": t.outlet.kube_name,
                            "address": t.outlet.address, "kelurahan": t.outlet.kelurahan,
                            "kecamatan": t.outlet.kecamatan.name, "region": _region(t.outlet.region),
                            "phone": t.outlet.phone},
                 "started_at": _iso(t.started_at), "ended_at": _iso(t.ended_at)} for t in terms]

    def consents(self) -> list[dict[str, Any]]:
        rows = db.session.scalars(sa.select(Consent).where(Consent.user_id == self.user.id)
                                  .order_by(Consent.at, Consent.id))
        return [{"kind": _code(c.kind), "granted": c.granted, "notice_version": c.notice_version,
                 "at": _iso(c.at), "source": c.source} for c in rows]

    def notification_preferences(self) -> dict[str, Any] | None:
        from ..notifications.models import NotificationPreference

        p = db.session.get(NotificationPreference, self.user.id)
        if p is None:
            return None
        return {"email_enabled": p.email_enabled, "whatsapp_opt_in": p.whatsapp_opt_in,
                "whatsapp_opt_in_at": _iso(p.whatsapp_opt_in_at), "whatsapp_opt_in_source": p.whatsapp_opt_in_source,
                "whatsapp_opt_out_at": _iso(p.whatsapp_opt_out_at), "quiet_start": _iso(p.quiet_start),
                "quiet_end": _iso(p.quiet_end)}

    def enrolments(self) -> list[dict[str, Any]]:
        from ..programme.models import Enrolment

        rows = db.session.scalars(
            sa.select(Enrolment).where(Enrolment.user_id == self.user.id)
            .options(joinedload(Enrolment.cohort), joinedload(Enrolment.outlet), selectinload(Enrolment.stage_dates))
            .order_by(Enrolment.started_at, Enrolment.id))
        return [{"id": e.id, "cohort": e.cohort.name, "curriculum": e.cohort.curriculum_key,
                 "outlet_code": e.outlet.code, "status": _code(e.status), "started_at": _iso(e.started_at),
                 "ended_at": _iso(e.ended_at), "current_stage": e.current_stage,
                 "completed_count": e.completed_count, "completed_at": _iso(e.completed_at),
                 "stages": [{"stage": s.stage_key, "completed_at": _iso(s.completed_at)} for s in e.stage_dates]}
                for e in rows]

    def evidence(self) -> list[dict[str, Any]]:
        from .. import files
        from ..programme.models import Evidence, EvidenceReview

        poly = with_polymorphic(Evidence, "*")
        rows = db.session.scalars(
            sa.select(poly).where(evidence_where(self.user.id))
            .options(joinedload(poly.outlet), joinedload(poly.file),
                     selectinload(poly.reviews).joinedload(EvidenceReview.by))
            .order_by(poly.created_at, poly.id)).unique()
        out = []
        for ev in rows:
            path = None
            if ev.file is not None:
                ext = files.EXTENSIONS.get(ev.file.content_type, "bin")
                path = self._stored(ev.file, f"berkas/bukti/{ev.id}.{ext}", "evidence")
            out.append({"id": ev.id, "type": ev.type, "outlet_code": ev.outlet.code, "stage": ev.stage_key,
                        "status": _code(ev.status), "created_at": _iso(ev.created_at),
                        "submitted_at": _iso(ev.submitted_at), "reviewed_at": _iso(ev.reviewed_at),
                        "details": _evidence_details(ev), "file": path,
                        "history": [{"decision": _code(h.decision), "at": _iso(h.at),
                                     "by": h.by.full_name if h.by is not None else None, "comment": h.comment}
                                    for h in sorted(ev.reviews, key=lambda h: (h.at, h.id))]})
        return out

    def registrations(self) -> list[dict[str, Any]]:
        from ..sessions.models import Registration, TrainingSession

        rows = db.session.scalars(
            sa.select(Registration).join(TrainingSession, TrainingSession.id == Registration.session_id)
            .where(Registration.user_id == self.user.id).options(joinedload(Registration.session))
            .order_by(TrainingSession.starts_at, Registration.id))
        return [{"session": {"id": r.session.id, "title": r.session.title, "stage": r.session.stage_key,
                             "starts_at": _iso(r.session.starts_at), "ends_at": _iso(r.session.ends_at),
                             "venue_name": r.session.venue_name, "venue_address": r.session.venue_address,
                             "status": _code(r.session.status)},
                 "status": _code(r.status), "registered_at": _iso(r.created_at), "waitlisted_at": _iso(r.waitlisted_at),
                 "attendance": _code(r.attendance), "attendance_marked_at": _iso(r.attendance_marked_at),
                 "checked_in_by_qr": r.checked_in_by_qr} for r in rows]

    def feedback(self) -> list[dict[str, Any]]:
        from ..feedback.models import FeedbackResponse
        from ..sessions.models import SessionSpeaker, TrainingSession

        rows = db.session.execute(
            sa.select(FeedbackResponse, TrainingSession.title)
            .join(TrainingSession, TrainingSession.id == FeedbackResponse.session_id)
            .where(FeedbackResponse.user_id == self.user.id).options(selectinload(FeedbackResponse.ratings))
            .order_by(FeedbackResponse.created_at, FeedbackResponse.id)).all()
        speaker_ids = {r.speaker_id for resp, _t in rows for r in resp.ratings if r.speaker_id}
        speakers = dict(db.session.execute(sa.select(SessionSpeaker.id, SessionSpeaker.name).where(
            SessionSpeaker.id.in_(speaker_ids))).all()) if speaker_ids else {}
        return [{"session_id": resp.session_id, "session_title": title, "questionnaire": resp.questionnaire_key,
                 "comment": resp.comment, "created_at": _iso(resp.created_at), "updated_at": _iso(resp.updated_at),
                 "ratings": [{"item": r.item, "speaker": speakers.get(r.speaker_id) if r.speaker_id else None,
                              "value": r.value} for r in sorted(resp.ratings, key=lambda r: (r.item, r.speaker_id))]}
                for resp, title in rows]

    def tests(self) -> list[dict[str, Any]]:
        from ..feedback.models import TestAttempt
        from ..sessions.models import TrainingSession

        rows = db.session.execute(
            sa.select(TestAttempt, TrainingSession.title)
            .join(TrainingSession, TrainingSession.id == TestAttempt.session_id)
            .where(TestAttempt.user_id == self.user.id).options(selectinload(TestAttempt.answers))
            .order_by(TestAttempt.started_at, TestAttempt.id)).all()
        return [{"session_id": a.session_id, "session_title": title, "phase": _code(a.phase), "test": a.test_key,
                 "started_at": _iso(a.started_at), "finished_at": _iso(a.finished_at), "correct": a.correct,
                 "total": a.total,
                 "answers": [{"question": x.question_key, "choice": x.choice, "correct": x.is_correct}
                             for x in sorted(a.answers, key=lambda x: x.question_key)]}
                for a, title in rows]

    def certificates(self) -> list[dict[str, Any]]:
        from ..certification.models import Certificate
        from ..certification.services import verify_url

        rows = db.session.scalars(sa.select(Certificate).where(Certificate.holder_id == self.user.id)
                                  .order_by(Certificate.issued_at, Certificate.id))
        out = []
        for c in rows:
            path = self._certificate_pdf(c)
            out.append({"serial": c.serial, "kind": c.kind, "title": c.subject_title, "holder_name": c.holder_name,
                        "outlet_code": c.outlet_code, "outlet_name": c.outlet_name, "status": _code(c.status),
                        "issued_at": _iso(c.issued_at), "revoked_at": _iso(c.revoked_at),
                        "revocation_reason": c.revocation_reason, "verify_url": verify_url(c.verification_code),
                        "details": c.details or {}, "file": path})
        return out

    def _certificate_pdf(self, c: Any) -> str | None:
        from ..certification.services import pdf_file

        if not c.pdf_path:
            return None
        path = "berkas/sertifikat/" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in c.serial) + ".pdf"
        try:
            source: Path | None = pdf_file(c)
        except FileNotFoundError:
            source = None
        missing = source is None or not source.exists()
        self.files.append(FileEntry(path, "certificate", None if missing else source, c.pdf_sha256, c.pdf_size,
                                    "application/pdf", "", missing))
        return path

    def visits(self) -> list[dict[str, Any]]:
        from .. import files
        from ..visits.models import Visit, VisitPhoto

        rows = db.session.scalars(
            sa.select(Visit).where(visit_where(self.user.id))
            .options(joinedload(Visit.outlet), joinedload(Visit.mentor), selectinload(Visit.action_items),
                     selectinload(Visit.photos).joinedload(VisitPhoto.file))
            .order_by(Visit.visited_at, Visit.id)).unique()
        out = []
        for v in rows:
            photos = [self._stored(p.file, f"berkas/foto-kunjungan/{v.id}-{p.id}."
                                   f"{files.EXTENSIONS.get(p.file.content_type, 'bin')}", "visit_photo")
                      for p in v.photos]
            # not here, on purpose: staff_notes and the recorded location (staff only)
            out.append({"id": v.id, "outlet_code": v.outlet.code, "visited_at": _iso(v.visited_at),
                        "duration_minutes": v.duration_minutes, "kind": _code(v.kind), "stages": list(v.stages or []),
                        "observations": v.observations, "next_visit_on": _iso(v.next_visit_on),
                        "mentor": v.mentor.full_name,
                        "action_items": [{"description": a.description, "owner": a.owner, "due_on": _iso(a.due_on),
                                          "done_at": _iso(a.done_at)} for a in v.action_items],
                        "photos": photos})
        return out

    def notifications(self) -> list[dict[str, Any]]:
        from ..notifications.models import Notification

        rows = db.session.scalars(sa.select(Notification).where(Notification.user_id == self.user.id)
                                  .order_by(Notification.created_at, Notification.id))
        return [{"kind": n.kind, "title": n.title, "body": n.body, "url": n.url, "created_at": _iso(n.created_at),
                 "read_at": _iso(n.read_at)} for n in rows]

    def messages(self) -> list[dict[str, Any]]:
        from ..notifications.models import Delivery

        rows = db.session.execute(sa.select(Delivery.channel, Delivery.kind, Delivery.status, Delivery.created_at,
                                            Delivery.sent_at).where(Delivery.user_id == self.user.id)
                                  .order_by(Delivery.created_at, Delivery.id))
        return [{"channel": ch, "kind": kind, "status": _code(st), "created_at": _iso(c), "sent_at": _iso(s)}
                for ch, kind, st, c, s in rows]

    def data_requests(self) -> list[dict[str, Any]]:
        rows = db.session.scalars(sa.select(DataRequest).where(DataRequest.user_id == self.user.id)
                                  .order_by(DataRequest.created_at, DataRequest.id))
        return [{"id": r.id, "kind": _code(r.kind), "status": _code(r.status), "created_at": _iso(r.created_at),
                 "due_at": _iso(r.due_at), "field": r.field, "message": r.message, "proposed_value": r.proposed_value,
                 "handled_at": _iso(r.handled_at), "response": r.response, "expires_at": _iso(r.expires_at)}
                for r in rows]

    def sign_ins(self) -> list[dict[str, Any]]:
        from ..audit.models import AuditEntry

        rows = db.session.execute(
            sa.select(AuditEntry.at, AuditEntry.details, AuditEntry.ip)
            .where(AuditEntry.actor_id == self.user.id, AuditEntry.action == "auth.login")
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(SIGN_INS))
        return [{"at": _iso(at), "method": (details or {}).get("method", "password"), "ip": ip}
                for at, details, ip in rows]

    def accesses(self) -> list[dict[str, Any]]:
        rows = db.session.scalars(
            sa.select(DataAccess).where(DataAccess.subject_id == self.user.id,
                                        sa.or_(DataAccess.actor_id.is_(None), DataAccess.actor_id != self.user.id))
            .options(joinedload(DataAccess.actor)).order_by(DataAccess.at, DataAccess.id))
        return [{"at": _iso(a.at), "by": ({"name": a.actor.full_name, "role": _code(a.actor.role)}
                                          if a.actor is not None else None),
                 "action": a.action, "what": a.what} for a in rows]


def _evidence_details(ev: Any) -> dict[str, Any]:
    fields = {
        "licence": ("licence_type", "number", "issued_on", "issuing_office"),
        "marketing": ("kind", "description", "link"),
        "financial_report": ("month", "turnover", "cost_of_goods", "operating_expenses", "notes"),
        "financing": ("lender", "lender_name", "product", "amount_requested", "amount_approved",
                      "application_status", "applied_on", "decided_on", "disbursed_on"),
    }.get(ev.type, ())
    return {f: _iso(_code(getattr(ev, f, None))) for f in fields}


#: the sections of data.json, in order; each is one step of the progress
SECTIONS: tuple[str, ...] = ("account", "outlet_terms", "consents", "notification_preferences", "enrolments",
                             "evidence", "registrations", "feedback", "tests", "certificates", "visits",
                             "notifications", "messages", "data_requests", "sign_ins", "accesses")


def collect(user: User, step: Callable[[], None] | None = None) -> tuple[dict[str, Any], list[FileEntry]]:
    """Everything held about ``user`` (data.json without ``files``) and the files to copy."""
    c = Collector(user)
    data: dict[str, Any] = {}
    for name in SECTIONS:
        data[name] = getattr(c, name)()
        if step is not None:
            step()
    return data, c.files


def categories(user: User) -> list[tuple[str, int]]:
    """What "Data saya" lists: (section, number of records) for the sections that are lists; one query."""
    from ..audit.models import AuditEntry
    from ..certification.models import Certificate
    from ..feedback.models import FeedbackResponse, TestAttempt
    from ..notifications.models import Notification
    from ..places.models import OutletManagerTerm
    from ..programme.models import Enrolment, Evidence
    from ..sessions.models import Registration
    from ..visits.models import Visit

    uid = user.id

    def n(model: Any, *where: Any) -> Any:
        return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()

    counts = {
        "outlet_terms": n(OutletManagerTerm, OutletManagerTerm.user_id == uid),
        "consents": n(Consent, Consent.user_id == uid),
        "enrolments": n(Enrolment, Enrolment.user_id == uid),
        "evidence": n(Evidence, evidence_where(uid)),
        "registrations": n(Registration, Registration.user_id == uid),
        "feedback": n(FeedbackResponse, FeedbackResponse.user_id == uid),
        "tests": n(TestAttempt, TestAttempt.user_id == uid),
        "certificates": n(Certificate, Certificate.holder_id == uid),
        "visits": n(Visit, visit_where(uid)),
        "notifications": n(Notification, Notification.user_id == uid),
        "data_requests": n(DataRequest, DataRequest.user_id == uid),
        "sign_ins": n(AuditEntry, AuditEntry.actor_id == uid, AuditEntry.action == "auth.login"),
        "accesses": n(DataAccess, DataAccess.subject_id == uid,
                      sa.or_(DataAccess.actor_id.is_(None), DataAccess.actor_id != uid)),
    }
    row = db.session.execute(sa.select(*[v.label(k) for k, v in counts.items()])).one()
    return [("account", 1)] + [(k, int(getattr(row, k) or 0)) for k in counts]


# --- the ZIP --------------------------------------------------------------------------------------

def _readme(data: dict[str, Any], lang: str) -> str:
    from flask_babel import force_locale
    from flask_babel import gettext as _

    with force_locale(lang):
        lines = [
            _("Salinan data pribadi Anda dari aplikasi 7 PAS OK OCE"),
            "=" * 60, "",
            _("Dibuat: %(when)s (UTC)", when=data["generated_at"]),
            _("Pengendali data: %(name)s, %(address)s", name=data["controller"]["name"],
              address=data["controller"]["address"]),
            _("Pejabat pelindungan data pribadi: %(contact)s", contact=data["controller"]["dpo_contact"]), "",
            _("Isi berkas ini:"),
            "  data.json       " + _("semua data Anda, dapat dibaca mesin (JSON, UTF-8; schema_version %(v)s)",
                                     v=SCHEMA_VERSION),
            "  ringkasan.html  " + _("ringkasan yang mudah dibaca; buka dengan peramban"),
            "  berkas/         " + _("berkas Anda: bukti (izin, laporan), foto kunjungan, PDF sertifikat"), "",
            _("Struktur data.json: kunci-kuncinya tetap; waktu dalam UTC (ISO 8601), tanggal YYYY-MM-DD, "
              "jumlah uang dalam Rupiah. Daftar 'files' memuat sidik SHA-256 setiap berkas."),
            _("Tidak termasuk: catatan internal petugas dan lokasi kunjungan, serta data orang lain "
              "(misalnya pengelola sebelumnya atau sesudah Anda di e-Warong yang sama)."),
            _("Bila ada data yang salah, ajukan perbaikan lewat aplikasi (Permintaan data pribadi)."), "",
            "schema_version: %d" % SCHEMA_VERSION, "",
        ]
    return "\r\n".join(lines)


def _summary_html(data: dict[str, Any], lang: str) -> str:
    from flask import render_template
    from flask_babel import force_locale

    from ..i18n import rupiah, wib_date, wib_datetime
    from ..programme import services as programme

    cur = programme.default_curriculum()
    stages = {s.key: f"{s.number}. {s.name.get(lang)}" for s in cur.stages}

    def when(value: str | None) -> str:
        return wib_datetime(datetime.fromisoformat(value)) if value else "–"

    def day(value: str | None) -> str:
        return wib_date(date.fromisoformat(value[:10])) if value else "–"

    with force_locale(lang):
        return render_template("privacy/export_summary.html", data=data, lang=lang, stages=stages,
                               labels=section_labels(), when=when, day=day, rupiah=rupiah)


def section_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {
        "account": _("Akun dan profil"), "outlet_terms": _("e-Warong yang Anda kelola"),
        "consents": _("Persetujuan"), "notification_preferences": _("Pengaturan pemberitahuan"),
        "enrolments": _("Keikutsertaan program dan kemajuan 7 PAS"),
        "evidence": _("Bukti: izin, pemasaran, laporan keuangan, permodalan"),
        "registrations": _("Pendaftaran dan kehadiran Bimtek"), "feedback": _("Umpan balik Bimtek"),
        "tests": _("Jawaban tes Bimtek"), "certificates": _("Sertifikat"),
        "visits": _("Kunjungan pendamping ke e-Warong Anda"), "notifications": _("Pemberitahuan di aplikasi"),
        "messages": _("Pesan e-mail dan WhatsApp"), "data_requests": _("Permintaan data pribadi"),
        "sign_ins": _("Riwayat masuk"), "accesses": _("Petugas yang membuka data Anda"),
    }


def exports_root() -> Path:
    from .. import files

    root = files.upload_root() / EXPORT_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    return root


def stored_path(file_key: str | None) -> Path | None:
    """The ZIP's path from ``file_key`` (relative to the upload root); None if it leaves the export folder."""
    from .. import files

    if not file_key:
        return None
    root = (files.upload_root() / EXPORT_FOLDER).resolve()
    path = (files.upload_root() / file_key).resolve()
    return path if path.parent == root else None


def _copy(zf: zipfile.ZipFile, entry: FileEntry) -> None:
    """Copy one file into the ZIP, computing its digest as it goes (already compressed: stored)."""
    assert entry.source is not None
    digest = hashlib.sha256()
    size = 0
    with entry.source.open("rb") as src, zf.open(zipfile.ZipInfo(entry.path, date_time=_zip_time()), "w") as dst:
        while chunk := src.read(256 * 1024):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
    entry.sha256, entry.size = digest.hexdigest(), size


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = utcnow()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def _write_text(zf: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=_zip_time())
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, text.encode("utf-8"))


# --- the background build ---------------------------------------------------------------------------

def _update(request_id: int, **values: Any) -> int:
    with transaction():
        return db.session.execute(sa.update(DataRequest).where(DataRequest.id == request_id)
                                  .values(updated_at=utcnow(), **values)
                                  .execution_options(synchronize_session=False)).rowcount


def build_export(request_id: int) -> bool:
    """Build the copy of a pending export request (runs inside an app context). True when ready.

    The request is claimed with a conditional UPDATE (pending → running), so two workers never
    build the same one. On failure the request is FAILED with the error's kind (never personal
    data) and any partial file is removed."""
    req = db.session.get(DataRequest, request_id)
    if req is None or req.kind is not RequestKind.EXPORT:
        return False
    with transaction():
        claimed = db.session.execute(
            sa.update(DataRequest).where(DataRequest.id == request_id, DataRequest.status == RequestStatus.PENDING)
            .values(status=RequestStatus.RUNNING, progress=0, total=len(SECTIONS) + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        return False
    db.session.expire_all()
    req = db.session.get(DataRequest, request_id)
    assert req is not None
    user = req.user
    lang = user.locale if user.locale in ("id", "en") else "id"
    part: Path | None = None
    try:
        done = 0
        shown = time_.monotonic()

        def show(value: int) -> None:
            """Write the progress, at most every PROGRESS_EVERY seconds (each write is a small transaction)."""
            nonlocal shown
            if time_.monotonic() - shown >= PROGRESS_EVERY:
                _update(request_id, progress=value)
                shown = time_.monotonic()

        def step() -> None:
            nonlocal done
            done += 1
            show(done)

        data, entries = collect(user, step)
        present = [e for e in entries if not e.missing]
        total = len(SECTIONS) + len(present) + 1
        _update(request_id, total=total, progress=done)
        name = f"{secrets.token_hex(16)}.zip"
        root = exports_root()
        part = root / (name + ".part")
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_STORED) as zf:
            for i, entry in enumerate(present, 1):
                _copy(zf, entry)
                show(len(SECTIONS) + i)
            doc = {"schema_version": SCHEMA_VERSION, "generated_at": _iso(utcnow()), "language": lang,
                   "controller": {"name": _config("PRIVACY_CONTROLLER", ""),
                                  "address": _config("PRIVACY_CONTROLLER_ADDRESS", ""),
                                  "dpo_contact": _config("DPO_CONTACT", "")}}
            doc.update(data)
            doc["files"] = [{"path": e.path, "category": e.category, "sha256": e.sha256, "size": e.size,
                             "content_type": e.content_type, "original_name": e.original_name,
                             **({"missing": True} if e.missing else {})} for e in entries]
            _write_text(zf, "data.json", json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False))
            _write_text(zf, "ringkasan.html", _summary_html(doc, lang))
            _write_text(zf, "README.txt", _readme(doc, lang))
        final = root / name
        digest = hashlib.sha256()
        with part.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                digest.update(chunk)
        part.replace(final)
        part = final
        from .. import files

        key = final.relative_to(files.upload_root()).as_posix()
        now = utcnow()
        with transaction():
            n = db.session.execute(
                sa.update(DataRequest).where(DataRequest.id == request_id, DataRequest.status == RequestStatus.RUNNING)
                .values(status=RequestStatus.READY, progress=total, total=total, file_key=key,
                        file_size=final.stat().st_size, sha256=digest.hexdigest(), handled_at=now, updated_at=now,
                        expires_at=now + timedelta(days=int(_config("DATA_EXPORT_DAYS", 7))), response=None)
                .execution_options(synchronize_session=False)).rowcount
            if not n:  # taken away meanwhile (the person was erased, an admin failed it): keep nothing
                raise RuntimeError("export request no longer running")
            from ..outbox import announce

            announce("privacy.export_ready", {"request_id": request_id, "user_id": user.id})
        db.session.expire_all()
        return True
    except Exception as e:  # noqa: BLE001 - any failure is the request's outcome, shown to the person
        log.exception("data export %s failed", request_id)
        db.session.rollback()
        if part is not None:
            part.unlink(missing_ok=True)
        _update(request_id, status=RequestStatus.FAILED, response=type(e).__name__[:100], file_key=None)
        db.session.expire_all()
        return False


def build_pending(limit: int = 20) -> int:
    """Build the pending exports (``LMS_DATA_EXPORT_WORKER=off``: cron or a test); the number built."""
    ids = list(db.session.scalars(sa.select(DataRequest.id).where(
        DataRequest.kind == RequestKind.EXPORT, DataRequest.status == RequestStatus.PENDING)
        .order_by(DataRequest.id).limit(limit)))
    return sum(1 for i in ids if build_export(i))


class _Worker:
    """One thread per process: builds the submitted requests one after another."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[Flask, int]] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, app: Flask, request_id: int) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="data-export-worker", daemon=True)
                self.thread.start()
        self.queue.put((app, request_id))

    def _run(self) -> None:
        while True:
            app, request_id = self.queue.get()
            try:
                with app.app_context():
                    build_export(request_id)
            except Exception:
                log.exception("data export %s stopped", request_id)
            finally:
                self.queue.task_done()

    def join(self) -> None:
        """Wait until every submitted build has finished (tests)."""
        self.queue.join()


WORKER = _Worker()


def mode(app: Flask) -> str:
    chosen = app.config.get("DATA_EXPORT_WORKER")
    if chosen:
        return str(chosen)
    return "rq" if app.config.get("REDIS_URL") else "thread"


def dispatch(request_id: int) -> None:
    """Start building a committed request, the way ``LMS_DATA_EXPORT_WORKER`` says."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    how = mode(app)
    if how == "thread":
        WORKER.submit(app, request_id)
    elif how == "inline":
        build_export(request_id)
    elif how == "rq":
        from redis import Redis
        from rq import Queue

        q = Queue(app.config.get("NOTIFICATIONS_QUEUE", "notifications"), connection=Redis.from_url(app.config["REDIS_URL"]))
        q.enqueue_call("lms.privacy.export.rq_build", args=(request_id,), timeout=1800, result_ttl=3600,
                       failure_ttl=7 * 24 * 3600, description=f"data export {request_id}")


_rq_app: Flask | None = None


def rq_build(request_id: int) -> None:
    """The RQ job."""
    global _rq_app
    if has_app_context():
        build_export(request_id)
        return
    if _rq_app is None:
        from .. import create_app

        _rq_app = create_app()
    with _rq_app.app_context():
        build_export(request_id)


# --- the person's side: ask, follow, download --------------------------------------------------------

def _is_stale(req: DataRequest, now: datetime) -> bool:
    return (req.updated_at or req.created_at) < now - STALE_AFTER


def request_export(actor: User, *, ip: str | None = None) -> tuple[DataRequest, bool]:
    """Ask for a copy of one's data: (the request, True) — or (the one already under way, False).

    At most one export per person is pending or running: the person's row is locked while
    checking (PostgreSQL; SQLite's write lock does the same), so two clicks make one request.
    One left behind by a dead process (untouched for STALE_AFTER) is failed and replaced."""
    now = utcnow()
    with transaction():
        db.session.execute(sa.select(User.id).where(User.id == actor.id).with_for_update())
        running = db.session.scalars(sa.select(DataRequest).where(
            DataRequest.user_id == actor.id, DataRequest.kind == RequestKind.EXPORT,
            DataRequest.status.in_(ACTIVE)).order_by(DataRequest.id.desc())).all()
        for r in running:
            if not _is_stale(r, now):
                return r, False
            r.status = RequestStatus.FAILED
            r.response = "interrupted"
        req = DataRequest(user_id=actor.id, kind=RequestKind.EXPORT, status=RequestStatus.PENDING, created_at=now,
                          due_at=now + timedelta(hours=int(_config("DATA_REQUEST_HOURS", 72))))
        db.session.add(req)
        db.session.flush()
        record("privacy.export_requested", actor=actor, target=req, ip=ip)
    dispatch(req.id)
    return req, True


def own_export(actor: Any, request_id: Any) -> DataRequest | None:
    """The actor's own export request with this id; None for anyone else's (admins included)."""
    from ..forms_common import int_or_none

    pk = int_or_none(request_id)
    req = db.session.get(DataRequest, pk) if pk is not None else None
    if req is None or req.kind is not RequestKind.EXPORT or req.user_id != getattr(actor, "id", None):
        return None
    return req


def is_downloadable(req: DataRequest, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (req.status is RequestStatus.READY and req.expires_at is not None and req.expires_at > now
            and req.file_key is not None)


def download_path(actor: User, req: DataRequest, *, ip: str | None = None) -> Path | None:
    """The ZIP to send to ``actor``, recorded (audit, access log); None when there is nothing to send."""
    if req.user_id != actor.id or not is_downloadable(req):
        return None
    path = stored_path(req.file_key)
    if path is None or not path.exists():
        return None
    with transaction():
        record("privacy.export_downloaded", actor=actor, target=req, ip=ip, sha256=req.sha256)
        access.record(actor, actor.id, access.DATA_EXPORT, f"data_request:{req.id}")
    return path


def progress(req: DataRequest) -> dict[str, Any]:
    total = max(req.total or 0, 1)
    finished = req.status not in ACTIVE
    done = total if finished else min(req.progress or 0, total)
    return {"id": req.id, "status": _code(req.status), "progress": done, "total": total,
            "percent": 100 if finished else int(done * 100 / total), "finished": finished}


def my_exports(user: User, limit: int = 10) -> list[DataRequest]:
    return list(db.session.scalars(sa.select(DataRequest).where(
        DataRequest.user_id == user.id, DataRequest.kind == RequestKind.EXPORT)
        .order_by(DataRequest.created_at.desc(), DataRequest.id.desc()).limit(limit)))


# --- retention and erasure -----------------------------------------------------------------------------

def _expire(rows: list[DataRequest], now: datetime) -> int:
    n = 0
    for r in rows:
        path = stored_path(r.file_key)
        if path is not None:
            path.unlink(missing_ok=True)  # the file first: a failure after it leaves nothing to download
        r.status = RequestStatus.EXPIRED
        r.file_key = None
        r.updated_at = now
        n += 1
    return n


def delete_expired_exports(now: datetime | None = None) -> int:
    """The retention job's part: every ready export whose ``expires_at`` has passed loses its file
    and becomes EXPIRED (``file_key`` cleared). Idempotent; returns how many were expired. Leftover
    files of builds that never finished (``*.part``, files no request points at) older than a day
    are removed too."""
    now = now or utcnow()
    with transaction():
        rows = list(db.session.scalars(sa.select(DataRequest).where(
            DataRequest.kind == RequestKind.EXPORT, DataRequest.status == RequestStatus.READY,
            DataRequest.expires_at <= now).with_for_update()))
        n = _expire(rows, now)
    _sweep_orphans(now)
    return n


def delete_exports_of(user_id: int, now: datetime | None = None) -> int:
    """Erasure's part: remove all of a person's export files now (any status), and stop a running build."""
    now = now or utcnow()
    with transaction():
        rows = list(db.session.scalars(sa.select(DataRequest).where(
            DataRequest.kind == RequestKind.EXPORT, DataRequest.user_id == user_id,
            sa.or_(DataRequest.file_key.is_not(None), DataRequest.status.in_(ACTIVE))).with_for_update()))
        for r in rows:
            if r.status in ACTIVE:
                r.status = RequestStatus.FAILED
                r.response = "erased"
        return _expire([r for r in rows if r.file_key is not None or r.status is RequestStatus.READY], now)


def _sweep_orphans(now: datetime) -> int:
    root = exports_root()
    keys = set(db.session.scalars(sa.select(DataRequest.file_key).where(DataRequest.file_key.is_not(None))))
    cutoff = (now - timedelta(days=1)).timestamp()
    n = 0
    for path in root.iterdir():
        if not path.is_file() or path.stat().st_mtime > cutoff:
            continue
        if f"{EXPORT_FOLDER}/{path.name}" in keys:
            continue
        path.unlink(missing_ok=True)
        n += 1
    return n
