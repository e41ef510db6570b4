"""The admins' webhook pages (/admin/webhooks). Thin: load, call a service, render or redirect.
CSRF is checked for every POST by the app's CSRFProtect."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..confirm import is_confirmed, render_confirm
from ..errors import Invalid
from ..forms_common import int_or_none
from ..people.auth import client_ip
from ..permissions import load, rule
from ..privacy import retention
from . import catalog, services, signing
from .forms import EndpointForm
from .models import WebhookDelivery, WebhookEndpoint, WebhookStatus

bp = Blueprint("webhooks", __name__)

MANAGE = "webhooks.manage"
#: the session key holding a secret until the endpoint's page has shown it once
SECRET_KEY = "webhook_secret"


def _me() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    return load(WebhookEndpoint, endpoint_id, MANAGE)  # type: ignore[no-any-return]


def _input(form: EndpointForm) -> services.EndpointInput:
    return services.EndpointInput(url=form.url.data or "", description=form.description.data or "",
                                  events=list(form.events.data or []))


def _show_secret_once(ep: WebhookEndpoint, secret: str) -> None:
    session[SECRET_KEY] = {"endpoint_id": ep.id, "secret": secret}


def _no_store(resp: Any) -> Any:
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/admin/webhooks")
@rule(MANAGE)
def index():  # type: ignore[no-untyped-def]
    return render_template("webhooks/index.html", rows=services.endpoints(_me()), label=catalog.label,
                           snippet=signing.VERIFY_SNIPPET)


@bp.route("/admin/webhooks/new", methods=["GET", "POST"])
@rule(MANAGE)
def create():  # type: ignore[no-untyped-def]
    form = EndpointForm()
    form.events.choices = catalog.choices()
    if form.validate_on_submit():
        try:
            ep, secret = services.create_endpoint(_me(), _input(form), ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            _show_secret_once(ep, secret)
            flash(_("Endpoint disimpan. Salin rahasianya sekarang: rahasia ini hanya ditampilkan sekali."), "success")
            return redirect(url_for("webhooks.detail", endpoint_id=ep.id))
    return render_template("webhooks/form.html", form=form, ep=None), (422 if form.errors else 200)


@bp.route("/admin/webhooks/<endpoint_id>")
@rule(MANAGE)
def detail(endpoint_id: str):  # type: ignore[no-untyped-def]
    ep = _endpoint(endpoint_id)
    before = int_or_none(request.args.get("before"))
    items = services.deliveries(_me(), ep, before_id=before)
    more = items[-1].id if len(items) == services.PAGE else None
    shown = session.get(SECRET_KEY)
    secret = None
    if isinstance(shown, dict) and shown.get("endpoint_id") == ep.id:
        secret = session.pop(SECRET_KEY)["secret"]
    resp = render_template("webhooks/detail.html", ep=ep, items=items, more=more, secret=secret,
                           counts=services.counts(_me(), ep), label=catalog.label, failed=WebhookStatus.FAILED,
                           keep_days=retention.period(retention.rule("webhooks")))
    return _no_store(make_response(resp))


@bp.route("/admin/webhooks/<endpoint_id>/edit", methods=["GET", "POST"])
@rule(MANAGE)
def edit(endpoint_id: str):  # type: ignore[no-untyped-def]
    ep = _endpoint(endpoint_id)
    form = EndpointForm(obj=ep if request.method == "GET" else None)
    form.events.choices = catalog.choices()
    if form.validate_on_submit():
        try:
            services.update_endpoint(_me(), ep, _input(form), ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(_("Perubahan tersimpan."), "success")
            return redirect(url_for("webhooks.detail", endpoint_id=ep.id))
    return render_template("webhooks/form.html", form=form, ep=ep), (422 if form.errors else 200)


@bp.route("/admin/webhooks/<endpoint_id>/active", methods=["POST"])
@rule(MANAGE)
def set_active(endpoint_id: str):  # type: ignore[no-untyped-def]
    ep = _endpoint(endpoint_id)
    active = request.form.get("active") == "1"
    services.set_active(_me(), ep, active, ip=client_ip())
    flash(_("Endpoint diaktifkan.") if active else _("Endpoint dinonaktifkan: tidak ada lagi yang dikirim ke sana."),
          "success")
    return redirect(url_for("webhooks.detail", endpoint_id=ep.id))


@bp.route("/admin/webhooks/<endpoint_id>/rotate", methods=["POST"])
@rule(MANAGE)
def rotate(endpoint_id: str):  # type: ignore[no-untyped-def]
    ep = _endpoint(endpoint_id)
    if not is_confirmed():
        return render_confirm(
            action_url=url_for("webhooks.rotate", endpoint_id=ep.id),
            title=_("Ganti rahasia endpoint %(url)s?", url=ep.url),
            consequences=[
                _("Rahasia lama langsung tidak berlaku: kiriman berikutnya (juga pengulangan) ditandatangani "
                  "dengan rahasia baru."),
                _("Penerima menolak kiriman sampai rahasia baru dipasang di sana."),
                _("Rahasia baru ditampilkan sekali saja setelah ini."),
            ],
            button_label=_("Ya, ganti rahasia"), cancel_url=url_for("webhooks.detail", endpoint_id=ep.id))
    secret = services.rotate_secret(_me(), ep, ip=client_ip())
    _show_secret_once(ep, secret)
    flash(_("Rahasia diganti. Salin sekarang: rahasia ini hanya ditampilkan sekali."), "success")
    return redirect(url_for("webhooks.detail", endpoint_id=ep.id))


@bp.route("/admin/webhooks/<endpoint_id>/delete", methods=["POST"])
@rule(MANAGE)
def delete(endpoint_id: str):  # type: ignore[no-untyped-def]
    ep = _endpoint(endpoint_id)
    if not is_confirmed():
        return render_confirm(
            action_url=url_for("webhooks.delete", endpoint_id=ep.id),
            title=_("Hapus endpoint %(url)s?", url=ep.url),
            consequences=[
                _("Tidak ada lagi yang dikirim ke alamat ini; kiriman yang masih menunggu dibatalkan."),
                _("Riwayat kirimannya ikut terhapus (penghapusan dicatat di log audit)."),
                _("Untuk berhenti sementara, nonaktifkan saja endpoint ini."),
            ],
            button_label=_("Ya, hapus endpoint"), cancel_url=url_for("webhooks.detail", endpoint_id=ep.id))
    services.delete_endpoint(_me(), ep, ip=client_ip())
    flash(_("Endpoint dihapus."), "success")
    return redirect(url_for("webhooks.index"))


@bp.route("/admin/webhooks/<endpoint_id>/ping", methods=["POST"])
@rule(MANAGE)
def ping(endpoint_id: str):  # type: ignore[no-untyped-def]
    ep = _endpoint(endpoint_id)
    try:
        services.send_ping(_me(), ep)
    except Invalid as e:
        flash(str(e), "error")
    else:
        flash(_("Uji coba dijadwalkan; hasilnya muncul di daftar kiriman sebentar lagi."), "success")
    return redirect(url_for("webhooks.detail", endpoint_id=ep.id))


@bp.route("/admin/webhooks/deliveries/<delivery_id>/retry", methods=["POST"])
@rule(MANAGE)
def retry(delivery_id: str):  # type: ignore[no-untyped-def]
    d = load(WebhookDelivery, delivery_id, MANAGE)
    try:
        services.retry_delivery(_me(), d)
    except Invalid as e:
        flash(str(e), "error")
    else:
        flash(_("Kiriman dijadwalkan untuk dikirim ulang dengan id yang sama."), "success")
    return redirect(url_for("webhooks.detail", endpoint_id=d.endpoint_id))
