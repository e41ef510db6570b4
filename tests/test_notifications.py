"""Domain events, the outbox, delivery over real local SMTP and WhatsApp servers, quiet hours,
retries, idempotency, preferences, the bell and the admins' outbox."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from lms.db import transaction, utcnow
from lms.extensions import db
from lms.i18n import WIB
from lms.notifications import dispatch, events, services
from lms.notifications.models import Delivery, DeliveryStatus, EventStatus, Notification, OutboxEvent
from tests.notification_helpers import cert_event as _cert_event, noon_wib as _noon_wib


def _opt_in(user, source="test"):  # type: ignore[no-untyped-def]
    with transaction():
        services.record_whatsapp_opt_in(user, source=source)


def _announce(name, payload, **kw):  # type: ignore[no-untyped-def]
    """Announce in a transaction of its own; the event row written at its commit."""
    with transaction():
        assert events.announce(name, payload, **kw)
    return db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1)).one()


# --- the outbox --------------------------------------------------------------------------------

def test_a_rolled_back_transaction_announces_nothing(app, factory, channels):
    smtp, wa = channels
    holder, cert = _cert_event(factory)
    with pytest.raises(RuntimeError):
        with transaction():
            events.announce("certificate.issued", {"certificate_id": cert.id})
            raise RuntimeError("the change failed")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 0
    dispatch.run_once()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    assert smtp.messages == [] and wa.received == []


def test_an_unknown_event_name_is_refused(app):
    with pytest.raises(KeyError):
        _announce("evidence.teleported", {})


def test_event_becomes_notification_email_and_whatsapp(app, factory, channels):
    smtp, wa = channels
    holder, cert = _cert_event(factory)
    _opt_in(holder)
    ev = _announce("certificate.issued", {"certificate_id": cert.id})
    assert ev.status is EventStatus.PENDING
    result = dispatch.run_once(_noon_wib())
    assert result["dispatched"] == 1
    db.session.refresh(ev)
    assert ev.status is EventStatus.DISPATCHED
    note = db.session.scalars(sa.select(Notification).where(Notification.user_id == holder.id)).one()
    assert cert.serial in note.body and note.url == f"/certificates/{cert.id}"
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    assert msg["To"].addresses[0].addr_spec == holder.email
    assert msg["Content-Language"] == "id"
    assert "Sertifikat terbit" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert f"http://127.0.0.1:5000/certificates/{cert.id}" in text and f"/certificates/{cert.id}" in html
    assert len(wa.received) == 1
    body = wa.received[0]
    assert body["to"] == "6281234500001" and body["type"] == "template"
    assert body["template"]["language"]["code"] == "id"
    params = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert params[0] == holder.full_name.split(" ")[0] and params[2].endswith(f"/certificates/{cert.id}")
    sent = db.session.scalars(sa.select(Delivery).order_by(Delivery.channel)).all()
    assert [(d.channel, d.status) for d in sent] == [("email", DeliveryStatus.SENT), ("whatsapp", DeliveryStatus.SENT)]
    assert sent[1].provider_id.startswith("wamid.")


def test_messages_follow_the_persons_language(app, factory, channels):
    smtp, _wa = channels
    holder, cert = _cert_event(factory, locale="en")
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once()
    msg = smtp.messages[0]
    assert msg["Content-Language"] == "en"
    assert msg["Subject"].startswith("Certificate issued")
    html, text = msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()
    assert 'lang="en"' in html
    # the templates' own strings too (both parts: the plain one is not autoescaped)
    assert f"Hello {holder.full_name}," in html and "Manage notifications" in html and "Halo" not in html
    assert f"Hello {holder.full_name}," in text and "Manage notifications: http" in text and "Atur" not in text
    note = db.session.scalars(sa.select(Notification)).one()
    assert note.title.startswith("Certificate issued")


def test_no_whatsapp_without_opt_in_and_withdrawal_stops_it(app, factory, channels):
    smtp, wa = channels
    holder, cert = _cert_event(factory)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_noon_wib())
    assert wa.received == [] and len(smtp.messages) == 1  # never opted in: no WhatsApp at all
    # opted in, then withdrew after the message was written: it is not sent
    holder2, cert2 = _cert_event(factory, phone="+6281234500002")
    _opt_in(holder2)
    _announce("certificate.issued", {"certificate_id": cert2.id})
    dispatch.dispatch_pending()
    with transaction():
        services.save_preferences(holder2, holder2, services.PreferenceInput(
            email_enabled=True, whatsapp_opt_in=False, quiet_start=time(21), quiet_end=time(6)))
    dispatch.run_once(_noon_wib())
    assert wa.received == []
    d = db.session.scalars(sa.select(Delivery).where(Delivery.user_id == holder2.id,
                                                     Delivery.channel == "whatsapp")).one()
    assert d.status is DeliveryStatus.SKIPPED


def test_dispatching_and_sending_twice_sends_once(app, factory, channels):
    smtp, wa = channels
    holder, cert = _cert_event(factory)
    _opt_in(holder)
    ev = _announce("certificate.issued", {"certificate_id": cert.id})
    assert dispatch.dispatch_event(ev.id) is True
    assert dispatch.dispatch_event(ev.id) is False
    ids = [d.id for d in db.session.scalars(sa.select(Delivery))]
    now = _noon_wib()
    for i in ids:
        dispatch.send_one(i, now)
        dispatch.send_one(i, now)
    dispatch.run_once(now)
    assert len(smtp.messages) == 1 and len(wa.received) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1


def test_a_worker_killed_between_sent_and_recorded_does_not_send_twice(app, factory, channels):
    smtp, _wa = channels
    holder, cert = _cert_event(factory)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.dispatch_pending()
    d = db.session.scalars(sa.select(Delivery)).one()

    class WorkerDied(BaseException):
        pass

    def die() -> None:
        raise WorkerDied()

    now = utcnow()
    with pytest.raises(WorkerDied):
        dispatch.send_one(d.id, now, after_send=die)
    db.session.rollback()
    assert len(smtp.messages) == 1
    # another worker comes along, now and much later: the message is never sent again
    dispatch.run_once(now)
    dispatch.run_once(now + timedelta(hours=1))
    assert len(smtp.messages) == 1
    db.session.refresh(d)
    assert d.status is DeliveryStatus.FAILED and "interrupted" in d.last_error


def test_quiet_hours_hold_whatsapp_until_morning(app, factory, channels):
    smtp, wa = channels
    holder, cert = _cert_event(factory)
    _opt_in(holder)
    night = datetime.now(WIB).replace(hour=22, minute=30, second=0, microsecond=0).astimezone(timezone.utc)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(night)
    assert len(smtp.messages) == 1 and wa.received == []  # e-mail has no quiet hours
    d = db.session.scalars(sa.select(Delivery).where(Delivery.channel == "whatsapp")).one()
    assert d.status is DeliveryStatus.PENDING
    assert d.next_attempt_at.astimezone(WIB).time() == time(6, 0)
    dispatch.run_once(night + timedelta(hours=3))  # 01:30 WIB
    assert wa.received == []
    dispatch.run_once(d.next_attempt_at + timedelta(minutes=1))
    assert len(wa.received) == 1


def test_a_set_up_link_the_person_asked_for_is_not_held(app, factory, channels):
    _smtp, wa = channels
    with events.muted():
        user = factory.user("trainee", phone="+6281234500009")
    _opt_in(user)
    night = datetime.now(WIB).replace(hour=23, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    _announce("password.reset", {"user_id": user.id, "requested_by_self": True},
              secret="http://127.0.0.1:5000/set-password/abc")
    dispatch.run_once(night)
    assert len(wa.received) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0  # never in the app list
    assert db.session.scalars(sa.select(OutboxEvent)).one().secret is None  # erased once dispatched


def test_quiet_hours_are_the_persons_choice():
    start, end = time(21), time(6)
    at = lambda h, m=0: datetime(2026, 12, 7, h, m, tzinfo=WIB).astimezone(timezone.utc)  # noqa: E731
    assert dispatch.in_quiet_hours(at(21), start, end) and dispatch.in_quiet_hours(at(5, 59), start, end)
    assert not dispatch.in_quiet_hours(at(6), start, end) and not dispatch.in_quiet_hours(at(20, 59), start, end)
    assert dispatch.quiet_until(at(23), start, end) == datetime(2026, 12, 8, 6, tzinfo=WIB)
    assert dispatch.quiet_until(at(3), start, end) == datetime(2026, 12, 7, 6, tzinfo=WIB)
    assert dispatch.quiet_until(at(12), start, end) == at(12)
    assert not dispatch.in_quiet_hours(at(3), time(0), time(0))  # no quiet hours
    assert dispatch.in_quiet_hours(at(13), time(12), time(14)) and not dispatch.in_quiet_hours(at(15), time(12), time(14))


def test_an_invalid_whatsapp_number_is_a_permanent_failure_shown_to_admins(app, factory, channels, client, login_as):
    _smtp, wa = channels
    holder, cert = _cert_event(factory, phone="+6281234500404")
    wa.invalid.add("6281234500404")
    _opt_in(holder)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_noon_wib())
    d = db.session.scalars(sa.select(Delivery).where(Delivery.channel == "whatsapp")).one()
    assert d.status is DeliveryStatus.FAILED and d.attempts == 1
    assert "131026" in d.last_error
    admin = login_as("admin")
    page = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "131026" in page and holder.full_name in page
    detail = client.get(f"/admin/outbox/{d.id}").get_data(as_text=True)
    assert "Kirim ulang" in detail
    # fixed (the number is on WhatsApp now): the admin retries and it goes
    wa.invalid.clear()
    resp = client.form_post(f"/admin/outbox/{d.id}/retry")
    assert resp.status_code == 302
    dispatch.run_once(_noon_wib() + timedelta(minutes=1))
    db.session.refresh(d)
    assert d.status is DeliveryStatus.SENT and len(wa.received) == 1
    from lms.audit.models import AuditEntry

    assert db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "notification.retry")).one().actor_id == admin.id


def test_rate_limited_whatsapp_is_retried(app, factory, channels):
    _smtp, wa = channels
    holder, cert = _cert_event(factory)
    _opt_in(holder)
    wa.rate_limited = 1
    _announce("certificate.issued", {"certificate_id": cert.id})
    now = _noon_wib()
    dispatch.run_once(now)
    d = db.session.scalars(sa.select(Delivery).where(Delivery.channel == "whatsapp")).one()
    assert d.status is DeliveryStatus.PENDING and "130429" in d.last_error and d.next_attempt_at > now
    dispatch.run_once(d.next_attempt_at)
    db.session.refresh(d)
    assert d.status is DeliveryStatus.SENT and len(wa.received) == 1


def test_smtp_down_means_retries_then_a_visible_failure(app, factory):
    from tests.servers import free_port

    app.config.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": free_port(), "MAIL_USE_TLS": False,
                       "MAIL_TIMEOUT": 2})  # nothing listens there
    app.config["NOTIFICATIONS_MAX_ATTEMPTS"] = 3
    holder, cert = _cert_event(factory)
    _announce("certificate.issued", {"certificate_id": cert.id})
    now = utcnow()
    dispatch.run_once(now)
    d = db.session.scalars(sa.select(Delivery)).one()
    waits = []
    for _ in range(5):
        db.session.refresh(d)
        if d.status is not DeliveryStatus.PENDING:
            break
        waits.append(d.next_attempt_at - now)
        now = d.next_attempt_at
        dispatch.run_once(now)
    db.session.refresh(d)
    assert d.status is DeliveryStatus.FAILED and d.attempts == 3 and "after 3 attempts" in d.last_error
    assert waits == [timedelta(seconds=60), timedelta(seconds=120)]  # exponential backoff
    # the certificate (the user's action) is there all the same, and the in-app notification too
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1


def test_refused_recipient_is_permanent(app, factory, smtp_server):
    app.config.update(smtp_server.config())
    holder, cert = _cert_event(factory)
    smtp_server.refuse.add(holder.email)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once()
    d = db.session.scalars(sa.select(Delivery)).one()
    assert d.status is DeliveryStatus.FAILED and "550" in d.last_error and d.attempts == 1


def test_without_channels_messages_are_kept_for_the_outbox_page(app, factory, client, login_as):
    holder, cert = _cert_event(factory)
    _opt_in(holder)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_noon_wib())
    kept = db.session.scalars(sa.select(Delivery).order_by(Delivery.channel)).all()
    assert [(d.channel, d.status) for d in kept] == [("email", DeliveryStatus.KEPT), ("whatsapp", DeliveryStatus.KEPT)]
    login_as("admin")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert cert.subject_title in page and holder.email in page
    detail = client.get(f"/admin/outbox/{kept[0].id}").get_data(as_text=True)
    assert cert.serial in detail and "Tersimpan" in detail


def test_a_failing_subscriber_rolls_back_its_fan_out_and_is_retried(app, factory, channels, monkeypatch):
    holder, cert = _cert_event(factory)
    ev = _announce("certificate.issued", {"certificate_id": cert.id})
    calls = {"n": 0}
    original = events._subscribers["certificate.issued"][0]

    def flaky(event):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database hiccup")
        return original(event)

    monkeypatch.setitem(events._subscribers, "certificate.issued", [flaky])
    assert dispatch.dispatch_event(ev.id) is False
    db.session.refresh(ev)
    assert ev.status is EventStatus.PENDING and ev.attempts == 1 and "hiccup" in ev.error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    assert dispatch.dispatch_event(ev.id) is True
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1


# --- the bell and the list -------------------------------------------------------------------

def test_bell_list_open_and_mark_read(app, factory, client, login_as):
    holder, cert = _cert_event(factory)
    other, cert2 = _cert_event(factory, phone="+6281234500003")
    _announce("certificate.issued", {"certificate_id": cert.id})
    _announce("certificate.issued", {"certificate_id": cert2.id})
    dispatch.run_once()
    login_as(holder)
    home = client.get("/home").get_data(as_text=True)
    assert 'class="bell has-unread"' in home and '<span class="bell-count">1</span>' in home
    page = client.get("/notifications").get_data(as_text=True)
    assert cert.subject_title in page and cert2.serial not in page
    mine = db.session.scalars(sa.select(Notification).where(Notification.user_id == holder.id)).one()
    theirs = db.session.scalars(sa.select(Notification).where(Notification.user_id == other.id)).one()
    assert client.form_post(f"/notifications/{theirs.id}", {"go": "1"}).status_code == 404
    resp = client.form_post(f"/notifications/{mine.id}", {"go": "1"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/certificates/{cert.id}"
    db.session.refresh(mine)
    db.session.refresh(theirs)
    assert mine.read_at is not None and theirs.read_at is None
    assert client.form_post("/notifications/read-all").status_code == 302


def test_notification_list_queries_are_bounded(app, factory, client, login_as, count_queries):
    holder, cert = _cert_event(factory)
    login_as(holder)

    def measure() -> int:
        with count_queries() as c:
            assert client.get("/notifications").status_code == 200
        return c.count

    with transaction():
        for i in range(3):
            db.session.add(Notification(user_id=holder.id, kind="certificate.issued", title=f"n{i}", url="/home"))
    few = measure()
    with transaction():
        db.session.add_all([Notification(user_id=holder.id, kind="certificate.issued", title=f"m{i}", url="/home")
                            for i in range(80)])
    assert measure() == few


def test_outbox_queries_are_bounded(app, factory, client, login_as, count_queries):
    login_as("admin")
    users = [factory.user("trainee") for _ in range(3)]

    def add(n: int) -> None:
        with transaction():
            for i in range(n):
                u = users[i % 3]
                db.session.add(Delivery(key=f"k{n}-{i}", user_id=u.id, channel="email", kind="broadcast.sent",
                                        address=u.email, subject="s", body_text="b", status=DeliveryStatus.KEPT))

    def measure() -> int:
        with count_queries() as c:
            assert client.get("/admin/outbox").status_code == 200
        return c.count

    add(3)
    few = measure()
    add(60)
    assert measure() == few


# --- preferences -----------------------------------------------------------------------------

def test_preferences_record_whatsapp_consent_with_time_and_source(app, factory, client, login_as):
    user = factory.user("trainee", phone="+6281234500077")
    login_as(user)
    page = client.get("/notifications/preferences")
    assert page.status_code == 200
    resp = client.form_post("/notifications/preferences", {"email_enabled": "y", "whatsapp_opt_in": "y",
                                                           "quiet_start": "22:00", "quiet_end": "05:30",
                                                           "locale": "en"})
    assert resp.status_code == 302
    pref = services.preference_of(user)
    assert pref.whatsapp_opt_in and pref.whatsapp_opt_in_source == "profile" and pref.whatsapp_opt_in_at
    assert pref.quiet_start == time(22) and pref.quiet_end == time(5, 30)
    db.session.refresh(user)
    assert user.locale == "en"
    resp = client.form_post("/notifications/preferences", {"quiet_start": "22:00", "quiet_end": "05:30",
                                                           "locale": "id"})
    pref = services.preference_of(user)
    assert not pref.whatsapp_opt_in and pref.whatsapp_opt_out_at is not None and not pref.email_enabled
    from lms.audit.models import AuditEntry

    actions = [a for (a,) in db.session.execute(sa.select(AuditEntry.action).where(AuditEntry.action.like("whatsapp.%"))
                                                .order_by(AuditEntry.id))]
    assert actions == ["whatsapp.opt_in", "whatsapp.opt_out"]
    bad = client.form_post("/notifications/preferences", {"quiet_start": "25:99", "quiet_end": "05:30", "locale": "id"})
    assert bad.status_code == 422


def test_nobody_sets_someone_elses_consent(app, factory):
    a, b = factory.user("trainee"), factory.user("trainee")
    from lms.errors import NotAllowed

    with pytest.raises(NotAllowed):
        services.save_preferences(a, b, services.PreferenceInput(True, True, time(21), time(6)))


# --- reminders -------------------------------------------------------------------------------

def test_reminders_are_written_once_per_period(app, factory, smtp_server):
    from lms.notifications import reminders

    app.config.update(smtp_server.config())
    user = factory.user("trainee")
    tomorrow = datetime.now(WIB).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    session = factory.training_session(None, "3171", starts_at=tomorrow.astimezone(timezone.utc), hours=3)
    factory.seat(session, user)
    now = datetime.now(WIB).replace(hour=8, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    first = reminders.run_all(now)
    second = reminders.run_all(now + timedelta(hours=2))
    assert first["sessions"] == 1 and second["sessions"] == 0
    dispatch.run_once(now)
    dispatch.run_once(now)
    assert len(smtp_server.messages) == 1 and smtp_server.messages[0]["Subject"].startswith("Besok:")
    # before 06:00 WIB nothing is written
    early = datetime.now(WIB).replace(hour=5, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    assert reminders.run_all(early + timedelta(days=1))["sessions"] == 0


def test_with_redis_a_commit_enqueues_the_run_and_an_rq_worker_sends(app, factory, smtp_server):
    import uuid

    from redis import Redis
    from rq import Queue, SimpleWorker

    url = "redis://127.0.0.1:6379/15"
    conn = Redis.from_url(url)
    try:
        conn.ping()
    except Exception:
        pytest.fail(f"Redis is not answering at {url}: start it (`.ci/run` does) — this test needs a real Redis")
    name = f"lms-test-notifications-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=url, NOTIFICATIONS_WORKER="rq", NOTIFICATIONS_QUEUE=name, **smtp_server.config())
    holder, cert = _cert_event(factory)
    q = Queue(name, connection=conn)
    try:
        _announce("certificate.issued", {"certificate_id": cert.id})
        assert q.count == 1  # enqueued after the commit, not sent in the "request"
        assert smtp_server.messages == []
        SimpleWorker([q], connection=conn).work(burst=True)
        assert len(smtp_server.messages) == 1
        assert db.session.scalars(sa.select(Delivery)).one().status is DeliveryStatus.SENT
    finally:
        q.empty()
        q.delete(delete_jobs=True)
        conn.close()


def test_the_thread_worker_sends_after_the_commit(app, factory, smtp_server):
    from lms.notifications import worker

    app.config.update(NOTIFICATIONS_WORKER="thread", NOTIFICATIONS_REMINDERS_IN_WORKER=False, **smtp_server.config())
    holder, cert = _cert_event(factory)
    _announce("certificate.issued", {"certificate_id": cert.id})
    import time as _time

    deadline = _time.monotonic() + 15
    while not smtp_server.messages and _time.monotonic() < deadline:
        _time.sleep(0.05)
    try:
        assert len(smtp_server.messages) == 1
        assert worker.WORKER.wait_idle(10)
    finally:
        worker.WORKER.stop()
    assert worker.WORKER.thread is None


def test_after_a_restart_the_first_request_wakes_the_worker(app, factory, smtp_server, client):
    """A message left waiting (a retry, quiet hours) when the process stopped goes out once the app serves again."""
    from lms.notifications import worker

    holder, cert = _cert_event(factory)
    _announce("certificate.issued", {"certificate_id": cert.id})  # written while no worker ran ("off")
    app.config.update(NOTIFICATIONS_WORKER="thread", NOTIFICATIONS_REMINDERS_IN_WORKER=False, **smtp_server.config())
    assert smtp_server.messages == []
    try:
        assert client.get("/healthz").status_code == 200
        import time as _time

        deadline = _time.monotonic() + 15
        while not smtp_server.messages and _time.monotonic() < deadline:
            _time.sleep(0.05)
        assert len(smtp_server.messages) == 1
        assert worker.WORKER.wait_idle(10)
    finally:
        worker.WORKER.stop()
