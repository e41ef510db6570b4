""""Data saya": what the system holds about me, a copy of it (ZIP, built in the background), and
who from staff opened my data. Thin: load (one's own requests only), call lms/privacy/export.py."""
from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SubmitField

from ..i18n import file_name, to_wib
from ..people.auth import client_ip
from ..permissions import rule
from ..storage import send_stored
from . import access, export
from .blueprint import bp


class ExportRequestForm(FlaskForm):
    submit = SubmitField(_l("Minta salinan data saya"))


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


@bp.route("/privasi/data-saya")
@rule("privacy.own")
def my_data():
    actor = _actor()
    exports = export.my_exports(actor)
    running = next((r for r in exports if r.status in export.ACTIVE), None)
    return render_template("privacy/my_data.html", form=ExportRequestForm(), categories=export.categories(actor),
                           labels=export.section_labels(), exports=exports, running=running,
                           progress=export.progress(running) if running is not None else None,
                           downloadable={r.id for r in exports if export.is_downloadable(r)},
                           accesses=access.by_others(actor.id), action_labels=access.action_labels(),
                           what_label=access.what_label, days=current_app.config.get("DATA_EXPORT_DAYS", 7))


@bp.route("/privasi/data-saya/salinan", methods=["POST"])
@rule("privacy.own")
def my_data_request():
    if not ExportRequestForm().validate_on_submit():
        abort(400)
    _req, created = export.request_export(_actor(), ip=client_ip())
    if created:
        flash(_("Salinan data Anda sedang disiapkan. Kami memberi tahu Anda bila sudah siap."), "success")
    else:
        flash(_("Salinan data Anda masih disiapkan; tunggu sampai selesai."), "info")
    return redirect(url_for("privacy.my_data", _anchor="salinan"))


@bp.route("/privasi/data-saya/salinan/<request_id>/status.json")
@rule("privacy.own")
def my_data_status(request_id: str):
    req = export.own_export(_actor(), request_id)
    if req is None:
        abort(404)
    resp = jsonify(export.progress(req))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/privasi/data-saya/salinan/<request_id>/unduh")
@rule("privacy.own")
def my_data_download(request_id: str):
    actor = _actor()
    req = export.own_export(actor, request_id)
    key = export.download_key(actor, req, ip=client_ip()) if req is not None else None
    if key is None:
        abort(404)
    created = to_wib(req.created_at).date()  # type: ignore[union-attr]
    try:
        resp = send_stored(export.AREA, key, mimetype="application/zip", as_attachment=True, max_age=0,
                           etag=req.sha256 or True,  # type: ignore[union-attr]
                           download_name=file_name("data-saya", f"{created:%Y%m%d}", req.id, ext="zip"))  # type: ignore[union-attr]
    except FileNotFoundError:  # removed between the check and now (the retention job)
        abort(404)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
