"""Who is told what, for every domain event. Each subscriber runs in the worker after the
announcing transaction committed, loads what it needs and returns audiences; the texts are
composed per person inside their language (``compose`` runs under ``force_locale``).

What a message reveals follows the rulebook: every audience names the rule that the
recipient must pass for the object (``visible``), checked for each person at dispatch time.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

import sqlalchemy as sa
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import wib_date, wib_datetime
from ..people.models import Role, User
from ..permissions import can
from .dispatch import APP, Audience, Content
from .events import subscriber
from .models import Broadcast, OutboxEvent

EVIDENCE_LABELS = {
    "licence": "Izin usaha", "marketing": "Langkah pemasaran",
    "financial_report": "Laporan keuangan bulanan", "financing": "Pengajuan permodalan",
}


def _lang() -> str:
    return str(get_locale() or "id")


def _evidence_label(ev: Any) -> str:
    label = EVIDENCE_LABELS.get(ev.type, ev.type)
    if ev.type == "financial_report" and getattr(ev, "month", None):
        return _("Laporan keuangan %(month)s", month=wib_date(ev.month, "MMMM y"))
    return _(label)


def _stage_name(outlet_id: int | None, stage_key: str) -> str:
    from ..programme import services as programme

    cur = programme.curriculum_for_outlet(outlet_id) if outlet_id else programme.default_curriculum()
    try:
        s = cur.stage(stage_key)
    except KeyError:
        return stage_key
    return f"{s.number}. {s.name.get(_lang())}"


def _users(ids: Iterable[int]) -> list[User]:
    ids = list({i for i in ids if i})
    if not ids:
        return []
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.id)))


# --- the 7 PAS journey ---------------------------------------------------------------------

def _evidence(event: OutboxEvent) -> Any:
    from ..programme.models import Evidence

    return db.session.get(Evidence, event.payload.get("evidence_id"))


@subscriber("evidence.submitted")
def _submitted(event: OutboxEvent) -> list[Audience]:
    from ..visits.models import MentorAssignment

    ev = _evidence(event)
    if ev is None:
        return []
    mentor_ids = db.session.scalars(sa.select(MentorAssignment.mentor_id).where(
        MentorAssignment.outlet_id == ev.outlet_id, MentorAssignment.ended_at.is_(None)))
    return [Audience(
        users=_users(mentor_ids), channels=(APP,),
        visible=lambda u: can(u, "evidence.review", ev),
        compose=lambda u: Content(
            title=_("Menunggu tinjauan: %(what)s dari %(outlet)s", what=_evidence_label(ev), outlet=ev.outlet.name),
            url=url_for("programme.evidence_detail", evidence_id=ev.id)))]


@subscriber("evidence.verified", "evidence.returned")
def _reviewed(event: OutboxEvent) -> list[Audience]:
    ev = _evidence(event)
    if ev is None or ev.outlet.manager is None:
        return []
    returned = event.name == "evidence.returned"
    comment = event.payload.get("comment") or ""

    def compose(u: User) -> Content:
        if returned:
            return Content(
                title=_("Perlu diperbaiki: %(what)s", what=_evidence_label(ev)),
                body=_("Peninjau mengembalikan kiriman Anda dengan komentar: %(comment)s", comment=comment)
                if comment else _("Peninjau mengembalikan kiriman Anda. Buka untuk melihat apa yang perlu diperbaiki."),
                url=url_for("programme.evidence_detail", evidence_id=ev.id))
        return Content(title=_("Disetujui: %(what)s", what=_evidence_label(ev)),
                       body=_("Kiriman Anda sudah diverifikasi. Lihat kemajuan Anda di 7 PAS."),
                       url=url_for("programme.evidence_detail", evidence_id=ev.id))

    return [Audience(users=[ev.outlet.manager], compose=compose, visible=lambda u: can(u, "evidence.view", ev))]


@subscriber("stage.completed")
def _stage_completed(event: OutboxEvent) -> list[Audience]:
    from ..programme.models import Enrolment

    enr = db.session.get(Enrolment, event.payload.get("enrolment_id"))
    if enr is None:
        return []
    key = event.payload.get("stage_key", "")
    return [Audience(
        users=[enr.user], visible=lambda u: can(u, "enrolment.view", enr),
        compose=lambda u: Content(
            title=_("Tahap selesai: %(stage)s", stage=_stage_name(enr.outlet_id, key)),
            body=_("Selamat! Lanjutkan ke langkah berikutnya di halaman Kemajuan Saya."),
            url=url_for("programme.my_progress")))]


# --- training sessions -----------------------------------------------------------------------

def _session(event: OutboxEvent) -> Any:
    from ..sessions.models import TrainingSession

    return db.session.get(TrainingSession, event.payload.get("session_id"))


def _registrant_ids(session_id: int, statuses: tuple[str, ...] = ("registered", "waitlisted")) -> list[int]:
    from ..sessions.models import Registration, RegistrationStatus

    wanted = [RegistrationStatus(s) for s in statuses]
    return list(db.session.scalars(sa.select(Registration.user_id).where(
        Registration.session_id == session_id, Registration.status.in_(wanted))))


def _when(s: Any) -> str:
    return _("%(start)s di %(venue)s", start=wib_datetime(s.starts_at, "EEEE, d MMMM y HH:mm"), venue=s.venue_name)


def _ics(s: Any, cache: dict[tuple[int, int, str], bytes] | None = None) -> list[tuple[str, str, bytes]]:
    """The session's calendar file. Pass one ``cache`` per event: building it costs ~0.3 s
    (icalendar computes the time zone's transitions), and it is the same for everyone who reads
    the same language."""
    from ..sessions import services as sessions

    key = (s.id, s.sequence, _lang())
    if cache is None or key not in cache:
        data = sessions.ics([s], name=s.title)
        if cache is None:
            return [("bimtek.ics", "text/calendar", data)]
        cache[key] = data
    return [("bimtek.ics", "text/calendar", cache[key])]


@subscriber("session.created")
def _session_created(event: OutboxEvent) -> list[Audience]:
    from ..programme.models import Enrolment, EnrolmentStatus

    s = _session(event)
    if s is None:
        return []
    ids = db.session.scalars(sa.select(Enrolment.user_id).where(
        Enrolment.region_id == s.region_id, Enrolment.status == EnrolmentStatus.ACTIVE,
        Enrolment.current_stage == s.stage_key))
    return [Audience(
        users=_users(ids), channels=(APP,), visible=lambda u: can(u, "session.view", s),
        compose=lambda u: Content(title=_("Bimtek baru untuk tahap Anda: %(title)s", title=s.title),
                                  body=_when(s), url=url_for("sessions.session_detail", session_id=s.id)))]


@subscriber("session.changed", "session.cancelled")
def _session_changed(event: OutboxEvent) -> list[Audience]:
    s = _session(event)
    if s is None:
        return []
    cancelled = event.name == "session.cancelled"
    ids = event.payload.get("user_ids") or _registrant_ids(s.id)
    calendars: dict[tuple[int, int, str], bytes] = {}

    def compose(u: User) -> Content:
        if cancelled:
            return Content(title=_("Bimtek dibatalkan: %(title)s", title=s.title),
                           body=_("Sesi pada %(when)s dibatalkan. Kami akan memberi tahu jadwal penggantinya.",
                                  when=wib_datetime(s.starts_at, "EEEE, d MMMM y HH:mm")),
                           url=url_for("sessions.session_detail", session_id=s.id))
        return Content(title=_("Jadwal Bimtek berubah: %(title)s", title=s.title),
                       body=_("Jadwal baru: %(when)s.", when=_when(s)),
                       url=url_for("sessions.session_detail", session_id=s.id), attachments=_ics(s, calendars))

    # the cancelled session's page stays visible to its registrants; no rule check beyond being one
    return [Audience(users=_users(ids), compose=compose,
                     visible=None if cancelled else (lambda u: can(u, "session.view", s)))]


@subscriber("registration.confirmed", "registration.waitlisted", "registration.promoted",
            "registration.cancelled")
def _registration(event: OutboxEvent) -> list[Audience]:
    s = _session(event)
    user = db.session.get(User, event.payload.get("user_id"))
    if s is None or user is None:
        return []
    name = event.name.split(".")[1]

    def compose(u: User) -> Content:
        url = url_for("sessions.session_detail", session_id=s.id)
        if name == "confirmed":
            return Content(title=_("Terdaftar di Bimtek: %(title)s", title=s.title), body=_when(s), url=url,
                           attachments=_ics(s))
        if name == "promoted":
            return Content(title=_("Dapat tempat di Bimtek: %(title)s", title=s.title),
                           body=_("Anda naik dari daftar tunggu. %(when)s.", when=_when(s)), url=url,
                           attachments=_ics(s))
        if name == "waitlisted":
            return Content(title=_("Masuk daftar tunggu: %(title)s", title=s.title),
                           body=_("Kami memberi tahu Anda bila ada tempat."), url=url)
        return Content(title=_("Pendaftaran dibatalkan: %(title)s", title=s.title), url=url)

    channels = (APP, "email", "whatsapp") if name in ("confirmed", "promoted") else (APP, "email")
    return [Audience(users=[user], compose=compose, channels=channels)]


@subscriber("attendance.recorded")
def _attendance(event: OutboxEvent) -> list[Audience]:
    s = _session(event)
    if s is None:
        return []
    return [Audience(
        users=_users(event.payload.get("user_ids") or []), channels=(APP,),
        compose=lambda u: Content(title=_("Kehadiran tercatat: %(title)s", title=s.title),
                                  url=url_for("sessions.session_detail", session_id=s.id)))]


# --- visits ---------------------------------------------------------------------------------

@subscriber("visit.logged")
def _visit(event: OutboxEvent) -> list[Audience]:
    from ..visits.models import Visit

    v = db.session.get(Visit, event.payload.get("visit_id"))
    if v is None or v.outlet.manager is None:
        return []
    return [Audience(
        users=[v.outlet.manager], channels=(APP,), visible=lambda u: can(u, "visit.view", v),
        compose=lambda u: Content(
            title=_("Kunjungan pendamping tercatat: %(date)s", date=wib_date(v.visited_at)),
            body=_("%(mentor)s mengunjungi %(outlet)s.", mentor=v.mentor.full_name, outlet=v.outlet.name),
            url=url_for("visits.visit_detail", visit_id=v.id)))]


@subscriber("action_item.due")
def _action_due(event: OutboxEvent) -> list[Audience]:
    from ..visits.models import ActionItem

    item = db.session.get(ActionItem, event.payload.get("action_item_id"))
    if item is None or item.done_at is not None:
        return []
    trainee_owned = item.owner.strip().lower() in ("pengelola", "manager")
    user = item.visit.outlet.manager if trainee_owned else item.visit.mentor
    if user is None:
        return []
    return [Audience(
        users=[user], channels=(APP, "email"), visible=lambda u: can(u, "visit.view", item.visit),
        compose=lambda u: Content(title=_("Tindak lanjut jatuh tempo %(date)s", date=wib_date(item.due_on)),
                                  body=item.description,
                                  url=url_for("visits.visit_detail", visit_id=item.visit_id)))]


# --- certificates ---------------------------------------------------------------------------

@subscriber("certificate.issued", "certificate.revoked")
def _certificate(event: OutboxEvent) -> list[Audience]:
    from ..certification.models import Certificate

    cert = db.session.get(Certificate, event.payload.get("certificate_id"))
    if cert is None or cert.holder is None:
        return []
    revoked = event.name == "certificate.revoked"

    def compose(u: User) -> Content:
        url = url_for("certification.detail", cert_id=cert.id)
        if revoked:
            return Content(title=_("Sertifikat dicabut: %(serial)s", serial=cert.serial),
                           body=cert.revocation_reason or "", url=url)
        return Content(title=_("Sertifikat terbit: %(title)s", title=cert.subject_title),
                       body=_("Nomor %(serial)s. Unduh PDF-nya dari halaman sertifikat.", serial=cert.serial),
                       url=url)

    channels = (APP, "email") if revoked else (APP, "email", "whatsapp")
    return [Audience(users=[cert.holder], compose=compose, channels=channels,
                     visible=lambda u: can(u, "certificate.view", cert))]


# --- accounts -------------------------------------------------------------------------------

@subscriber("account.created", "password.reset")
def _setup_link(event: OutboxEvent) -> list[Audience]:
    user = db.session.get(User, event.payload.get("user_id"))
    link = event.secret
    if user is None or not link:
        return []
    hours = event.payload.get("hours", 72)

    def compose(u: User) -> Content:
        if event.name == "account.created":
            title = _("Akun 7 PAS Anda sudah dibuat")
        else:
            title = _("Atur ulang kata sandi akun 7 PAS Anda")
        return Content(title=title, url=link,
                       body=_("Buka tautan ini untuk membuat kata sandi (berlaku %(hours)s jam): %(link)s",
                              hours=hours, link=link))

    # the link is a secret: never in the in-app list, only to the person's own addresses
    # transactional: the person needs it to get in; WhatsApp carries it without the marketing opt-in
    return [Audience(users=[user], compose=compose, channels=("email", "whatsapp"),
                     urgent=bool(event.payload.get("requested_by_self")), transactional=True)]


@subscriber("auth.code_requested")
def _sign_in_code(event: OutboxEvent) -> list[Audience]:
    """A one-time code the person asked for, to their (new) number only: urgent (no quiet hours),
    transactional (no opt-in needed), and blanked from the stored message once sent."""
    user = db.session.get(User, event.payload.get("user_id"))
    code = event.secret
    if user is None or not code:
        return []
    minutes = event.payload.get("minutes", 5)
    phone = event.payload.get("phone")

    def compose(u: User) -> Content:
        if event.payload.get("purpose") == "phone_change":
            title = _("Kode konfirmasi nomor HP 7 PAS: %(code)s", code=code)
        else:
            title = _("Kode masuk 7 PAS Anda: %(code)s", code=code)
        return Content(title=title, body=_(
            "Kode ini berlaku %(minutes)s menit dan hanya sekali pakai. Jangan berikan kode ini kepada siapa pun, "
            "termasuk petugas. Jika Anda tidak memintanya, abaikan pesan ini.", minutes=minutes))

    class _To:
        """The person, at the number the code is for (a new number when changing it)."""

        def __init__(self, u: User) -> None:
            self.__dict__.update(id=u.id, active=u.active, locale=u.locale, full_name=u.full_name, email=None,
                                 phone=phone or u.phone)

    return [Audience(users=[_To(user)], compose=compose, channels=("whatsapp",),  # type: ignore[list-item]
                     urgent=True, transactional=True, redact_after_send=True)]


@subscriber("import.finished")
def _import_finished(event: OutboxEvent) -> list[Audience]:
    user = db.session.get(User, event.actor_id) if event.actor_id else None
    if user is None:
        return []
    p = event.payload
    return [Audience(users=[user], channels=(APP,), compose=lambda u: Content(
        title=_("Impor selesai: %(created)s baru, %(updated)s diperbarui",
                created=p.get("created", 0), updated=p.get("updated", 0)),
        url=url_for("places.outlet_list")))]


# --- broadcasts and reminders ------------------------------------------------------------------

@subscriber("broadcast.sent")
def _broadcast(event: OutboxEvent) -> list[Audience]:
    from . import services

    b = db.session.get(Broadcast, event.payload.get("broadcast_id"))
    if b is None:
        return []
    sender = b.sender
    users = services.broadcast_recipients(b.audience, b.target_id)
    return [Audience(users=users, compose=lambda u: Content(
        title=b.subject, body=b.body + ("\n\n— " + sender.full_name if sender else ""),
        url=services.broadcast_url(b.audience, b.target_id)))]


@subscriber("reminder.session_tomorrow", "reminder.session_today")
def _session_reminder(event: OutboxEvent) -> list[Audience]:
    s = _session(event)
    if s is None or s.status.value != "scheduled":
        return []
    today = event.name == "reminder.session_today"
    return [Audience(users=_users(_registrant_ids(s.id, ("registered",))), compose=lambda u: Content(
        title=(_("Hari ini: %(title)s", title=s.title) if today else _("Besok: %(title)s", title=s.title)),
        body=_when(s), url=url_for("sessions.session_detail", session_id=s.id)))]


@subscriber("reminder.report_due")
def _report_due(event: OutboxEvent) -> list[Audience]:
    user = db.session.get(User, event.payload.get("user_id"))
    if user is None:
        return []
    month = datetime.fromisoformat(event.payload["month"]).date()
    return [Audience(users=[user], compose=lambda u: Content(
        title=_("Saatnya kirim laporan keuangan %(month)s", month=wib_date(month, "MMMM y")),
        body=_("Isi omzet dan biaya bulan itu dari buku kas Anda."), url=url_for("programme.my_progress")))]


@subscriber("reminder.mentor_digest")
def _mentor_digest(event: OutboxEvent) -> list[Audience]:
    user = db.session.get(User, event.payload.get("user_id"))
    if user is None or user.role is not Role.MENTOR:
        return []
    p = event.payload
    return [Audience(users=[user], channels=(APP, "email"), compose=lambda u: Content(
        title=_("Ringkasan Senin: %(overdue)s outlet perlu dikunjungi, %(actions)s tindak lanjut lewat waktu",
                overdue=p.get("overdue", 0), actions=p.get("past_due_actions", 0)),
        body="\n".join(p.get("outlets", [])), url=url_for("visits.my_caseload")))]


@subscriber("reminder.review_summary")
def _review_summary(event: OutboxEvent) -> list[Audience]:
    user = db.session.get(User, event.payload.get("user_id"))
    if user is None:
        return []
    p = event.payload
    return [Audience(users=[user], channels=(APP, "email"), compose=lambda u: Content(
        title=_("Antrean tinjauan: %(n)s menunggu, yang tertua %(days)s hari",
                n=p.get("pending", 0), days=p.get("oldest_days", 0)),
        url=url_for("programme.review_queue")))]



# --- personal data: a breach notice (lms/privacy/breach.py) -------------------------------------

@subscriber("privacy.breach_notice")
def _breach_notice(event: OutboxEvent) -> list[Audience]:
    """The letter of UU PDP Pasal 46 to each affected person: in the app, by e-mail and (with their
    opt-in) on WhatsApp; urgent (the law gives 3×24 hours), so quiet hours do not hold it back."""
    from ..privacy.models import BreachNotice

    notice = db.session.get(BreachNotice, event.payload.get("breach_id"))
    if notice is None:
        return []
    return [Audience(users=_users(event.payload.get("user_ids") or []), urgent=True, compose=lambda u: Content(
        title=_("Pemberitahuan kegagalan pelindungan data pribadi"), body=notice.letter,
        url=url_for("notifications.index")))]


# --- personal data: the copy of one's data is ready (lms/privacy/export.py) ----------------------

@subscriber("privacy.export_ready")
def _export_ready(event: OutboxEvent) -> list[Audience]:
    """The person asked for a copy of their data ("Data saya"): it may be downloaded until it expires.
    Only they are told (the copy is theirs alone); WhatsApp only with their opt-in."""
    from ..privacy.models import DataRequest

    req = db.session.get(DataRequest, event.payload.get("request_id"))
    if req is None or req.user is None or req.expires_at is None:
        return []
    return [Audience(users=[req.user], visible=lambda u: u.id == req.user_id, compose=lambda u: Content(
        title=_("Salinan data Anda siap diunduh"),
        body=_("Unduh dari halaman Data saya sebelum %(when)s; setelah itu salinannya dihapus.",
               when=wib_datetime(req.expires_at)),
        url=url_for("privacy.my_data")))]


# --- correction and erasure requests (lms/privacy/requests.py) ---------------------------------

def _data_request(event: OutboxEvent) -> Any:
    from ..privacy.models import DataRequest

    return db.session.get(DataRequest, event.payload.get("request_id"))


@subscriber("privacy.request_created")
def _data_request_created(event: OutboxEvent) -> list[Audience]:
    """In-app, to whoever may answer: a correction to the coordinators of the person's region (and the
    all-DKI ones; admins when there are none), an erasure to the admins."""
    from ..privacy.models import RequestKind, RequestStatus
    from ..privacy.rules import subject_region_id

    req = _data_request(event)
    if req is None or req.status is not RequestStatus.PENDING:
        return []
    erasure = req.kind is RequestKind.ERASURE
    region_id = subject_region_id(req.user)
    handlers: list[User] = []
    if not erasure:
        handlers = list(db.session.scalars(sa.select(User).where(
            User.role == Role.COORDINATOR, User.active.is_(True),
            sa.or_(User.region_id.is_(None), User.region_id == region_id)).order_by(User.id)))
        handlers = [u for u in handlers if can(u, "privacy.request.handle", req)]
    if not handlers:
        handlers = list(db.session.scalars(sa.select(User).where(User.role == Role.ADMIN, User.active.is_(True))
                                           .order_by(User.id)))
    due = wib_datetime(req.due_at) if req.due_at else ""

    def compose(u: User) -> Content:
        if erasure:
            title = _("Permintaan penghapusan data dari %(name)s", name=req.user.full_name)
        else:
            title = _("Permintaan koreksi data dari %(name)s", name=req.user.full_name)
        return Content(title=title, body=_("Jawab paling lambat %(due)s.", due=due),
                       url=url_for("privacy.request_detail", request_id=req.id))

    return [Audience(users=handlers, channels=(APP,), compose=compose,
                     visible=lambda u: can(u, "privacy.request.handle", req))]


@subscriber("privacy.request_answered")
def _data_request_answered(event: OutboxEvent) -> list[Audience]:
    """The person learns the answer (in-app and by e-mail); an erased person is not written to."""
    from ..privacy.models import RequestKind, RequestStatus

    req = _data_request(event)
    if req is None or req.user.erased_at is not None or req.status not in (RequestStatus.ACCEPTED,
                                                                           RequestStatus.DECLINED):
        return []
    accepted = req.status is RequestStatus.ACCEPTED

    def compose(u: User) -> Content:
        url = url_for("privacy.request_detail", request_id=req.id)
        if req.kind is RequestKind.ERASURE:
            return Content(title=_("Permintaan penghapusan data Anda ditolak"),
                           body=_("Alasannya: %(reason)s", reason=req.response or ""), url=url)
        if accepted:
            return Content(title=_("Koreksi data Anda sudah diterapkan"), body=req.response or "", url=url)
        return Content(title=_("Permintaan koreksi data Anda ditolak"),
                       body=_("Alasannya: %(reason)s", reason=req.response or ""), url=url)

    return [Audience(users=[req.user], channels=(APP, "email"), compose=compose,
                     visible=lambda u: can(u, "privacy.request.view", req))]
