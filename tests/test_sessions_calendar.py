"""Calendars (RFC 5545): the .ics of a session and the personal feed behind a secret URL."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, time, timedelta

import icalendar
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import utcnow
from lms.i18n import WIB, to_wib
from lms.permissions import SYSTEM
from lms.sessions import services
from lms.sessions.models import CalendarFeed


def parse(resp):  # type: ignore[no-untyped-def]
    assert resp.status_code == 200, resp.status_code
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(resp.get_data())


def the_day(days: int = 20):  # type: ignore[no-untyped-def]
    return to_wib(utcnow()).date() + timedelta(days=days)


def test_the_ics_of_a_session_is_in_wib_and_follows_edits_and_cancellation(client, app, factory, login_as):
    app.config["BASE_URL"] = "https://7pas.dinsos.example.go.id"
    coord = factory.user("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    day = the_day()
    data = services.SessionInput(
        title="Bimtek e-Warong Jakarta Pusat", stage_key="pelatihan", cohort_id=cohort.id,
        region_id=factory.region("3171").id, venue_name="Aula Dinas Sosial Provinsi DKI Jakarta",
        venue_address="Jl. Gunung Sahari II No. 5", starts_at=datetime.combine(day, time(8)),
        ends_at=datetime.combine(day, time(16)), capacity=40, description="Membawa KTP.",
        speakers=[services.SpeakerInput("Dra. Rini Handayani", "dinas_sosial"),
                  services.SpeakerInput("Yudi Prasetyo", "bni")])
    [s] = services.create_sessions(coord, data)
    login_as(coord)
    resp = client.get(f"/sessions/{s.id}/calendar.ics")
    assert f'filename="bimtek-{s.id}.ics"' in resp.headers["Content-Disposition"]
    cal = parse(resp)
    [ev] = cal.events
    assert ev.start == datetime.combine(day, time(8), tzinfo=WIB)  # DTSTART is the WIB time
    assert ev.end == datetime.combine(day, time(16), tzinfo=WIB)
    assert ev["DTSTART"].params["TZID"] == "Asia/Jakarta"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Jakarta"]
    assert str(ev["UID"]) == f"session-{s.id}@7pas.dinsos.example.go.id"
    assert int(ev["SEQUENCE"]) == 0 and str(ev["STATUS"]) == "CONFIRMED"
    assert ev.get("DTSTAMP") is not None
    assert "Aula Dinas Sosial Provinsi DKI Jakarta" in str(ev["LOCATION"]) and "Gunung Sahari" in str(ev["LOCATION"])
    description = str(ev["DESCRIPTION"])
    assert "Dra. Rini Handayani (Dinas Sosial)" in description and "Yudi Prasetyo (BNI)" in description
    assert "Membawa KTP." in description and str(ev["URL"]).endswith(f"/sessions/{s.id}")
    assert str(ev["SUMMARY"]) == "Bimtek e-Warong Jakarta Pusat"

    data.starts_at = datetime.combine(day, time(9))
    services.update_session(coord, s, data)
    [ev] = parse(client.get(f"/sessions/{s.id}/calendar.ics")).events
    assert int(ev["SEQUENCE"]) == 1 and ev.start.hour == 9 and str(ev["UID"]) == f"session-{s.id}@7pas.dinsos.example.go.id"

    services.cancel_session(coord, s)
    [ev] = parse(client.get(f"/sessions/{s.id}/calendar.ics")).events
    assert int(ev["SEQUENCE"]) == 2 and str(ev["STATUS"]) == "CANCELLED"


def _create_feed(client) -> str:  # type: ignore[no-untyped-def]
    resp = client.form_post("/calendar/feed", {"create": "1"})
    assert resp.status_code == 200
    m = re.search(r'value="(https?://[^"]+/calendar/([A-Za-z0-9_-]+)\.ics)"', resp.get_data(as_text=True))
    assert m, "the new feed URL is shown once"
    return m.group(2)


def test_a_trainees_feed_lists_their_sessions_and_only_a_hash_is_kept(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    mine = factory.training_session(cohort, title="Bimtek Saya")
    waiting = factory.training_session(cohort, title="Bimtek Penuh", capacity=1, starts_in=timedelta(days=10))
    factory.training_session(cohort, title="Bimtek Lain", starts_in=timedelta(days=12))
    gone = factory.training_session(cohort, title="Bimtek Batal", starts_in=timedelta(days=14))
    left = factory.training_session(cohort, title="Bimtek Ditinggal", starts_in=timedelta(days=16))
    t, other = factory.enrolled_trainees(2, cohort)
    services.register(other, waiting)
    for s in (mine, waiting, gone, left):
        services.register(t, s)
    services.unregister(t, left)
    services.cancel_session(SYSTEM, gone)
    login_as(t)
    token = _create_feed(client)
    assert len(token) >= 22  # at least 128 bits
    feed = db.session.scalar(sa.select(CalendarFeed))
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str([tuple(r) for r in db.session.execute(sa.text("SELECT * FROM calendar_feeds"))])
    assert token not in str([e.details for e in db.session.scalars(sa.select(AuditEntry))])
    client.form_post("/logout")  # the feed works without a session (calendar apps have none)
    cal = parse(client.get(f"/calendar/{token}.ics"))
    events = {str(e["SUMMARY"]): e for e in cal.events}
    assert set(events) == {"Bimtek Saya", "Bimtek Penuh", "Bimtek Batal"}
    assert str(events["Bimtek Saya"]["STATUS"]) == "CONFIRMED"
    assert str(events["Bimtek Penuh"]["STATUS"]) == "TENTATIVE"  # waitlisted
    assert str(events["Bimtek Batal"]["STATUS"]) == "CANCELLED"
    assert events["Bimtek Saya"].start == to_wib(mine.starts_at)


def test_rotating_and_revoking_the_feed(client, factory, login_as, db):
    login_as("trainee", region="3171")
    first = _create_feed(client)
    assert client.get(f"/calendar/{first}.ics").status_code == 200
    second = _create_feed(client)
    assert second != first
    assert client.get(f"/calendar/{first}.ics").status_code == 404
    assert client.get(f"/calendar/{second}.ics").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 1
    resp = client.form_post("/calendar/feed", {"revoke": "1"})
    assert resp.status_code == 302
    assert client.get(f"/calendar/{second}.ics").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 0
    actions = list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("calendar_feed.%"))
                                      .order_by(AuditEntry.id)))
    assert actions == ["calendar_feed.created", "calendar_feed.rotated", "calendar_feed.revoked"]
    for junk in ("x", "a" * 43, "a" * 500):
        assert client.get(f"/calendar/{junk}.ics").status_code == 404


def test_a_coordinators_feed_lists_the_regions_sessions(client, factory, login_as):
    cohort = factory.cohort(regions=("3171", "3172"))
    factory.training_session(cohort, "3171", title="Sesi Pusat")
    factory.training_session(cohort, "3172", title="Sesi Utara")
    login_as("coordinator", region="3171")
    token = _create_feed(client)
    titles = {str(e["SUMMARY"]) for e in parse(client.get(f"/calendar/{token}.ics")).events}
    assert titles == {"Sesi Pusat"}


def test_a_deactivated_users_feed_stops(client, factory, login_as, db):
    from lms.db import transaction

    user = login_as("mentor", region="3171")
    token = _create_feed(client)
    with transaction():
        db.session.get(type(user), user.id).active = False
    assert client.get(f"/calendar/{token}.ics").status_code == 404
