"""Mentor visit pages: caseloads, the visit form (with its offline outbox), the outlet
timeline, the coordinator's overview and the CSV export. Thin: load, authorize, call a service."""
from __future__ import annotations

import re
import uuid
from typing import Any

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import MultiDict
from wtforms import FieldList

from .. import files, permissions
from ..db import utcnow
from ..errors import Invalid, NotAllowed
from ..export import csv_stream
from ..forms_common import int_or_none, options
from ..i18n import file_name, to_wib
from ..people.auth import client_ip, safe_next
from ..permissions import AUTHENTICATED, allowed, authorize, load, rule
from ..places.models import Outlet
from ..places.services import regions_for
from . import services
from .forms import (ActionDoneForm, AssignForm, CaseloadFilterForm, EditVisitForm, ExportForm, NewVisitForm,
                    RegionFilterForm, VisitForm)
from .models import Visit

bp = Blueprint("visits", __name__)


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc else "id"


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _now_wib_minute() -> Any:
    return to_wib(utcnow()).replace(tzinfo=None, second=0, microsecond=0)


def _region_choice(form: Any, actor: Any) -> int | None:
    regions = regions_for(actor)
    form.region.choices = options([("", _("Semua wilayah"))] + [(str(r.id), r.name) for r in regions])
    if len(regions) == 1:
        form.region.choices = options([(str(regions[0].id), regions[0].name)])
        form.region.data = str(regions[0].id)
    rid = int_or_none(form.region.data)
    return rid if rid in {r.id for r in regions} else None


# --- caseloads ------------------------------------------------------------------------------

@bp.route("/caseload")
@rule("caseload.own")
def my_caseload():
    rows = services.caseload(_actor())
    return render_template("visits/caseload.html", rows=rows, overdue=sum(1 for r in rows if r.overdue))


@bp.route("/caseloads", methods=["GET", "POST"])
@rule("caseloads.manage")
def caseloads():
    actor = _actor()
    filt = CaseloadFilterForm(request.args)
    region_id = _region_choice(filt, actor)
    page = max(int_or_none(request.args.get("page")) or 1, 1)
    per_page = current_app.config["CASELOAD_PAGE_SIZE"]
    rows, total = services.assignable_outlets(actor, region_id, unassigned_only=bool(filt.unassigned.data),
                                              q=filt.q.data or "", page=page, per_page=per_page)
    mentors = services.mentors_for(actor, region_id)
    form = AssignForm()
    form.outlet_ids.choices = options([(o.id, o.code) for o, _a in rows])
    form.mentor_id.choices = options([("", _("— Pilih pendamping —"))] + [
        (str(m.id), f"{m.full_name} · {m.region.name if m.region else '–'}") for m in mentors])
    if form.validate_on_submit():
        mentor_id = None if form.release.data else int_or_none(form.mentor_id.data)
        if mentor_id is None and not form.release.data:
            form.mentor_id.errors = [_("Pilih pendamping.")]
        else:
            try:
                n = services.assign_mentor(actor, form.outlet_ids.data or [], mentor_id, ip=client_ip())
            except Invalid as e:
                e.apply_to_form(form)
            except NotAllowed:  # an outlet outside the actor's regions, or none such (a changed or forged page)
                form.outlet_ids.errors = [_("Ada e-Warong terpilih yang tidak dapat Anda tugaskan. Muat ulang "
                                            "halaman lalu pilih lagi.")]
            else:
                flash(_("%(n)d e-Warong diperbarui.", n=n), "success")
                return redirect(request.full_path.rstrip("?"))
    status = 422 if request.method == "POST" else 200
    pages = max((total + per_page - 1) // per_page, 1)
    return render_template("visits/caseloads.html", filt=filt, form=form, rows=rows, mentors=mentors, total=total,
                           page=page, pages=pages), status


# --- logging a visit ---------------------------------------------------------------------------

def _photos(form: VisitForm) -> list[files.CheckedUpload]:
    """Check each uploaded photo by its content; a refused file becomes a message on the photos field."""
    uploads = [f for f in (form.photos.data or []) if f is not None and getattr(f, "filename", "")]
    if len(uploads) > services.MAX_PHOTOS:
        raise Invalid({"photos": [_("Paling banyak %(n)d foto per kunjungan.", n=services.MAX_PHOTOS)]})
    out, problems = [], []
    for f in uploads:
        try:
            out.append(files.check_upload(f.stream, f.filename, allowed=services.PHOTO_TYPES, field="photos"))
        except Invalid as e:
            name = (f.filename or "").rsplit("/", 1)[-1][:80]
            problems += [f"{name}: {m}" for ms in e.reasons.values() for m in ms]
    if problems:
        raise Invalid({"photos": problems})
    return out


def _input(form: VisitForm, new: bool) -> services.VisitInput:
    actions = [services.ActionInput(description=e.form.description.data or "", owner=e.form.owner.data or "",
                                    due_on=e.form.due_on.data, id=None if new else int_or_none(e.form.id.data))
               for e in form.action_items.entries]
    return services.VisitInput(
        visited_at=form.visited_at.data, duration_minutes=form.duration_minutes.data, kind=form.kind.data or "",
        stages=list(form.stages.data or []), observations=form.observations.data or "",
        staff_notes=form.staff_notes.data or "", next_visit_on=form.next_visit_on.data, actions=actions,
        share_location=bool(form.share_location.data), latitude=form.latitude.data, longitude=form.longitude.data,
        accuracy=form.accuracy.data, client_key=(form.client_key.data or "") if new else "",
        remove_photo_ids=list(getattr(form, "remove_photo_ids").data or []) if not new else [])


_ACTION_KEY = re.compile(r"^action_items-(\d+)-(\w+)$")


def _apply(e: Invalid, form: VisitForm) -> None:
    rest: dict[str, list[str]] = {}
    for key, messages in e.reasons.items():
        m = _ACTION_KEY.match(key or "")
        if m and int(m.group(1)) < len(form.action_items.entries):
            sub = form.action_items.entries[int(m.group(1))].form[m.group(2)]
            sub.errors = list(sub.errors) + list(messages)
        else:
            rest[key] = list(messages)
    if rest:
        Invalid(rest).apply_to_form(form)


def _flat_errors(form: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in form:
        if isinstance(f, FieldList):
            for entry in f.entries:
                for sub in entry.form:
                    if sub.errors:
                        out[sub.name] = [str(m) for m in sub.errors]
            for m in f.errors:
                if isinstance(m, str):
                    out.setdefault(f.name, []).append(m)
        elif f.errors:
            out[f.name] = [str(m) for m in f.errors]
    if form.form_errors:
        out[""] = [str(m) for m in form.form_errors]
    return out


def _saved(visit: Visit, created: bool):  # type: ignore[no-untyped-def]
    url = url_for("visits.visit_detail", visit_id=visit.id)
    if _wants_json():
        return jsonify(id=visit.id, url=url, status="created" if created else "duplicate"), (201 if created else 200)
    flash(_("Kunjungan tersimpan.") if created else _("Kunjungan ini sudah tersimpan sebelumnya."), "success")
    return redirect(url)


def _form_failed(form: Any, template: str, **ctx: Any):  # type: ignore[no-untyped-def]
    errors = _flat_errors(form)
    if _wants_json():
        return jsonify(error=422, errors=errors), 422
    return render_template(template, form=form, has_errors=bool(errors), **ctx), 422


@bp.route("/visits/new", methods=["GET", "POST"])
@rule("visits.log")
def visit_new():
    actor = _actor()
    if request.method == "POST":
        # a retried submission (lost answer, offline outbox): the visit is already here
        existing = services.find_by_client_key(request.form.get("client_key"))
        if existing is not None and existing.mentor_id == actor.id:
            return _saved(existing, created=False)
    wanted = request.form.get("outlet_id") if request.method == "POST" else request.args.get("outlet")
    outlet = load(Outlet, wanted, "outlet.view", "visit.create") if wanted else None
    form = NewVisitForm()
    caseload = services.caseload_outlets(actor)
    form.outlet_id.choices = options([("", _("— Pilih e-Warong —"))] + [(str(o.id), f"{o.code} · {o.name}")
                                                                        for o in caseload])
    form.stages.choices = options(services.stage_choices(outlet.id if outlet else None, _lang()))
    ctx = {"caseload": caseload, "outlet": outlet}
    if request.method == "GET":
        form.visited_at.data = _now_wib_minute()
        form.client_key.data = uuid.uuid4().hex
        if outlet is not None:
            form.outlet_id.data = str(outlet.id)
        return render_template("visits/visit_form.html", form=form, fresh=True, has_errors=False, **ctx)
    if form.validate_on_submit() and outlet is not None:
        try:
            visit, created = services.log_visit(actor, outlet, _input(form, new=True), _photos(form), ip=client_ip())
        except Invalid as e:
            _apply(e, form)
        else:
            return _saved(visit, created)
    return _form_failed(form, "visits/visit_form.html", fresh=False, **ctx)


@bp.route("/visits/csrf")
@rule("visits.offline")
def csrf_token():
    """A fresh CSRF token for the phone's outbox (the page's own may have expired while offline)."""
    resp = jsonify(csrf_token=generate_csrf())
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- one visit -----------------------------------------------------------------------------------

def _load_visit(visit_id: str, action: str | None = None) -> Visit:
    return authorize(services.visit_for_view(visit_id), "visit.view", action)  # type: ignore[no-any-return]


@bp.route("/visits/<visit_id>")
@rule(AUTHENTICATED)
def visit_detail(visit_id: str):
    visit = _load_visit(visit_id)
    return render_template("visits/visit_detail.html", visit=visit, show_notes=allowed("visit.staff_notes"),
                           can_edit=allowed("visit.edit", visit), can_mark=allowed("visit.actions", visit),
                           stage_names=services.stage_names(visit.outlet_id, _lang()),
                           kinds=services.kind_labels(), done_form=ActionDoneForm(), today=services.wib_today(),
                           just_saved=bool(request.args.get("baru")), just_edited=bool(request.args.get("diubah")))


def _edit_data(visit: Visit) -> dict[str, Any]:
    items = [{"id": str(a.id), "description": a.description, "owner": a.owner, "due_on": a.due_on}
             for a in visit.action_items] + [{}]
    located = visit.latitude is not None
    return {"visited_at": to_wib(visit.visited_at).replace(tzinfo=None), "duration_minutes": visit.duration_minutes,
            "kind": visit.kind.value, "stages": list(visit.stages or []), "observations": visit.observations,
            "staff_notes": visit.staff_notes, "next_visit_on": visit.next_visit_on, "action_items": items,
            "share_location": located, "latitude": str(visit.latitude) if located else "",
            "longitude": str(visit.longitude) if located else "",
            "accuracy": str(visit.location_accuracy_m) if visit.location_accuracy_m is not None else ""}


@bp.route("/visits/<visit_id>/edit", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def visit_edit(visit_id: str):
    visit = _load_visit(visit_id, "visit.edit")
    form = EditVisitForm(data=_edit_data(visit)) if request.method == "GET" else EditVisitForm()
    form.stages.choices = options(services.stage_choices(visit.outlet_id, _lang()))
    form.remove_photo_ids.choices = options([(p.id, _("Foto %(n)d", n=i)) for i, p in enumerate(visit.photos, 1)])
    ctx = {"visit": visit, "outlet": visit.outlet}
    if request.method == "GET":
        return render_template("visits/visit_form.html", form=form, fresh=True, has_errors=False, **ctx)
    if form.validate_on_submit():
        try:
            services.update_visit(_actor(), visit, _input(form, new=False), _photos(form), ip=client_ip())
        except Invalid as e:
            _apply(e, form)
        else:
            url = url_for("visits.visit_detail", visit_id=visit.id)
            if _wants_json():
                return jsonify(id=visit.id, url=url, status="updated"), 200
            flash(_("Perubahan tersimpan."), "success")
            return redirect(url)
    return _form_failed(form, "visits/visit_form.html", fresh=False, **ctx)


@bp.route("/action-items/<item_id>/done", methods=["POST"])
@rule(AUTHENTICATED)
def action_done(item_id: str):
    item = services.action_item(item_id)
    authorize(item.visit if item else None, "visit.view")
    if not allowed("action_item.mark", item):
        abort(403)
    form = ActionDoneForm()
    if not form.validate_on_submit():
        abort(400)
    done = form.done.data != "0"
    services.set_action_done(_actor(), item, done, ip=client_ip())  # type: ignore[arg-type]
    flash(_("Tindak lanjut ditandai selesai.") if done else _("Tindak lanjut dibuka lagi."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("visits.visit_detail", visit_id=item.visit_id))  # type: ignore[union-attr]


@bp.route("/visit-photos/<photo_id>")
@rule(AUTHENTICATED)
def visit_photo(photo_id: str):
    p = services.photo(photo_id)
    authorize(p.visit if p else None, "visit.view")
    try:
        resp = files.send(p.file, download_name=file_name("foto-kunjungan", p.visit_id, p.id,  # type: ignore[union-attr]
                                                          ext=files.EXTENSIONS[p.file.content_type]))  # type: ignore[union-attr]
    except FileNotFoundError:
        abort(404)
    from ..privacy import access  # who looked at whom: a photo of the outlet of the manager then

    access.record_outlet_file(_actor(), p.visit.outlet_id, p.visit.visited_at, f"visit_photo:{p.id}")  # type: ignore[union-attr]
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return resp


# --- the outlet's timeline ---------------------------------------------------------------------

@bp.route("/outlets/<outlet_id>/timeline")
@rule(AUTHENTICATED)
def outlet_timeline(outlet_id: str):
    outlet = authorize(services.outlet_for_view(outlet_id), "outlet.view")
    actor = _actor()
    entries = services.outlet_timeline(outlet, _lang())
    visits = [e.visit for e in entries if e.visit is not None]
    mine = actor.role.value == "mentor" and permissions.in_caseload(actor, outlet.id)
    return render_template(
        "visits/timeline.html", outlet=outlet, entries=entries, assignment=services.current_assignment(outlet.id),
        show_notes=allowed("visit.staff_notes"), can_log=allowed("visit.create", outlet) if mine else False,
        can_edit={v.id: permissions.can_edit_visit(actor, v) for v in visits},
        can_mark={v.id: permissions.can_mark_actions(actor, v, mine) for v in visits},
        stage_names=services.stage_names(outlet.id, _lang()), kinds=services.kind_labels(),
        done_form=ActionDoneForm(), today=services.wib_today())


@bp.route("/visits/mine")
@rule("visits.mine")
def my_visits():
    outlet = _actor().managed_outlet
    if outlet is None:
        return render_template("visits/no_outlet.html")
    return redirect(url_for("visits.outlet_timeline", outlet_id=outlet.id))


# --- the coordinator's overview and export ------------------------------------------------------

def _export_form(actor: Any, args: Any) -> ExportForm:
    form = ExportForm(args)
    _region_choice(form, actor)
    if not args.get("start") and not args.get("end"):
        today = services.wib_today()
        form.start.data = form.start.data or services.months_back(today, 6)[0]
        form.end.data = form.end.data or today
    return form


@bp.route("/visits/dashboard")
@rule("visits.dashboard")
def dashboard():
    actor = _actor()
    filt = RegionFilterForm(request.args)
    region_id = _region_choice(filt, actor)
    filt.validate()  # a malformed month is shown on the field and ignored
    data = services.overview(actor, region_id, until=filt.until.data if not filt.until.errors else None)
    export = _export_form(actor, MultiDict({"region": str(region_id or "")}))
    return render_template("visits/dashboard.html", filt=filt, data=data, export=export)


@bp.route("/visits/export")
@rule("visits.export")
def export():
    actor = _actor()
    form = _export_form(actor, request.args)
    if request.args and form.validate():
        region_id = int_or_none(form.region.data)
        try:
            rows = services.export_visits(actor, form.start.data, form.end.data, region_id, ip=client_ip())  # type: ignore[arg-type]
        except Invalid as e:
            e.apply_to_form(form)
        else:
            name = file_name("kunjungan", f"{form.start.data:%Y%m%d}", f"{form.end.data:%Y%m%d}", ext="csv")  # type: ignore[str-format]
            return Response(stream_with_context(csv_stream(services.export_header(), rows)),
                            mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                          "Cache-Control": "private, no-store"})
    return render_template("visits/export.html", form=form), (422 if request.args else 200)

