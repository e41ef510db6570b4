"""Retention and minimisation: the scheduled clean-up (UU PDP Pasal 16(2) and 43).

The rules are configuration (``RETENTION_*`` in lms/config.py) and :data:`RULES` describes them
for the admin page and the README. :func:`run_retention` applies them; it is idempotent (a second
run finds nothing to do and reports zeros) and reports what it did per rule and table:

* sign-in addresses older than ``RETENTION_IP_DAYS`` become a keyed hash ("h:" + 32 hex of an
  HMAC-SHA256 with the app's secret): the audit log, failed sign-ins, one-time code requests,
  session records and wrong second-factor codes. The same address gives the same hash, so the
  records still show "the same network as before", but nobody can read the address back;
* set-up links, one-time sign-in codes and used recovery codes are deleted once used or expired,
  after ``RETENTION_CODE_DAYS`` of grace;
* failed sign-ins and wrong second-factor codes (kept only for the 15-minute throttles) are deleted
  after ``RETENTION_LOGIN_FAILURE_DAYS``;
* the text of sent messages is blanked after ``RETENTION_DELIVERY_BODY_DAYS``;
* webhook deliveries that arrived (or were skipped) are deleted after ``RETENTION_WEBHOOK_DAYS``: each
  holds the event's object as sent (a manager's name, an outlet, a certificate), and the receiver has
  it; the endpoint's log keeps the recent ones, and failed ones stay whole for a retry;
* "Data saya" ZIPs are deleted when they expire (``DATA_EXPORT_DAYS`` after they were made);
* accounts without a sign-in for ``RETENTION_INACTIVE_YEARS`` are listed for review (never deleted
  by the job: a coordinator decides).

Every rule works in batches of at most :data:`BATCH` rows, each batch one short transaction
(an UPDATE or DELETE on the ids of one SELECT), so a first run over years of history never holds
the database for long and a run cut short is simply finished by the next one.

The notifications worker calls :func:`run_if_due` (at most once a day); the CLI
``flask --app lms privacy retention [--dry-run]`` and the admin page run it on demand.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..audit.models import AuditEntry
from ..audit.services import record
from ..db import transaction, utcnow
from ..extensions import db
from ..people.models import LoginFailure, PasswordSetupToken, SignInCode, User
from ..people.security_models import RecoveryCode, SecondFactorFailure, UserSession
from .models import DataRequest, RequestKind, RequestStatus

log = logging.getLogger(__name__)

#: rows per batch (one SELECT of ids, one UPDATE or DELETE)
BATCH = 500
#: the audit action of a run (its details hold the counts)
ACTION = "privacy.retention_run"
#: what the text of an old sent message becomes
BODY_REMOVED = "[isi pesan dihapus sesuai masa simpan]"
#: a hashed address starts with this (the audit log's trigger admits only such a change)
HASH_PREFIX = "h:"


@dataclass(frozen=True)
class Rule:
    """One retention rule, as the admin page and the README describe it."""

    key: str
    label: Any
    #: the configuration name holding the period
    setting: str
    #: "days" or "years"
    unit: str
    #: what happens when the period has passed
    action: Any
    tables: tuple[str, ...]


RULES: tuple[Rule, ...] = (
    Rule("ip", _l("Alamat IP masuk"), "RETENTION_IP_DAYS", "days",
         _l("diganti dengan hash berkunci (tidak bisa dibaca kembali)"),
         ("audit_log", "login_failures", "sign_in_codes", "user_sessions", "second_factor_failures")),
    Rule("codes", _l("Tautan atur kata sandi dan kode sekali pakai"), "RETENTION_CODE_DAYS", "days",
         _l("dihapus setelah dipakai atau kedaluwarsa, ditambah masa tenggang ini"),
         ("password_setup_tokens", "sign_in_codes", "recovery_codes")),
    Rule("failures", _l("Catatan gagal masuk dan kode verifikasi salah"), "RETENTION_LOGIN_FAILURE_DAYS", "days",
         _l("dihapus (hanya dipakai untuk pembatasan percobaan 15 menit)"),
         ("login_failures", "second_factor_failures")),
    Rule("deliveries", _l("Isi e-mail dan WhatsApp yang sudah terkirim"), "RETENTION_DELIVERY_BODY_DAYS", "days",
         _l("isinya dikosongkan; penerima, waktu, judul dan status tetap"), ("deliveries",)),
    Rule("webhooks", _l("Kiriman webhook yang sudah sampai"), "RETENTION_WEBHOOK_DAYS", "days",
         _l("dihapus beserta isinya; kiriman yang gagal tetap utuh untuk dikirim ulang"), ("webhook_deliveries",)),
    Rule("exports", _l("Berkas ZIP \"Data saya\""), "DATA_EXPORT_DAYS", "days",
         _l("berkasnya dihapus dari folder berkas"), ("data_requests",)),
    Rule("inactive", _l("Akun tanpa masuk"), "RETENTION_INACTIVE_YEARS", "years",
         _l("didaftar untuk ditinjau (tidak dihapus otomatis)"), ("users",)),
)

#: the report's counters, in the order they are applied and shown: key → (rule, table)
COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("codes.setup_links", "codes", "password_setup_tokens"),
    ("codes.sign_in_codes", "codes", "sign_in_codes"),
    ("codes.recovery_codes", "codes", "recovery_codes"),
    ("failures.login_failures", "failures", "login_failures"),
    ("failures.second_factor_failures", "failures", "second_factor_failures"),
    ("ip.audit_log", "ip", "audit_log"),
    ("ip.login_failures", "ip", "login_failures"),
    ("ip.sign_in_codes", "ip", "sign_in_codes"),
    ("ip.user_sessions", "ip", "user_sessions"),
    ("ip.second_factor_failures", "ip", "second_factor_failures"),
    ("deliveries.bodies", "deliveries", "deliveries"),
    ("webhooks.deliveries", "webhooks", "webhook_deliveries"),
    ("exports.files", "exports", "data_requests"),
)


@dataclass
class RetentionReport:
    """What a run did (or, dry, would do): rows per counter, and the accounts listed for review."""

    at: datetime
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    #: accounts inactive for RETENTION_INACTIVE_YEARS (listed, not changed)
    inactive: int = 0

    @property
    def changed(self) -> int:
        return sum(self.counts.values())

    def as_details(self) -> dict[str, int]:
        return {key: self.counts.get(key, 0) for key, _rule, _table in COUNTERS}


def period(rule: Rule) -> int:
    return int(current_app.config[rule.setting])


def rule(key: str) -> Rule:
    return next(r for r in RULES if r.key == key)


# --- hashing addresses ------------------------------------------------------------------------

def hash_ip(ip: str) -> str:
    """"h:" and the first 32 hex digits of HMAC-SHA256(secret, ip): the same address always gives
    the same value, and without the app's secret nobody can find the address from it."""
    key = hmac.new(str(current_app.config["SECRET_KEY"]).encode(), b"lms.privacy.ip", hashlib.sha256).digest()
    return HASH_PREFIX + hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()[:32]


def _not_hashed(col: Any) -> Any:
    return sa.and_(col.is_not(None), sa.not_(col.startswith(HASH_PREFIX)))


def _count(model: Any, where: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(where)) or 0)


def _hash_ips(model: Any, when: Any, cutoff: datetime, dry_run: bool, deleted: Any = None) -> int:
    """Replace the addresses older than ``cutoff``, a batch of rows at a time; each distinct
    address is hashed once per batch (one CASE in one UPDATE). A dry run does not count the rows
    the deleting rules (which run first) would remove: ``deleted``."""
    where = sa.and_(when < cutoff, _not_hashed(model.ip))
    if dry_run:
        return _count(model, where if deleted is None else sa.and_(where, sa.not_(deleted)))
    pk = sa.inspect(model).primary_key[0]
    total = 0
    while True:
        with transaction():
            rows = db.session.execute(sa.select(pk, model.ip).where(where).order_by(pk).limit(BATCH)).all()
            if not rows:
                break
            hashes = {ip: hash_ip(ip) for ip in {r[1] for r in rows}}
            total += db.session.execute(
                sa.update(model).where(pk.in_([r[0] for r in rows]), _not_hashed(model.ip))
                .values(ip=sa.case(hashes, value=model.ip, else_=model.ip))
                .execution_options(synchronize_session=False)).rowcount
        if len(rows) < BATCH:
            break
    return total


def _delete(model: Any, where: Any, dry_run: bool) -> int:
    if dry_run:
        return _count(model, where)
    pk = sa.inspect(model).primary_key[0]
    total = 0
    while True:
        with transaction():
            ids = db.session.scalars(sa.select(pk).where(where).order_by(pk).limit(BATCH)).all()
            if not ids:
                break
            total += db.session.execute(sa.delete(model).where(pk.in_(ids))
                                        .execution_options(synchronize_session=False)).rowcount
        if len(ids) < BATCH:
            break
    return total


# --- the rules ----------------------------------------------------------------------------------

def _days(setting: str) -> timedelta:
    return timedelta(days=int(current_app.config[setting]))


def years_before(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def _used_or_expired(used_at: Any, expires_at: Any, cutoff: datetime) -> Any:
    # (a NULL used_at makes its half false, never NULL: the condition is negated for dry runs)
    return sa.or_(sa.and_(used_at.is_not(None), used_at < cutoff), expires_at < cutoff)


def _deleted_conditions(now: datetime) -> dict[Any, Any]:
    """What the deleting rules remove, per model that also keeps an address."""
    codes = now - _days("RETENTION_CODE_DAYS")
    failures = now - _days("RETENTION_LOGIN_FAILURE_DAYS")
    return {SignInCode: _used_or_expired(SignInCode.used_at, SignInCode.expires_at, codes),
            LoginFailure: LoginFailure.at < failures, SecondFactorFailure: SecondFactorFailure.at < failures}


def _codes(now: datetime, dry_run: bool, out: dict[str, int]) -> None:
    cutoff = now - _days("RETENTION_CODE_DAYS")
    out["codes.setup_links"] = _delete(PasswordSetupToken, _used_or_expired(
        PasswordSetupToken.used_at, PasswordSetupToken.expires_at, cutoff), dry_run)
    out["codes.sign_in_codes"] = _delete(SignInCode, _deleted_conditions(now)[SignInCode], dry_run)
    out["codes.recovery_codes"] = _delete(RecoveryCode, RecoveryCode.used_at < cutoff, dry_run)


def _failures(now: datetime, dry_run: bool, out: dict[str, int]) -> None:
    gone = _deleted_conditions(now)
    out["failures.login_failures"] = _delete(LoginFailure, gone[LoginFailure], dry_run)
    out["failures.second_factor_failures"] = _delete(SecondFactorFailure, gone[SecondFactorFailure], dry_run)


def _ips(now: datetime, dry_run: bool, out: dict[str, int]) -> None:
    cutoff = now - _days("RETENTION_IP_DAYS")
    gone = _deleted_conditions(now)
    for key, model, when in (("ip.audit_log", AuditEntry, AuditEntry.at),
                             ("ip.login_failures", LoginFailure, LoginFailure.at),
                             ("ip.sign_in_codes", SignInCode, SignInCode.created_at),
                             ("ip.user_sessions", UserSession, UserSession.last_seen_at),
                             ("ip.second_factor_failures", SecondFactorFailure, SecondFactorFailure.at)):
        out[key] = _hash_ips(model, when, cutoff, dry_run, gone.get(model))


def _deliveries(now: datetime, dry_run: bool, out: dict[str, int]) -> None:
    """Blank the text of messages that went out (or were skipped on purpose) long ago. Failed and
    kept ones are left whole: an admin may still send them again."""
    from ..notifications.models import Delivery, DeliveryStatus

    cutoff = now - _days("RETENTION_DELIVERY_BODY_DAYS")
    where = sa.and_(Delivery.status.in_([DeliveryStatus.SENT, DeliveryStatus.SKIPPED]), Delivery.created_at < cutoff,
                    Delivery.body_text != BODY_REMOVED)
    if dry_run:
        out["deliveries.bodies"] = _count(Delivery, where)
        return
    total = 0
    while True:
        with transaction():
            ids = db.session.scalars(sa.select(Delivery.id).where(where).order_by(Delivery.id).limit(BATCH)).all()
            if not ids:
                break
            total += db.session.execute(
                sa.update(Delivery).where(Delivery.id.in_(ids))
                .values(body_text=BODY_REMOVED, body_html=None, attachments=None, template=None)
                .execution_options(synchronize_session=False)).rowcount
        if len(ids) < BATCH:
            break
    out["deliveries.bodies"] = total


def _webhooks(now: datetime, dry_run: bool, out: dict[str, int]) -> None:
    """Delete webhook deliveries that arrived or were skipped long ago, with the payload they carried.
    Pending and failed ones are left: the first are still to be sent, the second may be sent again."""
    from ..webhooks.models import WebhookDelivery, WebhookStatus

    cutoff = now - _days("RETENTION_WEBHOOK_DAYS")
    where = sa.and_(WebhookDelivery.status.in_([WebhookStatus.DELIVERED, WebhookStatus.SKIPPED]),
                    WebhookDelivery.created_at < cutoff)
    out["webhooks.deliveries"] = _delete(WebhookDelivery, where, dry_run)


def _exports(now: datetime, dry_run: bool, out: dict[str, int]) -> None:
    """Expired "Data saya" ZIPs: the export area deletes its own files (lms/privacy/export.py)."""
    if dry_run:
        out["exports.files"] = _count(DataRequest, sa.and_(
            DataRequest.kind == RequestKind.EXPORT, DataRequest.status == RequestStatus.READY,
            DataRequest.expires_at <= now))
        return
    from .export import delete_expired_exports

    out["exports.files"] = int(delete_expired_exports(now) or 0)


# --- inactive accounts ---------------------------------------------------------------------------

def inactive_cutoff(now: datetime) -> datetime:
    return years_before(now, int(current_app.config["RETENTION_INACTIVE_YEARS"]))


def _inactive_where(now: datetime) -> Any:
    last = sa.func.coalesce(User.last_login_at, User.created_at)
    return sa.and_(User.erased_at.is_(None), User.active.is_(True), last < inactive_cutoff(now))


def inactive_count(now: datetime) -> int:
    return _count(User, _inactive_where(now))


@dataclass
class InactiveRow:
    user: User
    region: str | None
    last_seen: datetime


def inactive_page(now: datetime, page: int, size: int) -> tuple[int, list[InactiveRow]]:
    """Accounts to review, longest-silent first: the total and one page (two queries)."""
    from ..places.models import Outlet, Region

    total = inactive_count(now)
    last = sa.func.coalesce(User.last_login_at, User.created_at)
    rows = db.session.execute(
        sa.select(User, Region.name, last.label("last"))
        .outerjoin(Outlet, Outlet.manager_id == User.id)
        .outerjoin(Region, Region.id == sa.func.coalesce(Outlet.region_id, User.region_id))
        .where(_inactive_where(now)).order_by(last, User.id)
        .offset(max(0, page - 1) * size).limit(size)).all()
    return total, [InactiveRow(u, region, u.last_login_at or u.created_at) for u, region, _last in rows]


# --- running ------------------------------------------------------------------------------------

def run_retention(actor: Any, now: datetime | None = None, *, dry_run: bool = False,
                  ip: str | None = None) -> RetentionReport:
    """Apply every rule (``dry_run``: count only, change nothing and record nothing)."""
    now = now or utcnow()
    report = RetentionReport(at=now, dry_run=dry_run)
    counts: dict[str, int] = {}
    _codes(now, dry_run, counts)
    _failures(now, dry_run, counts)
    _ips(now, dry_run, counts)
    _deliveries(now, dry_run, counts)
    _webhooks(now, dry_run, counts)
    _exports(now, dry_run, counts)
    report.counts = {key: counts.get(key, 0) for key, _rule, _table in COUNTERS}
    report.inactive = inactive_count(now)
    if not dry_run:
        with transaction():
            record(ACTION, actor=actor, ip=ip, counts=report.as_details(), inactive=report.inactive)
    return report


def last_runs(limit: int = 10) -> list[AuditEntry]:
    """The latest runs from the audit log (one query, the acting admins joined)."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(sa.select(AuditEntry).options(joinedload(AuditEntry.actor))
                                   .where(AuditEntry.action == ACTION)
                                   .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))


#: the worker runs the rules when the last run is older than this
DAILY = timedelta(hours=24)


def run_if_due(now: datetime | None = None) -> RetentionReport | None:
    """The daily run for the notifications worker: only when no run happened in the last day."""
    from ..permissions import SYSTEM

    now = now or utcnow()
    last = db.session.scalar(sa.select(sa.func.max(AuditEntry.at)).where(AuditEntry.action == ACTION))
    db.session.rollback()
    if last is not None and now - last < DAILY:
        return None
    report = run_retention(SYSTEM, now)
    log.info("retention run: %s changed, %s inactive accounts to review", report.changed, report.inactive)
    return report
