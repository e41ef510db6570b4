"""The public JSON API under /api/v1 (see views and the OpenAPI document it serves)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API blueprint and its OpenAPI document (lms/api/core.py), the token page and CLI."""
    from . import core, token_views

    core.init_app(app)
    app.register_blueprint(token_views.bp)
