"""Reading the audit log: the admins' viewer (filtered pages, newest first) and its export.

Pages cost a fixed number of queries whatever the log's size: the actions present (``SELECT
DISTINCT`` on the indexed column), a count that stops at ``MAX_ROWS`` + 1 and one page read
with its actors joined. Paging is by offset, but never deeper than ``MAX_ROWS`` rows: with a
million entries a filter narrows the list rather than page 20,000 (which the index on ``at``
would have to walk to). Days are WIB calendar days.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterator

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import permissions
from ..db import transaction
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..forms_common import DATE_MIN, check_range, date_max
from ..i18n import to_wib
from ..people.models import User
from . import present
from .models import AuditEntry
from .services import record

PAGE_SIZE = 50
#: the deepest the viewer pages (200 pages of 50); beyond it a filter is needed
MAX_ROWS = 10_000
#: rows read per batch while an export streams
EXPORT_BATCH = 500

#: readable names of the actions the application records (unknown ones show their code only)
ACTION_LABELS: dict[str, Any] = {
    "auth.login": _l("Masuk"),
    "auth.logout": _l("Keluar"),
    "auth.login_failed": _l("Gagal masuk"),
    "auth.login_throttled": _l("Masuk ditahan sementara (terlalu banyak percobaan)"),
    "auth.password_changed": _l("Kata sandi diganti"),
    "auth.password_set": _l("Kata sandi dibuat lewat tautan"),
    "auth.2fa_enrolled": _l("Verifikasi dua langkah dipasang"),
    "auth.2fa_disabled": _l("Verifikasi dua langkah dimatikan"),
    "auth.2fa_verified": _l("Kode verifikasi dua langkah diterima"),
    "auth.2fa_failed": _l("Kode verifikasi dua langkah ditolak"),
    "auth.2fa_recovery_used": _l("Kode pemulihan dipakai"),
    "auth.2fa_recovery_regenerated": _l("Kode pemulihan dibuat ulang"),
    "user.2fa_reset": _l("Verifikasi dua langkah direset oleh admin"),
    "auth.session_revoked": _l("Satu perangkat dikeluarkan"),
    "auth.sessions_revoked_others": _l("Semua perangkat lain dikeluarkan"),
    "auth.code_requested": _l("Kode sekali pakai diminta (nomor HP)"),
    "auth.code_failed": _l("Kode sekali pakai salah atau tidak berlaku"),
    "auth.code_throttled": _l("Permintaan kode ditahan sementara (terlalu banyak)"),
    "user.phone_changed": _l("Nomor HP diganti"),
    "user.created": _l("Pengguna dibuat"),
    "user.updated": _l("Data pengguna diubah"),
    "user.role_changed": _l("Peran pengguna diubah"),
    "user.activated": _l("Akun diaktifkan"),
    "user.deactivated": _l("Akun dinonaktifkan"),
    "user.password_reset": _l("Kata sandi diatur ulang"),
    "outlet.created": _l("e-Warong ditambahkan"),
    "outlet.updated": _l("Data e-Warong diubah"),
    "outlet.moved": _l("e-Warong dipindahkan ke kecamatan lain"),
    "outlet.manager_set": _l("Pengelola e-Warong ditetapkan"),
    "outlet.manager_ended": _l("Masa pengelola e-Warong diakhiri"),
    "cohort.created": _l("Angkatan dibuat"),
    "cohort.updated": _l("Angkatan diubah"),
    "enrolment.created": _l("Pengelola didaftarkan ke angkatan"),
    "enrolment.bulk_created": _l("Pendaftaran massal ke angkatan"),
    "enrolment.ended": _l("Pendaftaran di angkatan diakhiri"),
    "enrolment.manager_changed": _l("Pengelola berganti"),
    "evidence.created": _l("Bukti dicatat"),
    "evidence.updated": _l("Bukti diubah"),
    "evidence.edited_after_verification": _l("Bukti terverifikasi dikoreksi"),
    "evidence.verified": _l("Bukti diverifikasi"),
    "evidence.returned": _l("Bukti dikembalikan"),
    "mentor.assigned": _l("Pendamping ditugaskan"),
    "mentor.released": _l("Pendamping dilepas"),
    "visit.created": _l("Kunjungan dicatat"),
    "visit.updated": _l("Kunjungan diubah"),
    "action_item.done": _l("Tindak lanjut selesai"),
    "action_item.reopened": _l("Tindak lanjut dibuka lagi"),
    "visits.exported": _l("Kunjungan diekspor"),
    "session.created": _l("Bimtek dijadwalkan"),
    "session.updated": _l("Bimtek diubah"),
    "session.cancelled": _l("Bimtek dibatalkan"),
    "session.attendance_saved": _l("Presensi Bimtek disimpan"),
    "session.group_registered": _l("Pendaftaran kelompok ke Bimtek"),
    "registration.created": _l("Mendaftar Bimtek"),
    "registration.renewed": _l("Mendaftar ulang Bimtek"),
    "registration.cancelled": _l("Pendaftaran Bimtek dibatalkan"),
    "registration.promoted": _l("Naik dari daftar tunggu"),
    "registration.checked_in": _l("Check-in Bimtek lewat QR"),
    "calendar_feed.created": _l("Tautan kalender dibuat"),
    "calendar_feed.rotated": _l("Tautan kalender diganti"),
    "calendar_feed.revoked": _l("Tautan kalender dicabut"),
    "certificate.issued": _l("Sertifikat diterbitkan"),
    "certificate.revoked": _l("Sertifikat dicabut"),
    "certificate.bulk_started": _l("Penerbitan sertifikat massal dimulai"),
    "certificate.bulk_retried": _l("Penerbitan sertifikat massal diulang"),
    "certificate.branding_changed": _l("Tampilan sertifikat diubah (logo, penanda tangan, stempel)"),
    "export.downloaded": _l("Data diekspor"),
    "outlets.imported": _l("e-Warong dan pengelola diimpor dari spreadsheet"),
    "session.backdated": _l("Bimtek yang sudah berlangsung dicatat"),
    "broadcast.sent": _l("Pengumuman dikirim"),
    "notification.retry": _l("Pengiriman pesan diulang"),
    "whatsapp.opt_in": _l("Setuju menerima WhatsApp"),
    "whatsapp.opt_out": _l("Berhenti menerima WhatsApp"),
    # personal data: notice and consent (lms/privacy/consent.py)
    "privacy.notice_accepted": _l("Pemberitahuan privasi disetujui"),
    "privacy.notice_declined": _l("Pemberitahuan privasi tidak disetujui"),
    "privacy.consent_withdrawn": _l("Persetujuan pemrosesan data ditarik"),
    # personal data: "Data saya" (lms/privacy/export.py)
    "privacy.export_requested": _l("Salinan data pribadi diminta"),
    "privacy.export_downloaded": _l("Salinan data pribadi diunduh"),
    # personal data: correction and erasure requests (lms/privacy/requests.py, erasure.py)
    "privacy.request_created": _l("Permintaan data pribadi diajukan"),
    "privacy.request_accepted": _l("Permintaan koreksi data diterima dan diterapkan"),
    "privacy.request_declined": _l("Permintaan koreksi data ditolak"),
    "privacy.request_withdrawn": _l("Permintaan data pribadi ditarik kembali"),
    "privacy.erasure_done": _l("Data pribadi dihapus atas permintaan pemiliknya"),
    "privacy.erasure_refused": _l("Permintaan penghapusan data ditolak"),
    # personal data: retention and breaches (lms/privacy/retention.py, breach.py)
    "privacy.retention_run": _l("Aturan masa simpan data dijalankan"),
    "privacy.breach_recorded": _l("Kebocoran data pribadi dicatat"),
    "privacy.breach_notified": _l("Pemberitahuan kebocoran data dikirim"),
    # the JSON API's personal access tokens (lms/api/tokens.py)
    "api_token.created": _l("Token API dibuat"),
    "api_token.revoked": _l("Token API dicabut"),
    # webhooks (lms/webhooks/services.py)
    "webhook.created": _l("Endpoint webhook dibuat"),
    "webhook.updated": _l("Endpoint webhook diubah"),
    "webhook.secret_rotated": _l("Rahasia endpoint webhook diganti"),
    "webhook.deleted": _l("Endpoint webhook dihapus"),
    "webhook.retried": _l("Kiriman webhook diulang"),
    "demo.seeded": _l("Data demo dibuat"),
    "demo.sessions_seeded": _l("Jadwal Bimtek demo dibuat"),
    # backups (lms/backup.py, `flask backup` / `flask restore`)
    "system.backup_created": _l("Cadangan data dibuat"),
    "system.restored": _l("Data dipulihkan dari cadangan"),
}

def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else ""


#: actions recorded without a signed-in user that a visitor (not the system) caused
ANONYMOUS_ACTIONS = {"auth.login_failed", "auth.login_throttled", "auth.password_set", "auth.2fa_failed", "auth.code_requested",
                     "auth.code_failed", "auth.code_throttled"}


def no_actor_label(action: str) -> str:
    """Who acted when the entry names nobody: an anonymous visitor, or the system (CLI, jobs)."""
    return _("anonim") if action in ANONYMOUS_ACTIONS else _("sistem")


def target_label(target_type: str | None) -> str:
    names = {"user": _("Pengguna"), "outlet": _("e-Warong"), "cohort": _("Angkatan"), "enrolment": _("Pendaftaran"),
             "evidence": _("Bukti"), "visit": _("Kunjungan"), "training_session": _("Bimtek"),
             "registration": _("Pendaftaran Bimtek"), "certificate": _("Sertifikat"),
             "certificate_job": _("Penerbitan massal"), "calendar_feed": _("Tautan kalender"),
             "action_item": _("Tindak lanjut"), "import": _("Impor spreadsheet"), "region": _("Wilayah"),
             "broadcast": _("Pengumuman"), "delivery": _("Pesan"), "deliverie": _("Pesan"),
             "data_request": _("Permintaan data pribadi"),
             "breach_notice": _("Kebocoran data pribadi"), "api_token": _("Token API"),
             "webhook_endpoint": _("Endpoint webhook"), "certificate_branding": _("Tampilan sertifikat")}
    return names.get(target_type or "", target_type or "")


@dataclass(frozen=True)
class AuditFilters:
    #: the actor's e-mail (case-insensitive exact match); an unknown one matches nothing
    actor_email: str = ""
    action: str = ""
    #: WIB days, both inclusive
    start: date | None = None
    end: date | None = None

    def audit_details(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.actor_email:
            out["actor_email"] = self.actor_email
        if self.action:
            out["filter_action"] = self.action  # "action" is the entry's own
        if self.start:
            out["start"] = self.start.isoformat()
        if self.end:
            out["end"] = self.end.isoformat()
        return out


@dataclass
class EntryView:
    entry: AuditEntry
    actor_name: str | None
    actor_email: str | None
    label: str
    #: labelled fields, objects by name with their page (lms/audit/present.py)
    details: list[present.Detail] = field(default_factory=list)
    #: what was acted on: its kind, its name and its page
    target: present.Detail | None = None
    actor_url: str | None = None


@dataclass
class AuditPage:
    entries: list[EntryView]
    page: int
    pages: int
    #: entries matching, counted up to MAX_ROWS
    total: int
    #: more than MAX_ROWS entries match: only the newest MAX_ROWS can be paged through
    capped: bool


def _require(actor: Any) -> None:
    if not permissions.can(actor, "audit.view"):
        raise NotAllowed()


def _wib_start_utc(day: date) -> datetime:
    from ..visits.services import wib_start_utc

    return wib_start_utc(day)


def check(f: AuditFilters) -> None:
    problems: dict[str, list[str]] = {}
    for name in ("start", "end"):
        check_range(getattr(f, name), DATE_MIN, date_max, name, problems)
    if f.start and f.end and f.end < f.start and not problems:
        problems["end"] = [_("Tanggal akhir tidak boleh sebelum tanggal awal.")]
    if problems:
        raise Invalid(problems)


def _where(f: AuditFilters) -> list[Any] | None:
    """The filter as SQL conditions; None when it cannot match anything (an unknown e-mail)."""
    conds: list[Any] = []
    email = f.actor_email.strip().lower()
    if email:
        # looked up first (e-mails are stored lower-cased), so that the log is read through its
        # actor_id index with a known value: a sub-select the planner cannot see into made an
        # unknown e-mail cost a scan of the whole log
        actor_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        if actor_id is None:
            return None
        conds.append(AuditEntry.actor_id == actor_id)
    if f.action:
        conds.append(AuditEntry.action == f.action)
    if f.start:
        conds.append(AuditEntry.at >= _wib_start_utc(f.start))
    if f.end:
        conds.append(AuditEntry.at < _wib_start_utc(f.end + timedelta(days=1)))
    return conds


#: the distinct actions by a "loose index scan": one index probe per action instead of reading
#: every entry (SELECT DISTINCT walks the whole index: ~0.25 s for a million rows on PostgreSQL)
_DISTINCT_ACTIONS = sa.text(
    "WITH RECURSIVE a(action) AS ("
    " SELECT min(action) FROM audit_log"
    " UNION ALL"
    " SELECT (SELECT min(action) FROM audit_log WHERE audit_log.action > a.action) FROM a WHERE a.action IS NOT NULL"
    ") SELECT action FROM a WHERE action IS NOT NULL ORDER BY action")


def actions_present(actor: Any) -> list[str]:
    """The distinct actions in the log, for the filter (one query, one index probe per action)."""
    _require(actor)
    return list(db.session.scalars(_DISTINCT_ACTIONS))


def audit_page(actor: Any, f: AuditFilters, page: int = 1) -> AuditPage:
    """One page of entries (newest first) matching ``f``: two queries."""
    _require(actor)
    check(f)
    where = _where(f)
    if where is None:
        return AuditPage(entries=[], page=1, pages=1, total=0, capped=False)
    capped_ids = sa.select(AuditEntry.id).where(*where).limit(MAX_ROWS + 1).subquery()
    counted = db.session.scalar(sa.select(sa.func.count()).select_from(capped_ids)) or 0
    capped = counted > MAX_ROWS
    total = min(counted, MAX_ROWS)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        sa.select(AuditEntry, User.full_name, User.email).outerjoin(User, User.id == AuditEntry.actor_id)
        .where(*where).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    # every object the page names, read in one query
    names = present.resolve(ref for e, _n, _m in rows for ref in present.refs_of(e.target_type, e.target_id, e.details))
    entries = [EntryView(entry=e, actor_name=name or no_actor_label(e.action), actor_email=email,
                         label=action_label(e.action) or e.action,
                         details=present.details_of(e.details, names),
                         target=present.target_of(e.target_type, e.target_id, names, target_label),
                         actor_url=url_for("people.user_detail", user_id=e.actor_id) if name else None)
               for e, name, email in rows]
    return AuditPage(entries=entries, page=page, pages=pages, total=total, capped=capped)


# --- export ---------------------------------------------------------------------------------------

def export_header() -> list[str]:
    return [_("ID"), _("Waktu (WIB)"), _("Nama pelaku"), _("E-mail pelaku"), _("Tindakan"), _("Keterangan tindakan"),
            _("Jenis objek"), _("ID objek"), _("Alamat IP"), _("Rincian (JSON)")]


def export_entries(actor: Any, f: AuditFilters, *, fmt: str = "csv", ip: str | None = None
                   ) -> tuple[list[str], Iterator[list[Any]]]:
    """Every entry matching ``f``, newest first, read in batches while the response streams (audited)."""
    _require(actor)
    check(f)
    with transaction():
        record("export.downloaded", actor=actor, ip=ip, dataset="audit", format=fmt, **f.audit_details())
    where = _where(f)
    q = (sa.select(AuditEntry.id, AuditEntry.at, User.full_name, User.email, AuditEntry.action,
                   AuditEntry.target_type, AuditEntry.target_id, AuditEntry.ip, AuditEntry.details)
         .outerjoin(User, User.id == AuditEntry.actor_id).where(*(where if where is not None else [sa.false()]))
         .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    return export_header(), _export_rows(q)


def _export_rows(q: Any) -> Iterator[list[Any]]:
    # labels translated once, not per row (a gettext call costs more than the rest of a row)
    labels = {action: str(label) for action, label in ACTION_LABELS.items()}
    nobody = {action: no_actor_label(action) for action in ANONYMOUS_ACTIONS}
    system = no_actor_label("")
    dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode
    result = db.session.execute(q, execution_options={"yield_per": EXPORT_BATCH})
    try:
        for eid, at, name, email, action, ttype, tid, ip, details in result:
            yield [eid, to_wib(at).replace(tzinfo=None), name or nobody.get(action, system), email, action,
                   labels.get(action, ""), ttype, tid, ip, dumps(details or {})]
    finally:
        result.close()
