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

from ..errors import Invalid
from ..forms_common import int_or_none, options
from ..i18n import never_fails, plain, to_wib
from ..people.auth import safe_next
from ..permissions import AUTHENTICATED, PUBLIC, allowed, load, rule
from ..places.services import regions_for
from ..programme import services as programme
from . import services
from .forms import ButtonForm, FeedForm, NewSessionForm, ScheduleFilterForm, SessionForm, attendance_form
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
    month = form.month.data if isinstance(form.month.data, date) and 2000 <= form.month.data.year <= 2100 else None
    return form, region_id, stage, month


def _schedule_ctx(actor: Any, sessions: list[TrainingSession]) -> dict[str, Any]:
    ids = [s.id for s in sessions]
    return {"places": services.places_of(actor, ids) if allowed("progress.own") else {},
            "waitlists": services.waitlist_counts(ids) if actor.role.is_staff else {},
            "stage_names": _stage_names(), "now": services.utcnow(), "button": ButtonForm()}


@bp.route("/sessions")
@rule("sessions.list")
def schedule():
    actor = _actor()
    form, region_id, stage, month = _filters(actor)
    per_page = current_app.config["PAGE_SIZE"]
    page = max(1, int_or_none(request.args.get("page")) or 1)
    rows, total = services.schedule(actor, region_id=region_id, stage=stage, month=month, page=page,
                                    per_page=per_page)
    return render_template("sessions/list.html", form=form, rows=rows, total=total, page=page, month=month,
                           pages=max(1, math.ceil(total / per_page)), **_schedule_ctx(actor, rows))


@bp.route("/sessions/calendar")
@rule("sessions.list")
def month():
    actor = _actor()
    form, region_id, stage, wanted = _filters(actor)
    today = to_wib(services.utcnow()).date()
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


def _input(form: SessionForm) -> services.SessionInput:
    return services.SessionInput(
        title=form.title.data or "", stage_key=form.stage_key.data or "", cohort_id=int_or_none(form.cohort_id.data),
        region_id=int_or_none(form.region_id.data), venue_name=form.venue_name.data or "",
        venue_address=form.venue_address.data or "", starts_at=form.starts_at.data, ends_at=form.ends_at.data,
        capacity=form.capacity.data, description=form.description.data or "",
        speakers=[services.SpeakerInput(e.form.name.data or "", e.form.agency.data or "", e.form.agency_other.data or "")
                  for e in form.speakers.entries],
        extra_dates=list(getattr(getattr(form, "extra_dates", None), "dates", []) or []))


@bp.route("/sessions/new", methods=["GET", "POST"])
@rule("sessions.create")
def session_new():
    form = NewSessionForm()
    _form_choices(form)
    if request.method == "GET" and len(form.region_id.choices) == 1:
        form.region_id.data = form.region_id.choices[0].value
    if form.validate_on_submit():
        try:
            created = services.create_sessions(_actor(), _input(form))
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(ngettext("Sesi dijadwalkan.", "%(num)d sesi dijadwalkan sebagai satu seri.", len(created)),
                  "success")
            return redirect(url_for("sessions.session_detail", session_id=created[0].id))
    return render_template("sessions/form.html", form=form, session=None), (422 if form.errors else 200)


def _edit_data(s: TrainingSession) -> dict[str, Any]:
    return {"title": s.title, "cohort_id": str(s.cohort_id), "stage_key": s.stage_key, "region_id": str(s.region_id),
            "venue_name": s.venue_name, "venue_address": s.venue_address,
            "starts_at": to_wib(s.starts_at).replace(tzinfo=None), "ends_at": to_wib(s.ends_at).replace(tzinfo=None),
            "capacity": s.capacity, "description": s.description,
            "speakers": [{"name": sp.name, "agency": sp.agency.value, "agency_other": sp.agency_other}
                         for sp in s.speakers]}


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
    session = _load(session_id)
    session = services.session_detail(session.id) or session
    actor = _actor()
    manage = allowed("session.manage", session)
    return render_template(
        "sessions/detail.html", session=session, place=services.place_of(actor, session),
        roster=services.roster(session) if manage else None, manage=manage,
        can_register=allowed("session.register", session), open=services.registration_open(session),
        group_size=services.group_size(actor, session) if manage else 0,
        stage_names=_stage_names(), button=ButtonForm(), agency_labels=services.AGENCY_LABELS,
        window=services.checkin_window(session), now=services.utcnow())


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
    place = services.place_of(_actor(), session)
    if reg.status.value == "registered":
        flash(_("Anda terdaftar di %(title)s.", title=session.title), "success")
    else:
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
    try:
        services.unregister(_actor(), session)
    except Invalid as e:
        flash(str(e), "error")
    else:
        flash(_("Pendaftaran Anda dibatalkan."), "success")
    return redirect(back)


@bp.route("/sessions/<session_id>/register-group", methods=["POST"])
@rule(AUTHENTICATED)
def register_group(session_id: str):
    session = _load(session_id, "session.manage")
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        res = services.register_group(_actor(), session)
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
    return redirect(url_for("sessions.session_detail", session_id=session.id))


# --- attendance --------------------------------------------------------------------------------

@bp.route("/sessions/<session_id>/attendance", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def attendance(session_id: str):
    session = _load(session_id, "session.manage")
    roster = services.roster(session)
    form = attendance_form(roster.registered)
    if form.validate_on_submit():
        try:
            n = services.save_attendance(_actor(), session, form.marks(), all_present=bool(form.all_present.data))
        except Invalid as e:
            flash(str(e), "error")
        else:
            flash(ngettext("Presensi tersimpan (%(num)d perubahan).", "Presensi tersimpan (%(num)d perubahan).", n),
                  "success")
        return redirect(url_for("sessions.attendance", session_id=session.id))
    return render_template("sessions/attendance.html", session=session, roster=roster, form=form,
                           opens=services.attendance_opens(session), now=services.utcnow(), Attendance=Attendance), \
        (400 if request.method == "POST" else 200)


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
                         filename=f"bimtek-{session.id}.ics")


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
