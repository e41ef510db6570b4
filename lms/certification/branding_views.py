"""The admins' certificate branding pages (/admin/branding): the designs with their current branding,
the edit form, the preview ("Pratinjau") and "Simpan". Thin: load, call branding.py, render or redirect.
Admins only (403 for everyone else, like the other admin pages); a staged preview is its admin's alone (404)."""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import files
from ..errors import Invalid, NotFound
from ..forms_common import int_or_none
from ..i18n import file_name
from ..people.auth import client_ip
from ..permissions import rule
from . import branding
from .branding_forms import BrandingForm, SaveForm
from .designs import Design

bp = Blueprint("branding", __name__)

RULE = branding.RULE


def _me() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _design(design_key: str) -> Design:
    try:
        return branding.design_by_key(design_key)
    except NotFound:
        abort(404)


def _pending(design: Design, token: str | None) -> branding.Pending:
    try:
        return branding.load_pending(_me(), design, token)
    except NotFound:
        abort(404)


@bp.route("/admin/branding")
@rule(RULE)
def index():  # type: ignore[no-untyped-def]
    return render_template("certification/branding.html", rows=branding.overview(_me()), lang=_lang())


# --- the edit form ---------------------------------------------------------------------------------------

def _form_data(design: Design, source: Any) -> dict[str, Any]:
    """The form's fields as ``source`` (a staged edit or a version; None: the design's metadata) has them."""
    if source is not None:
        people = [{"name": s.get("name", ""), "title": s.get("title", ""), "nip": s.get("nip") or ""}
                  for s in source.signatories or []]
    else:
        people = [{"name": s.name, "title": s.title, "nip": s.nip} for s in design.signatories]
    people += [{} for _i in range(branding.MAX_SIGNATORIES - len(people))]
    return {"signatories": people[:branding.MAX_SIGNATORIES],
            "base": source.token if isinstance(source, branding.Pending) else ""}


def _thumbnails(design: Design, source: Any) -> dict[str, str]:
    """slot → the URL of the image kept when its field is left empty."""
    if source is None:
        return {}
    ref = {"t": source.token} if isinstance(source, branding.Pending) else {"v": source.id}
    return {slot: url_for("branding.image", design_key=design.key, slot=slot, **ref)
            for slot, key in branding._keys(source).items() if key}


def _input(form: BrandingForm) -> branding.BrandingInput:
    def upload(f: Any) -> branding.Upload | None:
        # Flask-WTF's FileField holds a FileStorage only when a file was chosen (an empty input gives None)
        return branding.Upload(f.data.stream, f.data.filename or "") if f.data else None

    rows = [branding.SignatoryInput(name=e.form.name.data or "", title=e.form.title.data or "",
                                    nip=e.form.nip.data or "", signature=upload(e.form.signature),
                                    remove_signature=bool(e.form.remove_signature.data))
            for e in form.signatories.entries]
    remove = {slot for slot in branding.IMAGE_SLOTS if getattr(form, f"remove_{slot}").data}
    return branding.BrandingInput(signatories=rows, logo_left=upload(form.logo_left),
                                  logo_right=upload(form.logo_right), stamp=upload(form.stamp), remove=remove,
                                  base=form.base.data or None)


def _apply(e: Invalid, form: BrandingForm) -> None:
    """The service's problems on their fields (``signatories.<row>.<field>`` for a signatory's)."""
    for key, messages in e.reasons.items():
        target = None
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "signatories" and parts[1].isdigit():
            entries = form.signatories.entries
            if int(parts[1]) < len(entries):
                target = getattr(entries[int(parts[1])].form, parts[2], None)
        elif key:
            target = getattr(form, key, None)
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + list(messages)
        else:
            form.form_errors.extend(messages)


@bp.route("/admin/branding/<design_key>", methods=["GET", "POST"])
@rule(RULE)
def edit(design_key: str):  # type: ignore[no-untyped-def]
    design = _design(design_key)
    actor = _me()
    token = request.args.get("ubah") if request.method == "GET" else request.form.get("base")
    source: Any = None
    if token:
        try:
            source = branding.load_pending(actor, design, token)
        except NotFound:
            source = None
    current = branding.newest(design.key)
    source = source or current
    form = BrandingForm(data=_form_data(design, source)) if request.method == "GET" else BrandingForm()
    if form.validate_on_submit():
        try:
            new_token = branding.stage(actor, design, _input(form))
        except Invalid as e:
            _apply(e, form)
        else:
            return redirect(url_for("branding.preview", design_key=design.key, token=new_token))
    failed = request.method == "POST"
    return render_template("certification/branding_edit.html", design=design, form=form, current=current,
                           thumbs=_thumbnails(design, source), again=isinstance(source, branding.Pending),
                           failed=failed, lang=_lang()), (422 if failed else 200)


# --- the preview -------------------------------------------------------------------------------------------

@bp.route("/admin/branding/<design_key>/preview/<token>")
@rule(RULE)
def preview(design_key: str, token: str):  # type: ignore[no-untyped-def]
    from .render import RenderError

    design = _design(design_key)
    pending = _pending(design, token)
    error = None
    try:
        branding.preview_pdf(_me(), design, token)  # rendered now, so the page can say when it fails
    except RenderError as e:
        error = str(e)
    except branding.BrandingImageMissing:
        error = _("Salah satu gambar tidak ditemukan lagi. Ubah lagi dan unggah gambarnya.")
    thumbs = _thumbnails(design, pending)
    resp = render_template("certification/branding_preview.html", design=design, pending=pending, error=error,
                           thumbs=thumbs, save_form=SaveForm(), current=branding.newest(design.key), lang=_lang())
    return resp


def _no_store(resp: Any) -> Any:
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/admin/branding/<design_key>/preview/<token>/pdf")
@rule(RULE)
def preview_pdf(design_key: str, token: str):  # type: ignore[no-untyped-def]
    from .render import RenderError

    design = _design(design_key)
    _pending(design, token)
    try:
        pdf = branding.preview_pdf(_me(), design, token)
    except (RenderError, branding.BrandingImageMissing, NotFound):
        abort(404)
    download = request.args.get("unduh") == "1"
    resp = send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=download,
                     download_name=file_name("pratinjau-sertifikat", design.key, ext="pdf"), max_age=0)
    # shown inside the preview page (an <iframe> of this site only); our own PDF, made from escaped texts
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    resp.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    return _no_store(resp)


@bp.route("/admin/branding/<design_key>/preview/<token>/save", methods=["POST"])
@rule(RULE)
def save(design_key: str, token: str):  # type: ignore[no-untyped-def]
    design = _design(design_key)
    if not SaveForm().validate_on_submit():
        abort(400)
    try:
        row = branding.save(_me(), design, token, ip=client_ip())
    except NotFound:
        flash(_("Pratinjau ini sudah disimpan atau kedaluwarsa. Periksa tampilan sertifikat di bawah, lalu ubah "
                "lagi bila perlu."), "error")
        return redirect(url_for("branding.index"))
    except branding.BrandingImageMissing:
        flash(_("Salah satu gambar tidak ditemukan lagi. Ubah lagi dan unggah gambarnya."), "error")
        return redirect(url_for("branding.edit", design_key=design.key))
    flash(_("Tampilan sertifikat “%(design)s” disimpan sebagai versi %(n)d. Berlaku untuk sertifikat yang "
            "diterbitkan mulai sekarang; sertifikat yang sudah terbit tidak berubah.", design=design.label(_lang()),
            n=row.id), "success")
    return redirect(url_for("branding.index"))


@bp.route("/admin/branding/<design_key>/image/<slot>")
@rule(RULE)
def image(design_key: str, slot: str):  # type: ignore[no-untyped-def]
    """An image of a saved version (``?v=<id>``) or of the admin's staged edit (``?t=<token>``)."""
    design = _design(design_key)
    token = request.args.get("t")
    try:
        data = branding.image_of(design, slot, version_id=int_or_none(request.args.get("v")), token=token,
                                 actor=_me())
    except NotFound:
        abort(404)
    kind = files.sniff(data[:16])
    if kind not in (files.PNG, files.JPEG):
        abort(404)
    resp = send_file(io.BytesIO(data), mimetype=kind, max_age=0)
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _no_store(resp)


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc else "id"
