"""Training session pages: the schedule (list and month), the session form, registration,
attendance, the QR check-in and the calendars. Thin: load, authorize, call a service."""
from __future__ import annotations

import math
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..confirm import is_confirmed, render_confirm
from ..db import utcnow
from ..errors import Invalid
from ..forms_common import int_or_none, options
from ..i18n import file_name, never_fails, plain, to_wib
from ..people.auth import safe_next
from ..permissions import AUTHENTICATED, PUBLIC, allowed, authorize, load, rule
from ..places.services import regions_for
from ..programme import services as programme
from . import organisers, services
from .forms import (ATTENDANCE, AttendanceForm, ButtonForm, FeedForm, GroupForm, NewSessionForm, ScheduleFilterForm,
                    SessionForm, attendance_form)
from .models import Attendance, SessionStatus, TrainingSession

bp = Blueprint("sessions", __name__)


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc else "id"


def _stage_names() -> dict[str, str]:
    return {s.key: f"{s.number}. {s.name.get(_lang())}" for s in programme.default_curriculum().stages}


def _back(default: str) -> str:
    return safe_next(request.args.get("next")) or default


def _load(session_id: str, action: str | None = None) -> TrainingSession:
    return load(TrainingSession, session_id, "session.view", action)  # type: ignore[no-any-return]


# --- the schedule ------------------------------------------------------------------------------

def _filters(actor: Any) -> tuple[ScheduleFilterForm, int | None, str | None, date | None]:
    form = ScheduleFilterForm(request.args)
    regions = regions_for(actor)
    form.region.choices = options([("", _("Semua wilayah"))] + [(str(r.id), r.name) for r in regions])
    names = _stage_names()
    form.stage.choices = options([("", _("Semua langkah"))] + list(names.items()))
    region_id = int_or_none(form.region.data)
    region_id = region_id if region_id in {r.id for r in regions} else None
    stage = form.stage.data if form.stage.data in names else None
    # a month outside the shared date range is shown as the field's error and ignored
    month = form.month.data if isinstance(form.month.data, date) and form.month.validate(form) else None
    return form, region_id, stage, month


def _schedule_ctx(actor: Any, sessions: list[TrainingSession]) -> dict[str, Any]:
    ids = [s.id for s in sessions]
    return {"places": services.places_of(actor, ids) if allowed("progress.own") else {},
            "waitlists": services.waitlist_counts(ids) if actor.role.is_staff else {},
            "stage_names": _stage_names(), "now": utcnow(), "button": ButtonForm()}


@bp.route("/sessions")
@rule("sessions.list")
def schedule():
    actor = _actor()
    form, region_id, stage, month = _filters(actor)
    when = services.PAST if request.args.get("when") == services.PAST else services.UPCOMING
    per_page = current_app.config["PAGE_SIZE"]
    page = max(1, int_or_none(request.args.get("page")) or 1)
    rows, total = services.schedule(actor, region_id=region_id, stage=stage, month=month, when=when, page=page,
                                    per_page=per_page)
    counts = services.schedule_counts(actor, region_id=region_id, stage=stage)
    tab_args = {k: v for k, v in request.args.items() if k in ("region", "stage") and v}
    return render_template("sessions/list.html", form=form, rows=rows, total=total, page=page, month=month,
                           when=when, counts=counts, tab_args=tab_args,
                           pages=max(1, math.ceil(total / per_page)), **_schedule_ctx(actor, rows))


@bp.route("/sessions/calendar")
@rule("sessions.list")
def month():
    actor = _actor()
    form, region_id, stage, wanted = _filters(actor)
    today = to_wib(utcnow()).date()
    shown = wanted or today.replace(day=1)
    sessions = services.month_sessions(actor, shown, region_id=region_id, stage=stage)
    prev_month = shown.replace(year=shown.year - 1, month=12) if shown.month == 1 else shown.replace(month=shown.month - 1)
    next_month = shown.replace(year=shown.year + 1, month=1) if shown.month == 12 else shown.replace(month=shown.month + 1)
    args = {k: v for k, v in request.args.items() if k in ("region", "stage") and v}
    return render_template("sessions/calendar.html", form=form, month=shown, sessions=sessions,
                           weeks=services.month_grid(shown, sessions, today), args=args,
                           prev_month=prev_month.strftime("%Y-%m"), next_month=next_month.strftime("%Y-%m"),
                           **_schedule_ctx(actor, sessions))


# --- scheduling --------------------------------------------------------------------------------

def _form_choices(form: SessionForm, session: TrainingSession | None = None) -> None:
    actor = _actor()
    cohorts = programme.cohorts_for(actor)
    if session is not None and session.cohort not in cohorts:
        cohorts.append(session.cohort)
    form.cohort_id.choices = options([(str(c.id), c.name) for c in cohorts])
    stages: dict[str, str] = {}
    for c in cohorts or []:
        for s in programme.curriculum_for(c).stages:
            stages.setdefault(s.key, f"{s.number}. {s.name.get(_lang())}")
    if not stages:
        stages = _stage_names()
    form.stage_key.choices = options(list(stages.items()))
    form.region_id.choices = options([(str(r.id), r.name) for r in regions_for(actor)])
    cohort = session.cohort if session is not None else (cohorts[0] if cohorts else None)
    cert_choices = [SelectChoice(value="", label=_("Tanpa sertifikat"))]
    for d in services.certificate_options():
        label = d.label(_lang())
        if d.session_stages:
            label = _("%(design)s (hanya sesi %(stages)s)", design=label, stages=services.stages_text(d, cohort))
        cert_choices.append(SelectChoice(value=d.kind, label=label,
                                         render_kw={"data-stages": " ".join(d.session_stages)}))
    form.certificate_kind.choices = cert_choices
    bounds = {"min": services.EARLIEST_SESSION_DATE.isoformat() + "T00:00",
              "max": services.latest_session_date().isoformat() + "T23:59"}
    form.starts_at.render_kw = dict(form.starts_at.render_kw or {}, **bounds)
    form.ends_at.render_kw = dict(form.ends_at.render_kw or {}, **bounds)


def _input(form: SessionForm) -> services.SessionInput:
    return services.SessionInput(
        title=form.title.data or "", stage_key=form.stage_key.data or "", cohort_id=int_or_none(form.cohort_id.data),
        region_id=int_or_none(form.region_id.data), venue_name=form.venue_name.data or "",
        venue_address=form.venue_address.data or "", starts_at=form.starts_at.data, ends_at=form.ends_at.data,
        capacity=form.capacity.data, description=form.description.data or "",
        speakers=[services.SpeakerInput(e.form.name.data or "", e.form.agency.data or "", e.form.agency_other.data or "")
                  for e in form.speakers.entries],
        extra_dates=list(getattr(getattr(form, "extra_dates", None), "dates", []) or []),
        # a form without the field (not a browser's) gets the step's usual design; "" is "no certificate"
        certificate_kind=(form.certificate_kind.data or None) if form.certificate_kind.raw_data
        else services.DEFAULT_CERTIFICATE, past=bool(getattr(getattr(form, "past", None), "data", False)),
        organisers=list(form.organisers.data or []) + organisers.split_other(form.organisers_other.data or ""))


@bp.route("/sessions/new", methods=["GET", "POST"])
@rule("sessions.create")
def session_new():
    form = NewSessionForm()
    _form_choices(form)
    if request.method == "GET" and len(form.region_id.choices) == 1:
        form.region_id.data = form.region_id.choices[0].value
    if request.method == "GET":
        form.certificate_kind.data = services.default_certificate_kind(form.stage_key.data or "") or ""
    if form.validate_on_submit():
        try:
            created = services.create_sessions(_actor(), _input(form))
        except Invalid as e:
            e.apply_to_form(form)
        else:
            if created[0].backdated:
                flash(ngettext("Sesi lampau dicatat. Daftarkan pesertanya, lalu isi presensi.",
                               "%(num)d sesi dicatat sebagai satu seri. Daftarkan pesertanya, lalu isi presensi.",
                               len(created)), "success")
            else:
                flash(ngettext("Sesi dijadwalkan.", "%(num)d sesi dijadwalkan sebagai satu seri.", len(created)),
                      "success")
            return redirect(url_for("sessions.session_detail", session_id=created[0].id))
    return render_template("sessions/form.html", form=form, session=None), (422 if form.errors else 200)


def _wib_naive(value: Any) -> Any:
    """A stored time as the form shows it (WIB, naive); one at the end of the calendar as stored."""
    try:
        return to_wib(value).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return value.replace(tzinfo=None)


def _edit_data(s: TrainingSession) -> dict[str, Any]:
    return {"title": s.title, "cohort_id": str(s.cohort_id), "stage_key": s.stage_key, "region_id": str(s.region_id),
            "venue_name": s.venue_name, "venue_address": s.venue_address,
            "starts_at": _wib_naive(s.starts_at), "ends_at": _wib_naive(s.ends_at),
            "capacity": s.capacity, "description": s.description, "certificate_kind": s.certificate_kind or "",
            "speakers": [{"name": sp.name, "agency": sp.agency.value, "agency_other": sp.agency_other}
                         for sp in s.speakers],
            "organisers": [n for n in s.organisers or [] if n in organisers.KNOWN_NAMES],
            "organisers_other": ", ".join(n for n in s.organisers or [] if n not in organisers.KNOWN_NAMES)}


@bp.route("/sessions/<session_id>/edit", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def session_edit(session_id: str):
    session = _load(session_id, "session.manage")
    if session.status is SessionStatus.CANCELLED:
        flash(_("Sesi ini sudah dibatalkan dan tidak bisa diubah."), "error")
        return redirect(url_for("sessions.session_detail", session_id=session.id))
    form = SessionForm(data=_edit_data(session)) if request.method == "GET" else SessionForm()
    _form_choices(form, session)
    if form.validate_on_submit():
        try:
            services.update_session(_actor(), session, _input(form))
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(_("Perubahan tersimpan."), "success")
            return redirect(url_for("sessions.session_detail", session_id=session.id))
    return render_template("sessions/form.html", form=form, session=session), (422 if form.errors else 200)


@bp.route("/sessions/<session_id>/cancel", methods=["POST"])
@rule(AUTHENTICATED)
def session_cancel(session_id: str):
    session = _load(session_id, "session.manage")
    if not ButtonForm().validate_on_submit():
        abort(400)
    services.cancel_session(_actor(), session)
    flash(_("Sesi dibatalkan. Peserta terdaftar melihat pemberitahuannya di beranda."), "success")
    return redirect(url_for("sessions.session_detail", session_id=session.id))


# --- one session -------------------------------------------------------------------------------

@bp.route("/sessions/<session_id>")
@rule(AUTHENTICATED)
def session_detail(session_id: str):
    pk = int_or_none(session_id)
    # read once, with what the page shows (speakers, region, cohort), then checked like any other load
    session = authorize(services.session_detail(pk) if pk is not None else None, "session.view")
    actor = _actor()
    manage = allowed("session.manage", session)
    return render_template(
        "sessions/detail.html", session=session, place=services.place_of(actor, session),
        roster=services.roster(session) if manage else None, manage=manage,
        can_register=allowed("session.register", session), open=services.registration_open(session),
        group_open=manage and services.group_registration_open(session),
        certificate_label=services.certificate_label(session.certificate_kind),
        stage_names=_stage_names(), button=ButtonForm(), agency_labels=services.AGENCY_LABELS,
        window=services.checkin_window(session), now=utcnow())


@bp.route("/sessions/<session_id>/register", methods=["POST"])
@rule(AUTHENTICATED)
def register(session_id: str):
    session = _load(session_id, "session.register")
    if not ButtonForm().validate_on_submit():
        abort(400)
    back = _back(url_for("sessions.session_detail", session_id=session.id))
    try:
        reg = services.register(_actor(), session)
    except Invalid as e:
        flash(str(e), "error")
        return redirect(back)
    if reg.status.value == "registered":
        flash(_("Anda terdaftar di %(title)s.", title=session.title), "success")
    else:  # (the place in the queue is read only for this message)
        place = services.place_of(_actor(), session)
        flash(_("Kursi sudah penuh. Anda masuk daftar tunggu, urutan %(n)d. Bila ada yang batal, "
                "Anda otomatis mendapat kursi.", n=place.position if place and place.position else 0), "info")
    return redirect(back)


@bp.route("/sessions/<session_id>/unregister", methods=["POST"])
@rule(AUTHENTICATED)
def unregister(session_id: str):
    session = _load(session_id, "session.register")
    if not ButtonForm().validate_on_submit():
        abort(400)
    back = _back(url_for("sessions.session_detail", session_id=session.id))
    if not is_confirmed():
        place = services.place_of(_actor(), session)
        waitlisted = bool(place and place.status == "waitlisted")
        consequences = [
            _("Anda keluar dari daftar tunggu %(title)s (%(when)s).", title=session.title,
              when=session_when(session)) if waitlisted else
            _("Kursi Anda di %(title)s (%(when)s) dilepas.", title=session.title, when=session_when(session)),
            _("Bila mendaftar lagi nanti, Anda masuk di urutan paling belakang daftar tunggu.") if waitlisted else
            _("Kursi itu langsung diberikan kepada orang pertama di daftar tunggu; bila mendaftar lagi dan "
              "kursi sudah penuh, Anda masuk daftar tunggu."),
            _("Pelatihan baru tercatat selesai bila Anda hadir di sesi Bimtek."),
        ]
        return render_confirm(
            action_url=url_for("sessions.unregister", session_id=session.id, next=request.args.get("next")),
            title=_("Keluar dari daftar tunggu?") if waitlisted else _("Batalkan pendaftaran Anda?"),
            consequences=consequences, cancel_url=back,
            button_label=_("Ya, keluar dari daftar tunggu") if waitlisted else _("Ya, batalkan pendaftaran"))
    try:
        services.unregister(_actor(), session)
    except Invalid as e:
        flash(str(e), "error")
    else:
        flash(_("Pendaftaran Anda dibatalkan."), "success")
    return redirect(back)


def _group_labels(session: TrainingSession, opts: dict[str, services.GroupOption]) -> dict[str, str]:
    step = services.stage_label(session.cohort, session.stage_key)
    return {
        services.GROUP_STEP: _("Tahap saat ini %(stage)s: %(n)d orang", stage=step, n=opts[services.GROUP_STEP].total),
        services.GROUP_COHORT: _("Seluruh angkatan di %(region)s: %(n)d orang", region=session.region.name,
                                 n=opts[services.GROUP_COHORT].total),
    }


@bp.route("/sessions/<session_id>/register-group", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def register_group(session_id: str):
    """Choose who (with the counts), confirm what will happen, then register: three steps, no JavaScript."""
    session = _load(session_id, "session.manage")
    session = services.session_detail(session.id) or session
    detail_url = url_for("sessions.session_detail", session_id=session.id)
    if not services.group_registration_open(session):
        flash(_("Pendaftaran sesi ini sudah ditutup."), "error")
        return redirect(detail_url)
    actor = _actor()
    opts = services.group_options(actor, session)
    labels = _group_labels(session, opts)
    form = GroupForm()
    form.scope.choices = options([(k, labels[k]) for k in services.GROUP_SCOPES])
    if request.method == "GET":
        form.scope.data = services.GROUP_STEP
    if not form.validate_on_submit():
        if request.method == "POST" and form.csrf_token.errors:
            abort(400)
        return render_template("sessions/group.html", session=session, form=form, opts=opts,
                               step=services.stage_label(session.cohort, session.stage_key)), \
            (422 if request.method == "POST" else 200)
    scope = form.scope.data
    opt = opts[scope]
    if opt.new == 0:
        form.scope.errors = [_("Semua orang pada pilihan ini sudah terdaftar; tidak ada yang perlu didaftarkan.")]
        return render_template("sessions/group.html", session=session, form=form, opts=opts,
                               step=services.stage_label(session.cohort, session.stage_key)), 422
    if not is_confirmed():
        free = max(0, session.capacity - session.seats_taken)
        consequences = [
            ngettext("%(num)d orang didaftarkan (%(label)s).", "%(num)d orang didaftarkan (%(label)s).", opt.new,
                     label=labels[scope]),
            _("%(seated)d mendapat kursi; %(wait)d masuk daftar tunggu (kursi tersisa %(free)d).",
              seated=min(opt.new, free), wait=max(0, opt.new - free), free=free),
            ngettext("%(num)d orang sudah terdaftar dan tidak berubah.", "%(num)d orang sudah terdaftar dan tidak berubah.",
                     opt.total - opt.new),
            _("Yang jadwalnya bertabrakan dengan sesi lain tidak didaftarkan; namanya ditampilkan sesudahnya."),
            _("Peserta melihat sesi ini di beranda dan kalender mereka; masing-masing bisa membatalkan sendiri "
              "sebelum sesi dimulai.") if not session.backdated else
            _("Sesi ini catatan sesi lampau: isi presensinya sesudah mendaftarkan."),
        ]
        return render_confirm(
            action_url=url_for("sessions.register_group", session_id=session.id),
            title=_("Daftarkan %(n)d orang ke %(title)s?", n=opt.new, title=session.title),
            consequences=consequences, hidden={"scope": scope},
            button_label=ngettext("Ya, daftarkan %(num)d orang", "Ya, daftarkan %(num)d orang", opt.new),
            cancel_url=url_for("sessions.register_group", session_id=session.id), danger=False)
    try:
        res = services.register_group(actor, session, scope=scope)
    except Invalid as e:
        flash(str(e), "error")
    else:
        flash(_("%(reg)d terdaftar, %(wait)d masuk daftar tunggu, %(already)d sudah terdaftar sebelumnya.",
                reg=res.registered, wait=res.waitlisted, already=res.already), "success")
        if res.clashing:
            names = ", ".join(u.full_name for u in res.clashing[:10])
            more = len(res.clashing) - 10
            flash(_("Tidak didaftarkan karena jadwalnya bertabrakan dengan sesi lain: %(names)s", names=names)
                  + (f" (+{more})" if more > 0 else ""), "warning")
    return redirect(detail_url)


# --- attendance --------------------------------------------------------------------------------

@bp.route("/sessions/<session_id>/attendance", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def attendance(session_id: str):
    session = _load(session_id, "session.manage")
    roster = services.roster(session)
    # a GET needs only the buttons and the CSRF token: the template writes the radio buttons itself
    # (forty people's WTForms radio groups cost more than the rest of the page together)
    form = attendance_form(roster.registered) if request.method == "POST" else AttendanceForm()
    q = (request.args.get("q") or "").strip()[:100]
    if request.method == "POST" and form.validate_on_submit():
        if form.all_present.data and not is_confirmed():
            unmarked = roster.count(None)
            changed = sum(1 for r in roster.registered if r.attendance is not Attendance.PRESENT)
            return render_confirm(
                action_url=url_for("sessions.attendance", session_id=session.id),
                title=ngettext("Tandai semua %(num)d peserta hadir?", "Tandai semua %(num)d peserta hadir?",
                               len(roster.registered)),
                consequences=[
                    ngettext("%(num)d peserta terdaftar dicatat hadir, juga yang tidak tampil karena pencarian.",
                             "%(num)d peserta terdaftar dicatat hadir, juga yang tidak tampil karena pencarian.",
                             len(roster.registered)),
                    _("%(changed)d catatan berubah, termasuk %(unmarked)d yang belum diisi; tanda terlambat, izin "
                      "dan tidak hadir yang sudah diisi ikut diganti menjadi hadir.", changed=changed,
                      unmarked=unmarked),
                    _("Langkah Pelatihan peserta yang hadir langsung tercatat selesai bila sesi ini memenuhinya."),
                    _("Sesudahnya ubah yang tidak hadir satu per satu lalu simpan lagi."),
                ],
                hidden={"all_present": "1"}, button_label=_("Ya, tandai semua hadir"),
                cancel_url=url_for("sessions.attendance", session_id=session.id), danger=False)
        try:
            n = services.save_attendance(_actor(), session, form.marks(), all_present=bool(form.all_present.data))
        except Invalid as e:
            flash(str(e), "error")
        else:
            flash(ngettext("Presensi tersimpan (%(num)d perubahan).", "Presensi tersimpan (%(num)d perubahan).", n),
                  "success")
        return redirect(url_for("sessions.attendance", session_id=session.id, q=q or None))
    shown = services.filter_registrations(roster.registered, q)
    if request.method == "POST":  # sent back with what was chosen
        marks = {r.id: form[f"r{r.id}"].data for r in shown}
    else:
        marks = {r.id: r.attendance.value if r.attendance else None for r in shown}
    return render_template("sessions/attendance.html", session=session, roster=roster, form=form, q=q,
                           shown=shown, opens=services.attendance_opens(session), now=utcnow(),
                           Attendance=Attendance, marks=marks, choices=[(v, str(label)) for v, label in ATTENDANCE]), \
        (400 if request.method == "POST" else 200)


@bp.route("/sessions/<session_id>/attendance-sheet")
@rule(AUTHENTICATED)
def attendance_sheet(session_id: str):
    """The printable daftar hadir: one row per registered person with an empty signature column."""
    session = _load(session_id, "session.manage")
    session = services.session_detail(session.id) or session
    blank = min(max(0, int_or_none(request.args.get("blank")) or 5), 50)
    return render_template("sessions/sheet.html", session=session, roster=services.roster(session), blank=blank,
                           stage_names=_stage_names(), agency_labels=services.AGENCY_LABELS)


@bp.route("/sessions/<session_id>/roster")
@rule(AUTHENTICATED)
def roster_page(session_id: str):
    """The participants with their outlets and phones (printable)."""
    session = _load(session_id, "session.manage")
    session = services.session_detail(session.id) or session
    return render_template("sessions/roster.html", session=session, roster=services.roster(session),
                           stage_names=_stage_names(), agency_labels=services.AGENCY_LABELS)


# --- QR check-in -------------------------------------------------------------------------------

@bp.route("/sessions/<session_id>/qr")
@rule(AUTHENTICATED)
def qr_page(session_id: str):
    session = _load(session_id, "session.manage")
    return render_template("sessions/qr.html", session=session, roster=services.roster(session),
                           in_window=services.in_checkin_window(session), window=services.checkin_window(session),
                           step=services.CHECKIN_STEP)


@bp.route("/sessions/<session_id>/qr.svg")
@rule(AUTHENTICATED)
def qr_svg(session_id: str):
    session = _load(session_id, "session.manage")
    if session.status is SessionStatus.CANCELLED or not services.in_checkin_window(session):
        abort(404)
    resp = Response(services.qr_svg(services.checkin_url(session)), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/checkin/<session_id>/<token>", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def checkin(session_id: str, token: str):
    session = _load(session_id)
    actor = _actor()
    form = ButtonForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            services.check_in(actor, session, token, ticket=request.form.get("ticket"))
        except services.CheckinRefused as e:
            return render_template("sessions/checkin.html", session=session, refused=e.message), e.status
        return render_template("sessions/checkin.html", session=session, done=True)
    problem = services.checkin_problem(actor, session, token)
    if problem is not None:
        return render_template("sessions/checkin.html", session=session, refused=problem.message), problem.status
    place = services.place_of(actor, session)
    return render_template("sessions/checkin.html", session=session, form=form,
                           ticket=services.checkin_ticket(actor, session),
                           already=bool(place and place.registration.checked_in_by_qr))


# --- calendars ---------------------------------------------------------------------------------

def _ics_response(body: bytes, filename: str | None = None) -> Response:
    resp = Response(body, content_type="text/calendar; charset=utf-8")
    if filename:
        resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


@bp.route("/sessions/<session_id>/calendar.ics")
@rule(AUTHENTICATED)
def session_ics(session_id: str):
    session = _load(session_id)
    session = services.session_detail(session.id) or session
    place = services.place_of(_actor(), session)
    tentative = [session.id] if place and place.status == "waitlisted" else []
    return _ics_response(services.ics([session], name=session.title, tentative=tentative),
                         filename=file_name("bimtek", session.id, ext="ics"))


@bp.route("/calendar/feed", methods=["GET", "POST"])
@rule("calendar.feed")
def feed_settings():
    actor = _actor()
    form = FeedForm()
    new_url = None
    if form.validate_on_submit():
        if form.revoke.data:
            if services.revoke_feed(actor):
                flash(_("Tautan kalender dicabut; aplikasi kalender tidak lagi menerima jadwal dari tautan itu."),
                      "success")
            return redirect(url_for("sessions.feed_settings"))
        new_url = services.feed_url(services.create_feed(actor))
    elif request.method == "POST":
        abort(400)
    return render_template("sessions/feed.html", form=form, feed=services.feed_of(actor), new_url=new_url)


@bp.route("/calendar/<token>.ics")
@rule(PUBLIC)
def feed(token: str):
    user = services.feed_owner(token)
    if user is None:
        abort(404)
    sessions, tentative = services.feed_sessions(user)
    return _ics_response(services.ics(sessions, name=_("Jadwal Bimtek 7 PAS"), tentative=tentative))


@bp.app_template_filter("wib_time")
@never_fails
def wib_time(value: Any) -> str:
    from flask_babel import format_time

    return format_time(value, "short") if value is not None else "–"


@bp.app_template_filter("wib_minute")
@never_fails
def wib_minute(value: Any) -> str:
    """"6 Des 2026 07.30 WIB": a date and a time to the minute."""
    return services.wib_minute(value) if value is not None else "–"


@bp.app_template_filter("session_when")
def session_when(session: TrainingSession) -> str:
    try:
        return services.when_text(session.starts_at, session.ends_at)
    except (OverflowError, ValueError, ArithmeticError):  # a stored date at the end of the calendar
        return f"{plain(session.starts_at)} – {plain(session.ends_at)}"
