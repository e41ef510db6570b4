"""The API blueprint (flask-smorest), its OpenAPI document, the documentation page, ETags and errors.

flask-smorest is used as an extension of the plain Flask app (``Api(app)``; APIFlask would need
the app itself to be an ``APIFlask``): it parses arguments with webargs, dumps responses through
marshmallow schemas and builds the OpenAPI 3.1 document (apispec) from the same decorators.
Its own JSON error handler and its documentation blueprint are not used: errors under /api are
RFC 9457 problems (lms/api/problems.py, also for routing errors through lms/errors.py) and the
document and the Redoc page are served by this blueprint, with the app's own security headers.
"""
from __future__ import annotations

import hashlib
import http
from typing import Any

import marshmallow as ma
from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from ..errors import Invalid, NotAllowed, NotFound
from . import problems
from .auth import SCHEME, ApiProblem, operation
from .schemas import ProblemSchema


class _Parser(FlaskParser):
    """webargs' parser plus the location ``multipart``: a multipart/form-data body's fields and files
    in one schema (one documented request body; every field's problem reported at once)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "multipart": ma.RAISE}
    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req, schema):  # type: ignore[no-untyped-def]
        from werkzeug.datastructures import CombinedMultiDict

        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = _Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}


bp = ApiBlueprint("api", __name__, url_prefix="/api/v1",
                  description="7 PAS LMS JSON API (see the document's introduction).")

API_VERSION = "1.0.0"
OPENAPI_VERSION = "3.1.0"

DESCRIPTION = """\
The 7 PAS OK OCE e-Warong programme's data as JSON: regions and kecamatan (BPS codes), outlets,
people, cohorts and enrolments with progress per stage, evidence (licences, marketing steps, monthly
reports, financing: read, recorded with a multipart upload, verified or returned by reviewers),
training sessions with registration and attendance, mentor visits, certificates (with a public
verification), and the dashboard's counts.

## Authentication

Send a personal access token: `Authorization: Bearer lms_…`. Make one on the page **Token API**
(`/akun/token-api`) or with `flask --app lms api-token create EMAIL --scope read --days 90 --name NAME`.
A token acts as its user, through the same rules as the web pages (an object the user may not see
is 404), limited to its scopes: `read` for every GET; `write:evidence`, `write:visits`,
`write:attendance` (registration and attendance), `review` and `admin` for the rest.
A session cookie never authenticates the API. Expired or revoked tokens, and the tokens of a
deactivated user, get 401 at once.

## Lists

Lists are cursor-paginated in a stable order: by `id`, or, with `updated_since`, by
`(updated_at, id)` for incremental sync (every row changed since then comes exactly once,
oldest change first). `limit` is 1–200 (default 50); follow `next` (also in the `Link` header)
until it is null. Filters: `region` (BPS code), `kecamatan` (BPS code), `cohort`, `stage`,
`updated_since` where they apply.

## Caching

Every GET answers with a weak `ETag`; send it back in `If-None-Match` to get `304 Not Modified`.

## Errors

Errors are RFC 9457 problem details (`application/problem+json`) with `type`, `title`, `status`,
`detail`, `instance` and, for validation, `errors` (one `{field, in, detail}` per problem), in
Indonesian or English after `Accept-Language`. The problem types are this page with a fragment:
`#problem-validation`, `#problem-unauthorized`, `#problem-insufficient-scope`, `#problem-forbidden`,
`#problem-not-found`, `#problem-method-not-allowed`, `#problem-rate-limited`, `#problem-conflict`,
`#problem-idempotency-mismatch`, `#problem-busy`, `#problem-server-error`.
"""


#: the operations' groups, in the documentation's order
TAGS = ("Reference data", "Outlets", "People", "Cohorts and enrolments", "Evidence", "Training sessions", "Visits",
        "Certificates", "Dashboard", "Documentation")


class LmsApi(Api):
    """flask-smorest's Api without its app-wide JSON error handler (the app keeps its HTML error
    pages; /api errors are problems) and with problem+json as the documented error body."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304) and status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, problems.MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def documented(scope: str | None, rule: str | None = None, *, detail: bool = False, write: bool = False):  # type: ignore[no-untyped-def]
    """``operation`` plus its documentation: security, the error responses and ETag/304 on reads."""
    from ..permissions import AUTHENTICATED

    def decorate(view):  # type: ignore[no-untyped-def]
        fn = view
        if scope is not None:
            fn = bp.alt_response(401, response="UNAUTHORIZED")(fn)
            fn = bp.alt_response(403, response="FORBIDDEN")(fn)
        if detail or scope is None:
            fn = bp.alt_response(404, response="NOT_FOUND")(fn)
        if not write:
            fn = bp.alt_response(304, description="Not modified: the `If-None-Match` ETag still matches.")(fn)
        doc: dict[str, Any] = {"security": [{SCHEME: []}] if scope is not None else []}
        if scope is not None:
            doc["x-required-scope"] = scope
        fn = bp.doc(**doc)(fn)
        return operation(scope, rule or AUTHENTICATED)(fn)

    return decorate


# --- ETag / If-None-Match on reads -----------------------------------------------------------------------

def _etag_matches(header: str, tag: str) -> bool:
    wanted = tag.removeprefix("W/")
    for part in header.split(","):
        part = part.strip()
        if part == "*" or part.removeprefix("W/") == wanted:
            return True
    return False


@bp.after_request
def _etag(resp):  # type: ignore[no-untyped-def]
    resp.headers.setdefault("Cache-Control", "private, no-cache")
    resp.vary.update(("Authorization", "Accept-Language"))
    if request.method not in ("GET", "HEAD") or resp.status_code != 200 or resp.direct_passthrough \
            or not resp.mimetype.endswith("json"):
        return resp
    body = resp.get_data()
    tag = 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    resp.headers["ETag"] = tag
    inm = request.headers.get("If-None-Match")
    if inm and _etag_matches(inm, tag):
        resp.status_code = 304
        resp.set_data(b"")
        resp.headers.pop("Content-Type", None)
        resp.headers.pop("Content-Length", None)
    return resp


# --- NUL characters ------------------------------------------------------------------------------------------

def _has_nul(node: Any) -> bool:
    if isinstance(node, str):
        return "\x00" in node
    if isinstance(node, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_nul(v) for v in node)
    return False


@bp.before_request
def _refuse_nul():  # type: ignore[no-untyped-def]
    """NUL is never text (PostgreSQL refuses it in any text value): in the path or a JSON body it is a
    400 up front, as the app does for query strings and forms (lms/__init__.py)."""
    if "\x00" in request.path or (request.is_json and _has_nul(request.get_json(silent=True))):
        return problems.problem(400, detail=_("Teks tidak boleh berisi karakter NUL (\\u0000)."))
    return None


# --- errors inside API views --------------------------------------------------------------------------------

@bp.errorhandler(ApiProblem)
def _api_problem(e: ApiProblem):  # type: ignore[no-untyped-def]
    return e.response()


@bp.errorhandler(Invalid)
def _invalid(e: Invalid):  # type: ignore[no-untyped-def]
    where = "body" if request.method not in ("GET", "HEAD") else "query"
    return problems.problem(422, slug="validation", detail=str(e),
                            errors=problems.invalid_errors(e.reasons, where))


@bp.errorhandler(NotAllowed)
def _not_allowed(e: NotAllowed):  # type: ignore[no-untyped-def]
    return problems.problem(403, slug="forbidden")


@bp.errorhandler(NotFound)
def _not_found(e: NotFound):  # type: ignore[no-untyped-def]
    return problems.problem(404)


@bp.errorhandler(HTTPException)
def _http(e: HTTPException):  # type: ignore[no-untyped-def]
    data = getattr(e, "data", None) or {}
    code = e.code or 500
    if code == 422 and "messages" in data:  # webargs: the arguments did not validate
        return problems.problem(422, slug="validation", errors=problems.webargs_errors(data["messages"]))
    headers = dict(data.get("headers") or {})
    if code == 429 and e.get_response().headers.get("Retry-After"):
        headers.setdefault("Retry-After", e.get_response().headers["Retry-After"])
    return problems.problem(code, headers=headers)


# --- the document and the documentation page ---------------------------------------------------------------

@bp.route("/openapi.json", tags=["Documentation"])
@documented(None)
@bp.response(200, description="This API's OpenAPI 3.1 document.")
def openapi_json():
    """The OpenAPI document"""
    resp = current_app.response_class(current_app.json.dumps(spec(current_app)), mimetype="application/json")
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


@bp.route("/docs", tags=["Documentation"])
@documented(None)
@bp.response(200, content_type="text/html", description="The browsable documentation (Redoc, served by the app).")
def docs():
    """The documentation page"""
    resp = current_app.response_class(render_template("api/docs.html"), mimetype="text/html")
    resp.headers["Content-Security-Policy"] = DOCS_CSP
    return resp


#: the app's policy, plus what Redoc needs: inline <style> (styled-components) and a blob: worker
#: for its search. Scripts stay 'self' only: the bundle is served from lms/static/vendor/redoc.
DOCS_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def init_app(app: Flask) -> None:
    from ..extensions import csrf
    from . import auth, views  # noqa: F401  (registers the operations on ``bp``)

    app.register_blueprint(bp)
    csrf.exempt(bp)  # no cookie authenticates the API: only the bearer token
    auth.install(app)


def spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI document, built from the operations' decorators on first use and kept (building
    it at every app start would cost each test a fraction of its time for nothing)."""
    cached = app.extensions.get("lms.api.spec")
    if cached is None:
        api = LmsApi(spec_kwargs={"title": "7 PAS LMS API", "version": API_VERSION,
                                  "openapi_version": OPENAPI_VERSION, "info": {"description": DESCRIPTION}})
        api.init_app(app)
        api.spec.components.security_scheme(SCHEME, {"type": "http", "scheme": "bearer",
                                                     "description": "A personal access token (lms_…)."})
        # what Api.register_blueprint does, without registering the (already registered) blueprint again
        app.extensions["flask-smorest"]["blp_name_to_api"][bp.name] = api
        bp.register_views_in_doc(api, app, api.spec, name=bp.name, parameters=None)
        for name in TAGS:
            api.spec.tag({"name": name})
        cached = app.extensions["lms.api.spec"] = api.spec.to_dict()
    return cached  # type: ignore[no-any-return]
