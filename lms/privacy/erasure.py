"""Erasure at the person's request (UU PDP Pasal 8): an admin accepts it (never their own: four eyes)
or refuses it with a reason (requests.decline).

Erasure *anonymises*: the account row stays, so enrolments, evidence, attendance, visits and
certificates keep counting in progress and dashboards and the audit chain keeps its actors and
targets; what identifies the person goes, in one transaction:

* the account: name → "Pengguna dihapus #<id>", e-mail, phone and password removed, every
  session ended (token rotated), inactive, ``erased_at`` set, a neutral deactivation reason;
* what they signed in with or were reached by: sign-in failures and one-time codes for their
  e-mail or numbers, set-up links, authenticator and recovery codes, device records, calendar feed,
  notification preferences; their in-app notifications; their messages (deliveries) keep only
  their status (address, subject, text, template and attachments blanked; unsent ones skipped);
  a set-up link or code still waiting in an outbox event;
* text they wrote: feedback comments, notes and descriptions of evidence they submitted or edited,
  their own comments in evidence histories, the words of their data requests;
* certificates: the printed name is emptied (the certificate stays valid; the verify page says the
  name was removed at their request) and stored PDFs are deleted;
* files: whatever they uploaded, the scans of their outlet's evidence from their time as its manager,
  photos of their outlet taken during that time, their "Data saya" ZIPs, and staged spreadsheet
  imports that name them. Files are removed only after the transaction commits;
* anywhere else (notes others wrote, messages to others, outbox payloads, outlet contacts, breach
  letters, …): every occurrence of their name, e-mail or phone number in any text or JSON column is
  replaced by "[dihapus]" (a value that is nothing else becomes NULL where the column allows), also names they had before a
  correction (their certificates, their correction requests) and numbers they changed from;
* the audit log: personal values in ``details`` become "[dihapus]" (and contacts recorded about their
  account, whatever the value), the entry marked ``_redacted`` with the time, and the address of their
  own entries is removed; the triggers allow exactly that (who did what to which object, and when, stays);
* their other pending corrections are closed (withdrawn); their "Data saya" exports end.

On SQLite the erasing connection turns ``secure_delete`` on (freed pages are zeroed) and the write-ahead
log is checkpointed and truncated after the commit, so the old values do not linger in the database
files either. (On PostgreSQL old row versions stay in the table files until VACUUM reuses the space.)

Kept, on purpose: consent records (evidence of lawful processing, no personal text), records of who
looked at their data (accountability), the outlet (business data of the e-Warong, not the person's:
its name, address, licence number), the rows and numbers of evidence, reports, financing, visits,
attendance and certificates, and what staff wrote in their role (reviews, visit notes), with the
person's name taken out.
"""
from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from .. import permissions
from ..audit.models import AuditEntry
from ..audit.services import record
from ..db import Base, transaction, utcnow
from ..errors import NotAllowed
from ..extensions import db
from ..people.models import User
from ..people.phone import display_phone
from .models import DataRequest, RequestKind, RequestStatus

log = logging.getLogger(__name__)

#: what a removed value becomes inside a text
REDACTED = "[dihapus]"
#: the anonymised account's name (the id keeps lists and the audit log readable)
ERASED_NAME = "Pengguna dihapus #{id}"
#: the account's deactivation reason after an erasure (stored text, not shown with the person's words)
ERASED_REASON = "Data pribadi dihapus atas permintaan pemiliknya (UU PDP)."
#: a name shorter than this is not searched for in other people's texts (it would match too much)
MIN_NEEDLE = 3
#: tables never swept: reference data, counters, the accounts themselves (a namesake keeps their name)
#: and the audit log (redacted on its own, within what its triggers allow)
SKIP_TABLES = {"alembic_version", "regions", "kecamatan", "dashboard_counts", "dashboard_region_counts",
               "certificate_counters", "users", "audit_log"}
#: columns handled by the holder's id rather than by searching (a namesake's certificate keeps its name)
SKIP_COLUMNS = {("certificates", "holder_name"), ("certificate_job_items", "holder_name")}


# --- what identifies the person --------------------------------------------------------------------

def phone_forms(e164: str | None) -> set[str]:
    """+6281234567890, 081234567890, 0812-3456-7890 and 6281234567890."""
    if not e164:
        return set()
    out = {e164}
    if e164.startswith("+62"):
        out |= {"0" + e164[3:], display_phone(e164), e164[1:]}
    return out


def needles(person: User) -> list[str]:
    """Every value to remove wherever it appears, longest first: the person's name, e-mail and number,
    and those they had before, as far as the records tell: names printed on their certificates, values
    of their correction requests, addresses and numbers their messages and sign-in codes went to, and
    numbers their phone changes recorded."""
    from ..certification.models import Certificate, CertificateJobItem
    from ..notifications.models import Delivery
    from ..people.models import SignInCode
    from ..people.phone import normalize_phone

    names = {person.full_name}
    emails = {person.email} if person.email else set()
    phones = {person.phone} if person.phone else set()
    names |= set(db.session.scalars(sa.select(Certificate.holder_name).where(Certificate.holder_id == person.id)))
    names |= set(db.session.scalars(sa.select(CertificateJobItem.holder_name)
                                    .where(CertificateJobItem.holder_id == person.id)))
    for field, value in db.session.execute(sa.select(DataRequest.field, DataRequest.proposed_value).where(
            DataRequest.user_id == person.id, DataRequest.kind == RequestKind.CORRECTION,
            DataRequest.field.in_(("full_name", "email", "phone")), DataRequest.proposed_value.is_not(None))):
        if field == "full_name":
            names.add(value)
        elif field == "email":
            emails.add(value)
        else:
            try:
                phones.add(normalize_phone(value) or "")
            except ValueError:
                names.add(value)
    # the addresses and numbers messages and codes went to (an earlier number, an earlier e-mail)
    for channel, address in db.session.execute(sa.select(Delivery.channel, Delivery.address).where(
            Delivery.user_id == person.id).distinct()):
        if channel == "email" and address:
            emails.add(address)
        elif channel == "whatsapp" and address:
            try:
                phones.add(normalize_phone(address) or "")
            except ValueError:
                pass
    phones |= set(db.session.scalars(sa.select(SignInCode.phone).where(SignInCode.user_id == person.id).distinct()))
    for (details,) in db.session.execute(sa.select(AuditEntry.details).where(
            AuditEntry.action == "user.phone_changed", AuditEntry.target_type == "user",
            AuditEntry.target_id == str(person.id))):
        phones |= {v for k, v in (details or {}).items() if k in ("old_phone", "new_phone") and isinstance(v, str)}
    out: set[str] = set()
    for n in names:
        n = " ".join((n or "").split())
        if len(n) >= MIN_NEEDLE:
            out.add(n)
    out |= {e.strip().lower() for e in emails if e and e.strip()}
    for p in phones:
        out |= phone_forms(p or None)
    return sorted(out, key=lambda s: (-len(s), s))


class Redactor:
    """Replaces the needles in texts (whole words only, any case); a value that is nothing but a
    needle becomes "[dihapus]" (NULL in a column that allows it)."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = [v for v in values if v]
        alternatives = "|".join(re.escape(v) for v in self.values)
        self.pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if self.values else None

    def found(self, text: str) -> bool:
        return bool(self.pattern and self.pattern.search(text))

    def text(self, value: str) -> str:
        if self.pattern is None:
            return value
        return self.pattern.sub(REDACTED, value)

    def whole(self, value: str) -> bool:
        return bool(self.pattern and self.pattern.fullmatch(value.strip()))

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return REDACTED if self.whole(value) else self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value

    def like_terms(self, column: Any, is_json: bool) -> list[Any]:
        """SQL that finds rows perhaps holding a needle (checked exactly in Python afterwards)."""
        text = sa.func.lower(sa.cast(column, sa.Text) if is_json else column)
        terms = []
        for v in self.values:
            forms = {v.lower()}
            if is_json:
                forms.add(json.dumps(v)[1:-1].lower())
            terms += [text.contains(f, autoescape=True) for f in forms]
        return terms


def _text_columns(table: sa.Table) -> list[tuple[sa.Column[Any], bool]]:
    out = []
    for col in table.columns:
        if (table.name, col.name) in SKIP_COLUMNS or col.primary_key or isinstance(col.type, sa.Enum):
            continue
        if isinstance(col.type, sa.JSON):
            out.append((col, True))
        elif isinstance(col.type, (sa.String, sa.Text)):
            out.append((col, False))
    return out


def _fit(col: sa.Column[Any], value: str | None) -> str | None:
    """``value`` cut to the column's length; None (a value that was only the needle) stays NULL where
    the column allows it and reads "[dihapus]" where it does not."""
    if value is None:
        if col.nullable:
            return None
        value = REDACTED
    length = getattr(col.type, "length", None)
    return value[:length] if length else value


def sweep(redactor: Redactor) -> dict[str, int]:
    """Replace the needles in every text and JSON column of every table but :data:`SKIP_TABLES`.
    Returns the rows changed per table."""
    changed: dict[str, int] = {}
    if not redactor.values:
        return changed
    for table in Base.metadata.sorted_tables:
        if table.name in SKIP_TABLES:
            continue
        cols = _text_columns(table)
        pk = list(table.primary_key.columns)
        if not cols or not pk:
            continue
        terms = [t for col, is_json in cols for t in redactor.like_terms(col, is_json)]
        rows = db.session.execute(sa.select(*pk, *[c for c, _j in cols]).where(sa.or_(*terms))).all()
        n = 0
        for row in rows:
            key, values = row[:len(pk)], row[len(pk):]
            new: dict[str, Any] = {}
            for (col, is_json), value in zip(cols, values):
                if value is None:
                    continue
                if is_json:
                    fixed = redactor.json(value)
                    if fixed != value:
                        new[col.name] = fixed
                elif redactor.found(value):
                    new[col.name] = _fit(col, None if redactor.whole(value) else redactor.text(value))
            if new:
                db.session.execute(sa.update(table).where(*[c == k for c, k in zip(pk, key)]).values(**new))
                n += 1
        if n:
            changed[table.name] = n
    return changed


#: the key a rewritten audit ``details`` must carry (the triggers refuse it otherwise): when it was redacted
REDACTION_MARK = "_redacted"


def redact_audit(person_id: int, redactor: Redactor) -> int:
    """Personal values in the audit log's details become "[dihapus]", marked with ``_redacted`` (when);
    the person's own entries (and the sign-in attempts on their account) lose their address. Who, what,
    which object and when stay."""
    n = 0
    when = utcnow().isoformat()
    if redactor.values:
        terms = redactor.like_terms(AuditEntry.details, True)
        for entry_id, details in db.session.execute(sa.select(AuditEntry.id, AuditEntry.details)
                                                    .where(sa.or_(*terms))).all():
            fixed = redactor.json(details)
            if fixed != details:
                db.session.execute(sa.update(AuditEntry).where(AuditEntry.id == entry_id)
                                   .values(details={**fixed, REDACTION_MARK: when}))
                n += 1
    mine = sa.or_(AuditEntry.actor_id == person_id,
                  sa.and_(AuditEntry.target_type == "user", AuditEntry.target_id == str(person_id)))
    # contacts recorded about their account, whatever the value (a number they changed from, an address
    # typed at their sign-in with a typo)
    for entry_id, details in db.session.execute(sa.select(AuditEntry.id, AuditEntry.details).where(mine)).all():
        fixed = _without_contacts(details)
        if fixed != details:
            db.session.execute(sa.update(AuditEntry).where(AuditEntry.id == entry_id)
                               .values(details={**fixed, REDACTION_MARK: when}))
            n += 1
    n += db.session.execute(sa.update(AuditEntry).where(mine, AuditEntry.ip.is_not(None)).values(ip=None)).rowcount or 0
    return n


#: detail and payload keys whose value is a contact of the person they are about
CONTACT_KEYS = {"email", "phone", "old_phone", "new_phone", "address", "full_name"}


def _without_contacts(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    return {k: (REDACTED if k in CONTACT_KEYS and isinstance(v, str) and v and v != REDACTED else v)
            for k, v in data.items()}


# --- files -------------------------------------------------------------------------------------------

_TO_REMOVE = "lms.privacy.erasure.remove"
_installed = False


def _remove_after_commit(session: Any) -> None:
    for backend, area, key in session.info.pop(_TO_REMOVE, []):
        try:
            backend.delete(area, key)
        except Exception:  # noqa: BLE001 - the row is gone; an orphaned file is logged for the operator
            log.warning("could not remove the erased person's file %s/%s", area, key)


def _forget(session: Any) -> None:
    session.info.pop(_TO_REMOVE, None)


def _install() -> None:
    """Files are removed when the erasing transaction commits, never when it rolls back."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_commit", _remove_after_commit)
    event.listen(Session, "after_rollback", _forget)
    _installed = True


def remove_after_commit(files: Iterable[tuple[str, str]]) -> None:
    """Delete these stored files ((area, key) of lms/storage.py) once the current transaction commits."""
    from ..storage import storage

    backend = storage()
    db.session().info.setdefault(_TO_REMOVE, []).extend((backend, area, key) for area, key in files)


def _file_mentions(data: bytes, redactor: Redactor) -> bool:
    texts: list[str] = []
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist()[:200]:
                    if info.file_size <= 20 * 1024 * 1024:
                        texts.append(zf.read(info).decode("utf-8", "replace"))
        except (zipfile.BadZipFile, OSError, RuntimeError):
            pass
    texts.append(data.decode("utf-8", "replace"))
    return any(redactor.found(t) for t in texts)


def staged_imports(redactor: Redactor) -> list[tuple[str, str]]:
    """Files of spreadsheet imports waiting for confirmation (or their done markers) that name the
    person, as (area, key)."""
    from ..imports import staging
    from ..storage import NotStored, storage

    backend = storage()
    keys = list(backend.keys(staging.AREA))
    tokens: set[str] = set()
    for key in keys:
        try:
            data = backend.get(staging.AREA, key)
        except NotStored:  # confirmed or swept meanwhile
            continue
        if _file_mentions(data, redactor):
            tokens.add(key.split(".", 1)[0])
    return [(staging.AREA, k) for k in keys if k.split(".", 1)[0] in tokens]


def _export_file(req: DataRequest) -> tuple[str, str] | None:
    """The person's "Data saya" ZIP (lms/privacy/export.py keeps it in the area ``uploads``)."""
    from .export import AREA, stored_key

    key = stored_key(req.file_key)
    return (AREA, key) if key is not None else None


# --- the review facts and the erasure ---------------------------------------------------------------

def review_facts(person: User) -> dict[str, int]:
    """What the admin weighs before deciding: records another law may require to keep (a financing
    application still with the lender), and what the erasure will anonymise. One query."""
    from ..certification.models import Certificate
    from ..programme.models import Enrolment, Evidence, Financing, FinancingStatus
    from ..places.models import OutletManagerTerm
    from ..visits.models import Visit

    outlets = sa.select(OutletManagerTerm.outlet_id).where(OutletManagerTerm.user_id == person.id)
    row = db.session.execute(sa.select(
        sa.select(sa.func.count()).select_from(Enrolment).where(Enrolment.user_id == person.id).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Evidence).where(Evidence.outlet_id.in_(outlets)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Financing).where(
            Evidence.outlet_id.in_(outlets),
            Financing.application_status.in_((FinancingStatus.SUBMITTED, FinancingStatus.APPROVED))).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Certificate).where(Certificate.holder_id == person.id).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Visit).where(Visit.outlet_id.in_(outlets)).scalar_subquery(),
    )).one()
    return {"enrolments": row[0], "evidence": row[1], "financing_open": row[2], "certificates": row[3],
            "visits": row[4]}


def _delete(model: Any, *where: Any) -> int:
    return db.session.execute(sa.delete(model).where(*where)).rowcount or 0


def _files(person_id: int) -> tuple[list[int], set[int], list[int]]:
    """The person's files: (evidence whose scan goes, stored file ids to delete, visit photo ids)."""
    from ..places.models import OutletManagerTerm
    from ..programme.models import Evidence, EvidenceReview, ReviewDecision, StoredFile
    from ..visits.models import Visit, VisitPhoto

    term = OutletManagerTerm
    during = sa.and_(term.user_id == person_id, term.outlet_id == Evidence.outlet_id,
                     Evidence.created_at >= term.started_at,
                     sa.or_(term.ended_at.is_(None), Evidence.created_at <= term.ended_at))
    authored = sa.select(EvidenceReview.evidence_id).where(
        EvidenceReview.by_id == person_id,
        EvidenceReview.decision.in_((ReviewDecision.SUBMITTED, ReviewDecision.SAVED, ReviewDecision.EDITED)))
    uploaded = sa.select(StoredFile.id).where(StoredFile.uploaded_by_id == person_id)
    evidence_rows = db.session.execute(sa.select(Evidence.id, Evidence.file_id).where(
        Evidence.file_id.is_not(None),
        sa.or_(Evidence.submitted_by_id == person_id, Evidence.id.in_(authored), Evidence.file_id.in_(uploaded),
               sa.exists().where(during)))).all()
    photo_rows = db.session.execute(
        sa.select(VisitPhoto.id, VisitPhoto.file_id).join(Visit, Visit.id == VisitPhoto.visit_id)
        .join(StoredFile, StoredFile.id == VisitPhoto.file_id)
        .where(sa.or_(StoredFile.uploaded_by_id == person_id, sa.exists().where(
            term.user_id == person_id, term.outlet_id == Visit.outlet_id, Visit.visited_at >= term.started_at,
            sa.or_(term.ended_at.is_(None), Visit.visited_at <= term.ended_at))))).all()
    file_ids = {f for _e, f in evidence_rows} | {f for _p, f in photo_rows}
    file_ids |= set(db.session.scalars(uploaded))
    return [e for e, _f in evidence_rows], file_ids, [p for p, _f in photo_rows]


def erase(actor: Any, req: DataRequest, ip: str | None = None) -> dict[str, int]:
    """Carry out the erasure request ``req`` (an admin, never the person themselves). Returns counts."""
    from ..certification.models import Certificate, CertificateJobItem
    from ..certification.pdf import AREA as CERTIFICATES
    from ..feedback.models import FeedbackResponse
    from ..files import AREA as UPLOADS
    from ..notifications.models import Delivery, DeliveryStatus, Notification, NotificationPreference
    from ..outbox.models import OutboxEvent
    from ..people.models import LoginFailure, PasswordSetupToken, SignInCode
    from ..people.security_models import RecoveryCode, SecondFactorFailure, TotpFactor, UserSession
    from ..people.services import end_all_sessions
    from ..programme.models import Evidence, EvidenceReview, FinancialReport, MarketingStep, StoredFile
    from ..sessions.models import CalendarFeed
    from ..visits.models import VisitPhoto

    if req.kind is not RequestKind.ERASURE or not permissions.can(actor, "privacy.request.handle", req) \
            or not permissions.is_admin(actor):
        raise NotAllowed()
    _install()
    with transaction():
        if db.session.get_bind().dialect.name == "sqlite":
            # freed pages are overwritten, so the removed values do not linger in the database file
            db.session.connection().exec_driver_sql("PRAGMA secure_delete = ON")
        person = req.user
        pid = person.id
        redactor = Redactor(needles(person))
        emails = [v for v in redactor.values if "@" in v]
        numbers = [v for v in redactor.values if v.startswith("+62")]
        counts: dict[str, int] = {}
        paths: list[tuple[str, str]] = []  # (storage area, key)

        # files first (their paths are read from rows about to change)
        evidence_ids, file_ids, photo_ids = _files(pid)
        for sf in db.session.scalars(sa.select(StoredFile).where(StoredFile.id.in_(file_ids))) if file_ids else ():
            paths.append((UPLOADS, sf.path))
        for cert in db.session.scalars(sa.select(Certificate).where(Certificate.holder_id == pid,
                                                                      Certificate.pdf_path.is_not(None))):
            paths.append((CERTIFICATES, cert.pdf_path))  # type: ignore[arg-type]
        for export_req in db.session.scalars(sa.select(DataRequest).where(
                DataRequest.user_id == pid, DataRequest.kind == RequestKind.EXPORT, DataRequest.file_key.is_not(None))):
            found = _export_file(export_req)
            if found is not None:
                paths.append(found)
        paths += staged_imports(redactor)

        # the account
        person.full_name = ERASED_NAME.format(id=pid)
        person.email = None
        person.phone = None
        person.password_hash = None
        person.active = False
        now = utcnow()
        person.erased_at = person.deactivated_at = now
        person.deactivation_reason = ERASED_REASON
        end_all_sessions(person)
        req.status, req.handled_at, req.handled_by_id = RequestStatus.ACCEPTED, now, actor.id
        db.session.flush()

        # sign-in and reach
        counts["sign_in"] = (
            (_delete(LoginFailure, LoginFailure.email.in_(emails)) if emails else 0)
            + _delete(SignInCode, sa.or_(SignInCode.user_id == pid, SignInCode.phone.in_(numbers or [""])))
            + _delete(PasswordSetupToken, PasswordSetupToken.user_id == pid)
            + _delete(RecoveryCode, RecoveryCode.user_id == pid) + _delete(TotpFactor, TotpFactor.user_id == pid)
            + _delete(SecondFactorFailure, SecondFactorFailure.user_id == pid)
            + _delete(UserSession, UserSession.user_id == pid) + _delete(CalendarFeed, CalendarFeed.user_id == pid)
            + _delete(NotificationPreference, NotificationPreference.user_id == pid))
        counts["notifications"] = _delete(Notification, Notification.user_id == pid)
        db.session.execute(sa.update(Delivery).where(
            Delivery.user_id == pid, Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)))
            .values(status=DeliveryStatus.SKIPPED, last_error="erased at the person's request"))
        counts["messages"] = db.session.execute(sa.update(Delivery).where(Delivery.user_id == pid).values(
            address="", subject="", body_text="", body_html=None, template=None, attachments=None)).rowcount or 0
        # events about them keep their ids and facts, not a link or code still waiting, nor their contacts
        about = sa.cast(OutboxEvent.payload, sa.Text).contains(f'"user_id": {pid}', autoescape=True)
        for event_id, payload, secret in db.session.execute(
                sa.select(OutboxEvent.id, OutboxEvent.payload, OutboxEvent.secret).where(about)).all():
            if not isinstance(payload, dict) or payload.get("user_id") != pid:
                continue
            if secret is not None or _without_contacts(payload) != payload:
                db.session.execute(sa.update(OutboxEvent).where(OutboxEvent.id == event_id)
                                   .values(secret=None, payload=_without_contacts(payload)))

        # their words
        authored = sa.select(EvidenceReview.evidence_id).where(EvidenceReview.by_id == pid)
        theirs = sa.or_(Evidence.submitted_by_id == pid, Evidence.id.in_(authored))
        their_evidence = sa.select(Evidence.id).where(theirs)
        counts["texts"] = (
            (db.session.execute(sa.update(FinancialReport).where(FinancialReport.id.in_(their_evidence))
                                .values(notes="")).rowcount or 0)
            + (db.session.execute(sa.update(MarketingStep).where(MarketingStep.id.in_(their_evidence))
                                  .values(description=REDACTED, link=None)).rowcount or 0)
            + (db.session.execute(sa.update(EvidenceReview).where(EvidenceReview.by_id == pid,
                                                                  EvidenceReview.comment.is_not(None))
                                  .values(comment=None)).rowcount or 0)
            + (db.session.execute(sa.update(FeedbackResponse).where(FeedbackResponse.user_id == pid)
                                  .values(comment="")).rowcount or 0)
            + (db.session.execute(sa.update(DataRequest).where(DataRequest.user_id == pid).values(
                message=None, proposed_value=None)).rowcount or 0))
        db.session.execute(sa.update(DataRequest).where(
            DataRequest.user_id == pid, DataRequest.kind == RequestKind.EXPORT,
            DataRequest.status.in_((RequestStatus.PENDING, RequestStatus.RUNNING))).values(
            status=RequestStatus.FAILED, response="erased"))
        # corrections still waiting have nothing left to correct: closed as taken back
        db.session.execute(sa.update(DataRequest).where(
            DataRequest.user_id == pid, DataRequest.kind == RequestKind.CORRECTION,
            DataRequest.status == RequestStatus.PENDING).values(
            status=RequestStatus.WITHDRAWN, handled_at=now, handled_by_id=actor.id))
        db.session.execute(sa.update(DataRequest).where(
            DataRequest.user_id == pid, DataRequest.kind == RequestKind.EXPORT,
            DataRequest.status == RequestStatus.READY).values(status=RequestStatus.EXPIRED))
        db.session.execute(sa.update(DataRequest).where(
            DataRequest.user_id == pid, DataRequest.kind == RequestKind.EXPORT).values(
            file_key=None, file_size=None, sha256=None))

        # certificates: valid, without the name
        counts["certificates"] = db.session.execute(sa.update(Certificate).where(Certificate.holder_id == pid).values(
            holder_name="", pdf_path=None, pdf_sha256=None, pdf_size=None, rendered_at=None,
            credential_json=None)).rowcount or 0  # the signed credential names them too: made anew without
        db.session.execute(sa.update(CertificateJobItem).where(CertificateJobItem.holder_id == pid)
                           .values(holder_name=""))

        # files: the evidence stays (verified, counted), its scan goes; photos of their outlet in their time go
        if evidence_ids:
            db.session.execute(sa.update(Evidence).where(Evidence.id.in_(evidence_ids)).values(file_id=None))
        if photo_ids:
            _delete(VisitPhoto, VisitPhoto.id.in_(photo_ids))
        if file_ids:
            db.session.execute(sa.update(Evidence).where(Evidence.file_id.in_(file_ids)).values(file_id=None))
            _delete(VisitPhoto, VisitPhoto.file_id.in_(file_ids))
            _delete(StoredFile, StoredFile.id.in_(file_ids))
        counts["files"] = len(paths)

        # their name, e-mail and number anywhere else, and in the audit log
        counts["redacted"] = sum(sweep(redactor).values())
        counts["audit"] = redact_audit(pid, redactor)

        db.session.expire_all()
        record("privacy.erasure_done", actor=actor, target=person, ip=ip, request_id=req.id, counts=dict(counts))
        remove_after_commit(paths)
    if db.session.get_bind().dialect.name == "sqlite":
        _checkpoint()
    return counts


def _checkpoint() -> None:
    """Fold the write-ahead log into the database file and empty it, so the old pages do not linger in
    the -wal file (best effort: a reader may hold it; the next checkpoint folds it then). Run on the
    driver's connection outside any transaction (a checkpoint inside one is refused)."""
    try:
        with db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except Exception:  # noqa: BLE001
        log.info("WAL checkpoint after erasure postponed", exc_info=True)
