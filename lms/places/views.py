"""Outlet pages."""
from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import Invalid
from ..forms_common import int_or_none
from ..people.auth import client_ip
from ..people.phone import display_phone
from ..permissions import AUTHENTICATED, load, rule
from . import services
from .forms import OutletFilterForm, OutletForm
from .models import Outlet

bp = Blueprint("places", __name__)



def _kecamatan_choices(actor, blank: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [("", blank)] + [(str(k.id), f"{k.name} — {k.region.name}") for k in services.kecamatan_for(actor)]


@bp.route("/outlets")
@rule("outlets.list")
def outlet_list():
    actor = current_user._get_current_object()
    form = OutletFilterForm(request.args)
    form.region.choices = [("", _("Semua wilayah"))] + [(str(r.id), r.name) for r in services.regions_for(actor)]
    form.kecamatan.choices = _kecamatan_choices(actor, _("Semua kecamatan"))
    page = max(1, int_or_none(request.args.get("page")) or 1)
    per_page = current_app.config["PAGE_SIZE"]
    outlets, total = services.search_outlets(actor, q=(form.q.data or "")[:100],
                                             region_id=int_or_none(form.region.data),
                                             kecamatan_id=int_or_none(form.kecamatan.data),
                                             page=page, per_page=per_page)
    return render_template("places/outlet_list.html", form=form, outlets=outlets, total=total, page=page,
                           pages=max(1, math.ceil(total / per_page)))


def _outlet_input(form: OutletForm) -> services.OutletInput:
    return services.OutletInput(
        code=form.code.data or "", name=form.name.data or "", kecamatan_id=int_or_none(form.kecamatan_id.data) or 0,
        kube_name=form.kube_name.data or "", address=form.address.data or "", kelurahan=form.kelurahan.data or "",
        phone=form.phone.data, active=bool(form.active.data))


@bp.route("/outlets/new", methods=["GET", "POST"])
@rule("outlets.create")
def outlet_create():
    actor = current_user._get_current_object()
    form = OutletForm()
    form.kecamatan_id.choices = _kecamatan_choices(actor, _("— Pilih kecamatan —"))
    if form.validate_on_submit():
        try:
            outlet = services.create_outlet(actor, _outlet_input(form), ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(_("e-Warong %(code)s sudah dibuat.", code=outlet.code), "success")
            return redirect(url_for("places.outlet_detail", outlet_id=outlet.id))
    return render_template("places/outlet_form.html", form=form, outlet=None)


@bp.route("/outlets/<outlet_id>")
@rule(AUTHENTICATED)
def outlet_detail(outlet_id: str):
    outlet = load(Outlet, outlet_id, "outlet.view")
    # the outlet page is the hub of an outlet: its journey, visits, evidence and reports
    from ..programme import services as programme
    from ..visits.services import current_assignment

    enrolment = programme.outlet_enrolment(outlet.id)
    progress = None
    if enrolment is not None:
        cur = programme.curriculum_for(enrolment.cohort)
        lang = _lang()
        current = next((s for s in cur.stages if s.key == enrolment.current_stage), None)
        progress = {"done": enrolment.completed_count, "total": len(cur.stages),
                    "current": f"{current.number}. {current.name.get(lang)}" if current else None}
    page = render_template("places/outlet_detail.html", outlet=outlet,
                           manager_terms=services.manager_history(outlet), enrolment=enrolment, progress=progress,
                           assignment=current_assignment(outlet.id), evidence=programme.outlet_evidence(outlet.id))
    from ..privacy import access  # who looked at whom: the page shows its manager's data

    access.record_outlet_page(current_user, outlet)
    return page


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc else "id"


@bp.route("/outlets/<outlet_id>/edit", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def outlet_edit(outlet_id: str):
    outlet = load(Outlet, outlet_id, "outlet.view", "outlet.edit")
    actor = current_user._get_current_object()
    form = OutletForm(obj=outlet if request.method == "GET" else None)
    form.kecamatan_id.choices = _kecamatan_choices(actor, _("— Pilih kecamatan —"))
    if request.method == "GET":
        form.kecamatan_id.data = str(outlet.kecamatan_id)
        form.phone.data = display_phone(outlet.phone)
    move = None
    if form.validate_on_submit():
        data = _outlet_input(form)
        try:
            # a move to another region takes the outlet's whole world along: say what first
            move = None if form.confirm_move.data else services.preview_move(actor, outlet, data.kecamatan_id)
            if move is None:
                services.update_outlet(actor, outlet, data, ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            if move is None:
                flash(_("Perubahan tersimpan."), "success")
                return redirect(url_for("places.outlet_detail", outlet_id=outlet.id))
    failed = request.method == "POST" and (form.errors or move is not None)
    return render_template("places/outlet_form.html", form=form, outlet=outlet, move=move), (422 if failed else 200)
