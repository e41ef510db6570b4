"""From a committed event to notifications and messages, and from a message to the channel.

1. :func:`dispatch_event` claims a pending event (a conditional UPDATE in the same
   transaction as everything it writes), asks its subscribers for their audiences and
   writes, per person, the in-app notification and one :class:`Delivery` per enabled
   channel, in that person's language. Only people the rulebook lets see the object are
   told (``Audience.visible``). A subscriber that raises rolls the whole fan-out back; the
   event stays pending and is tried again (three times, then marked failed for admins).
2. :func:`send_one` claims a due delivery (``pending`` → ``sending``, committed) and only
   then calls the channel; the outcome is recorded afterwards. A worker that dies between
   the two leaves the row ``sending``; :func:`recover_interrupted` fails such rows as
   "interrupted" after a while instead of sending them again, so nobody gets a message
   twice. Temporary errors are retried with exponential backoff up to a maximum number of
   attempts; permanent ones fail at once with the reason, and admins can retry them.
"""
from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale

from ..db import transaction, utcnow
from ..extensions import db
from ..i18n import WIB
from ..ops import metrics
from ..people.models import User
from . import events
from .channels import CHANNELS, PermanentError, TemporaryError
from .models import Delivery, DeliveryStatus, EventStatus, Notification, NotificationPreference, OutboxEvent

log = logging.getLogger(__name__)

APP = "app"
#: a delivery still "sending" after this long was interrupted (the worker died mid-send)
INTERRUPTED_AFTER = timedelta(minutes=10)
#: a fan-out that raised is tried this many times before the event is marked failed
EVENT_MAX_ATTEMPTS = 3


@dataclass
class Content:
    """What one person is told, already in their language."""

    title: str
    body: str = ""
    #: a path inside the site ("/evidence/5"); made absolute (LMS_BASE_URL) for e-mail and WhatsApp
    url: str | None = None
    #: files for the e-mail: (filename, mimetype, bytes)
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


@dataclass
class Audience:
    """People to tell about an event, and how."""

    users: Iterable[User]
    compose: Callable[[User], Content]
    #: which channels: "app" (the bell), "email", "whatsapp"
    channels: tuple[str, ...] = (APP, "email", "whatsapp")
    #: the person asked for it (a set-up link): not held back by quiet hours
    urgent: bool = False
    #: the rulebook check for what the message reveals; people failing it are not told
    visible: Callable[[User], bool] | None = None
    #: the person asked for this very message (a sign-in code, a set-up link): WhatsApp carries it
    #: without the marketing opt-in (kept on the row as ``template["transactional"]``)
    transactional: bool = False
    #: the message holds a secret (a sign-in code): once SENT, the stored text and template
    #: parameters are blanked; a KEPT one (no channel here, the demo) keeps it for the outbox page
    redact_after_send: bool = False


#: what the stored text of a sent secret message becomes
REDACTED = "[disembunyikan setelah terkirim]"


# --- quiet hours ------------------------------------------------------------------------------

def in_quiet_hours(now: datetime, start: time, end: time) -> bool:
    t = now.astimezone(WIB).time()
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def quiet_until(now: datetime, start: time, end: time) -> datetime:
    """The first moment at or after ``now`` outside the quiet hours (UTC)."""
    if not in_quiet_hours(now, start, end):
        return now
    local = now.astimezone(WIB)
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(now.tzinfo)


def preferences(user_ids: Iterable[int]) -> dict[int, NotificationPreference]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = db.session.scalars(sa.select(NotificationPreference).where(NotificationPreference.user_id.in_(ids)))
    return {p.user_id: p for p in rows}


def default_preference(user_id: int) -> NotificationPreference:
    return NotificationPreference(user_id=user_id, email_enabled=True, whatsapp_opt_in=False,
                                  quiet_start=time(21, 0), quiet_end=time(6, 0))


# --- fan-out --------------------------------------------------------------------------------

def absolute(url: str | None) -> str | None:
    if not url:
        return None
    if url.startswith(("http://", "https://")):
        return url
    return current_app.config["BASE_URL"].rstrip("/") + url


def _whatsapp_template(kind: str, locale: str, user: User, content: Content) -> dict[str, Any]:
    """The approved template for this kind of message (LMS_WHATSAPP_TEMPLATES), with its parameters."""
    cfg = current_app.config
    templates = cfg.get("WHATSAPP_TEMPLATES") or {}
    spec = templates.get(kind) or templates.get("default") or {"name": "lms_notification",
                                                               "params": ["name", "title", "url"]}
    codes = cfg.get("WHATSAPP_LANGUAGE_CODES") or {"id": "id", "en": "en"}
    values = {"name": (user.full_name or "").split(" ")[0], "full_name": user.full_name, "title": content.title,
              "body": content.body, "url": absolute(content.url) or cfg["BASE_URL"]}
    return {"name": spec["name"], "language": codes.get(locale, locale),
            "params": [values.get(p, "") for p in spec.get("params", [])]}


def _email_parts(user: User, content: Content, locale: str) -> tuple[str, str]:
    link = absolute(content.url)
    text = render_template("notifications/email.txt", user=user, content=content, link=link)
    html = render_template("notifications/email.html", user=user, content=content, link=link, lang=locale)
    return text, html


def _fan_out(event: OutboxEvent, audiences: Iterable[Audience], now: datetime) -> tuple[int, int]:
    cfg = current_app.config
    default_locale = cfg.get("BABEL_DEFAULT_LOCALE", "id")
    notes = deliveries = 0
    key = f"event:{event.id}"
    existing = {(d.user_id, d.channel) for d in db.session.execute(
        sa.select(Delivery.user_id, Delivery.channel).where(Delivery.key == key))}
    noted = set(db.session.scalars(sa.select(Notification.user_id).where(Notification.event_id == event.id)))
    for aud in audiences:
        users = [u for u in aud.users if u is not None and u.active]
        prefs = preferences(u.id for u in users)
        seen: set[int] = set()
        for user in users:
            if user.id in seen or (aud.visible is not None and not aud.visible(user)):
                continue
            seen.add(user.id)
            locale = user.locale or default_locale
            pref = prefs.get(user.id) or default_preference(user.id)
            with force_locale(locale):
                content = aud.compose(user)
                if APP in aud.channels and user.id not in noted:
                    db.session.add(Notification(user_id=user.id, event_id=event.id, kind=event.name,
                                                title=content.title[:300], body=content.body, url=content.url))
                    noted.add(user.id)
                    notes += 1
                for name in aud.channels:
                    if name == APP or (user.id, name) in existing:
                        continue
                    channel = CHANNELS[name]
                    address = channel.address(user)
                    if not address:
                        continue
                    if name == "email" and not pref.email_enabled:
                        continue
                    if name == "whatsapp" and not pref.whatsapp_opt_in and not aud.transactional:
                        continue
                    d = Delivery(event_id=event.id, key=key, user_id=user.id, channel=name, kind=event.name,
                                 address=address, locale=locale, subject=content.title[:300], urgent=aud.urgent,
                                 body_text=content.body, next_attempt_at=now)
                    if name == "email":
                        d.body_text, d.body_html = _email_parts(user, content, locale)
                        d.attachments = [{"filename": f, "mimetype": m, "content": base64.b64encode(b).decode()}
                                         for f, m, b in content.attachments] or None
                    elif name == "whatsapp":
                        d.template = _whatsapp_template(event.name, locale, user, content)
                        if aud.transactional:
                            d.template["transactional"] = True
                        if aud.redact_after_send:
                            d.template["redact"] = True
                        if not aud.urgent:
                            d.next_attempt_at = quiet_until(now, pref.quiet_start, pref.quiet_end)
                    if not channel.configured(cfg):
                        d.status = DeliveryStatus.KEPT
                    db.session.add(d)
                    existing.add((user.id, name))
                    deliveries += 1
    return notes, deliveries


def dispatch_event(event_id: int, now: datetime | None = None) -> bool:
    """Turn one pending event into notifications and deliveries. True when this call did it."""
    now = now or utcnow()
    try:
        with transaction():
            claimed = db.session.execute(
                sa.update(OutboxEvent).where(OutboxEvent.id == event_id, OutboxEvent.status == EventStatus.PENDING)
                .values(status=EventStatus.DISPATCHED, dispatched_at=now, attempts=OutboxEvent.attempts + 1)
                .execution_options(synchronize_session=False)).rowcount
            if not claimed:
                return False
            event = db.session.get(OutboxEvent, event_id)
            assert event is not None
            db.session.refresh(event)
            # a request context on LMS_BASE_URL: url_for() and templates work in the worker as in a view
            with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
                audiences: list[Audience] = []
                for handler in events.subscribers_of(event.name):
                    audiences.extend(handler(event) or ())
                _fan_out(event, audiences, now)
            event.secret = None  # a set-up link lives on only in the messages written for it
        return True
    except Exception as e:  # a subscriber failed: the fan-out rolled back; count the attempt
        log.exception("dispatching event %s failed", event_id)
        with transaction():
            ev = db.session.get(OutboxEvent, event_id)
            if ev is not None and ev.status is EventStatus.PENDING:
                ev.attempts += 1
                ev.error = f"{type(e).__name__}: {e}"[:500]
                if ev.attempts >= EVENT_MAX_ATTEMPTS:
                    ev.status = EventStatus.FAILED
        return False


def dispatch_pending(limit: int = 200, now: datetime | None = None) -> int:
    ids = db.session.scalars(sa.select(OutboxEvent.id).where(OutboxEvent.status == EventStatus.PENDING)
                             .order_by(OutboxEvent.id).limit(limit)).all()
    db.session.rollback()  # end the read before the write transactions
    return sum(1 for i in ids if dispatch_event(i, now))


# --- sending --------------------------------------------------------------------------------

def backoff(attempts: int, base_seconds: float) -> timedelta:
    """1, 2, 4, 8 … × base, at most six hours."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 6 * 3600))


def send_one(delivery_id: int, now: datetime | None = None, *, after_send: Callable[[], None] | None = None) -> str:
    """Send one due delivery; returns its status afterwards. ``after_send`` is a test hook run
    between the channel's answer and the recording of it (where a dying worker would stop)."""
    now = now or utcnow()
    cfg = current_app.config
    with transaction():
        claimed = db.session.execute(
            sa.update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING,
                   Delivery.next_attempt_at <= now)
            .values(status=DeliveryStatus.SENDING, claimed_at=now, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        d = db.session.get(Delivery, delivery_id)
        return d.status.value if d else "missing"
    d = db.session.get(Delivery, delivery_id)
    assert d is not None
    channel = CHANNELS[d.channel]

    def settle(**values: Any) -> None:
        with transaction():
            db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id,
                                                         Delivery.status == DeliveryStatus.SENDING)
                               .values(**values).execution_options(synchronize_session=False))

    if d.channel == "whatsapp":
        pref = db.session.get(NotificationPreference, d.user_id) if d.user_id else None
        transactional = bool((d.template or {}).get("transactional"))
        if pref is None and transactional:
            pref = default_preference(d.user_id or 0)
        if pref is None or not (pref.whatsapp_opt_in or transactional):  # consent withdrawn since written
            settle(status=DeliveryStatus.SKIPPED, last_error="no WhatsApp opt-in")
            return DeliveryStatus.SKIPPED.value
        later = quiet_until(now, pref.quiet_start, pref.quiet_end)
        if later > now and not d.urgent:
            settle(status=DeliveryStatus.PENDING, next_attempt_at=later, attempts=Delivery.attempts - 1)
            return DeliveryStatus.PENDING.value
    if d.channel == "email" and d.user_id:
        pref = db.session.get(NotificationPreference, d.user_id)
        if pref is not None and not pref.email_enabled:
            settle(status=DeliveryStatus.SKIPPED, last_error="e-mail turned off")
            return DeliveryStatus.SKIPPED.value
    if not channel.configured(cfg):
        settle(status=DeliveryStatus.KEPT)
        return DeliveryStatus.KEPT.value
    max_attempts = int(cfg.get("NOTIFICATIONS_MAX_ATTEMPTS", 5))
    try:
        provider_id = channel.send(d, cfg)
    except PermanentError as e:
        settle(status=DeliveryStatus.FAILED, last_error=str(e))
        _count(d.channel, "failed")
        return DeliveryStatus.FAILED.value
    except Exception as e:  # TemporaryError and anything unexpected: retry later
        msg = str(e) if isinstance(e, TemporaryError) else f"{type(e).__name__}: {e}"
        if d.attempts >= max_attempts:
            settle(status=DeliveryStatus.FAILED, last_error=f"{msg} (after {d.attempts} attempts)"[:500])
            _count(d.channel, "failed")
            return DeliveryStatus.FAILED.value
        wait = backoff(d.attempts, float(cfg.get("NOTIFICATIONS_RETRY_SECONDS", 60)))
        retry_after = getattr(e, "retry_after", None)
        if retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        settle(status=DeliveryStatus.PENDING, next_attempt_at=now + wait, last_error=msg[:500])
        return DeliveryStatus.PENDING.value
    if after_send is not None:
        after_send()
    extra: dict[str, Any] = {}
    if (d.template or {}).get("redact"):
        extra = {"body_text": REDACTED, "body_html": None, "subject": REDACTED,
                 "template": {**(d.template or {}), "params": [REDACTED for _p in (d.template or {}).get("params", [])]}}
    settle(status=DeliveryStatus.SENT, sent_at=utcnow(), provider_id=(provider_id or "")[:200], last_error=None,
           **extra)
    _count(d.channel, "sent")
    return DeliveryStatus.SENT.value


def _count(channel: str, outcome: str) -> None:
    counts = current_app.extensions.setdefault("lms.notifications.counts", {})
    counts[(channel, outcome)] = counts.get((channel, outcome), 0) + 1
    metrics.count_message(channel, outcome)  # lms_messages_total on /metrics


def recover_interrupted(now: datetime | None = None) -> int:
    """Fail deliveries left "sending" by a worker that died: they may have gone out, so they
    are never resent automatically (an admin can look and retry)."""
    now = now or utcnow()
    with transaction():
        return db.session.execute(
            sa.update(Delivery)
            .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - INTERRUPTED_AFTER)
            .values(status=DeliveryStatus.FAILED,
                    last_error="interrupted while sending: it may have been sent; not resent automatically")
            .execution_options(synchronize_session=False)).rowcount


def due_ids(now: datetime, limit: int = 100) -> list[int]:
    ids = db.session.scalars(sa.select(Delivery.id).where(Delivery.status == DeliveryStatus.PENDING,
                                                          Delivery.next_attempt_at <= now)
                             .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)).all()
    db.session.rollback()
    return list(ids)


def next_due() -> datetime | None:
    at = db.session.scalar(sa.select(sa.func.min(Delivery.next_attempt_at))
                           .where(Delivery.status == DeliveryStatus.PENDING))
    db.session.rollback()
    for _run, other_due in _senders.values():  # the other areas' waiting work (webhook retries)
        other = other_due()
        if other is not None and (at is None or other < at):
            at = other
    return at


#: other areas that send from this worker's pass, by name: ``run(now) -> processed`` and
#: ``next_due() -> datetime | None``. An area above notifications registers itself (webhooks:
#: lms/webhooks/__init__.py), so this area never imports it.
_senders: dict[str, tuple[Callable[[datetime], int], Callable[[], datetime | None]]] = {}


def add_sender(name: str, run: Callable[[datetime], int], due: Callable[[], datetime | None]) -> None:
    _senders[name] = (run, due)


@metrics.timed_job("notifications")
def run_once(now: datetime | None = None) -> dict[str, int]:
    """One pass: recover interrupted sends, dispatch committed events, send what is due."""
    now = now or utcnow()
    recovered = recover_interrupted(now)
    dispatched = 0
    while True:
        n = dispatch_pending(now=now)
        dispatched += n
        if n == 0:
            break
    sent = 0
    while True:
        ids = due_ids(now)
        if not ids:
            break
        for i in ids:
            send_one(i, now)
            sent += 1
        if len(ids) < 100:
            break
    result = {"recovered": recovered, "dispatched": dispatched, "processed": sent}
    for name, (run, _due) in _senders.items():
        result[name] = run(now)
    return result
