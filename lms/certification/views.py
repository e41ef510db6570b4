"""Certificate pages: issuing (one or in bulk), the bulk run's progress, revoking, correcting,
downloading, the trainee's list and the public verify page. Thin: load, authorize, call a service."""
from __future__ import annotations

import io
import math
from typing import Any

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.exceptions import ServiceUnavailable

from ..confirm import is_confirmed, render_confirm
from ..db import utcnow
from ..errors import Invalid, NotFound
from ..i18n import file_name, to_wib
from ..forms_common import int_or_none, options
from ..people.auth import client_ip
from ..permissions import AUTHENTICATED, PUBLIC, allowed, load, rule
from ..programme.models import Cohort, Enrolment
from ..sessions.models import TrainingSession
from . import services
from .forms import BulkForm, CorrectNameForm, FilterForm, IssueForm, RetryForm, RevokeForm
from .models import Certificate, CertificateJob
from .render import RenderError
from .signing import SigningError

#: seconds a person is asked to wait before downloading again when the PDF could not be signed (503)
PDF_RETRY_AFTER = 300

bp = Blueprint("certification", __name__)


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc else "id"


def _design(kind: str | None, subject: str):  # type: ignore[no-untyped-def]
    """The design named by ``kind`` (or the first one for ``subject``); 404 when there is none."""
    choices = services.designs_for(subject)
    if not choices:
        abort(404)
    if not kind:
        return choices[0]
    for d in choices:
        if d.kind == kind:
            return d
    abort(404)


def _kinds(subject: str) -> list[tuple[str, str]]:
    return [(d.kind, d.label(_lang())) for d in services.designs_for(subject)]


# --- the public verify page ------------------------------------------------------------------

@bp.route("/verify/<code>")
@rule(PUBLIC)
def verify(code: str):
    # limited per address across all workers by lms/ratelimit.py (RATELIMIT_VERIFY, 429 verify_throttled.html)
    cert = services.find_by_code(code)
    if cert is None:
        resp = current_app.make_response((render_template("certification/verify_not_found.html"), 404))
    else:
        design = services.designs().get(cert.kind)
        resp = current_app.make_response(render_template(
            "certification/verify.html", cert=cert, kind_name=design.label(_lang()) if design else cert.kind,
            dates=services.subject_dates(cert) if design else ""))
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- the trainee's certificates ------------------------------------------------------------------

@bp.route("/certificates/mine")
@rule("certificates.own")
def mine():
    certs = services.my_certificates(_actor())
    return render_template("certification/mine.html", certs=certs, labels=_labels())


def _labels() -> dict[str, str]:
    return {k: d.label(_lang()) for k, d in services.designs().items()}


# --- a certificate ---------------------------------------------------------------------------------

def _detail(cert: Certificate, revoke_form: RevokeForm | None = None, correct_form: CorrectNameForm | None = None,
            status: int = 200):  # type: ignore[no-untyped-def]
    manage = allowed("certificate.manage", cert)
    services.certificate_detail(cert)
    return render_template("certification/detail.html", cert=cert, labels=_labels(), manage=manage,
                           dates=services.subject_dates(cert),
                           verify_url=services.verify_url(cert.verification_code),
                           revoke_form=revoke_form or (RevokeForm() if manage else None),
                           correct_form=correct_form or (CorrectNameForm() if manage else None)), status


@bp.route("/certificates/<cert_id>")
@rule(AUTHENTICATED)
def detail(cert_id: str):
    cert = load(Certificate, cert_id, "certificate.view")
    return _detail(cert)


@bp.route("/certificates/<cert_id>/pdf")
@rule(AUTHENTICATED)
def download(cert_id: str):
    cert = load(Certificate, cert_id, "certificate.view", "certificate.download")
    try:
        data = services.ensure_pdf(cert)
    except FileNotFoundError:
        abort(404)
    except (SigningError, RenderError):
        # no signing key configured, a timestamping authority that does not answer, a render that ran out
        # of time: nothing was stored, a later download tries again; the log says why
        current_app.logger.exception("certificate %s: its PDF could not be made", cert.serial)
        raise ServiceUnavailable(_("Berkas PDF sertifikat ini belum bisa dibuat saat ini. Coba lagi beberapa "
                                   "menit lagi; kalau masih gagal, hubungi admin program."),
                                 retry_after=PDF_RETRY_AFTER) from None
    from ..privacy import access  # who looked at whom: someone else downloaded the holder's certificate

    access.record(_actor(), cert.holder_id, access.FILE, f"certificate:{cert.id}")
    resp = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=file_name("sertifikat", cert.serial, ext="pdf"),
                     max_age=0, etag=cert.pdf_sha256 or True)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


@bp.route("/certificates/<cert_id>/revoke", methods=["POST"])
@rule(AUTHENTICATED)
def revoke(cert_id: str):
    cert = load(Certificate, cert_id, "certificate.view", "certificate.manage")
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            services.revoke(_actor(), cert, form.reason.data or "", ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(_("Sertifikat %(serial)s dicabut.", serial=cert.serial), "success")
            return redirect(url_for("certification.detail", cert_id=cert.id))
    return _detail(cert, revoke_form=form, status=422)


@bp.route("/certificates/<cert_id>/correct", methods=["POST"])
@rule(AUTHENTICATED)
def correct(cert_id: str):
    cert = load(Certificate, cert_id, "certificate.view", "certificate.manage")
    form = CorrectNameForm()
    if form.validate_on_submit():
        try:
            new = services.correct_name(_actor(), cert, form.full_name.data or "", ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(_("Sertifikat lama dicabut; sertifikat baru %(serial)s diterbitkan.", serial=new.serial), "success")
            return redirect(url_for("certification.detail", cert_id=new.id))
    return _detail(cert, correct_form=form, status=422)


# --- the coordinator's pages ---------------------------------------------------------------------------

@bp.route("/certificates")
@rule("certificates.manage")
def index():
    actor = _actor()
    form = FilterForm(request.args)
    form.kind.choices = options([("", _("Semua jenis"))] + [(k, v) for k, v in _labels().items()])
    kind = form.kind.data if form.kind.data in services.designs() else None
    per_page = current_app.config["PAGE_SIZE"]
    page = max(1, int_or_none(request.args.get("page")) or 1)
    rows, total = services.certificate_list(actor, kind=kind, status=form.status.data or None,
                                            q=(form.q.data or "")[:100], page=page, per_page=per_page)
    return render_template("certification/index.html", overview=services.overview(actor), form=form, rows=rows,
                           total=total, page=page, pages=max(1, math.ceil(total / per_page)), labels=_labels(),
                           session_kinds=_kinds("session"), enrolment_kinds=_kinds("enrolment"))


def _candidates_page(design: Any, scope: str, obj: Any, candidates: list[Any], status: int = 200):  # type: ignore[no-untyped-def]
    eligible = [c for c in candidates if c.eligible and not c.issued]
    problem = services.session_problem(design, obj) if scope == "session" else None
    return render_template("certification/candidates.html", design=design, scope=scope, obj=obj,
                           problem=problem, can_edit_session=scope == "session" and allowed("session.manage", obj),
                           eligible_text=", ".join(str(label) for a, label in services.ATTENDANCE_LABELS.items()
                                                   if a.value in design.eligible_attendance),
                           candidates=candidates, todo=len(eligible),
                           issued=sum(1 for c in candidates if c.issued),
                           ineligible=sum(1 for c in candidates if not c.eligible),
                           kinds=_kinds("session" if scope == "session" else "enrolment"),
                           bulk_form=BulkForm(kind=design.kind), lang=_lang()), status


@bp.route("/certificates/sessions/<session_id>")
@rule("certificates.manage")
def session_candidates(session_id: str):
    session = load(TrainingSession, session_id, "certificates.session")
    # the design the session gives, unless another is asked for
    chosen = session.certificate_kind if any(d.kind == session.certificate_kind
                                             for d in services.designs_for("session")) else None
    design = _design(request.args.get("kind") or chosen, "session")
    return _candidates_page(design, "session", session, services.session_candidates(_actor(), design, session))


@bp.route("/certificates/cohorts/<cohort_id>")
@rule("certificates.manage")
def cohort_candidates(cohort_id: str):
    cohort = load(Cohort, cohort_id, "certificates.cohort")
    design = _design(request.args.get("kind"), "enrolment")
    return _candidates_page(design, "cohort", cohort, services.cohort_candidates(_actor(), design, cohort))


def _issued_message(result: services.IssueResult) -> None:
    cert = result.certificate
    if result.created:
        flash(_("Sertifikat %(serial)s diterbitkan untuk %(name)s.", serial=cert.serial, name=cert.holder_name),
              "success")
    else:
        flash(_("%(name)s sudah memiliki sertifikat yang berlaku: %(serial)s.", name=cert.holder_name,
                serial=cert.serial), "info")


@bp.route("/certificates/sessions/<session_id>/attendees/<user_id>", methods=["POST"])
@rule("certificates.manage")
def issue_session(session_id: str, user_id: str):
    session = load(TrainingSession, session_id, "certificates.session")
    holder = services.attendee(session, int_or_none(user_id))
    form = IssueForm()
    if not form.validate_on_submit():
        abort(400)
    design = _design(form.kind.data, "session")
    try:
        result = services.issue_for_session(_actor(), design, session, holder, ip=client_ip())
    except Invalid as e:
        flash(_("Sertifikat tidak dapat diterbitkan untuk %(name)s: %(reason)s", name=holder.full_name,
                reason=str(e)), "error")
    else:
        _issued_message(result)
    return redirect(url_for("certification.session_candidates", session_id=session.id, kind=design.kind))


@bp.route("/certificates/enrolments/<enrolment_id>", methods=["POST"])
@rule("certificates.manage")
def issue_enrolment(enrolment_id: str):
    enrolment = load(Enrolment, enrolment_id, "certificates.enrolment")
    form = IssueForm()
    if not form.validate_on_submit():
        abort(400)
    design = _design(form.kind.data, "enrolment")
    try:
        result = services.issue_for_enrolment(_actor(), design, enrolment, ip=client_ip())
    except Invalid as e:
        flash(_("Sertifikat tidak dapat diterbitkan untuk %(name)s: %(reason)s", name=enrolment.user.full_name,
                reason=str(e)), "error")
    else:
        _issued_message(result)
    return redirect(url_for("certification.cohort_candidates", cohort_id=enrolment.cohort_id, kind=design.kind))


def _confirm_bulk(design: Any, n: int, subject: str, action_url: str, back: str):  # type: ignore[no-untyped-def]
    """The confirm page of "issue to everyone eligible": what the run will do and what cannot be undone."""
    year = to_wib(utcnow()).year
    return render_confirm(
        action_url=action_url, cancel_url=back, hidden={"kind": design.kind},
        title=ngettext("Terbitkan %(num)d sertifikat?", "Terbitkan %(num)d sertifikat?", n),
        consequences=[
            ngettext("%(num)d sertifikat “%(design)s” untuk %(subject)s, satu untuk setiap orang yang memenuhi "
                     "syarat dan belum memilikinya.", "%(num)d sertifikat “%(design)s” untuk %(subject)s, satu untuk "
                     "setiap orang yang memenuhi syarat dan belum memilikinya.", n, design=design.label(_lang()),
                     subject=subject),
            _("Setiap sertifikat mendapat nomor seri berikutnya (%(prefix)s/%(year)d/…); nomor yang sudah terbit "
              "tidak dipakai ulang.", prefix=design.serial_prefix, year=year),
            _("Sertifikat langsung berlaku dan bisa diperiksa siapa saja lewat kode QR-nya."),
            _("Membatalkan harus satu per satu: cabut sertifikatnya dengan alasan."),
            _("Sertifikat dibuat di latar belakang; Anda dapat melihat kemajuannya dan mengunduh semuanya sebagai ZIP."),
        ],
        button_label=ngettext("Ya, terbitkan %(num)d sertifikat", "Ya, terbitkan %(num)d sertifikat", n),
        danger=False)


@bp.route("/certificates/sessions/<session_id>/bulk", methods=["POST"])
@rule("certificates.manage")
def bulk_session(session_id: str):
    session = load(TrainingSession, session_id, "certificates.session")
    form = BulkForm()
    if not form.validate_on_submit():
        abort(400)
    design = _design(form.kind.data, "session")
    if not is_confirmed():
        todo = [c for c in services.session_candidates(_actor(), design, session) if c.eligible and not c.issued]
        return _confirm_bulk(design, len(todo), session.title,
                             url_for("certification.bulk_session", session_id=session.id),
                             url_for("certification.session_candidates", session_id=session.id, kind=design.kind))
    try:
        job = services.start_session_job(_actor(), design, session, ip=client_ip())
    except Invalid as e:
        flash(str(e), "error")
        return redirect(url_for("certification.session_candidates", session_id=session.id, kind=design.kind))
    return redirect(url_for("certification.job", job_id=job.id))


@bp.route("/certificates/cohorts/<cohort_id>/bulk", methods=["POST"])
@rule("certificates.manage")
def bulk_cohort(cohort_id: str):
    cohort = load(Cohort, cohort_id, "certificates.cohort")
    form = BulkForm()
    if not form.validate_on_submit():
        abort(400)
    design = _design(form.kind.data, "enrolment")
    if not is_confirmed():
        todo = [c for c in services.cohort_candidates(_actor(), design, cohort) if c.eligible and not c.issued]
        return _confirm_bulk(design, len(todo), cohort.name,
                             url_for("certification.bulk_cohort", cohort_id=cohort.id),
                             url_for("certification.cohort_candidates", cohort_id=cohort.id, kind=design.kind))
    try:
        job = services.start_cohort_job(_actor(), design, cohort, ip=client_ip())
    except Invalid as e:
        flash(str(e), "error")
        return redirect(url_for("certification.cohort_candidates", cohort_id=cohort.id, kind=design.kind))
    return redirect(url_for("certification.job", job_id=job.id))


# --- a bulk run ---------------------------------------------------------------------------------------

@bp.route("/certificates/jobs/<job_id>")
@rule("certificates.manage")
def job(job_id: str):
    job = load(CertificateJob, job_id, "certificate_job.view")
    progress = services.job_progress(job)
    return render_template("certification/job.html", job=job, progress=progress, items=services.job_items(job),
                           retry_form=RetryForm(), labels=_labels())


@bp.route("/certificates/jobs/<job_id>/status.json")
@rule("certificates.manage")
def job_status(job_id: str):
    job = load(CertificateJob, job_id, "certificate_job.view")
    resp = jsonify(services.job_progress(job))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/certificates/jobs/<job_id>/retry", methods=["POST"])
@rule("certificates.manage")
def job_retry(job_id: str):
    job = load(CertificateJob, job_id, "certificate_job.view")
    if not RetryForm().validate_on_submit():
        abort(400)
    n = services.retry_job(_actor(), job, ip=client_ip())
    flash(_("%(n)d sertifikat diproses ulang.", n=n) if n else _("Tidak ada yang perlu diulang."), "success")
    return redirect(url_for("certification.job", job_id=job.id))


@bp.route("/certificates/jobs/<job_id>/zip")
@rule("certificates.manage")
def job_zip(job_id: str):
    job = load(CertificateJob, job_id, "certificate_job.view")
    try:
        tmp = services.job_zip(_actor(), job)
    except (NotFound, FileNotFoundError):
        abort(404)
    from ..privacy import access  # who looked at whom: every holder whose PDF is in the ZIP

    access.record_certificate_job(_actor(), job.id)
    resp = send_file(tmp, mimetype="application/zip", as_attachment=True,
                     download_name=file_name("daftar-sertifikat", "kelulusan" if job.kind == "completion" else job.kind, job.id,
                                             ext="zip"), max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


from . import file_views  # noqa: E402,F401  (the "Periksa berkas" page, on this blueprint)
