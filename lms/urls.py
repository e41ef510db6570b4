"""Absolute links for places outside the site: messages, set-up links, QR codes, calendar feeds.

They are built from ``BASE_URL`` (LMS_BASE_URL), never from the request: a request's ``Host``
header is whatever the sender typed, so a link built from it could point anywhere (a password
set-up link sent to ``evil.example`` hands the account over). The CLI and background jobs,
which have no request, build the same links.
"""
from __future__ import annotations

from typing import Any

from flask import current_app


def base_url() -> str:
    """The site's public address without a trailing slash, e.g. ``https://7pas.example.go.id``."""
    return str(current_app.config["BASE_URL"]).rstrip("/")


def external_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` as an absolute URL under ``BASE_URL`` (values the route
    does not take become the query string)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base_url() + path
