"""Notifications: domain events with a transactional outbox, the in-app list (the bell),
e-mail and WhatsApp messages sent by a worker, preferences, reminders and broadcasts.

events.py     announce() inside a service's transaction; subscribers run after the commit
dispatch.py   event → notifications + deliveries (fan-out); delivery → channel (claim, send, record)
channels.py   SMTP and the WhatsApp Cloud API (one class per channel)
worker.py     the in-process thread, RQ, or nothing (cron/tests)
subscribers.py who is told what, per event, in their language, within the rulebook
reminders.py  scheduled reminders, once per period
"""
from __future__ import annotations

from typing import Any

import click
from flask import Flask, g
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

DELIVERY_STATUS_LABELS = {
    "pending": _l("Menunggu"), "sending": _l("Sedang dikirim"), "sent": _l("Terkirim"), "failed": _l("Gagal"),
    "kept": _l("Tersimpan"), "skipped": _l("Tidak dikirim"),
}


def unread_for_current_user() -> int:
    """The bell's number, read once per request (the header of every page); a page that registered
    ``unread_column()`` with lms.people.auth.read_with_user has it from the sign-in statement already."""
    if not getattr(current_user, "is_authenticated", False):
        return 0
    if "lms_unread" not in g:
        preloaded = (g.get("with_user") or {}).get(UNREAD)
        if preloaded is None:
            from . import services

            preloaded = services.unread_count(current_user)
        g.lms_unread = preloaded
    return int(g.lms_unread)


UNREAD = "notifications_unread"


def unread_column() -> Any:
    """The bell's number as a scalar subquery correlated to the users table (lms.people.auth.read_with_user)."""
    import sqlalchemy as sa

    from ..people.models import User
    from .models import Notification

    return (sa.select(sa.func.count()).select_from(Notification)
            .where(Notification.user_id == User.id, Notification.read_at.is_(None))
            .scalar_subquery().label(UNREAD))


@click.group("notifications")
def notifications_cli() -> None:
    """Domain events and outgoing messages."""


@notifications_cli.command("run")
@with_appcontext
def run_command() -> None:
    """One pass: dispatch committed events and send what is due (for cron without a worker)."""
    from . import dispatch

    result = dispatch.run_once()
    click.echo(", ".join(f"{k}: {v}" for k, v in result.items()))


@click.group("reminders")
def reminders_cli() -> None:
    """Scheduled reminders."""


@reminders_cli.command("run")
@with_appcontext
def reminders_run() -> None:
    """Write this period's reminders (idempotent: run it hourly from cron) and send them."""
    from . import dispatch, reminders

    result = reminders.run_all()
    sent = dispatch.run_once()
    click.echo(", ".join(f"{k}: {v}" for k, v in {**result, **sent}.items()))


@click.command("scheduler")
@click.option("--once", is_flag=True, help="One pass and stop (for cron).")
@with_appcontext
def scheduler_command(once: bool) -> None:
    """The periodic work without the in-process thread: reminders (hourly), retention (daily) and a
    notifications run every NOTIFICATIONS_POLL_SECONDS (on RQ with LMS_REDIS_URL). Run one beside
    `flask --app lms worker`."""
    from flask import current_app

    from . import worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        out = worker.periodic_pass(app, {})
        click.echo(", ".join(f"{k}: {v}" for k, v in out.items()))
        return
    click.echo(f"scheduler: a pass every {app.config.get('NOTIFICATIONS_POLL_SECONDS', 60)} s (Ctrl+C stops)")
    worker.run_scheduler(app)


def init_app(app: Flask) -> None:
    from . import events, subscribers  # noqa: F401  (registers the subscribers)
    from .views import bp

    events.install()
    app.register_blueprint(bp)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(scheduler_command)

    @app.before_request
    def _start_worker_once() -> None:
        # after a restart, messages waiting for a retry or the end of quiet hours are picked up at once
        if not app.extensions.get("lms.notifications.started"):
            app.extensions["lms.notifications.started"] = True
            from . import worker

            if worker.mode(app) == "thread":
                worker.WORKER.kick(app)

    from ..people import auth

    auth.read_with_every_user(UNREAD, lambda: [unread_column()])  # the bell's count: in the sign-in statement

    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"unread_notifications": unread_for_current_user,
                "delivery_status_label": lambda s: DELIVERY_STATUS_LABELS.get(s, s)}
