"""The bell's page, preferences, the admins' outbox and coordinators' broadcasts. Thin."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import Invalid, Throttled
from ..extensions import db
from ..forms_common import int_or_none, options
from ..permissions import AUTHENTICATED, can, rule
from . import services, unread_for_current_user
from .forms import BroadcastForm, PreferencesForm
from .models import Delivery, DeliveryStatus

bp = Blueprint("notifications", __name__)


def _me() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


@bp.route("/notifications")
@rule(AUTHENTICATED)
def index():  # type: ignore[no-untyped-def]
    before = int_or_none(request.args.get("before"))
    items = services.page(_me(), before_id=before, size=30)
    more = items[-1].id if len(items) == 30 else None
    return render_template("notifications/index.html", items=items, more=more,
                           unread=unread_for_current_user())


@bp.route("/notifications/<notification_id>", methods=["POST"])
@rule(AUTHENTICATED)
def open_one(notification_id: str):  # type: ignore[no-untyped-def]
    n = services.get_own(_me(), int_or_none(notification_id))
    if n is None:
        abort(404)
    services.mark_read(_me(), n)
    if request.form.get("go") and n.url and n.url.startswith("/") and not n.url.startswith("//"):
        return redirect(n.url)
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/read-all", methods=["POST"])
@rule(AUTHENTICATED)
def read_all():  # type: ignore[no-untyped-def]
    n = services.mark_all_read(_me())
    flash(_("%(num)d pemberitahuan ditandai sudah dibaca.", num=n), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def preferences():  # type: ignore[no-untyped-def]
    me = _me()
    pref = services.preference_of(me)
    form = PreferencesForm(obj=pref if request.method == "GET" else None)
    if request.method == "GET":
        form.locale.data = me.locale or "id"
    if form.validate_on_submit():
        try:
            services.save_preferences(me, me, services.PreferenceInput(
                email_enabled=form.email_enabled.data, whatsapp_opt_in=form.whatsapp_opt_in.data,
                quiet_start=form.quiet_start.data, quiet_end=form.quiet_end.data, locale=form.locale.data))
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(_("Pengaturan pemberitahuan disimpan."), "success")
            return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form, pref=pref), (422 if form.errors else 200)


# --- admins: what was (or would have been) sent ---------------------------------------------------

@bp.route("/admin/outbox")
@rule("notifications.outbox")
def outbox():  # type: ignore[no-untyped-def]
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in DeliveryStatus]):
        status = None
    channel = request.args.get("channel") or None
    if channel not in (None, "email", "whatsapp"):
        channel = None
    before = int_or_none(request.args.get("before"))
    items = services.outbox(_me(), status=status, channel=channel, before_id=before, size=50)
    more = items[-1].id if len(items) == 50 else None
    return render_template("notifications/outbox.html", items=items, more=more, status=status, channel=channel,
                           counts=services.outbox_counts(_me()), statuses=[s.value for s in DeliveryStatus])


@bp.route("/admin/outbox/<delivery_id>")
@rule("notifications.outbox")
def outbox_item(delivery_id: str):  # type: ignore[no-untyped-def]
    pk = int_or_none(delivery_id)
    d = db.session.get(Delivery, pk) if pk is not None else None
    if d is None:
        abort(404)
    return render_template("notifications/outbox_item.html", d=d)


@bp.route("/admin/outbox/<delivery_id>/retry", methods=["POST"])
@rule("notifications.outbox")
def outbox_retry(delivery_id: str):  # type: ignore[no-untyped-def]
    pk = int_or_none(delivery_id)
    d = db.session.get(Delivery, pk) if pk is not None else None
    if d is None:
        abort(404)
    try:
        services.retry(_me(), d)
    except Invalid as e:
        flash(str(e), "error")
    else:
        flash(_("Pesan dijadwalkan untuk dikirim ulang."), "success")
    return redirect(url_for("notifications.outbox_item", delivery_id=d.id))


# --- coordinators: a message to a group -------------------------------------------------------------

def _target_choices(actor: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    from ..places.models import Region
    from ..programme.models import Cohort
    from ..permissions import region_choices_for
    from ..sessions.models import SessionStatus, TrainingSession
    from ..db import utcnow
    from ..i18n import wib_date
    from datetime import timedelta

    upcoming = db.session.scalars(sa.select(TrainingSession).where(
        TrainingSession.status == SessionStatus.SCHEDULED,
        TrainingSession.ends_at >= utcnow() - timedelta(days=7)).order_by(TrainingSession.starts_at).limit(200))
    session_opts = [(f"session:{s.id}", f"{s.title} ({wib_date(s.starts_at)})")
                    for s in upcoming if can(actor, "session.manage", s)][:60]
    cohorts = db.session.scalars(sa.select(Cohort).order_by(Cohort.start_date.desc()).limit(60))
    cohort_opts = [(f"cohort:{c.id}", c.name) for c in cohorts if can(actor, "cohort.edit", c)]
    regions = db.session.scalars(sa.select(Region).where(region_choices_for(actor)).order_by(Region.code))
    region_opts = [(f"region:{r.id}", r.name) for r in regions]
    return [(_("Pendaftar sesi"), session_opts), (_("Peserta angkatan"), cohort_opts),
            (_("Pengelola di wilayah"), region_opts)]


def _split(value: str | None) -> tuple[str, int | None]:
    kind, _sep, ident = (value or "").partition(":")
    return kind, int_or_none(ident)


@bp.route("/broadcasts/new", methods=["GET", "POST"])
@rule("broadcast.send")
def broadcast():  # type: ignore[no-untyped-def]
    me = _me()
    form = BroadcastForm()
    groups = _target_choices(me)
    form.target.choices = {label: options(opts) for label, opts in groups if opts}
    if request.method == "GET" and request.args.get("target"):
        form.target.data = request.args["target"]
    preview = None
    status = 200
    if form.validate_on_submit():
        kind, ident = _split(form.target.data)
        try:
            if form.send.data and request.form.get("confirmed") == "1":
                b = services.send_broadcast(me, kind, ident, form.subject.data, form.body.data)
                flash(_("Pesan dikirim ke %(num)d orang.", num=b.recipients), "success")
                return redirect(url_for("core.home"))
            preview = services.preview_broadcast(me, kind, ident)
        except Invalid as e:
            e.apply_to_form(form)
            status = 422
        except Throttled as e:
            form.form_errors.append(_("Terlalu banyak pesan massal dalam satu jam. Coba lagi dalam %(min)d menit.",
                                      min=max(1, e.retry_after_seconds // 60)))
            status = 429
    elif request.method == "POST":
        status = 422
    return render_template("notifications/broadcast.html", form=form, preview=preview), status
