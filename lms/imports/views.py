"""Import pages: upload and preview, confirm, and the template file. Thin: the service decides."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import Invalid, NotFound
from ..export import csv_stream
from ..forms_common import int_or_none, options
from ..i18n import file_name
from ..people.auth import client_ip
from ..permissions import rule
from . import bp, services, staging
from .forms import ConfirmImportForm, ImportForm
from .parse import FIELDS


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _form(actor) -> ImportForm:  # type: ignore[no-untyped-def]
    form = ImportForm()
    form.cohort.choices = options([("", _("— Tidak didaftarkan —"))]
                                  + [(str(c.id), c.name) for c in services.cohorts_for_import(actor)])
    return form


def _preview_page(preview: services.Preview, token: str | None, status: int = 200,  # type: ignore[no-untyped-def]
                  rejected: bool = False):
    return render_template("imports/preview.html", preview=preview, counts=preview.counts,
                           rows=preview.shown_rows(), limit=services.PREVIEW_ROWS,
                           confirm=ConfirmImportForm(token=token) if token else None, rejected=rejected), status


@bp.route("/import/outlets", methods=["GET", "POST"])
@rule("outlets.import")
def upload():
    actor = _actor()
    form = _form(actor)
    if form.validate_on_submit():
        storage = form.file.data
        data = storage.stream.read(services.max_bytes() + 1)
        try:
            preview = services.preview_import(actor, data, storage.filename or "",
                                              cohort_id=int_or_none(form.cohort.data))
        except Invalid as e:
            e.apply_to_form(form)
        else:
            token = staging.stage(actor.id, data, preview.filename, preview.cohort_id) if preview.ok else None
            return _preview_page(preview, token)
    return render_template("imports/upload.html", form=form, fields=FIELDS), (422 if form.errors else 200)


def _gone(g: staging.Gone):  # type: ignore[no-untyped-def]
    if g.state == staging.DONE:
        flash(_("Berkas ini sudah diimpor. Hasilnya ada di daftar e-Warong."), "info")
        return redirect(url_for("places.outlet_list"))
    if g.state == staging.BUSY:
        flash(_("Berkas ini sedang diimpor. Tunggu sebentar lalu periksa daftar e-Warong."), "info")
        return redirect(url_for("places.outlet_list"))
    flash(_("Pratinjau ini sudah kedaluwarsa. Unggah berkasnya lagi."), "warning")
    return redirect(url_for("imports.upload"))


@bp.route("/import/outlets/confirm", methods=["POST"])
@rule("outlets.import")
def confirm():
    actor = _actor()
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return _gone(staging.Gone(staging.EXPIRED))
    try:
        staged = staging.load(actor.id, form.token.data)
        staging.claim(staged)
    except NotFound:
        abort(404)
    except staging.Gone as g:
        return _gone(g)
    try:
        result = services.apply_import(actor, staged.data, staged.filename, cohort_id=staged.cohort_id,
                                       ip=client_ip())
    except services.ImportRejected as e:
        staging.discard(staged.token)
        return _preview_page(e.preview, None, status=409, rejected=True)
    except Invalid as e:
        staging.discard(staged.token)
        for messages in e.reasons.values():
            for m in messages:
                flash(m, "error")
        return redirect(url_for("imports.upload"))
    except BaseException:
        staging.release(staged)  # nothing was written: the coordinator may try again
        raise
    staging.finish(staged, {"counts": result.counts})
    from ..people.setup_links import whatsapp_setup_url

    links = [(m, url, whatsapp_setup_url(m.full_name, m.phone, None, url))
             for m in result.new_managers for url in (services.setup_url(m.token),)]
    return render_template("imports/result.html", result=result, counts=result.counts, links=links)


@bp.route("/import/outlets/template.csv")
@rule("outlets.import")
def template():
    rows = services.template_rows(_actor())
    return Response(csv_stream(services.TEMPLATE_HEADER, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{file_name("templat-impor-e-warong", ext="csv")}"',
                             "Cache-Control": "private, no-store"})
