"""Self check-in by QR: the rotating code, its window, and who may check in."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from lms.permissions import SYSTEM
from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.programme.models import Enrolment
from lms.sessions import services
from lms.sessions.models import Attendance, Registration, TrainingSession


@pytest.fixture
def running(factory):  # type: ignore[no-untyped-def]
    """A session that started ten minutes ago, with an enrolled trainee holding a seat."""
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, starts_in=timedelta(minutes=-10), hours=4, title="Bimtek Pagi Ini")
    trainee = factory.user("trainee", region="3171", phone="+6281234567001")
    factory.enrolment(cohort=cohort, trainee=trainee)
    factory.seat(s, trainee)
    return s, trainee, cohort


def token_at(s, minutes_ago: float = 0) -> str:  # type: ignore[no-untyped-def]
    return services.checkin_token(s, services.checkin_step(utcnow() - timedelta(minutes=minutes_ago)))


def reg_of(db, user):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return db.session.scalar(sa.select(Registration).where(Registration.user_id == user.id))


def test_a_registered_trainee_checks_in_with_the_current_code(client, login_as, running, db):
    s, trainee, _c = running
    login_as(trainee)
    url = f"/checkin/{s.id}/{token_at(s)}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Saya hadir" in html and 'name="ticket"' in html
    assert reg_of(db, trainee).attendance is None  # GET changes nothing
    resp = client.form_post(url)
    assert resp.status_code == 200 and "kehadiran Anda tercatat" in resp.get_data(as_text=True)
    reg = reg_of(db, trainee)
    assert reg.attendance is Attendance.PRESENT and reg.checked_in_by_qr is True
    enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.user_id == trainee.id))
    assert "pelatihan" in {st.stage_key for st in enrolment.stage_dates}
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "registration.checked_in")) is not None
    # scanning again is harmless
    assert client.form_post(url).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "registration.checked_in")) == 1


def test_the_previous_code_is_still_accepted(client, login_as, running, db):
    s, trainee, _c = running
    login_as(trainee)
    assert client.form_post(f"/checkin/{s.id}/{token_at(s, minutes_ago=1)}").status_code == 200
    assert reg_of(db, trainee).checked_in_by_qr is True


def test_a_stale_code_is_refused(client, login_as, running, db):
    s, trainee, _c = running
    login_as(trainee)
    url = f"/checkin/{s.id}/{token_at(s, minutes_ago=3)}"
    page = client.get(url)
    assert page.status_code == 400
    assert "sudah kedaluwarsa" in page.get_data(as_text=True)
    assert client.form_post(url).status_code == 400
    assert reg_of(db, trainee).attendance is None
    for junk in ("x", "0" * 16, "a" * 200):
        assert client.get(f"/checkin/{s.id}/{junk}").status_code == 400


def test_a_ticket_from_a_valid_scan_lets_a_slow_tap_through(client, login_as, running, db):
    """Pressing "Saya hadir" a few minutes after scanning still works; a forged ticket does not."""
    s, trainee, _c = running
    login_as(trainee)
    html = client.get(f"/checkin/{s.id}/{token_at(s)}").get_data(as_text=True)
    ticket = html.split('name="ticket" value="')[1].split('"')[0]
    stale = f"/checkin/{s.id}/{token_at(s, minutes_ago=3)}"
    assert client.form_post(stale, {"ticket": ticket + "x"}).status_code == 400
    assert client.form_post(stale, {"ticket": ticket}).status_code == 200
    assert reg_of(db, trainee).checked_in_by_qr is True


def test_a_code_of_another_session_is_refused(client, factory, login_as, running, db):
    s, trainee, cohort = running
    other = factory.training_session(cohort, starts_in=timedelta(minutes=-5), hours=2, venue="Aula Sebelah")
    login_as(trainee)
    resp = client.form_post(f"/checkin/{s.id}/{token_at(other)}")
    assert resp.status_code == 400 and "bukan untuk sesi ini" in resp.get_data(as_text=True)
    assert reg_of(db, trainee).attendance is None


def test_not_registered_or_waitlisted_trainees_are_refused(client, factory, login_as, running, db):
    s, _trainee, cohort = running
    [outsider, waiting] = factory.enrolled_trainees(2, cohort)
    factory.seat(s, waiting, status="waitlisted")
    login_as(outsider)
    resp = client.get(f"/checkin/{s.id}/{token_at(s)}")
    assert resp.status_code == 403 and "Anda tidak terdaftar di sesi ini" in resp.get_data(as_text=True)
    assert client.form_post(f"/checkin/{s.id}/{token_at(s)}").status_code == 403
    client.form_post("/logout")
    login_as(waiting)
    resp = client.form_post(f"/checkin/{s.id}/{token_at(s)}")
    assert resp.status_code == 403 and "daftar tunggu (urutan 1)" in resp.get_data(as_text=True)
    assert reg_of(db, waiting).attendance is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)
                             .where(Registration.checked_in_by_qr.is_(True))) == 0


@pytest.mark.parametrize("shift", [timedelta(minutes=-31), timedelta(hours=5)])
def test_outside_the_window_is_refused(client, login_as, running, db, shift):
    """The window: 30 minutes before the start to 30 minutes after the end (4 h session, started 10 min ago)."""
    s, trainee, _c = running
    with transaction():
        row = db.session.get(TrainingSession, s.id)
        # move the session so that now is just outside its window, on either side
        if shift < timedelta(0):
            row.starts_at, row.ends_at = utcnow() + timedelta(minutes=31), utcnow() + timedelta(hours=4)
        else:
            row.starts_at, row.ends_at = utcnow() - shift, utcnow() - timedelta(minutes=31)
    login_as(trainee)
    resp = client.form_post(f"/checkin/{s.id}/{token_at(s)}")
    assert resp.status_code == 403 and "hanya bisa dari" in resp.get_data(as_text=True)
    assert reg_of(db, trainee).attendance is None


def test_inside_the_window_edges(running):
    s, _t, _c = running
    opens, closes = services.checkin_window(s)
    assert opens == s.starts_at - timedelta(minutes=30) and closes == s.ends_at + timedelta(minutes=30)
    assert services.in_checkin_window(s, opens) and services.in_checkin_window(s, closes)
    assert not services.in_checkin_window(s, opens - timedelta(seconds=1))
    assert not services.in_checkin_window(s, closes + timedelta(seconds=1))


def test_a_cancelled_session_refuses_check_in(client, login_as, running, db):
    s, trainee, _c = running
    services.cancel_session(SYSTEM, s)
    login_as(trainee)
    resp = client.get(f"/checkin/{s.id}/{token_at(s)}")
    assert resp.status_code == 403 and "dibatalkan" in resp.get_data(as_text=True)


def test_staff_cannot_check_in(client, login_as, running):
    s, _t, _c = running
    login_as("coordinator", region="3171")
    resp = client.get(f"/checkin/{s.id}/{token_at(s)}")
    assert resp.status_code == 403 and "Check-in hanya untuk pengelola" in resp.get_data(as_text=True)


def test_anonymous_signs_in_and_comes_back(client, running):
    from tests.conftest import TEST_PASSWORD

    s, trainee, _c = running
    url = f"/checkin/{s.id}/{token_at(s)}"
    resp = client.get(url)
    assert resp.status_code == 302
    loc = urlsplit(resp.headers["Location"])
    assert loc.path == "/login" and parse_qs(loc.query)["next"] == [url]
    resp = client.form_post(f"/login?next={url}", {"email": trainee.email, "password": TEST_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == url
    assert "Saya hadir" in client.get(url).get_data(as_text=True)


def test_the_qr_encodes_the_base_url_never_the_request_host(client, app, login_as, running):
    s, _t, _c = running
    app.config["BASE_URL"] = "https://7pas.dinsos.example.go.id/"
    login_as("coordinator", region="3171")
    page = client.get(f"/sessions/{s.id}/qr").get_data(as_text=True)
    assert f'src="/sessions/{s.id}/qr.svg"' in page and "js/sessions-qr.js" in page
    assert "<script>" not in page  # no inline script (CSP)
    resp = client.get(f"/sessions/{s.id}/qr.svg")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    assert resp.headers["Cache-Control"] == "no-store"
    svg = resp.get_data()
    assert svg.lstrip().startswith(b"<svg")
    expected = {services.qr_svg(f"https://7pas.dinsos.example.go.id/checkin/{s.id}/{token_at(s, m)}") for m in (0, 1)}
    assert svg in expected  # the current code (or the previous one, if the minute turned meanwhile)
    with app.test_request_context("/", base_url="http://evil.example"):
        assert services.checkin_url(s).startswith("https://7pas.dinsos.example.go.id/checkin/")


def test_the_qr_is_only_served_in_the_window(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    later = factory.training_session(cohort, starts_in=timedelta(hours=3))
    login_as("coordinator", region="3171")
    assert client.get(f"/sessions/{later.id}/qr.svg").status_code == 404
    page = client.get(f"/sessions/{later.id}/qr").get_data(as_text=True)
    assert "Kode QR tampil dari" in page and "qr.svg" not in page


def test_the_token_is_an_hmac_of_session_and_minute(running):
    import hashlib
    import hmac

    s, _t, _c = running
    step = services.checkin_step()
    want = hmac.new(s.checkin_secret.encode(), f"{s.id}:{step}".encode(), hashlib.sha256).hexdigest()[:16]
    assert services.checkin_token(s, step) == want
    assert services.token_valid(s, want)
    assert not services.token_valid(s, services.checkin_token(s, step - 2))
    assert not services.token_valid(s, services.checkin_token(s, step + 1))
