"""What a "Data saya" copy holds about a person, section by section (the JSON's content and
the files that go with it). The structure is documented in lms/privacy/export.py."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload, with_polymorphic

from ..extensions import db
from ..people.models import User
from .models import Consent, DataAccess, DataRequest

SCHEMA_VERSION = 1
#: sign-ins listed in the copy
SIGN_INS = 50


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
    #: (storage area, key) of the file to copy; None when it is missing
    source: tuple[str, str] | None
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

        missing = not files.stored_exists(row)
        self.files.append(FileEntry(path, category, None if missing else (files.AREA, row.path), row.sha256, row.size,
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
        from ..certification.pdf import AREA, pdf_exists

        if not c.pdf_path:
            return None
        path = "berkas/sertifikat/" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in c.serial) + ".pdf"
        missing = not pdf_exists(c)
        self.files.append(FileEntry(path, "certificate", None if missing else (AREA, c.pdf_path), c.pdf_sha256, c.pdf_size,
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
