"""The 7 PAS LMS application factory."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, request

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """The configuration does not allow the app to start."""


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``LMS_*`` environment variables, then ``config``."""
    app = Flask(
        __name__,
        instance_path=(config or {}).get("INSTANCE_PATH") or os.environ.get("LMS_INSTANCE_PATH")
        or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    from .config import Defaults, TestingDefaults

    app.config.from_object(Defaults)
    app.config.from_prefixed_env("LMS")
    if config:
        if config.get("TESTING"):
            app.config.from_object(TestingDefaults)
        app.config.from_mapping(config)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from . import ops

    ops.init_app(app)  # logs with request ids, /healthz /readyz /metrics: first, so every later hook's lines carry the id
    _check_secret_key(app)
    _neutral_dev_server_header()
    _load_curricula(app)
    _load_certificate_designs(app)
    _configure_database(app)

    from . import models  # noqa: F401  (the whole schema, for Alembic and relationships)
    from .extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    from .dashboard import summaries
    summaries.install()  # keeps the dashboard's summaries in step with every commit
    from . import files
    files.install()  # uploads written in a transaction that rolls back are removed
    files.limit_pillow(int(app.config.get("UPLOAD_MAX_PIXELS") or files.MAX_PIXELS))
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    from . import i18n

    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    from .people import auth

    auth.init_login(app, login_manager)

    with app.app_context():
        from . import db as dbmod

        dbmod.install_sqlite_pragmas(db.engine, app.config)
        dbmod.install_lock_timeout(db.engine, app.config)
        dbmod.install_write_tracking(db.engine)
        ops.install_slow_query_log(db.engine, app.config)

    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from . import ratelimit

    ratelimit.init_app(app)  # before the app's own request hooks: an over-limit request costs little
    from . import errors, permissions

    errors.init_app(app)
    permissions.init_app(app)
    i18n.init_app(app)
    _register_blueprints(app)
    _install_request_hooks(app)

    from . import cli

    cli.init_app(app)
    return app


#: the file ``make run`` writes the development key to, inside the instance folder
SECRET_KEY_FILE = "secret_key"


def _check_secret_key(app: Flask) -> None:
    """LMS_SECRET_KEY; else the key ``make run`` wrote to instance/secret_key (so every
    ``flask --app lms …`` command works in a checkout without exporting anything); else a
    throw-away key in debug and tests. Otherwise (production without either) refuse to start."""
    if app.config.get("SECRET_KEY"):
        return
    key_file = Path(app.instance_path) / SECRET_KEY_FILE
    try:
        key = key_file.read_text(encoding="utf-8").strip() if key_file.is_file() else ""
    except OSError:
        key = ""
    if key:
        app.config["SECRET_KEY"] = key
        return
    if app.debug or app.testing:
        app.config["SECRET_KEY"] = os.urandom(32).hex()
        return
    raise ConfigError(
        f"LMS_SECRET_KEY is not set and {key_file} does not exist. Set it in the environment "
        "(make run writes one to instance/secret_key for development)."
    )


#: the ``Server`` header of the development server (``flask run``, the browser tests' live server)
SERVER_HEADER = "7pas-lms"


def _neutral_dev_server_header() -> None:
    """Werkzeug's development server announces ``Werkzeug/<version> Python/<version>`` in every
    response's ``Server`` header (it writes the header itself, whatever the app sets); make it say a
    neutral name instead. The app sets no ``Server`` header of its own: gunicorn writes
    ``Server: gunicorn`` (its name only, no version, not configurable) and would repeat any second
    one; nginx in front hides its own version with ``server_tokens off``."""
    from werkzeug.serving import WSGIRequestHandler

    WSGIRequestHandler.version_string = lambda self: SERVER_HEADER  # type: ignore[method-assign]


def _load_curricula(app: Flask) -> None:
    """Load every curriculum file; refuse to start on an invalid one."""
    from .programme.curriculum import CurriculumError, load_dir

    directory = app.config.get("CURRICULA_DIR") or str(ROOT / "curricula")
    try:
        app.extensions["lms.curricula"] = load_dir(directory)
        from .feedback.questions import load_all  # session feedback forms and knowledge tests

        app.extensions["lms.assessments"] = load_all(directory, app.extensions["lms.curricula"])
    except CurriculumError as e:
        raise ConfigError("invalid curriculum:\n  " + "\n  ".join(e.problems)) from None


def _load_certificate_designs(app: Flask) -> None:
    """Validate the certificate designs (certificates/*/); refuse to start on an invalid one."""
    from .certification import load_designs, warn_if_slow_fonts
    from .certification.designs import DesignError

    try:
        load_designs(app)
    except DesignError as e:
        raise ConfigError("invalid certificate design:\n  " + "\n  ".join(e.problems)) from None
    warn_if_slow_fonts(app)


def _configure_database(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + str(Path(app.instance_path) / "lms.sqlite3")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("postgresql") and not app.config.get("DATABASE_PREPARED_STATEMENTS", True):
        opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        opts["connect_args"] = {**opts.get("connect_args", {}), "prepare_threshold": None}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts
    if url.startswith("sqlite"):
        opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        opts.pop("pool_pre_ping", None)
        wait = int(app.config.get("DATABASE_LOCK_TIMEOUT_MS") or 0) / 1000
        opts.setdefault("connect_args", {"timeout": wait, "check_same_thread": False})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts


def _register_blueprints(app: Flask) -> None:
    from .certification.views import bp as certification_bp
    from .core.views import bp as core_bp
    from .people.views import bp as people_bp
    from .places.views import bp as places_bp
    from .programme.views import bp as programme_bp
    from .sessions.views import bp as sessions_bp
    from .visits.views import bp as visits_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(people_bp)
    from .people.security_views import bp as security_bp

    app.register_blueprint(security_bp)
    app.register_blueprint(places_bp)
    app.register_blueprint(programme_bp)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(visits_bp)
    app.register_blueprint(certification_bp)
    from .credentials.views import bp as credentials_bp  # Open Badges credentials: profile, status lists, check

    app.register_blueprint(credentials_bp)
    from .dashboard import bp as dashboard_bp
    from .feedback.views import bp as feedback_bp

    app.register_blueprint(feedback_bp)

    app.register_blueprint(dashboard_bp)
    from .audit import bp as audit_bp
    from .reports import bp as reports_bp

    app.register_blueprint(reports_bp)
    app.register_blueprint(audit_bp)
    from .imports import bp as imports_bp

    app.register_blueprint(imports_bp)
    from .privacy.views import bp as privacy_bp

    app.register_blueprint(privacy_bp)
    from .api import init_app as init_api

    init_api(app)  # the JSON API under /api/v1 (flask-smorest), its token page and OpenAPI document
    from .certification import init_app as init_certification

    init_certification(app)
    from .notifications import init_app as init_notifications

    init_notifications(app)
    from .webhooks import init_app as init_webhooks  # subscribes to the events notifications dispatches

    init_webhooks(app)


def _install_request_hooks(app: Flask) -> None:
    from .db import reset_write_intent, set_write_intent

    @app.before_request
    def _refuse_nul_bytes() -> None:
        # NUL is never valid text input, and PostgreSQL refuses it in any text parameter
        # (a 500 on the search box, the sign-in form, …): refuse it up front as a bad request.
        from flask import abort

        sources = [request.args] + ([request.form] if request.method == "POST" else [])
        if any("\x00" in v for src in sources for vs in src.listvalues() for v in vs):
            abort(400)

    @app.before_request
    def _mark_writes() -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            request.environ["lms.write_token"] = set_write_intent(True)

    @app.teardown_request
    def _unmark_writes(_exc: BaseException | None) -> None:
        token = request.environ.pop("lms.write_token", None)
        if token is not None:
            reset_write_intent(token)

    @app.teardown_request
    def _end_reads(exc: BaseException | None) -> None:
        # (runs before Flask-SQLAlchemy removes the session, which rolls back what is left)
        from .db import end_reads
        from .extensions import db

        if exc is None and db.session.registry.has():
            try:
                end_reads(db.session())
            except Exception:  # noqa: BLE001 - the page is sent; the session's removal rolls back
                app.logger.warning("could not end a reading transaction", exc_info=True)

    @app.after_request
    def _security_headers(resp):  # type: ignore[no-untyped-def]
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        return resp
