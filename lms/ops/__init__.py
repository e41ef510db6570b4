"""A view inside: structured logs with request ids (logs.py), slow statements (slowquery.py),
Prometheus metrics (metrics.py), and the /healthz, /readyz and /metrics endpoints (views.py).

``create_app`` calls :func:`init_app` before any other request hook is installed, so every later
hook's log lines carry the request id, and :func:`install_slow_query_log` once the engine exists.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa
from flask import Flask


def init_app(app: Flask) -> None:
    from ..extensions import csrf
    from . import logs, views

    logs.configure_logging(app)
    _hide_parameters(app)
    logs.init_request_hooks(app)
    app.register_blueprint(views.bp)
    csrf.exempt(views.bp)


def _hide_parameters(app: Flask) -> None:
    """The bound values of a failed statement (names, e-mail addresses, phone numbers) stay out of
    exception texts and so out of the logs (SQLAlchemy's ``hide_parameters``). Call before the
    engine is made."""
    opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})  # (a copy: the default is shared)
    opts.setdefault("hide_parameters", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts


def install_slow_query_log(engine: sa.Engine, config: Mapping[str, Any]) -> None:
    from . import slowquery

    slowquery.install(engine, config)
