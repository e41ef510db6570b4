"""Webhooks: admins register HTTPS endpoints for domain events; the notifications worker delivers them signed.

catalog.py    which events an endpoint may receive (and which never), with their labels
payloads.py   a delivery's body, built once with the endpoint owner's rights
addresses.py  https:// to public addresses only (checked when saved and at every send: SSRF)
signing.py    secrets and the Standard Webhooks signature headers
delivery.py   the subscriber (event → deliveries) and the worker side (claim, POST, backoff)
services.py   the admins' actions (create, edit, rotate, deactivate, delete, ping, retry)
views.py      /admin/webhooks

Webhooks is an area above notifications: it subscribes to the events through the notifications
area's dispatch and hands its sender to that worker (``dispatch.add_sender``); notifications never
imports webhooks.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "pending": _l("Menunggu"), "sending": _l("Sedang dikirim"), "delivered": _l("Terkirim"),
    "failed": _l("Gagal"), "skipped": _l("Tidak dikirim"),
}


def init_app(app: Flask) -> None:
    from ..notifications import dispatch
    from . import delivery
    from .views import bp

    delivery.subscribe()  # after the notifications' subscribers (init_app order in lms/__init__.py)
    dispatch.add_sender("webhooks", delivery.deliver_due, delivery.next_due)
    app.register_blueprint(bp)

    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"webhook_status_label": lambda s: STATUS_LABELS.get(s, s)}
