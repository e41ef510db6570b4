""""Data saya": a copy of everything the system holds about a person (UU PDP Pasal 7 and 13:
access, a copy, portability in a machine-readable form).

The person asks on their "Data saya" page (:func:`request_export`: one ``DataRequest`` of kind
``export``, at most one pending or running per person); the copy is built in the background
(:func:`build_export`) with its progress on the request (``progress`` of ``total`` steps: one per
section of data, one per file, one to finish), built in a temporary folder and stored as a ZIP in
the storage area ``uploads`` (lms/storage.py: ``exports/<random>.zip``, the key in ``file_key``,
with its size and sha256) and kept
for ``DATA_EXPORT_DAYS`` days (``expires_at``); an outbox event ``privacy.export_ready`` tells the
person. Only they may download it (:func:`download_key`), and only while it is ready and not
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
import tempfile
import threading
import time as time_
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from ..audit.services import record
from ..db import transaction, utcnow
from ..extensions import db
from ..people.models import User
from . import access
from .models import DataRequest, RequestKind, RequestStatus

log = logging.getLogger(__name__)

from .export_data import (  # noqa: F401  (the sections live there; callers keep using this module)
    SCHEMA_VERSION, SECTIONS, SIGN_INS, Collector, FileEntry, _code, _config, _iso, categories, collect,
)

#: a pending or running build not touched for this long was interrupted (its process died)
STALE_AFTER = timedelta(minutes=15)
#: where the ZIPs are kept, under the upload root
EXPORT_FOLDER = "exports"
ACTIVE = (RequestStatus.PENDING, RequestStatus.RUNNING)
#: the progress shown is written at most this often (seconds)
PROGRESS_EVERY = 0.5


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


#: the ZIPs are objects ``exports/<random>.zip`` of the storage area ``uploads`` (lms/storage.py)
AREA = "uploads"


def stored_key(file_key: str | None) -> str | None:
    """The ZIP's storage key from ``file_key``; None unless it is a file directly in the export folder."""
    if not file_key:
        return None
    folder, _, name = file_key.partition("/")
    if folder != EXPORT_FOLDER or not name or "/" in name or name in (".", "..") or "\\" in name:
        return None
    return file_key


def export_keys() -> list[str]:
    """Every stored export ZIP (tests, the retention sweep)."""
    from ..storage import storage

    return sorted(storage().keys(AREA, EXPORT_FOLDER + "/"))


def _copy(zf: zipfile.ZipFile, entry: FileEntry) -> None:
    """Copy one file into the ZIP, computing its digest as it goes (already compressed: stored)."""
    from ..storage import storage

    assert entry.source is not None
    digest = hashlib.sha256()
    size = 0
    area, key = entry.source
    with storage().open(area, key) as src, \
            zf.open(zipfile.ZipInfo(entry.path, date_time=_zip_time()), "w") as dst:
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
    from ..storage import storage

    backend = storage()
    workdir = tempfile.TemporaryDirectory(prefix="lms-export-")
    key: str | None = None  # the stored ZIP, removed again if the request is not ready in the end
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
        part = Path(workdir.name) / name  # built on this machine's disk, then stored whole
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
        digest = hashlib.sha256()
        with part.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                digest.update(chunk)
        size = part.stat().st_size
        key = f"{EXPORT_FOLDER}/{name}"
        backend.put_file(AREA, key, part)
        now = utcnow()
        with transaction():
            n = db.session.execute(
                sa.update(DataRequest).where(DataRequest.id == request_id, DataRequest.status == RequestStatus.RUNNING)
                .values(status=RequestStatus.READY, progress=total, total=total, file_key=key,
                        file_size=size, sha256=digest.hexdigest(), handled_at=now, updated_at=now,
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
        if key is not None:
            try:
                backend.delete(AREA, key)
            except Exception:  # noqa: BLE001 - an unreachable store: the retention sweep removes the orphan later
                log.warning("could not remove the unfinished export %s", key)
        _update(request_id, status=RequestStatus.FAILED, response=type(e).__name__[:100], file_key=None)
        db.session.expire_all()
        return False
    finally:
        workdir.cleanup()


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
        from rq import Queue

        from ..ops.redis_client import client

        q = Queue(app.config.get("NOTIFICATIONS_QUEUE", "notifications"), connection=client(app))
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


def download_key(actor: User, req: DataRequest, *, ip: str | None = None) -> str | None:
    """The stored ZIP (its key in the area ``uploads``) to send to ``actor``, recorded (audit, access
    log); None when there is nothing to send."""
    from ..storage import storage

    if req.user_id != actor.id or not is_downloadable(req):
        return None
    key = stored_key(req.file_key)
    if key is None or not storage().exists(AREA, key):
        return None
    with transaction():
        record("privacy.export_downloaded", actor=actor, target=req, ip=ip, sha256=req.sha256)
        access.record(actor, actor.id, access.DATA_EXPORT, f"data_request:{req.id}")
    return key


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
    from ..storage import storage

    n = 0
    for r in rows:
        key = stored_key(r.file_key)
        if key is not None:
            storage().delete(AREA, key)  # the file first: a failure after it leaves nothing to download
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
    from ..storage import storage

    backend = storage()
    keys = set(db.session.scalars(sa.select(DataRequest.file_key).where(DataRequest.file_key.is_not(None))))
    cutoff = (now - timedelta(days=1)).timestamp()
    n = 0
    for entry in list(backend.listing(AREA, EXPORT_FOLDER + "/")):
        if entry.modified > cutoff or entry.key in keys:
            continue
        backend.delete(AREA, entry.key)
        n += 1
    return n
