"""Evidence a trainee (or a reviewer) records: licence, marketing step, monthly report, financing; ranges checked here as on the forms.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from .. import permissions
from .. import outbox
from ..audit.services import record
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..files import CheckedUpload, store
from ..forms_common import check_range
from ..i18n import to_wib
from ..places.models import Outlet
from .models import (
    Evidence, EvidenceReview, EvidenceStatus, FinancialReport, Financing, FinancingStatus, Lender, Licence,
    LicenceType, MarketingKind, MarketingStep, ReviewDecision,
)
from .summary import curriculum_for_outlet, refresh_for_outlets


# --- evidence ---------------------------------------------------------------------------

EVIDENCE_CLASSES: dict[str, type[Evidence]] = {
    "licence": Licence, "marketing": MarketingStep, "financial_report": FinancialReport, "financing": Financing,
}
NIB_DIGITS = 13

# --- ranges of what a trainee types (checked by the forms and again here) ---------------------
# Narrower than the shared defaults of lms/forms_common.py, because these are an e-Warong's figures:
#: a month's turnover or costs, and a financing amount: Rp 0 .. Rp 100.000.000.000 (100 miliar; an
#: e-Warong turns over tens of millions a month, a KUR micro loan is at most Rp 500 juta)
AMOUNT_MAX = 100_000_000_000
#: licence issue dates, report months and financing dates: from 2000-01-01 (the programme began in
#: 2018; older IUMK/SKU licences still count) until today in WIB: none of them can be in the future
EARLIEST = date(2000, 1, 1)


def _today_wib() -> date:
    return to_wib(utcnow()).date()


def this_month() -> date:
    """The first day of the current month in WIB (the latest month a report may cover)."""
    return _today_wib().replace(day=1)


def _check_outlet_access(actor: Any, outlet: Outlet) -> None:
    if not permissions.can(actor, "evidence.create", outlet):
        raise NotAllowed()


def _snapshot(ev: Evidence) -> dict[str, Any]:
    cols = [c.key for c in sa.inspect(type(ev)).column_attrs
            if c.key not in {"created_at", "updated_at", "submitted_at", "reviewed_at", "reviewed_by_id",
                             "submitted_by_id", "review_comment", "status", "id", "type", "region_id",
                             "outlet_id", "report_outlet_id", "stage_key"}]
    out = {}
    for k in cols:
        v = getattr(ev, k)
        out[k] = v.value if hasattr(v, "value") else (v.isoformat() if isinstance(v, (date, datetime)) else v)
    return out


def _save(actor: Any, outlet: Outlet, ev: Evidence | None, cls: type[Evidence], fields: dict[str, Any],
          upload: CheckedUpload | None, *, submit: bool = True, ip: str | None = None) -> Evidence:
    """Create or update evidence, submit it for review, refresh progress; one transaction."""
    with transaction():
        if ev is None:
            _check_outlet_access(actor, outlet)
            ev = cls(outlet_id=outlet.id, region_id=outlet.region_id,
                     stage_key=curriculum_for_outlet(outlet.id).stage_for_evidence(cls.__mapper__.polymorphic_identity) or "")
            if isinstance(ev, FinancialReport):
                ev.report_outlet_id = outlet.id
            before = None
            db.session.add(ev)
        else:
            if not permissions.can(actor, "evidence.edit", ev):
                raise NotAllowed()
            before = _snapshot(ev)
        for k, v in fields.items():
            setattr(ev, k, v)
        if upload is not None:
            ev.file = store(upload, getattr(actor, "id", None))
        was_verified = ev.status is EvidenceStatus.VERIFIED
        if was_verified:
            # a coordinator's correction of verified evidence stays verified, and is audited
            ev.reviews.append(EvidenceReview(decision=ReviewDecision.EDITED, by_id=getattr(actor, "id", None)))
        elif submit:
            ev.status = EvidenceStatus.SUBMITTED
            ev.submitted_by_id = getattr(actor, "id", None)
            ev.submitted_at = utcnow()
            ev.reviews.append(EvidenceReview(decision=ReviewDecision.SUBMITTED, by_id=getattr(actor, "id", None)))
        else:
            ev.status = EvidenceStatus.DRAFT
            # who saved it counts as having worked on it (permissions.worked_on_evidence)
            ev.reviews.append(EvidenceReview(decision=ReviewDecision.SAVED, by_id=getattr(actor, "id", None)))
        db.session.flush()
        after = _snapshot(ev)
        if before is None:
            record("evidence.created", actor=actor, target_type="evidence", target_id=ev.id, ip=ip,
                   evidence_type=ev.type, status=ev.status.value)
        else:
            changes = {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}
            record("evidence.edited_after_verification" if was_verified else "evidence.updated", actor=actor,
                   target_type="evidence", target_id=ev.id, ip=ip, evidence_type=ev.type, changes=changes)
        if ev.status is EvidenceStatus.SUBMITTED and not was_verified:
            outbox.announce("evidence.submitted", {"evidence_id": ev.id}, actor=actor)
        refresh_for_outlets([outlet.id])
    return ev


Problems = dict[str, list[str]]


def _problem(problems: Problems, name: str, message: str) -> None:
    problems.setdefault(name, []).append(message)


def _date_in_range(problems: Problems, name: str, value: date | None, future_message: str) -> None:
    """From EARLIEST until today (WIB); a future date gets ``future_message``."""
    if value is None:
        return
    if value > _today_wib():
        _problem(problems, name, future_message)
    else:
        check_range(value, EARLIEST, _today_wib, name, problems)


def _amount_in_range(problems: Problems, name: str, value: int | None, lo: int = 0) -> None:
    check_range(value, lo, AMOUNT_MAX, name, problems, kind="money")


@dataclass
class LicenceInput:
    licence_type: str
    number: str
    issued_on: date | None
    issuing_office: str


def check_licence(data: LicenceInput, has_file: bool, existing: Licence | None = None) -> tuple[Problems, dict[str, Any]]:
    """Every problem with a licence at once, and the cleaned fields."""
    errors: Problems = {}
    try:
        ltype = LicenceType(data.licence_type)
    except ValueError:
        _problem(errors, "licence_type", _("Pilih jenis izin."))
        ltype = LicenceType.OTHER
    number = "".join(data.number.split()) if ltype is LicenceType.NIB else data.number.strip()
    if not number:
        _problem(errors, "number", _("Nomor izin wajib diisi."))
    elif ltype is LicenceType.NIB and (not number.isdigit() or len(number) != NIB_DIGITS):
        _problem(errors, "number", _("NIB terdiri dari tepat 13 angka."))
    if data.issued_on is None:
        _problem(errors, "issued_on", _("Tanggal terbit wajib diisi."))
    _date_in_range(errors, "issued_on", data.issued_on, _("Tanggal terbit tidak boleh di masa depan."))
    if not data.issuing_office.strip():
        _problem(errors, "issuing_office", _("Instansi penerbit wajib diisi."))
    if not has_file and (existing is None or existing.file_id is None):
        _problem(errors, "scan", _("Unggah pindaian izin (PDF, JPG atau PNG)."))
    return errors, {"licence_type": ltype, "number": number, "issued_on": data.issued_on,
                    "issuing_office": data.issuing_office.strip()}


def save_licence(actor: Any, outlet: Outlet, data: LicenceInput, upload: CheckedUpload | None,
                 existing: Licence | None = None, ip: str | None = None) -> Licence:
    errors, fields = check_licence(data, upload is not None, existing)
    if errors:
        raise Invalid(errors)
    ev = _save(actor, outlet, existing, Licence, fields, upload, ip=ip)
    return ev  # type: ignore[return-value]


@dataclass
class MarketingInput:
    kind: str
    description: str
    link: str | None


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
#: a host name as people type it: labels of letters, digits and hyphens with a dot in between
_HOST = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$", re.I)


def complete_link(raw: str | None) -> str | None:
    """A link as typed, completed: "tokopedia.com/ewarong" → "https://tokopedia.com/ewarong".

    Returns None for an empty value; raises ValueError for anything that is not an http(s) link to
    a host name (``javascript:``, ``mailto:``, spaces, no host).
    """
    link = (raw or "").strip()
    if not link:
        return None
    if link.startswith("//"):
        link = "https:" + link
    elif not _SCHEME.match(link) or re.match(r"^[^:/]+:\d+(/|$)", link):
        link = "https://" + link  # no scheme (a "host:port" is not a scheme either)
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(link)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise ValueError(link) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not _HOST.match(parts.hostname):
        raise ValueError(link)
    if any(c.isspace() for c in link) or len(link) > 500:
        raise ValueError(link)
    return link


def check_marketing(data: MarketingInput) -> tuple[Problems, dict[str, Any]]:
    errors: Problems = {}
    try:
        kind = MarketingKind(data.kind)
    except ValueError:
        _problem(errors, "kind", _("Pilih jenis langkah pemasaran."))
        kind = MarketingKind.MARKETING_PLAN
    if len(data.description.strip()) < 10:
        _problem(errors, "description", _("Jelaskan langkah pemasaran Anda (minimal 10 karakter)."))
    link = None
    try:
        link = complete_link(data.link)
    except ValueError:
        _problem(errors, "link", _("Tautan tidak dikenali. Tulis alamat toko atau halaman, misalnya "
                                   "tokopedia.com/ewarong atau https://… (hanya http:// atau https://)."))
    return errors, {"kind": kind, "description": data.description.strip(), "link": link}


def save_marketing(actor: Any, outlet: Outlet, data: MarketingInput, upload: CheckedUpload | None,
                   existing: MarketingStep | None = None, ip: str | None = None) -> MarketingStep:
    errors, fields = check_marketing(data)
    if errors:
        raise Invalid(errors)
    ev = _save(actor, outlet, existing, MarketingStep, fields, upload, ip=ip)
    return ev  # type: ignore[return-value]


@dataclass
class ReportInput:
    month: date | None
    turnover: int | None
    cost_of_goods: int | None
    operating_expenses: int | None
    notes: str = ""


def report_for_month(outlet_id: int, month: date | None) -> FinancialReport | None:
    """The outlet's report of ``month`` (any day of it), if there is one."""
    if month is None:
        return None
    return db.session.scalar(sa.select(FinancialReport).where(
        FinancialReport.report_outlet_id == outlet_id, FinancialReport.month == month.replace(day=1)))


def _add_months(month: date, n: int) -> date:
    k = month.year * 12 + month.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def default_report_month(outlet_id: int, today: date | None = None) -> date | None:
    """The month a new report most likely covers: the one after the latest reported month, else
    the last month without a report (within two years); with no report yet, last month.

    Months outside the sane range (EARLIEST .. this month), e.g. from an old import, are ignored.
    """
    current = (today or _today_wib()).replace(day=1)
    months = {m for m in db.session.scalars(sa.select(FinancialReport.month).where(
        FinancialReport.report_outlet_id == outlet_id)) if m is not None and EARLIEST <= m <= current}
    if not months:
        return max(_add_months(current, -1), EARLIEST)
    following = _add_months(max(months), 1)
    if following <= current:
        return following
    for back in range(0, 24):
        m = _add_months(current, -back)
        if m < EARLIEST:
            break
        if m not in months:
            return m
    return None


def check_report(outlet: Outlet, data: ReportInput, existing: FinancialReport | None = None
                 ) -> tuple[Problems, dict[str, Any]]:
    errors: Problems = {}
    month = data.month.replace(day=1) if data.month else None
    if month is None:
        _problem(errors, "month", _("Pilih bulan laporan."))
    elif month > this_month():
        _problem(errors, "month", _("Bulan laporan tidak boleh di masa depan."))
    elif check_range(month, EARLIEST, this_month, "month", errors):
        clash = report_for_month(outlet.id, month)
        if clash is not None and (existing is None or clash.id != existing.id):
            _problem(errors, "month", _("Laporan untuk bulan ini sudah ada. Ubah laporan yang ada."))
    for name in ("turnover", "cost_of_goods", "operating_expenses"):
        v = getattr(data, name)
        if v is None:
            _problem(errors, name, _("Wajib diisi (Rupiah, tanpa desimal)."))
        elif v < 0:
            _problem(errors, name, _("Tidak boleh negatif."))
        else:
            _amount_in_range(errors, name, v)
    return errors, {"month": month, "turnover": data.turnover, "cost_of_goods": data.cost_of_goods,
                    "operating_expenses": data.operating_expenses, "notes": (data.notes or "").strip()}


def save_report(actor: Any, outlet: Outlet, data: ReportInput, existing: FinancialReport | None = None,
                ip: str | None = None, *, upload: CheckedUpload | None = None) -> FinancialReport:
    """A month's report, with an optional attachment (a photo or PDF of the buku kas)."""
    errors, fields = check_report(outlet, data, existing)
    if errors:
        raise Invalid(errors)
    ev = _save(actor, outlet, existing, FinancialReport, fields, upload, ip=ip)
    return ev  # type: ignore[return-value]


@dataclass
class FinancingInput:
    lender: str
    lender_name: str
    product: str
    amount_requested: int | None
    amount_approved: int | None
    application_status: str
    applied_on: date | None
    decided_on: date | None
    disbursed_on: date | None


def check_financing(data: FinancingInput) -> tuple[Problems, dict[str, Any]]:
    errors: Problems = {}
    try:
        lender = Lender(data.lender)
    except ValueError:
        _problem(errors, "lender", _("Pilih pemberi modal."))
        lender = Lender.OTHER
    try:
        status = FinancingStatus(data.application_status)
    except ValueError:
        _problem(errors, "application_status", _("Pilih status pengajuan."))
        status = FinancingStatus.DRAFT
    if lender in (Lender.OTHER_BANK, Lender.KOPERASI, Lender.OTHER) and not data.lender_name.strip():
        _problem(errors, "lender_name", _("Tulis nama bank, koperasi atau lembaga pemberi modal."))
    if not data.product.strip():
        _problem(errors, "product", _("Tulis produk pembiayaan, misalnya KUR atau Kredit Monas Pemula."))
    if data.amount_requested is None or data.amount_requested <= 0:
        _problem(errors, "amount_requested", _("Jumlah yang diajukan harus lebih dari nol."))
    else:
        _amount_in_range(errors, "amount_requested", data.amount_requested, lo=1)
    if data.amount_approved is not None and data.amount_approved < 0:
        _problem(errors, "amount_approved", _("Tidak boleh negatif."))
    else:
        _amount_in_range(errors, "amount_approved", data.amount_approved)
    if status in (FinancingStatus.APPROVED, FinancingStatus.DISBURSED):
        if not data.amount_approved:
            _problem(errors, "amount_approved", _("Isi jumlah yang disetujui."))
        if data.decided_on is None:
            _problem(errors, "decided_on", _("Isi tanggal keputusan."))
    if status is FinancingStatus.DISBURSED and data.disbursed_on is None:
        _problem(errors, "disbursed_on", _("Isi tanggal pencairan."))
    if status is not FinancingStatus.DRAFT and data.applied_on is None:
        _problem(errors, "applied_on", _("Isi tanggal pengajuan."))
    for name in ("applied_on", "decided_on", "disbursed_on"):
        _date_in_range(errors, name, getattr(data, name), _("Tanggal tidak boleh di masa depan."))
    if data.applied_on and data.decided_on and data.decided_on < data.applied_on:
        _problem(errors, "decided_on", _("Tanggal keputusan tidak boleh sebelum tanggal pengajuan."))
    if data.decided_on and data.disbursed_on and data.disbursed_on < data.decided_on:
        _problem(errors, "disbursed_on", _("Tanggal pencairan tidak boleh sebelum tanggal keputusan."))
    return errors, {
        "lender": lender, "lender_name": data.lender_name.strip(), "product": data.product.strip(),
        "amount_requested": data.amount_requested, "amount_approved": data.amount_approved,
        "application_status": status, "applied_on": data.applied_on, "decided_on": data.decided_on,
        "disbursed_on": data.disbursed_on}


def save_financing(actor: Any, outlet: Outlet, data: FinancingInput, upload: CheckedUpload | None,
                   existing: Financing | None = None, ip: str | None = None) -> Financing:
    errors, fields = check_financing(data)
    if errors:
        raise Invalid(errors)
    # only an approved (or disbursed) application has something for staff to verify
    submit = fields["application_status"] in (FinancingStatus.APPROVED, FinancingStatus.DISBURSED)
    ev = _save(actor, outlet, existing, Financing, fields, upload, submit=submit, ip=ip)
    return ev  # type: ignore[return-value]


def returned_evidence(outlet_id: int) -> list[Evidence]:
    """The outlet's evidence sent back by a reviewer and not yet sent again, oldest decision first."""
    poly = sa.orm.with_polymorphic(Evidence, "*")
    return list(db.session.scalars(
        sa.select(poly).where(Evidence.outlet_id == outlet_id, Evidence.status == EvidenceStatus.RETURNED)
        .options(joinedload(poly.reviewed_by)).order_by(Evidence.reviewed_at, Evidence.id)).unique())
