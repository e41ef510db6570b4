"""A personal data breach (UU PDP Pasal 46): who is affected, the letter, the notification.

The admin names a time window, the categories of data involved and what happened; the affected
people are every (not erased) person whose rows in the categories' tables were created or changed
in that window. Their ids are kept on the :class:`BreachNotice` at that moment (sorted by name),
so the list and the recipients do not drift when the rows change later.

The letter says what Pasal 46(2) asks: the personal data disclosed, when and how, and the efforts
to handle and recover from it; plus the controller, the data protection officer's contact and
what the person can do. Sending hands it to the notification channels through the outbox event
``privacy.breach_notice`` (lms/notifications/subscribers.py writes one urgent message per person
and channel); a notice is sent once. The law's 3×24 hours run from ``discovered_at``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import outbox
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..forms_common import DATE_MIN
from ..i18n import wib_datetime
from ..people.models import User
from ..permissions import can
from .models import BreachNotice

#: Pasal 46(1): the written notice is due within 3×24 hours of finding the breach
NOTICE_HOURS = 72
#: longest description / measures
TEXT_MAX = 5000
EVENT = "privacy.breach_notice"

Finder = Callable[[datetime, datetime], list[Any]]


@dataclass(frozen=True)
class Category:
    """A kind of personal data: where it lives and how to find the people whose data it is."""

    key: str
    #: the name on the form
    label: Any
    #: the data it holds, as the letter names it
    data: Any
    #: the tables (and the files folder) it covers
    tables: tuple[str, ...]
    #: (start, end) → SELECTs of one column, ``user_id``: the people with rows created or changed then
    people: Finder


def _in(col: Any, start: datetime, end: datetime) -> Any:
    return sa.and_(col >= start, col <= end)


def _touched(model: Any, start: datetime, end: datetime, *cols: str) -> Any:
    return sa.or_(*[_in(getattr(model, c), start, end) for c in cols])


def _identity(start: datetime, end: datetime) -> list[Any]:
    return [sa.select(User.id.label("user_id")).where(_touched(User, start, end, "created_at", "updated_at"))]


def _outlets(start: datetime, end: datetime) -> list[Any]:
    from ..places.models import Outlet

    return [sa.select(Outlet.manager_id.label("user_id")).where(
        Outlet.manager_id.is_not(None), _touched(Outlet, start, end, "created_at", "updated_at"))]


def _evidence(kind: str) -> Finder:
    """The outlet's manager and the trainee who submitted it."""

    def find(start: datetime, end: datetime) -> list[Any]:
        from ..people.models import Role
        from ..places.models import Outlet
        from ..programme.models import Evidence, StoredFile

        when = sa.or_(_touched(Evidence, start, end, "created_at", "updated_at"),
                      Evidence.file_id.in_(sa.select(StoredFile.id).where(_in(StoredFile.created_at, start, end))))
        return [
            sa.select(Outlet.manager_id.label("user_id")).join(Evidence, Evidence.outlet_id == Outlet.id)
            .where(Evidence.type == kind, Outlet.manager_id.is_not(None), when),
            sa.select(Evidence.submitted_by_id.label("user_id")).join(User, User.id == Evidence.submitted_by_id)
            .where(Evidence.type == kind, User.role == Role.TRAINEE, when),
        ]

    return find


def _visits(start: datetime, end: datetime) -> list[Any]:
    from ..places.models import Outlet
    from ..visits.models import Visit

    when = _touched(Visit, start, end, "created_at", "updated_at")
    return [sa.select(Outlet.manager_id.label("user_id")).join(Visit, Visit.outlet_id == Outlet.id)
            .where(Outlet.manager_id.is_not(None), when),
            sa.select(Visit.mentor_id.label("user_id")).where(when)]


def _visit_photos(start: datetime, end: datetime) -> list[Any]:
    from ..places.models import Outlet
    from ..programme.models import StoredFile
    from ..visits.models import Visit, VisitPhoto

    return [sa.select(Outlet.manager_id.label("user_id")).select_from(VisitPhoto)
            .join(StoredFile, StoredFile.id == VisitPhoto.file_id).join(Visit, Visit.id == VisitPhoto.visit_id)
            .join(Outlet, Outlet.id == Visit.outlet_id)
            .where(Outlet.manager_id.is_not(None), _in(StoredFile.created_at, start, end))]


def _sessions(start: datetime, end: datetime) -> list[Any]:
    from ..sessions.models import Registration

    return [sa.select(Registration.user_id.label("user_id")).where(
        _touched(Registration, start, end, "created_at", "updated_at"))]


def _certificates(start: datetime, end: datetime) -> list[Any]:
    from ..certification.models import Certificate

    return [sa.select(Certificate.holder_id.label("user_id")).where(
        _touched(Certificate, start, end, "issued_at", "revoked_at", "rendered_at"))]


def _sign_ins(start: datetime, end: datetime) -> list[Any]:
    from ..audit.models import AuditEntry
    from ..people.models import LoginFailure
    from ..people.security_models import UserSession

    return [sa.select(UserSession.user_id.label("user_id")).where(
                _touched(UserSession, start, end, "created_at", "last_seen_at")),
            sa.select(AuditEntry.actor_id.label("user_id")).where(
                AuditEntry.action == "auth.login", AuditEntry.actor_id.is_not(None), _in(AuditEntry.at, start, end)),
            sa.select(User.id.label("user_id")).join(LoginFailure, LoginFailure.email == User.email)
            .where(_in(LoginFailure.at, start, end))]


def _messages(start: datetime, end: datetime) -> list[Any]:
    from ..notifications.models import Delivery, Notification

    return [sa.select(Delivery.user_id.label("user_id")).where(Delivery.user_id.is_not(None),
                                                               _in(Delivery.created_at, start, end)),
            sa.select(Notification.user_id.label("user_id")).where(_in(Notification.created_at, start, end))]


def _requests(start: datetime, end: datetime) -> list[Any]:
    from .models import DataRequest

    return [sa.select(DataRequest.user_id.label("user_id")).where(
        _touched(DataRequest, start, end, "created_at", "updated_at"))]


#: the categories of personal data, in the form's order
CATEGORIES: dict[str, Category] = {c.key: c for c in (
    Category("identity", _l("Identitas dan kontak"),
             _l("nama, alamat e-mail, nomor HP, peran dan wilayah"), ("users",), _identity),
    Category("outlet", _l("Data e-Warong"),
             _l("nama, alamat dan nomor telepon e-Warong yang Anda kelola"), ("outlets",), _outlets),
    Category("licence", _l("Berkas perizinan"),
             _l("nomor dan pindaian izin usaha (NIB, IUMK atau SKU)"), ("evidence", "licences", "uploads/"),
             _evidence("licence")),
    Category("marketing", _l("Langkah pemasaran"),
             _l("uraian, tautan dan berkas langkah pemasaran"), ("evidence", "marketing_steps", "uploads/"),
             _evidence("marketing")),
    Category("financial_report", _l("Laporan keuangan"),
             _l("laporan keuangan bulanan: omzet, harga pokok dan biaya operasional"),
             ("evidence", "financial_reports", "uploads/"), _evidence("financial_report")),
    Category("financing", _l("Pengajuan permodalan"),
             _l("pengajuan permodalan: pemberi pinjaman, produk dan jumlah"), ("evidence", "financings", "uploads/"),
             _evidence("financing")),
    Category("visits", _l("Catatan kunjungan pendamping"),
             _l("catatan kunjungan pendamping, tindak lanjut dan lokasi kunjungan"),
             ("visits", "action_items"), _visits),
    Category("visit_photos", _l("Foto kunjungan"), _l("foto e-Warong dari kunjungan pendamping"),
             ("visit_photos", "stored_files", "uploads/"), _visit_photos),
    Category("sessions", _l("Pendaftaran dan kehadiran Bimtek"),
             _l("pendaftaran dan kehadiran Anda di Bimtek"), ("registrations",), _sessions),
    Category("certificates", _l("Sertifikat"), _l("sertifikat atas nama Anda (nomor seri dan berkas PDF)"),
             ("certificates", "certificates/"), _certificates),
    Category("sign_ins", _l("Data masuk"),
             _l("catatan masuk ke aplikasi: waktu, jaringan alamat IP dan jenis perangkat"),
             ("user_sessions", "login_failures", "audit_log"), _sign_ins),
    Category("messages", _l("Pesan dan pemberitahuan"),
             _l("pesan e-mail, WhatsApp dan pemberitahuan di aplikasi yang dikirim kepada Anda"),
             ("deliveries", "notifications"), _messages),
    Category("requests", _l("Permintaan data pribadi"),
             _l("permintaan salinan, koreksi atau penghapusan data Anda, termasuk berkas ZIP \"Data saya\""),
             ("data_requests", "uploads/"), _requests),
)}


def category_label(key: str) -> str:
    c = CATEGORIES.get(key)
    return str(c.label) if c is not None else key


# --- finding the people ----------------------------------------------------------------------------

def affected_ids(start: datetime, end: datetime, keys: list[str]) -> list[int]:
    """Everyone (not erased) with rows of these categories created or changed in [start, end], by name."""
    selects = [s for k in keys for s in CATEGORIES[k].people(start, end)]
    if not selects:
        return []
    ids = sa.union(*selects).subquery()
    return list(db.session.scalars(
        sa.select(User.id).where(User.id.in_(sa.select(ids.c.user_id)), User.erased_at.is_(None))
        .order_by(User.full_name, User.id)))


def recipient_ids(notice: BreachNotice) -> list[int]:
    return [int(i) for i in (notice.details or {}).get("user_ids", [])]


@dataclass
class Person:
    user: User
    region: str | None


def affected_page(notice: BreachNotice, page: int, size: int) -> list[Person]:
    """One page of the affected people with their region (one query)."""
    from ..places.models import Outlet, Region

    ids = recipient_ids(notice)[max(0, page - 1) * size:max(0, page - 1) * size + size]
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(User, Region.name).outerjoin(Outlet, Outlet.manager_id == User.id)
        .outerjoin(Region, Region.id == sa.func.coalesce(Outlet.region_id, User.region_id))
        .where(User.id.in_(ids))).all()
    by_id = {u.id: Person(u, region) for u, region in rows}
    return [by_id[i] for i in ids if i in by_id]


# --- the letter ------------------------------------------------------------------------------------

def compose_letter(*, discovered_at: datetime, window_start: datetime, window_end: datetime,
                   categories: list[str], description: str, measures: str) -> str:
    """The notification letter, in Indonesian whatever the admin's interface language."""
    cfg = current_app.config
    with force_locale("id"):
        controller = cfg.get("PRIVACY_CONTROLLER") or ""
        address = cfg.get("PRIVACY_CONTROLLER_ADDRESS") or ""
        data = "\n".join(f"- {CATEGORIES[k].data}" for k in categories if k in CATEGORIES)
        parts = [
            _("Perihal: Pemberitahuan kegagalan pelindungan data pribadi"),
            _("Yth. Bapak/Ibu peserta program 7 PAS OK OCE e-Warong,"),
            _("Sesuai Pasal 46 Undang-Undang Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi, "
              "%(controller)s selaku pengendali data pribadi program 7 PAS OK OCE e-Warong memberitahukan "
              "bahwa telah terjadi kegagalan pelindungan data pribadi yang menyangkut data Anda.",
              controller=controller),
            _("1. Data pribadi yang terungkap") + "\n" + data,
            _("2. Kapan dan bagaimana data terungkap") + "\n" + _(
                "Kejadian berlangsung antara %(start)s dan %(end)s, dan kami ketahui pada %(found)s.",
                start=wib_datetime(window_start, "d MMMM y HH.mm"), end=wib_datetime(window_end, "d MMMM y HH.mm"),
                found=wib_datetime(discovered_at, "d MMMM y HH.mm")) + "\n" + description.strip(),
            _("3. Upaya penanganan dan pemulihan") + "\n" + measures.strip(),
            _("4. Yang dapat Anda lakukan") + "\n" + "\n".join([
                "- " + _("Waspadai pesan, telepon atau e-mail yang mengatasnamakan program 7 PAS, Dinas Sosial "
                         "atau bank. Petugas tidak pernah meminta kata sandi, kode masuk atau uang."),
                "- " + _("Ganti kata sandi Anda, dan di halaman \"Perangkat saya\" keluarkan perangkat yang "
                         "tidak Anda kenali."),
                "- " + _("Anda berhak meminta salinan, koreksi atau penghapusan data pribadi Anda lewat menu "
                         "\"Data saya\" di aplikasi, atau dengan menghubungi kami."),
            ]),
            _("5. Kontak") + "\n" + _("Pejabat pelindungan data pribadi: %(dpo)s", dpo=cfg.get("DPO_CONTACT") or "")
            + "\n" + (f"{controller}, {address}" if address else controller),
            _("Kami mohon maaf atas kejadian ini.") + "\n\n" + _("Hormat kami,") + "\n" + controller,
        ]
    return "\n\n".join(parts)


# --- recording and sending -------------------------------------------------------------------------

@dataclass
class BreachInput:
    discovered_at: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    categories: list[str]
    description: str
    measures: str


def record_breach(actor: Any, data: BreachInput, *, ip: str | None = None,
                  now: datetime | None = None) -> BreachNotice:
    """Record a breach: find the affected people and write the letter (audited)."""
    if not can(actor, "privacy.admin"):
        raise NotAllowed()
    now = now or utcnow()
    reasons: dict[str, list[str]] = {}
    earliest = datetime.combine(DATE_MIN, datetime.min.time()).replace(tzinfo=now.tzinfo)
    latest = now + timedelta(minutes=5)
    for name in ("discovered_at", "window_start", "window_end"):
        value = getattr(data, name)
        if value is None:
            reasons.setdefault(name, []).append(_("Isi tanggal dan jam."))
        elif not earliest <= value <= latest:
            reasons.setdefault(name, []).append(_("Tanggal tidak boleh sebelum tahun 2000 atau di masa depan."))
    if not reasons:
        assert data.window_start and data.window_end and data.discovered_at
        if data.window_end <= data.window_start:
            reasons.setdefault("window_end", []).append(_("Akhir rentang waktu harus sesudah awalnya."))
        if data.discovered_at < data.window_start:
            reasons.setdefault("discovered_at", []).append(
                _("Waktu diketahui tidak boleh sebelum awal rentang waktu kejadian."))
    keys = [k for k in CATEGORIES if k in set(data.categories)]
    if not keys or len(keys) != len(set(data.categories)):
        reasons.setdefault("categories", []).append(_("Pilih paling sedikit satu kategori data."))
    for name in ("description", "measures"):
        text = (getattr(data, name) or "").strip()
        if not text:
            reasons.setdefault(name, []).append(_("Wajib diisi: surat pemberitahuan memuatnya."))
        elif len(text) > TEXT_MAX:
            reasons.setdefault(name, []).append(_("Paling banyak %(max)d karakter.", max=TEXT_MAX))
    if reasons:
        raise Invalid(reasons)
    assert data.window_start and data.window_end and data.discovered_at
    ids = affected_ids(data.window_start, data.window_end, keys)
    letter = compose_letter(discovered_at=data.discovered_at, window_start=data.window_start,
                            window_end=data.window_end, categories=keys, description=data.description,
                            measures=data.measures)
    with transaction():
        notice = BreachNotice(created_by_id=getattr(actor, "id", None), discovered_at=data.discovered_at,
                              window_start=data.window_start, window_end=data.window_end, categories=keys,
                              description=data.description.strip(), measures=data.measures.strip(),
                              affected=len(ids), letter=letter, details={"user_ids": ids})
        db.session.add(notice)
        db.session.flush()
        record("privacy.breach_recorded", actor=actor, target=notice, ip=ip, categories=keys, affected=len(ids))
    return notice


def send_notice(actor: Any, notice: BreachNotice, *, ip: str | None = None) -> bool:
    """Hand the letter to the notification channels, once. False when it was already sent."""
    if not can(actor, "privacy.admin"):
        raise NotAllowed()
    ids = recipient_ids(notice)
    with transaction():
        claimed = db.session.execute(
            sa.update(BreachNotice).where(BreachNotice.id == notice.id, BreachNotice.sent_at.is_(None))
            .values(sent_at=utcnow()).execution_options(synchronize_session=False)).rowcount
        if not claimed:
            return False
        outbox.announce(EVENT, {"breach_id": notice.id, "user_ids": ids}, actor=actor,
                        dedupe_key=f"{EVENT}:{notice.id}")
        record("privacy.breach_notified", actor=actor, target=notice, ip=ip, recipients=len(ids))
    db.session.refresh(notice)
    return True


# --- the deadline ------------------------------------------------------------------------------------

@dataclass
class Deadline:
    due_at: datetime
    #: "sent" (in time or late: see ``late``), "open" or "overdue"
    state: str
    #: whole hours left (open) or past the deadline (overdue, or sent late)
    hours: int
    late: bool = False


def deadline(notice: BreachNotice, now: datetime | None = None) -> Deadline:
    now = now or utcnow()
    due = notice.discovered_at + timedelta(hours=NOTICE_HOURS)
    if notice.sent_at is not None:
        late = notice.sent_at > due
        return Deadline(due, "sent", math.ceil((notice.sent_at - due).total_seconds() / 3600) if late else 0, late)
    if now <= due:
        return Deadline(due, "open", math.ceil((due - now).total_seconds() / 3600))
    return Deadline(due, "overdue", math.ceil((now - due).total_seconds() / 3600))


def notices_page(page: int, size: int) -> tuple[int, list[BreachNotice]]:
    """The recorded breaches, newest found first (two queries)."""
    from sqlalchemy.orm import joinedload

    total = int(db.session.scalar(sa.select(sa.func.count()).select_from(BreachNotice)) or 0)
    rows = list(db.session.scalars(
        sa.select(BreachNotice).options(joinedload(BreachNotice.created_by))
        .order_by(BreachNotice.discovered_at.desc(), BreachNotice.id.desc())
        .offset(max(0, page - 1) * size).limit(size)))
    return total, rows
