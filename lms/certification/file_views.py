"""The public "Periksa berkas" page (/verify/berkas): is this PDF a certificate we issued, and is its
signature intact?

The upload never leaves memory: before anything reads the request (CSRFProtect reads the form
first), the request gets a size limit and an in-memory file stream instead of Werkzeug's temporary
file, and nothing is written to storage. Limited per address together with the verify page
(lms/ratelimit.py ``VERIFY_ENDPOINTS``).
"""
from __future__ import annotations

import io
from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from ..permissions import PUBLIC, rule
from .forms import FileCheckForm
from .views import bp

ENDPOINT = "certification.verify_file"
#: default largest file checked (CERTIFICATE_FILE_CHECK_MAX_BYTES)
MAX_BYTES = 10 * 1024 * 1024
#: room for the multipart envelope and the CSRF token around the file
ENVELOPE = 64 * 1024


def max_bytes() -> int:
    return int(current_app.config.get("CERTIFICATE_FILE_CHECK_MAX_BYTES") or MAX_BYTES)


def _memory_stream(total_content_length: Any, content_type: Any, filename: Any = None,
                   content_length: Any = None) -> io.BytesIO:
    return io.BytesIO()


@bp.url_value_preprocessor
def _upload_in_memory(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Runs before every before_request hook (CSRFProtect parses the form in one)."""
    if endpoint == ENDPOINT and request.method == "POST":
        request.max_content_length = max_bytes() + ENVELOPE
        request._get_file_stream = _memory_stream  # type: ignore[method-assign]


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(e: RequestEntityTooLarge):  # type: ignore[no-untyped-def]
    if request.endpoint != ENDPOINT:  # the rest of the blueprint: the site's own 413 page
        return render_template("errors/413.html"), 413
    return _page(FileCheckForm(formdata=None), None, too_large=True, status=413)


def _page(form: FileCheckForm, result: Any, *, too_large: bool = False, status: int = 200):  # type: ignore[no-untyped-def]
    max_mb = max_bytes() // (1024 * 1024)
    form.file.description = _("Berkas PDF, paling besar %(mb)d MB.", mb=max_mb)
    resp = current_app.make_response((render_template(
        "certification/verify_file.html", form=form, result=result, too_large=too_large, max_mb=max_mb), status))
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/verify/berkas", methods=["GET", "POST"])
@rule(PUBLIC)
def verify_file():
    from . import signing

    form = FileCheckForm()
    if request.method != "POST":
        return _page(form, None)
    if not form.validate_on_submit():
        return _page(form, None, status=422)
    limit = max_bytes()
    data = form.file.data.read(limit + 1)
    if len(data) > limit:
        return _page(FileCheckForm(formdata=None), None, too_large=True, status=413)
    return _page(form, signing.check_file(data))
