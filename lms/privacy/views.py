"""The privacy pages: the notice and consent, "Data saya" (export), correction and erasure
requests, and the admin's pages (access records, retention, breaches). Each idea has its own
module of routes on the one blueprint."""
from __future__ import annotations

from . import access_views, admin_views, export_views, notice_views, request_views  # noqa: F401  (register the routes)
from .blueprint import bp

__all__ = ["bp"]
