"""The admins' actions on webhook endpoints. Each takes the acting user explicitly, checks the
rule ("webhooks.manage"), runs in one transaction and leaves an audit entry (never the secret)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import outbox
from ..audit import services as audit
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..permissions import can
from . import addresses, catalog, payloads, signing
from .models import WebhookDelivery, WebhookEndpoint, WebhookStatus

#: deliveries shown per page on an endpoint's page
PAGE = 50


@dataclass
class EndpointInput:
    url: str
    description: str = ""
    events: list[str] = field(default_factory=list)


def _require(actor: Any) -> None:
    if not can(actor, "webhooks.manage"):
        raise NotAllowed()


def _clean(data: EndpointInput) -> EndpointInput:
    """The input's rules: a safe URL (checked now, and again at every send), known events, short text."""
    reasons: dict[str, list[str]] = {}
    url = (data.url or "").strip()
    if not url or len(url) > 500:
        reasons["url"] = [_("Alamat wajib diisi, paling banyak 500 karakter.")]
    else:
        try:
            addresses.check(url, bool(current_app.config.get("WEBHOOKS_ALLOW_HTTP_LOCAL")))
        except (addresses.Refused, addresses.Unresolved) as e:
            reasons["url"] = [str(e)]
    events = list(dict.fromkeys(data.events or []))
    unknown = [e for e in events if e not in catalog.OFFERED]
    if unknown:
        reasons["events"] = [_("Peristiwa tidak dikenal: %(names)s", names=", ".join(unknown))]
    elif not events:
        reasons["events"] = [_("Pilih paling sedikit satu peristiwa.")]
    description = " ".join((data.description or "").split())
    if len(description) > 200:
        reasons["description"] = [_("Keterangan paling banyak 200 karakter.")]
    if reasons:
        raise Invalid(reasons)
    return EndpointInput(url=url, description=description, events=events)


def create_endpoint(actor: Any, data: EndpointInput, *, ip: str | None = None) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint owned by ``actor``; returns it and its secret (to show once)."""
    _require(actor)
    data = _clean(data)
    secret = signing.new_secret()
    with transaction():
        ep = WebhookEndpoint(owner_id=actor.id, url=data.url, description=data.description, events=data.events,
                             secret=secret, active=True)
        db.session.add(ep)
        db.session.flush()
        audit.record("webhook.created", actor=actor, target=ep, ip=ip, url=ep.url, events=ep.events)
    return ep, secret


def update_endpoint(actor: Any, ep: WebhookEndpoint, data: EndpointInput, *, ip: str | None = None) -> WebhookEndpoint:
    _require(actor)
    data = _clean(data)
    with transaction():
        changes: dict[str, Any] = {}
        for name in ("url", "description", "events"):
            old, new = getattr(ep, name), getattr(data, name)
            if old != new:
                changes[name] = {"old": old, "new": new}
                setattr(ep, name, new)
        if changes:
            audit.record("webhook.updated", actor=actor, target=ep, ip=ip, changes=changes)
    return ep


def set_active(actor: Any, ep: WebhookEndpoint, active: bool, *, ip: str | None = None) -> None:
    """Stop (or resume) an endpoint. Deliveries already waiting are skipped while it is stopped."""
    _require(actor)
    with transaction():
        if ep.active != active:
            ep.active = active
            audit.record("webhook.updated", actor=actor, target=ep, ip=ip,
                         changes={"active": {"old": not active, "new": active}})


def rotate_secret(actor: Any, ep: WebhookEndpoint, *, ip: str | None = None) -> str:
    """A new secret at once (the old one stops verifying): returns it, to show once."""
    _require(actor)
    secret = signing.new_secret()
    with transaction():
        ep.secret = secret
        audit.record("webhook.secret_rotated", actor=actor, target=ep, ip=ip)
    return secret


def delete_endpoint(actor: Any, ep: WebhookEndpoint, *, ip: str | None = None) -> None:
    """The endpoint and its delivery history; what is waiting is never sent."""
    _require(actor)
    with transaction():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)
                              .where(WebhookDelivery.endpoint_id == ep.id)) or 0
        audit.record("webhook.deleted", actor=actor, target=ep, ip=ip, url=ep.url, deliveries=int(n))
        db.session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id)
                           .execution_options(synchronize_session=False))
        db.session.delete(ep)


def send_ping(actor: Any, ep: WebhookEndpoint, now: datetime | None = None) -> WebhookDelivery:
    """A test event ("webhook.ping") to the endpoint, sent by the worker like any other."""
    _require(actor)
    if not ep.active:
        raise Invalid(_("Endpoint ini nonaktif; aktifkan dulu untuk mengirim uji coba."))
    now = now or utcnow()
    uid = signing.new_id()
    with transaction():
        d = WebhookDelivery(uid=uid, endpoint_id=ep.id, event_id=None, event=catalog.PING,
                            payload=payloads.ping(ep.id, uid, now), next_attempt_at=now, created_at=now)
        db.session.add(d)
        outbox.wake_after_commit()
    return d


def retry_delivery(actor: Any, d: WebhookDelivery, now: datetime | None = None) -> None:
    """Send a failed delivery again, as it was (same id and body: the receiver can tell a replay)."""
    _require(actor)
    if d.status is not WebhookStatus.FAILED:
        raise Invalid(_("Hanya kiriman yang gagal yang bisa dikirim ulang."))
    if not d.payload:
        raise Invalid(_("Kiriman ini tidak punya isi untuk dikirim ulang."))
    with transaction():
        previous = d.last_error
        d.status = WebhookStatus.PENDING
        d.attempts = 0
        d.next_attempt_at = now or utcnow()
        d.claimed_at = None
        audit.record("webhook.retried", actor=actor, target=d.endpoint, delivery=d.uid, previous_error=previous)
        outbox.wake_after_commit()


# --- reading ---------------------------------------------------------------------------------------

def endpoints(actor: Any) -> list[tuple[WebhookEndpoint, WebhookDelivery | None]]:
    """Every endpoint with its latest delivery (three queries, however many there are)."""
    _require(actor)
    eps = list(db.session.scalars(sa.select(WebhookEndpoint).options(sa.orm.joinedload(WebhookEndpoint.owner))
                                  .order_by(WebhookEndpoint.id)))
    if not eps:
        return []
    latest = (sa.select(sa.func.max(WebhookDelivery.id))
              .where(WebhookDelivery.endpoint_id.in_([e.id for e in eps]))
              .group_by(WebhookDelivery.endpoint_id))
    last = {d.endpoint_id: d for d in db.session.scalars(sa.select(WebhookDelivery).where(
        WebhookDelivery.id.in_(latest)))}
    return [(e, last.get(e.id)) for e in eps]


def deliveries(actor: Any, ep: WebhookEndpoint, *, before_id: int | None = None, size: int = PAGE) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first (one query)."""
    _require(actor)
    q = sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id)
    if before_id:
        q = q.where(WebhookDelivery.id < before_id)
    return list(db.session.scalars(q.order_by(WebhookDelivery.id.desc()).limit(size)))


def counts(actor: Any, ep: WebhookEndpoint) -> dict[str, int]:
    _require(actor)
    rows = db.session.execute(sa.select(WebhookDelivery.status, sa.func.count())
                              .where(WebhookDelivery.endpoint_id == ep.id).group_by(WebhookDelivery.status))
    return {s.value: int(n) for s, n in rows}
