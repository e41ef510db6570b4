"""The 7 PAS journey pages: the trainee's tracker, evidence forms, review, cohorts."""
from __future__ import annotations

import functools
import math
from datetime import date
from typing import Any

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import files, permissions
from ..db import utcnow
from ..errors import Invalid
from ..forms_common import int_or_none
from ..i18n import file_name, never_fails, to_wib
from ..people.auth import client_ip
from ..permissions import AUTHENTICATED, allowed, load, rule
from ..places.models import Outlet
from ..places.services import regions_for
from . import guide, services
from .forms import (CohortForm, EnrolmentFilterForm, FinancingForm, LicenceForm, MarketingForm, QueueFilterForm,
                    ReportForm, ReviewForm)
from .models import Cohort, Enrolment, Evidence, FinancialReport, Financing, Licence, MarketingStep

bp = Blueprint("programme", __name__)

EVIDENCE_TYPES = ("licence", "marketing", "report", "financing")
TYPE_OF_URL = {"licence": "licence", "marketing": "marketing", "report": "financial_report", "financing": "financing"}
URL_OF_TYPE = {v: k for k, v in TYPE_OF_URL.items()}


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc else "id"


def _page() -> int:
    return max(1, int_or_none(request.args.get("page")) or 1)


# --- the trainee's tracker ----------------------------------------------------------------

@bp.route("/progress")
@rule("progress.own")
def my_progress():
    enrolment = services.current_enrolment(_actor())
    if enrolment is None:
        return render_template("programme/not_enrolled.html")
    return _journey(enrolment, own=True)


@bp.route("/enrolments/<enrolment_id>")
@rule(AUTHENTICATED)
def enrolment_detail(enrolment_id: str):
    enrolment = load(Enrolment, enrolment_id, "enrolment.view")
    return _journey(enrolment, own=enrolment.user_id == current_user.id)


def _journey(enrolment: Enrolment, own: bool):  # type: ignore[no-untyped-def]
    from ..visits.services import current_assignment  # the page shows the outlet's mentor

    evidence = services.outlet_evidence(enrolment.outlet_id)
    progress = services.progress_for(enrolment, evidence)
    lang = _lang()
    returned = sorted((e for e in evidence if e.status.value == "returned"),
                      key=lambda e: (e.reviewed_at is None, e.reviewed_at, e.id))
    reports = sorted((e for e in evidence if isinstance(e, FinancialReport)), key=lambda r: r.month, reverse=True)
    return render_template("programme/journey.html", enrolment=enrolment, progress=progress, evidence=evidence,
                           own=own, lang=lang, can_add=allowed("evidence.create", enrolment.outlet),
                           url_of_type=URL_OF_TYPE, next=guide.next_step(enrolment, progress, evidence, lang),
                           returned=returned, returned_reports=[r for r in reports if r.status.value == "returned"],
                           assignment=current_assignment(enrolment.outlet_id),
                           returned_comments={e.id: e.review_comment for e in evidence if e.review_comment})


# --- evidence -----------------------------------------------------------------------------

FORMS = {"licence": LicenceForm, "marketing": MarketingForm, "report": ReportForm, "financing": FinancingForm}
#: the file field of each evidence form
FILE_FIELDS = {"licence": "scan", "marketing": "attachment", "report": "attachment", "financing": "attachment"}


def _chosen_file(form: Any, kind: str) -> Any:
    storage = getattr(getattr(form, FILE_FIELDS[kind], None), "data", None)
    return storage if storage is not None and getattr(storage, "filename", "") else None


def _input(kind: str, form: Any) -> Any:
    """The service's input from the form, as far as the form could read it."""
    if kind == "licence":
        return services.LicenceInput(licence_type=form.licence_type.data or "", number=form.number.data or "",
                                     issued_on=form.issued_on.data, issuing_office=form.issuing_office.data or "")
    if kind == "marketing":
        return services.MarketingInput(kind=form.kind.data or "", description=form.description.data or "",
                                       link=form.link.data)
    if kind == "report":
        return services.ReportInput(month=form.month.data, turnover=form.turnover.amount,
                                    cost_of_goods=form.cost_of_goods.amount,
                                    operating_expenses=form.operating_expenses.amount, notes=form.notes.data or "")
    return services.FinancingInput(
        lender=form.lender.data or "", lender_name=form.lender_name.data or "", product=form.product.data or "",
        amount_requested=form.amount_requested.amount, amount_approved=form.amount_approved.amount,
        application_status=form.application_status.data or "", applied_on=form.applied_on.data,
        decided_on=form.decided_on.data, disbursed_on=form.disbursed_on.data)


def _problems(kind: str, data: Any, outlet: Outlet, has_file: bool, existing: Evidence | None) -> dict[str, list[str]]:
    if kind == "licence":
        return services.check_licence(data, has_file, existing)[0]  # type: ignore[arg-type]
    if kind == "marketing":
        return services.check_marketing(data)[0]
    if kind == "report":
        return services.check_report(outlet, data, existing)[0]  # type: ignore[arg-type]
    return services.check_financing(data)[0]


def _save(kind: str, data: Any, upload: files.CheckedUpload | None, outlet: Outlet, existing: Evidence | None) -> Evidence:
    actor = _actor()
    if kind == "licence":
        return services.save_licence(actor, outlet, data, upload, existing, ip=client_ip())  # type: ignore[arg-type]
    if kind == "marketing":
        return services.save_marketing(actor, outlet, data, upload, existing, ip=client_ip())  # type: ignore[arg-type]
    if kind == "report":
        return services.save_report(actor, outlet, data, existing, ip=client_ip(), upload=upload)  # type: ignore[arg-type]
    return services.save_financing(actor, outlet, data, upload, existing, ip=client_ip())  # type: ignore[arg-type]


def _submit(kind: str, form: Any, outlet: Outlet, existing: Evidence | None) -> Evidence | None:
    """Check the form, the file and the programme's rules together, so that every problem is reported
    at once; save when there is none. Returns the saved evidence, or None (errors are on the form)."""
    if not form.is_submitted():
        return None
    form.validate_on_submit()
    problems: dict[str, list[str]] = {}
    chosen = _chosen_file(form, kind)
    upload = None
    if chosen is not None:
        try:
            upload = files.check_upload(chosen.stream, chosen.filename, field=FILE_FIELDS[kind])
        except Invalid as e:
            problems = dict(e.reasons)
    data = _input(kind, form)
    for name, messages in _problems(kind, data, outlet, chosen is not None, existing).items():
        problems.setdefault(name, []).extend(messages)
    # a field the form could not read already says why; the rules would only repeat it
    Invalid({k: v for k, v in problems.items() if not getattr(getattr(form, k, None), "errors", None)}
            ).apply_to_form(form)
    if form.errors:
        return None
    try:
        return _save(kind, data, upload, outlet, existing)
    except Invalid as e:
        e.apply_to_form(form)
        return None


def _form_page(kind: str, form: Any, outlet: Outlet, evidence: Evidence | None, back: str):  # type: ignore[no-untyped-def]
    """The evidence form; after an error it says which file must be chosen again (browsers drop it)."""
    dropped = form.is_submitted() and bool(form.errors) and _chosen_file(form, kind) is not None
    clash = None
    if kind == "report" and form.errors.get("month") and isinstance(form.month.data, date):
        clash = services.report_for_month(outlet.id, form.month.data)
        if clash is not None and evidence is not None and clash.id == evidence.id:
            clash = None
    return render_template("programme/evidence_form.html", form=form, kind=kind, outlet=outlet, evidence=evidence,
                           back=back, file_field=FILE_FIELDS[kind], file_dropped=dropped,
                           clash=clash), (422 if form.errors else 200)


def _back_to(outlet: Outlet) -> str:
    if current_user.id == outlet.manager_id:
        return url_for("programme.my_progress")
    return url_for("places.outlet_detail", outlet_id=outlet.id)


@bp.route("/outlets/<outlet_id>/evidence/<kind>/new", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def evidence_new(outlet_id: str, kind: str):
    if kind not in FORMS:
        abort(404)
    outlet = load(Outlet, outlet_id, "outlet.view", "evidence.create")
    form = FORMS[kind]()
    if kind == "report" and not form.is_submitted():
        form.month.data = services.default_report_month(outlet.id)
    ev = _submit(kind, form, outlet, None)
    if ev is not None:
        flash(_("Tersimpan dan dikirim untuk verifikasi.") if ev.status.value == "submitted" else _("Tersimpan."),
              "success")
        return redirect(url_for("programme.evidence_detail", evidence_id=ev.id))
    return _form_page(kind, form, outlet, None, _back_to(outlet))


def _load_evidence(evidence_id: str, action: str | None = None) -> Evidence:
    poly = Evidence
    ev = load(poly, evidence_id, "evidence.view", action)
    return ev  # type: ignore[no-any-return]


@bp.route("/evidence/<evidence_id>")
@rule(AUTHENTICATED)
def evidence_detail(evidence_id: str):
    ev = _load_evidence(evidence_id)
    review_form = ReviewForm() if allowed("evidence.review", ev) else None
    return render_template("programme/evidence_detail.html", ev=ev, history=services.evidence_history(ev),
                           review_form=review_form, kind=URL_OF_TYPE[ev.type], back=_back_to(ev.outlet),
                           own_work=review_form is None and permissions.review_refused_as_own_work(_actor(), ev))


@bp.route("/evidence/<evidence_id>/edit", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def evidence_edit(evidence_id: str):
    ev = _load_evidence(evidence_id, "evidence.edit")
    kind = URL_OF_TYPE[ev.type]
    form = FORMS[kind](obj=ev if request.method == "GET" else None)
    if request.method == "GET":
        if isinstance(ev, Licence):
            form.licence_type.data = ev.licence_type.value
        elif isinstance(ev, MarketingStep):
            form.kind.data = ev.kind.value
        elif isinstance(ev, Financing):
            form.lender.data = ev.lender.value
            form.application_status.data = ev.application_status.value
    if _submit(kind, form, ev.outlet, ev) is not None:
        flash(_("Perubahan tersimpan dan dikirim untuk verifikasi.") if ev.status.value == "submitted"
              else _("Perubahan tersimpan."), "success")
        return redirect(url_for("programme.evidence_detail", evidence_id=ev.id))
    return _form_page(kind, form, ev.outlet, ev, url_for("programme.evidence_detail", evidence_id=ev.id))


@bp.route("/evidence/<evidence_id>/file")
@rule(AUTHENTICATED)
def evidence_file(evidence_id: str):
    ev = _load_evidence(evidence_id)
    if ev.file is None:
        abort(404)
    name = file_name("bukti", ev.id, ext=files.EXTENSIONS[ev.file.content_type])
    # shown in the browser (an image, a PDF in its viewer: a reviewer on a phone) unless ?unduh=1 asks
    # for a download; either way sandboxed, never cached, and never sniffed (X-Content-Type-Options)
    try:
        resp = files.send(ev.file, download_name=name, as_attachment=request.args.get("unduh") == "1")
    except FileNotFoundError:
        abort(404)
    from ..privacy import access  # who looked at whom: the file of the manager whose term it was made in

    access.record_outlet_file(_actor(), ev.outlet_id, ev.created_at, f"evidence:{ev.id}")
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return resp


@bp.route("/evidence/<evidence_id>/review", methods=["POST"])
@rule("review.queue")
def evidence_review(evidence_id: str):
    ev = _load_evidence(evidence_id, "evidence.review")
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    decision = "verify" if form.verify.data else "return"
    try:
        services.review(_actor(), ev, decision, form.comment.data or "", ip=client_ip())
    except Invalid as e:
        e.apply_to_form(form)
        return render_template("programme/evidence_detail.html", ev=ev, history=services.evidence_history(ev),
                               review_form=form, kind=URL_OF_TYPE[ev.type], back=_back_to(ev.outlet)), 422
    flash(_("Bukti diverifikasi.") if decision == "verify" else _("Bukti dikembalikan ke pengelola."), "success")
    nxt = request.args.get("next")
    from ..people.auth import safe_next

    return redirect(safe_next(nxt) or url_for("programme.review_queue"))


@bp.route("/outlets/<outlet_id>/reports")
@rule(AUTHENTICATED)
def outlet_reports(outlet_id: str):
    outlet = load(Outlet, outlet_id, "outlet.view")
    reports = [e for e in services.outlet_evidence(outlet.id) if isinstance(e, FinancialReport)]
    reports.sort(key=lambda r: r.month, reverse=True)
    return render_template("programme/reports.html", outlet=outlet, reports=reports,
                           can_add=allowed("evidence.create", outlet))


# --- review queue --------------------------------------------------------------------------

def _age_days(value: Any) -> int | None:
    """The queue's "waiting at least N days" filter; absurd values (beyond a timedelta) mean no filter."""
    days = int_or_none(value)
    return days if days is not None and 0 < days <= 36500 else None


@bp.route("/review")
@rule("review.queue")
def review_queue():
    actor = _actor()
    form = QueueFilterForm(request.args)
    form.region.choices = [("", _("Semua wilayah"))] + [(str(r.id), r.name) for r in regions_for(actor)]
    cur = services.default_curriculum()
    form.stage.choices = [("", _("Semua langkah"))] + [(s.key, f"{s.number}. {s.name.get(_lang())}")
                                                        for s in cur.stages]
    stage = form.stage.data if form.stage.data in cur.stage_keys else None
    per_page = current_app.config["PAGE_SIZE"]
    page = _page()
    items, total = services.review_queue(actor, region_id=int_or_none(form.region.data), stage=stage,
                                         min_age_days=_age_days(form.age.data), page=page, per_page=per_page)
    # items the reviewer submitted, saved or changed: another reviewer decides on them
    own_work = permissions.worked_on_ids(actor, [ev.id for ev in items]) | {
        ev.id for ev in items if ev.submitted_by_id == actor.id}
    return render_template("programme/review_queue.html", form=form, items=items, total=total, page=page,
                           pages=max(1, math.ceil(total / per_page)), now=utcnow(), own_work=own_work,
                           stage_names={s.key: s.name.get(_lang()) for s in cur.stages})


# --- cohorts --------------------------------------------------------------------------------

def _cohort_form(form: CohortForm) -> None:
    actor = _actor()
    form.curriculum_key.choices = [(k, c.name.get(_lang())) for k, c in services.curricula().items()]
    form.region_ids.choices = [(r.id, r.name) for r in regions_for(actor)]


def _cohort_input(form: CohortForm) -> services.CohortInput:
    return services.CohortInput(name=form.name.data or "", curriculum_key=form.curriculum_key.data or "",
                                start_date=form.start_date.data, end_date=form.end_date.data,
                                region_ids=list(form.region_ids.data or []))


@bp.route("/cohorts")
@rule("cohorts.list")
def cohort_list():
    return render_template("programme/cohort_list.html", cohorts=services.cohorts_for(_actor()),
                           curricula=services.curricula(), lang=_lang())


@bp.route("/cohorts/new", methods=["GET", "POST"])
@rule("cohorts.create")
def cohort_create():
    form = CohortForm()
    _cohort_form(form)
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(_actor(), _cohort_input(form))
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(_("Angkatan %(name)s dibuat.", name=cohort.name), "success")
            return redirect(url_for("programme.cohort_detail", cohort_id=cohort.id))
    return render_template("programme/cohort_form.html", form=form, cohort=None)


@bp.route("/cohorts/<cohort_id>/edit", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def cohort_edit(cohort_id: str):
    cohort = load(Cohort, cohort_id, "cohort.view", "cohort.edit")
    form = CohortForm(obj=cohort if request.method == "GET" else None)
    _cohort_form(form)
    if request.method == "GET":
        form.region_ids.data = [r.id for r in cohort.regions]
    if form.validate_on_submit():
        try:
            services.update_cohort(_actor(), cohort, _cohort_input(form))
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(_("Perubahan tersimpan."), "success")
            return redirect(url_for("programme.cohort_detail", cohort_id=cohort.id))
    return render_template("programme/cohort_form.html", form=form, cohort=cohort)


@bp.route("/cohorts/<cohort_id>")
@rule(AUTHENTICATED)
def cohort_detail(cohort_id: str):
    actor = _actor()
    cohort = load(Cohort, cohort_id, "cohort.view")
    cur = services.curriculum_for(cohort)
    form = EnrolmentFilterForm(request.args)
    from ..permissions import in_region, is_admin

    form.region.choices = [("", _("Semua wilayah"))] + [(str(r.id), r.name) for r in cohort.regions
                                                         if is_admin(actor) or in_region(actor, r.id)]
    form.stage.choices = ([("", _("Semua langkah"))] + [(s.key, f"{s.number}. {s.name.get(_lang())}") for s in cur.stages]
                          + [("done", _("Selesai ketujuh langkah"))])
    stage = form.stage.data if form.stage.data in (*cur.stage_keys, "done") else None
    per_page = current_app.config["PAGE_SIZE"]
    page = _page()
    rows, total = services.enrolment_list(actor, cohort, stage=stage, region_id=int_or_none(form.region.data),
                                          q=(form.q.data or "")[:100], page=page, per_page=per_page)
    counts = services.stage_counts(actor, cohort)
    return render_template("programme/cohort_detail.html", cohort=cohort, curriculum=cur, form=form, rows=rows,
                           total=total, page=page, pages=max(1, math.ceil(total / per_page)), counts=counts,
                           lang=_lang(), confirm=ReviewForm())


@bp.route("/cohorts/<cohort_id>/enrol-all", methods=["POST"])
@rule(AUTHENTICATED)
def cohort_enrol_all(cohort_id: str):
    cohort = load(Cohort, cohort_id, "cohort.view", "cohort.enrol")
    from ..people.forms import ConfirmForm

    if not ConfirmForm().validate_on_submit():
        abort(400)
    n = services.enrol_all(_actor(), cohort)
    flash(ngettext("%(num)d pengelola didaftarkan ke angkatan ini.", "%(num)d pengelola didaftarkan ke angkatan ini.",
                   n), "success")
    return redirect(url_for("programme.cohort_detail", cohort_id=cohort.id))


@bp.app_template_filter("wib_month")
@never_fails
def wib_month(value: Any) -> str:
    from flask_babel import get_locale

    if value is None:
        return "–"
    if hasattr(value, "tzinfo"):
        value = to_wib(value).date()
    loc = get_locale()
    return _month_name(str(loc) if loc else "id", value.year, value.month)


@functools.lru_cache(maxsize=1024)
def _month_name(locale: str, year: int, month: int) -> str:
    """"Januari 2025" in ``locale`` (Babel's pattern formatting costs ~100 us; a dashboard table names
    24 months)."""
    from babel.dates import format_date

    return format_date(date(year, month, 1), "MMMM yyyy", locale=locale)
