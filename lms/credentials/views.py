"""The credentials' pages: the issuer profile, the status lists, the ``.json`` download and the
public "Periksa kredensial" check. Thin: load, authorize, call lms/credentials."""
from __future__ import annotations

import hashlib
import io
import json

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask.wrappers import Response
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..certification.issuing import verify_url
from ..certification.models import Certificate
from ..i18n import file_name
from ..permissions import AUTHENTICATED, PUBLIC, load, rule
from .forms import CheckCredentialForm
from .issuer import PROFILE_PATH, profile_document
from .issuing import ensure_credential
from .status import MAX_AGE, STATUS_PATH, lists_in_use, status_list_credential
from .verify import MAX_BYTES, VerifyResult, verify_credential

bp = Blueprint("credentials", __name__)

#: a POST to the check page larger than this is refused before any of it is read: one credential
#: (pasted or uploaded) and the form around it. Below Werkzeug's 500 KB spooling threshold, so an
#: upload never reaches a temporary file on disk either
REQUEST_LIMIT = MAX_BYTES + 64 * 1024


def _json_response(text: str, max_age: int) -> Response:
    resp = current_app.response_class(text, mimetype="application/ld+json")
    resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    resp.headers["Access-Control-Allow-Origin"] = "*"  # verifiers in browsers (wallets) read it too
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.route(PROFILE_PATH)
@rule(PUBLIC)
def issuer_profile():  # type: ignore[no-untyped-def]
    return _json_response(json.dumps(profile_document(), ensure_ascii=False, indent=2), 3600)


@bp.route(STATUS_PATH + "<int:list_no>")
@rule(PUBLIC)
def status_list(list_no: int):  # type: ignore[no-untyped-def]
    if list_no < 1 or list_no > lists_in_use():
        abort(404)
    return _json_response(status_list_credential(list_no), MAX_AGE)


@bp.route("/certificates/<cert_id>/credential.json")
@rule(AUTHENTICATED)
def download(cert_id: str):  # type: ignore[no-untyped-def]
    """The signed Open Badges credential, for whoever may download the PDF (same rule)."""
    cert = load(Certificate, cert_id, "certificate.view", "certificate.download")
    data = ensure_credential(cert).encode("utf-8")
    from ..privacy import access  # who looked at whom: someone else downloaded the holder's credential

    access.record(current_user._get_current_object(), cert.holder_id, access.FILE, f"credential:{cert.id}")
    resp = send_file(io.BytesIO(data), mimetype="application/ld+json", as_attachment=True,
                     download_name=file_name("sertifikat", cert.serial, ext="json"), max_age=0,
                     etag=hashlib.sha256(data).hexdigest())
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


# --- Periksa kredensial ------------------------------------------------------------------------

def _check_page(form: CheckCredentialForm, result: VerifyResult | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    cert = result.certificate if result is not None else None
    resp = current_app.make_response((render_template(
        "certification/verify_credential.html", form=form, result=result,
        cert_url=verify_url(cert.verification_code) if cert is not None else None), status))
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _too_large() -> Response:
    form = CheckCredentialForm(formdata=None)
    form.file.errors = [_("Berkas terlalu besar: kredensial paling besar %(kb)d KB.", kb=MAX_BYTES // 1024)]
    return _check_page(form, status=413)


@bp.url_value_preprocessor
def _limit_check_body(endpoint: str | None, values: dict | None) -> None:
    """Before any request hook reads the form (CSRF, the NUL-byte check): the check page's body may
    be REQUEST_LIMIT at most (Werkzeug refuses a larger Content-Length unread, and stops reading a
    body without one there)."""
    if endpoint == "credentials.verify_page":
        request.max_content_length = REQUEST_LIMIT


@bp.errorhandler(RequestEntityTooLarge)
def _body_too_large(e: RequestEntityTooLarge):  # type: ignore[no-untyped-def]
    return _too_large()


@bp.route("/kredensial/periksa", methods=["GET", "POST"])
@rule(PUBLIC)
def verify_page():  # type: ignore[no-untyped-def]
    # limited per address with the verify page (lms/ratelimit.py VERIFY_ENDPOINTS); nothing is stored
    form = CheckCredentialForm()
    submitted = form.validate_on_submit()
    if not submitted:
        return _check_page(form, status=422 if request.method == "POST" else 200)
    text = form.credential.data or ""
    upload = form.file.data
    content: bytes | None = None
    if upload is not None and getattr(upload, "filename", ""):
        data = upload.stream.read(MAX_BYTES + 1)
        if text.strip():
            form.file.errors = [_("Tempel teksnya atau unggah berkasnya, jangan keduanya.")]
        elif len(data) > MAX_BYTES:
            form.file.errors = [_("Berkas terlalu besar: kredensial paling besar %(kb)d KB.", kb=MAX_BYTES // 1024)]
        elif not data.strip():
            form.file.errors = [_("Berkas itu kosong.")]
        else:
            content = data
    elif text.strip():
        if len(text.encode("utf-8")) > MAX_BYTES:
            form.credential.errors = [_("Teks terlalu panjang: kredensial paling besar %(kb)d KB.",
                                        kb=MAX_BYTES // 1024)]
        else:
            content = text.encode("utf-8")
    else:
        form.credential.errors = [_("Tempel isi kredensial atau unggah berkas .json-nya.")]
    if content is None:
        return _check_page(form, status=422)
    return _check_page(form, verify_credential(content))
