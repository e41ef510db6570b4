"""How audit entries read on the viewer: objects by name with a link, details as labelled fields.

Names are resolved for a whole page at once: every object an entry names (its target, and ids in
its details such as ``outlet_id`` or ``old_region_id``) is collected, and one ``UNION ALL`` query
reads all their names, whatever the page holds. An object that no longer exists shows its id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..db import UTCDateTime
from ..extensions import db
from ..i18n import number, wib_date, wib_datetime

#: the readable name of every detail key the application records (tests/test_audit_view.py checks
#: that every key passed to ``record`` has one); unknown keys show as they are stored
DETAIL_LABELS: dict[str, Any] = {
    # people and sign-in
    "email": _l("E-mail yang diketik"),
    "reason": _l("Alasan"),
    "retry_after": _l("Boleh mencoba lagi setelah"),
    "scope": _l("Cakupan"),
    "known_device": _l("Perangkat yang dikenal"),
    "known_account": _l("Nomor terdaftar"),
    "phone": _l("Nomor HP"),
    "old_phone": _l("Nomor HP lama"),
    "new_phone": _l("Nomor HP baru"),
    "purpose": _l("Keperluan"),
    "passed_account_lock": _l("Lolos kunci akun"),
    "method": _l("Cara"),
    "stage": _l("Tahap"),
    "left": _l("Sisa kode pemulihan"),
    "device": _l("Perangkat"),
    "role": _l("Peran"),
    "old_role": _l("Peran lama"),
    "new_role": _l("Peran baru"),
    "region_id": _l("Wilayah"),
    "old_region_id": _l("Wilayah lama"),
    "new_region_id": _l("Wilayah baru"),
    "user_id": _l("Pengguna"),
    "new_user_id": _l("Pengelola baru"),
    "manager_id": _l("Pengelola"),
    "holder_id": _l("Pemegang"),
    "mentor_id": _l("Pendamping"),
    "previous_mentor_id": _l("Pendamping sebelumnya"),
    # places and programme
    "code": _l("Kode"),
    "name": _l("Nama"),
    # personal access tokens of the API
    "scopes": _l("Cakupan token"),
    "expires_at": _l("Berlaku sampai"),
    "prefix": _l("Awal token"),
    "changes": _l("Perubahan"),
    "outlet_id": _l("e-Warong"),
    "old_kecamatan_id": _l("Kecamatan lama"),
    "new_kecamatan_id": _l("Kecamatan baru"),
    "kecamatan_id": _l("Kecamatan"),
    "moved": _l("Ikut dipindahkan"),
    "cohort_id": _l("Angkatan"),
    "cohort": _l("Angkatan"),
    "enrolments": _l("Pendaftaran"),
    "count": _l("Jumlah"),
    "source": _l("Sumber"),
    "evidence_type": _l("Jenis bukti"),
    "status": _l("Status"),
    # sessions
    "session_id": _l("Bimtek"),
    "title": _l("Judul"),
    "starts_at": _l("Mulai"),
    "ends_at": _l("Selesai"),
    "series_id": _l("Seri"),
    "sequence": _l("Versi jadwal"),
    "certificate_kind": _l("Sertifikat yang diberikan"),
    "registrants": _l("Pendaftar"),
    "registered": _l("Terdaftar"),
    "waitlisted": _l("Daftar tunggu"),
    "already": _l("Sudah terdaftar"),
    "clashing": _l("Bentrok jadwal"),
    "changed": _l("Diubah"),
    "counts": _l("Rekap"),
    "was": _l("Status sebelumnya"),
    "sessions": _l("Jumlah Bimtek"),
    "marked": _l("Presensi diisi"),
    # visits
    "visit_id": _l("Kunjungan"),
    "action_items": _l("Tindak lanjut"),
    "photos": _l("Foto"),
    "location": _l("Lokasi tercatat"),
    "old": _l("Sebelumnya"),
    "new": _l("Sesudahnya"),
    "by_author": _l("Oleh pencatatnya"),
    # certificates
    "serial": _l("Nomor seri"),
    "kind": _l("Jenis"),
    "subject": _l("Perihal"),
    "replaces": _l("Menggantikan"),
    "total": _l("Jumlah"),
    "retried": _l("Diulang"),
    "pending": _l("Menunggu"),
    # exports and imports
    "dataset": _l("Data"),
    "format": _l("Format"),
    "start": _l("Dari tanggal"),
    "end": _l("Sampai tanggal"),
    "actor_email": _l("Saringan pelaku"),
    "filter_action": _l("Saringan tindakan"),
    "filename": _l("Nama berkas"),
    "sha256": _l("Sidik berkas (SHA-256)"),
    "rows": _l("Baris"),
    "new_outlets": _l("e-Warong baru"),
    "updated_outlets": _l("e-Warong diperbarui"),
    "unchanged": _l("Tidak berubah"),
    "new_managers": _l("Pengelola baru"),
    "updated_managers": _l("Pengelola diperbarui"),
    "manager_changes": _l("Pergantian pengelola"),
    "created_codes": _l("Kode baru"),
    "updated_codes": _l("Kode diperbarui"),
    "codes_truncated": _l("Daftar kode dipotong"),
    "created": _l("Dibuat"),
    "today": _l("Tanggal acuan"),
    # notifications
    "audience": _l("Penerima"),
    "recipients": _l("Jumlah penerima"),
    "channel": _l("Saluran"),
    "previous_error": _l("Galat sebelumnya"),
    # personal data: correction and erasure requests
    "field": _l("Data yang dikoreksi"),
    "request_id": _l("Permintaan data pribadi"),
    "_redacted": _l("Data pribadi disamarkan pada"),
    # personal data: retention and breaches
    "inactive": _l("Akun untuk ditinjau (lama tidak masuk)"),
    "categories": _l("Kategori data"),
    "affected": _l("Orang terdampak"),
    # personal data: notice and consent
    "notice_version": _l("Versi pemberitahuan privasi"),
    # webhooks
    "url": _l("Alamat"),
    "events": _l("Peristiwa"),
    "deliveries": _l("Riwayat kiriman yang ikut dihapus"),
    "delivery": _l("Id kiriman webhook"),
    "whatsapp": _l("Setuju menerima WhatsApp"),
    # certificate branding (lms/certification/branding.py)
    "design": _l("Desain sertifikat"),
    "previous_version": _l("Versi sebelumnya"),
    "signatories": _l("Penanda tangan"),
    "images": _l("Gambar"),
    # backups
    "files": _l("Berkas"),
}

#: detail keys holding the id of an object: key → kind (see NAMES)
REFERENCE_KEYS = {
    "user_id": "user", "new_user_id": "user", "manager_id": "user", "holder_id": "user", "mentor_id": "user",
    "previous_mentor_id": "user", "outlet_id": "outlet", "cohort_id": "cohort", "session_id": "training_session",
    "visit_id": "visit", "region_id": "region", "old_region_id": "region", "new_region_id": "region",
    "kecamatan_id": "kecamatan", "old_kecamatan_id": "kecamatan", "new_kecamatan_id": "kecamatan",
}
#: detail keys holding a list of ids
LIST_REFERENCE_KEYS = {"enrolments": "enrolment", "clashing": "user"}
#: at most this many names of one list are shown (the rest is counted)
LIST_SHOWN = 10
#: "kind:id" values (a certificate's subject: "session:6", "enrolment:12") → kind
SUBJECT_KINDS = {"session": "training_session", "enrolment": "enrolment", "cohort": "cohort"}
_SUBJECT = re.compile(r"([a-z_]+):(\d{1,9})")

_ROLES = {"trainee": _l("Pengelola e-Warong"), "mentor": _l("Pendamping"), "coordinator": _l("Koordinator"),
          "admin": _l("Admin")}
_EVIDENCE = {"licence": _l("Izin usaha"), "marketing": _l("Langkah pemasaran"),
             "financial_report": _l("Laporan keuangan bulanan"), "financing": _l("Pengajuan permodalan")}
_STATUS = {"registered": _l("terdaftar"), "waitlisted": _l("daftar tunggu"), "cancelled": _l("dibatalkan"),
           "draft": _l("draf"), "submitted": _l("menunggu verifikasi"), "returned": _l("dikembalikan"),
           "verified": _l("terverifikasi"), "active": _l("aktif"), "all": _l("semua")}
#: readable forms of coded values, per detail key
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "reason": {"unknown_account": _l("akun tidak dikenal"), "bad_password": _l("kata sandi salah"),
               "inactive": _l("akun nonaktif (kata sandi benar)"), "wrong": _l("kode salah"),
               "reused": _l("kode sudah pernah dipakai"), "bad_code": _l("kode salah"),
               "used": _l("kode sudah pernah dipakai"), "expired": _l("kode kedaluwarsa"),
               "too_many_tries": _l("terlalu banyak percobaan untuk kode ini"),
               "no_code": _l("tidak ada kode yang diminta (atau nomor tidak terdaftar)")},
    "scope": {"address": _l("alamat IP ini"), "device": _l("perangkat ini"), "account": _l("akun ini"),
              "session": _l("satu Bimtek"), "cohort": _l("satu angkatan")},
    "method": {"setup_link": _l("lewat tautan atur kata sandi"), "totp": _l("aplikasi autentikator"),
               "recovery": _l("kode pemulihan"), "phone_code": _l("nomor HP dan kode WhatsApp"),
               "code": _l("kode ke nomor baru")},
    "purpose": {"login": _l("masuk"), "phone_change": _l("ganti nomor HP")},
    "stage": {"enrol": _l("saat memasang aplikasi")},
    "role": _ROLES, "old_role": _ROLES, "new_role": _ROLES,
    "evidence_type": _EVIDENCE,
    "status": _STATUS, "was": _STATUS,
    "kind": {"bimtek": _l("Bimtek"), "completion": _l("Kelulusan 7 PAS"),
             "programme": _l("pemrosesan data untuk program 7 PAS"), "whatsapp": _l("pesan WhatsApp"),
             "correction": _l("koreksi data"), "erasure": _l("penghapusan data")},
    "field": {"full_name": _l("nama lengkap"), "phone": _l("nomor HP"), "email": _l("e-mail"),
              "outlet_name": _l("nama e-Warong"), "outlet_address": _l("alamat e-Warong"), "other": _l("lainnya")},
    "certificate_kind": {"bimtek": _l("Bimtek"), "completion": _l("Kelulusan 7 PAS")},
    "dataset": {"audit": _l("log audit"), "progress": _l("kemajuan"), "attendance": _l("kehadiran"),
                "visits": _l("kunjungan"), "certificates": _l("sertifikat")},
    "source": {"import": _l("impor spreadsheet"), "first_sign_in": _l("saat pertama kali masuk"),
               "notice_change": _l("setelah pemberitahuan privasi diperbarui"),
               "renewal": _l("persetujuan ulang setelah ditarik"), "profile": _l("di halaman akun")},
}
#: field names inside a "changes" (or old/new) detail
FIELD_LABELS: dict[str, Any] = {
    "name": _l("Nama"), "code": _l("Kode"), "kube_name": _l("Nama KUBE"), "address": _l("Alamat"),
    "kelurahan": _l("Kelurahan"), "kecamatan_id": _l("Kecamatan"), "region_id": _l("Wilayah"),
    "phone": _l("No telepon"), "active": _l("Aktif"), "title": _l("Judul"), "starts_at": _l("Mulai"),
    "ends_at": _l("Selesai"), "venue": _l("Tempat"), "capacity": _l("Kapasitas"), "description": _l("Keterangan"),
    "observations": _l("Pengamatan"), "visited_at": _l("Waktu kunjungan"), "kind": _l("Jenis"),
    "number": _l("Nomor"), "issued_on": _l("Tanggal terbit"), "amount": _l("Jumlah"), "lender": _l("Pemberi modal"),
    "status": _l("Status"), "month": _l("Bulan"), "turnover": _l("Omzet"), "expenses": _l("Pengeluaran"),
    "url": _l("Tautan"), "licence_type": _l("Jenis izin"),
    "events": _l("Peristiwa"),  # a webhook endpoint's
    "organisers": _l("Diselenggarakan oleh"),  # a session's (printed on its certificates)
    # an erasure's counts (lms/privacy/erasure.py)
    "sign_in": _l("Data masuk dan kontak dihapus"), "notifications": _l("Notifikasi dihapus"),
    "messages": _l("Pesan dikosongkan"), "texts": _l("Teks yang ditulisnya"), "certificates": _l("Sertifikat tanpa nama"),
    "files": _l("Berkas dihapus"), "redacted": _l("Baris lain disamarkan"), "audit": _l("Entri audit disamarkan"),
}

#: pages objects link to: kind → (endpoint, URL argument); registrations and action items link
#: to their session and visit (the ``ref`` column of their name row)
PAGES = {
    "user": ("people.user_detail", "user_id"),
    "outlet": ("places.outlet_detail", "outlet_id"),
    "cohort": ("programme.cohort_detail", "cohort_id"),
    "enrolment": ("programme.enrolment_detail", "enrolment_id"),
    "evidence": ("programme.evidence_detail", "evidence_id"),
    "visit": ("visits.visit_detail", "visit_id"),
    "training_session": ("sessions.session_detail", "session_id"),
    "certificate": ("certification.detail", "cert_id"),
    "certificate_job": ("certification.job", "job_id"),
}
REF_PAGES = {"registration": PAGES["training_session"], "action_item": PAGES["visit"]}

_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- names, one query per page ---------------------------------------------------------------

def _row(kind: str, id_col: Any, a: Any, b: Any = None, at: Any = None, ref: Any = None) -> list[Any]:
    return [sa.literal_column(f"'{kind}'").label("kind"), sa.cast(id_col, sa.Integer).label("id"),
            sa.cast(a, sa.String).label("a"), sa.cast(b if b is not None else sa.null(), sa.String).label("b"),
            # a real column keeps its own type (SQLite's CAST AS DATETIME would make "2018-…" the number 2018)
            (at if at is not None else sa.cast(sa.null(), UTCDateTime())).label("at"),
            sa.cast(ref if ref is not None else sa.null(), sa.Integer).label("ref")]


def _names_query(kind: str, ids: list[int]) -> sa.Select | None:  # type: ignore[type-arg]
    from ..certification.models import Certificate, CertificateJob
    from ..people.models import User
    from ..places.models import Kecamatan, Outlet, Region
    from ..programme.models import Cohort, Enrolment, Evidence
    from ..sessions.models import Registration, TrainingSession
    from ..visits.models import ActionItem, Visit

    if kind == "user":
        return sa.select(*_row(kind, User.id, User.full_name)).where(User.id.in_(ids))
    if kind == "outlet":
        return sa.select(*_row(kind, Outlet.id, Outlet.code, Outlet.name)).where(Outlet.id.in_(ids))
    if kind == "region":
        return sa.select(*_row(kind, Region.id, Region.name)).where(Region.id.in_(ids))
    if kind == "kecamatan":
        return sa.select(*_row(kind, Kecamatan.id, Kecamatan.name)).where(Kecamatan.id.in_(ids))
    if kind == "cohort":
        return sa.select(*_row(kind, Cohort.id, Cohort.name)).where(Cohort.id.in_(ids))
    if kind == "enrolment":
        return (sa.select(*_row(kind, Enrolment.id, Outlet.code, Cohort.name))
                .join(Outlet, Outlet.id == Enrolment.outlet_id).join(Cohort, Cohort.id == Enrolment.cohort_id)
                .where(Enrolment.id.in_(ids)))
    if kind == "evidence":
        return (sa.select(*_row(kind, Evidence.id, Evidence.type, Outlet.code))
                .join(Outlet, Outlet.id == Evidence.outlet_id).where(Evidence.id.in_(ids)))
    if kind == "visit":
        return (sa.select(*_row(kind, Visit.id, Outlet.code, at=Visit.visited_at))
                .join(Outlet, Outlet.id == Visit.outlet_id).where(Visit.id.in_(ids)))
    if kind == "training_session":
        return sa.select(*_row(kind, TrainingSession.id, TrainingSession.title, at=TrainingSession.starts_at)).where(
            TrainingSession.id.in_(ids))
    if kind == "registration":
        return (sa.select(*_row(kind, Registration.id, TrainingSession.title, User.full_name,
                                at=TrainingSession.starts_at, ref=Registration.session_id))
                .join(TrainingSession, TrainingSession.id == Registration.session_id)
                .join(User, User.id == Registration.user_id).where(Registration.id.in_(ids)))
    if kind == "certificate":
        return sa.select(*_row(kind, Certificate.id, Certificate.serial)).where(Certificate.id.in_(ids))
    if kind == "certificate_job":
        return sa.select(*_row(kind, CertificateJob.id, CertificateJob.title)).where(CertificateJob.id.in_(ids))
    if kind == "action_item":
        return sa.select(*_row(kind, ActionItem.id, ActionItem.description, ref=ActionItem.visit_id)).where(
            ActionItem.id.in_(ids))
    return None


@dataclass(frozen=True)
class Named:
    text: str
    url: str | None = None


def _named(kind: str, id_: int, a: str | None, b: str | None, at: datetime | None, ref: int | None) -> Named:
    if kind == "outlet":
        text = f"{a} · {b}"
    elif kind == "enrolment":
        text = _("%(outlet)s di %(cohort)s", outlet=a, cohort=b)
    elif kind == "evidence":
        text = f"{_EVIDENCE[a] if a in _EVIDENCE else a} · {b}"
    elif kind == "visit":
        text = _("Kunjungan %(when)s · %(outlet)s", when=wib_date(at), outlet=a)
    elif kind == "training_session":
        text = f"{a} ({wib_date(at)})"
    elif kind == "registration":
        text = _("%(name)s di %(session)s", name=b, session=a)
    elif kind == "action_item":
        text = a if a is None or len(a) <= 80 else a[:79] + "…"
    else:
        text = a or ""
    page = REF_PAGES.get(kind)
    if page is not None:
        url = url_for(page[0], **{page[1]: ref}) if ref is not None else None
    else:
        page = PAGES.get(kind)
        url = url_for(page[0], **{page[1]: id_}) if page else None
    return Named(text or f"#{id_}", url)


def resolve(refs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Named]:
    """The names (and pages) of the objects ``refs`` name, read in one query."""
    by_kind: dict[str, set[int]] = {}
    for kind, id_ in refs:
        by_kind.setdefault(kind, set()).add(id_)
    selects = [q for kind, ids in sorted(by_kind.items()) if (q := _names_query(kind, sorted(ids))) is not None]
    if not selects:
        return {}
    query = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return {(kind, id_): _named(kind, id_, a, b, at, ref)
            for kind, id_, a, b, at, ref in db.session.execute(query)}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -2**31 < value < 2**31 else None
    if isinstance(value, str) and value.isdigit() and len(value) < 10:
        return int(value)
    return None


def _subject(value: Any) -> tuple[str, int] | None:
    m = _SUBJECT.fullmatch(value) if isinstance(value, str) else None
    return (SUBJECT_KINDS[m[1]], int(m[2])) if m and m[1] in SUBJECT_KINDS else None


def refs_of(target_type: str | None, target_id: str | None, details: dict[str, Any] | None) -> set[tuple[str, int]]:
    """Every object an entry names: its target and the ids in its details."""
    out: set[tuple[str, int]] = set()
    tid = _int(target_id)
    if target_type and tid is not None:
        out.add((target_type, tid))
    for key, value in (details or {}).items():
        if (ref := _subject(value)) is not None:
            out.add(ref)
        elif key in REFERENCE_KEYS and (i := _int(value)) is not None:
            out.add((REFERENCE_KEYS[key], i))
        elif key in LIST_REFERENCE_KEYS and isinstance(value, list):
            out.update((LIST_REFERENCE_KEYS[key], i) for v in value[:LIST_SHOWN] if (i := _int(v)) is not None)
    return out


# --- details as labelled fields ------------------------------------------------------------------

@dataclass(frozen=True)
class Detail:
    label: str
    text: str
    url: str | None = None


def detail_label(key: str) -> str:
    label = DETAIL_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ")


def _field_label(key: str) -> str:
    label = FIELD_LABELS.get(key) or DETAIL_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ")


def value_text(key: str, value: Any) -> str:
    """One stored value as a person reads it."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("ya") if value else _("tidak")
    labels = VALUE_LABELS.get(key)
    if labels is not None and isinstance(value, str) and value in labels:
        return str(labels[value])
    if isinstance(value, (int, float)):
        if key == "retry_after":
            return _("%(n)s detik", n=number(value))
        return number(value)
    if isinstance(value, str):
        if key == "sha256" and len(value) > 16:
            return value[:12] + "…"
        if _ISO_DATETIME.fullmatch(value):
            try:
                return wib_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                return value
        if _ISO_DATE.fullmatch(value):
            try:
                return wib_date(date.fromisoformat(value))
            except ValueError:
                return value
        return value
    if isinstance(value, list):
        shown = [value_text(key, v) for v in value[:LIST_SHOWN]]
        more = len(value) - len(shown)
        return ", ".join(shown) + (" " + _("(+%(n)d lainnya)", n=more) if more > 0 else "")
    if isinstance(value, dict):
        if all(isinstance(v, list) and len(v) == 2 for v in value.values()):  # {field: [before, after]}
            return "; ".join(f"{_field_label(k)}: {value_text(k, v[0])} → {value_text(k, v[1])}"
                             for k, v in value.items())
        return "; ".join(f"{_field_label(k)}: {value_text(k, v)}" for k, v in value.items())
    return str(value)


def details_of(details: dict[str, Any] | None, names: dict[tuple[str, int], Named]) -> list[Detail]:
    out: list[Detail] = []
    for key, value in (details or {}).items():
        if value is None or value == "" or value == []:
            continue  # nothing to say ("replaces: none")
        label = detail_label(key)
        if (ref := _subject(value)) is not None and ref in names:
            out.append(Detail(label, names[ref].text, names[ref].url))
        elif key in REFERENCE_KEYS and (i := _int(value)) is not None:
            named = names.get((REFERENCE_KEYS[key], i))
            out.append(Detail(label, named.text if named else f"#{i}", named.url if named else None))
        elif key in LIST_REFERENCE_KEYS and isinstance(value, list):
            kind = LIST_REFERENCE_KEYS[key]
            texts = []
            for v in value[:LIST_SHOWN]:
                i = _int(v)
                named = names.get((kind, i)) if i is not None else None
                texts.append(named.text if named else f"#{v}")
            more = len(value) - len(texts)
            out.append(Detail(label, (", ".join(texts) or "–")
                              + (" " + _("(+%(n)d lainnya)", n=more) if more > 0 else "")))
        else:
            out.append(Detail(label, value_text(key, value)))
    return out


def target_of(target_type: str | None, target_id: str | None, names: dict[tuple[str, int], Named],
              kind_label: Callable[[str | None], str]) -> Detail | None:
    """The entry's object: its kind, its name and its page."""
    if not target_type:
        return None
    tid = _int(target_id)
    named = names.get((target_type, tid)) if tid is not None else None
    if named is not None:
        return Detail(kind_label(target_type), named.text, named.url)
    # gone (a revoked calendar link) or never a row (an import): its id, without a link to a 404
    return Detail(kind_label(target_type), f"#{target_id}" if target_id else "")
