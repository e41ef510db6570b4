"""Helpers shared by the tests that send messages (notifications, privacy consent, metrics)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from lms.i18n import WIB
from lms.notifications import events


def cert_event(factory: Any, locale: str | None = None, phone: str = "+6281234500001") -> tuple[Any, Any]:
    """A trainee holding a certificate, made quietly: each test announces the event it studies."""
    with events.muted():
        holder = factory.user("trainee", phone=phone, locale=locale)
        session = factory.session(region="3171")
        factory.register(session, holder, "present")
        cert = factory.certificate(session=session, holder=holder)
    return holder, cert


def noon_wib() -> datetime:
    """The next noon in Jakarta (outside any quiet hours, and after anything written just now)."""
    d = datetime.now(WIB).date() + timedelta(days=1)
    return datetime(d.year, d.month, d.day, 12, 0, tzinfo=WIB).astimezone(timezone.utc)
