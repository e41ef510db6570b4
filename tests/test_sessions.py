"""Training sessions: scheduling (WIB times, series, clashes), edits and cancellation, registration
with its waitlist, group registration, attendance and the trainee's home page."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.errors import Invalid, NotAllowed
from lms.i18n import WIB, to_wib
from lms.permissions import SYSTEM
from lms.programme.models import Enrolment, EnrolmentStage
from lms.sessions import services
from lms.sessions.models import (
    Attendance, Registration, RegistrationStatus, SessionSpeaker, SessionStatus, TrainingSession,
)


def day_ahead(days: int = 30):  # type: ignore[no-untyped-def]
    return to_wib(utcnow()).date() + timedelta(days=days)


def at(day, hour: int, minute: int = 0) -> datetime:  # type: ignore[no-untyped-def]
    return datetime.combine(day, time(hour, minute), tzinfo=WIB)


def session_input(cohort, region, day, **kw):  # type: ignore[no-untyped-def]
    data = dict(title="Bimtek Pengelola e-Warong", stage_key="pelatihan", cohort_id=cohort.id, region_id=region.id,
                venue_name="Aula Dinas Sosial Provinsi DKI Jakarta", venue_address="Jl. Gunung Sahari II No. 5",
                starts_at=at(day, 8).replace(tzinfo=None), ends_at=at(day, 16).replace(tzinfo=None), capacity=40,
                description="", speakers=[services.SpeakerInput("Dra. Rini Handayani", "dinas_sosial")])
    data.update(kw)
    return services.SessionInput(**data)


def form_data(cohort, region, day, **kw):  # type: ignore[no-untyped-def]
    data = {"title": "Bimtek Pengelola e-Warong Jakarta Pusat", "cohort_id": str(cohort.id), "stage_key": "pelatihan",
            "region_id": str(region.id), "venue_name": "Aula Dinas Sosial Provinsi DKI Jakarta",
            "venue_address": "Jl. Gunung Sahari II No. 5, Jakarta Pusat",
            "starts_at": f"{day.isoformat()}T08:00", "ends_at": f"{day.isoformat()}T16:00", "capacity": "45",
            "description": "Pengelolaan e-Warong, BPNT dan pencatatan keuangan.",
            "speakers-0-name": "Dra. Rini Handayani", "speakers-0-agency": "dinas_sosial",
            "speakers-1-name": "Bambang Sutrisno", "speakers-1-agency": "bank_indonesia",
            "speakers-2-name": "Yudi Prasetyo", "speakers-2-agency": "other", "speakers-2-agency_other": "Bank DKI"}
    for i in range(3, 6):
        data.update({f"speakers-{i}-name": "", f"speakers-{i}-agency": "", f"speakers-{i}-agency_other": ""})
    data.update(kw)
    return data


def fresh(db, obj):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return db.session.get(type(obj), obj.id)


# --- scheduling through the form -----------------------------------------------------------------

def test_coordinator_schedules_a_session_typed_in_wib(client, factory, login_as, db):
    coord = login_as("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171", "3172"))
    region = factory.region("3171")
    day = day_ahead()
    resp = client.form_post("/sessions/new", form_data(cohort, region, day))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    s = db.session.scalar(sa.select(TrainingSession))
    assert resp.headers["Location"].endswith(f"/sessions/{s.id}")
    # 08:00 WIB is 01:00 UTC; stored as UTC, shown in WIB
    assert s.starts_at == at(day, 8).astimezone(timezone.utc)
    assert s.starts_at.hour == 1 and s.ends_at.hour == 9
    assert (s.capacity, s.seats_taken, s.sequence, s.status) == (45, 0, 0, SessionStatus.SCHEDULED)
    assert s.created_by_id == coord.id and s.series_id is None and len(s.checkin_secret) == 64
    assert [(sp.name, sp.name_key, sp.agency.value, sp.agency_other) for sp in s.speakers] == [
        ("Dra. Rini Handayani", "dra. rini handayani", "dinas_sosial", ""),
        ("Bambang Sutrisno", "bambang sutrisno", "bank_indonesia", ""),
        ("Yudi Prasetyo", "yudi prasetyo", "other", "Bank DKI")]
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "session.created")) is not None
    page = client.get(f"/sessions/{s.id}").get_data(as_text=True)
    assert "08.00–16.00 WIB" in page and "Bank DKI" in page and "Jl. Gunung Sahari II No. 5" in page


def test_the_form_offers_the_curriculum_stages_with_pelatihan_preselected(client, factory, login_as):
    login_as("coordinator", region="3171")
    factory.cohort(regions=("3171",))
    page = client.get("/sessions/new").get_data(as_text=True)
    assert '<option selected value="pelatihan">2. Pelatihan</option>' in page
    assert "7. Permodalan" in page
    assert page.count('name="speakers-5-name"') == 1 and 'name="speakers-6-name"' not in page
    assert 'type="datetime-local"' in page


def test_a_series_repeats_the_times_on_each_date_with_one_series_id(client, factory, login_as, db):
    login_as("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    day = day_ahead()
    extra = f"{(day + timedelta(days=1)).isoformat()}, {(day + timedelta(days=2)).strftime('%d/%m/%Y')}"
    resp = client.form_post("/sessions/new", form_data(cohort, factory.region("3171"), day, extra_dates=extra))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    rows = list(db.session.scalars(sa.select(TrainingSession).order_by(TrainingSession.starts_at)))
    assert [to_wib(s.starts_at) for s in rows] == [at(day + timedelta(days=i), 8) for i in range(3)]
    assert all(to_wib(s.ends_at).hour == 16 for s in rows)
    assert len({s.series_id for s in rows}) == 1 and rows[0].series_id is not None
    assert all(len(s.speakers) == 3 for s in rows)


@pytest.mark.parametrize("change, field_message", [
    ({"ends_at": "{day}T07:00"}, "Waktu selesai harus setelah waktu mulai."),
    ({"starts_at": "2018-04-10T08:00", "ends_at": "2018-04-10T16:00"}, "Waktu mulai sudah lewat."),
    ({"region_id": "{other_region}"}, "Pilihan tidak valid."),  # the form offers only the own region
    ({"speakers-2-agency_other": ""}, "Tulis nama instansi narasumber Yudi Prasetyo."),
    ({"speakers-1-name": "dra.  rini HANDAYANI"}, "tertulis dua kali"),
    ({"speakers-1-agency": ""}, "Pilih instansi narasumber Bambang Sutrisno."),
    ({"capacity": "0"}, "Angka"),
    ({"extra_dates": "besok"}, "Tanggal tidak dikenali: besok."),
    ({"extra_dates": "{day}"}, "sama dengan tanggal sesi pertama"),
    ({"venue_name": ""}, "Nama tempat wajib diisi."),
])
def test_the_form_refuses_bad_input_with_a_message(client, factory, login_as, db, change, field_message):
    login_as("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171", "3172"))
    day = day_ahead()
    other = factory.region("3172")
    data = form_data(cohort, factory.region("3171"), day)
    data.update({k: v.format(day=day.isoformat(), other_region=other.id) for k, v in change.items()})
    resp = client.form_post("/sessions/new", data)
    assert resp.status_code == 422
    assert field_message in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession)) == 0


def test_the_region_must_be_one_of_the_cohorts_regions(factory, db):
    admin = factory.user("admin", region=None)
    cohort = factory.cohort(regions=("3171",))
    with pytest.raises(Invalid) as e:
        services.create_sessions(admin, session_input(cohort, factory.region("3172"), day_ahead()))
    assert "bukan wilayah angkatan" in str(e.value)
    # an all-DKI coordinator may schedule in any region of the cohort
    coord_all = factory.user("coordinator", region=None)
    cohort2 = factory.cohort(regions=("3171", "3175"))
    [s] = services.create_sessions(coord_all, session_input(cohort2, factory.region("3175"), day_ahead()))
    assert s.region.code == "3175"


def test_a_regional_coordinator_schedules_only_in_their_region(factory):
    coord = factory.user("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171", "3172"))
    with pytest.raises(Invalid) as e:
        services.create_sessions(coord, session_input(cohort, factory.region("3172"), day_ahead()))
    assert e.value.reasons == {"region_id": ["Wilayah ini di luar kewenangan Anda."]}


def test_only_staff_who_schedule_may_create(factory):
    cohort = factory.cohort(regions=("3171",))
    for role in ("trainee", "mentor"):
        with pytest.raises(NotAllowed):
            services.create_sessions(factory.user(role, region="3171"),
                                     session_input(cohort, factory.region("3171"), day_ahead()))


# --- clashes --------------------------------------------------------------------------------------

def test_same_venue_at_overlapping_times_is_refused_naming_the_session(factory):
    coord = factory.user("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    day = day_ahead()
    services.create_sessions(coord, session_input(cohort, region, day, title="Bimtek Gelombang 1"))
    with pytest.raises(Invalid) as e:
        services.create_sessions(coord, session_input(
            cohort, region, day, title="Bimtek Gelombang 2", venue_name="  aula DINAS sosial   provinsi DKI jakarta ",
            starts_at=at(day, 13).replace(tzinfo=None), ends_at=at(day, 17).replace(tzinfo=None), speakers=[]))
    message = str(e.value)
    assert "Bimtek Gelombang 1" in message and "08.00–16.00 WIB" in message
    assert "Aula Dinas Sosial Provinsi DKI Jakarta" in message


def test_back_to_back_sessions_at_one_venue_do_not_clash(factory):
    coord = factory.user("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    day = day_ahead()
    services.create_sessions(coord, session_input(cohort, region, day, ends_at=at(day, 12).replace(tzinfo=None)))
    [s] = services.create_sessions(coord, session_input(cohort, region, day, speakers=[],
                                                        starts_at=at(day, 12).replace(tzinfo=None)))
    assert to_wib(s.starts_at).hour == 12


def test_a_speaker_cannot_be_in_two_places_at_once(factory):
    coord = factory.user("coordinator", region=None)
    cohort = factory.cohort()
    day = day_ahead()
    services.create_sessions(coord, session_input(cohort, factory.region("3171"), day, title="Bimtek Pusat"))
    with pytest.raises(Invalid) as e:
        services.create_sessions(coord, session_input(
            cohort, factory.region("3175"), day, title="Bimtek Timur", venue_name="Aula Walikota Jakarta Timur",
            starts_at=at(day, 15).replace(tzinfo=None), ends_at=at(day, 18).replace(tzinfo=None),
            speakers=[services.SpeakerInput("  DRA. Rini   Handayani ", "dinas_sosial")]))
    assert "Narasumber DRA. Rini Handayani sudah mengisi sesi “Bimtek Pusat”" in str(e.value)
    assert "08.00–16.00 WIB" in str(e.value)


def test_cancelled_sessions_do_not_clash(factory):
    coord = factory.user("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    day = day_ahead()
    [first] = services.create_sessions(coord, session_input(cohort, region, day))
    services.cancel_session(coord, first)
    [second] = services.create_sessions(coord, session_input(cohort, region, day, title="Pengganti"))
    assert second.id != first.id


def test_the_clash_message_reaches_the_form(client, factory, login_as):
    login_as("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    day = day_ahead()
    factory.training_session(cohort, "3171", starts_at=at(day, 9), hours=2, title="Sosialisasi BPNT",
                             venue="Aula Dinas Sosial Provinsi DKI Jakarta")
    resp = client.form_post("/sessions/new", form_data(cohort, factory.region("3171"), day))
    assert resp.status_code == 422
    assert "sudah dipakai sesi “Sosialisasi BPNT”" in resp.get_data(as_text=True)


def test_editing_does_not_clash_with_itself_but_does_with_others(factory):
    coord = factory.user("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    day = day_ahead()
    [s] = services.create_sessions(coord, session_input(cohort, region, day))
    services.update_session(coord, s, session_input(cohort, region, day, ends_at=at(day, 17).replace(tzinfo=None)))
    factory.training_session(cohort, "3171", starts_at=at(day + timedelta(days=1), 8), venue="Gedung Lain",
                             title="Sesi Besok")
    with pytest.raises(Invalid) as e:
        services.update_session(coord, s, session_input(
            cohort, region, day, venue_name="gedung lain", speakers=[],
            starts_at=at(day + timedelta(days=1), 10).replace(tzinfo=None),
            ends_at=at(day + timedelta(days=1), 12).replace(tzinfo=None)))
    assert "Sesi Besok" in str(e.value)


def test_a_trainee_cannot_hold_two_overlapping_sessions(factory, db):
    cohort = factory.cohort(regions=("3171",))
    [t] = factory.enrolled_trainees(1, cohort)
    day = day_ahead()
    a = factory.training_session(cohort, starts_at=at(day, 8), hours=8, title="Bimtek Pagi")
    b = factory.training_session(cohort, starts_at=at(day, 13), hours=3, title="Kelas Sore")
    services.register(t, a)
    with pytest.raises(Invalid) as e:
        services.register(t, b)
    assert "bertabrakan dengan sesi “Bimtek Pagi”" in str(e.value) and "08.00–16.00 WIB" in str(e.value)
    # a waitlist place counts too; giving it up frees the time
    services.unregister(t, a)
    assert services.register(t, b).status is RegistrationStatus.REGISTERED
    # a cancelled session holds no time
    services.cancel_session(SYSTEM, b)
    assert services.register(t, a).status is RegistrationStatus.REGISTERED


# --- edits and cancellation -------------------------------------------------------------------------

def test_an_edit_raises_the_sequence_only_when_something_changed(factory, db):
    coord = factory.user("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    day = day_ahead()
    [s] = services.create_sessions(coord, session_input(cohort, region, day))
    services.update_session(coord, s, session_input(cohort, region, day))
    assert fresh(db, s).sequence == 0
    services.update_session(coord, s, session_input(cohort, region, day, venue_name="Aula Baru"))
    s = fresh(db, s)
    assert (s.sequence, s.venue_name) == (1, "Aula Baru")
    services.update_session(coord, s, session_input(cohort, region, day, venue_name="Aula Baru",
                                                    speakers=[services.SpeakerInput("Pak Budi", "bni")]))
    s = fresh(db, s)
    assert s.sequence == 2 and [sp.name for sp in s.speakers] == ["Pak Budi"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SessionSpeaker)) == 1
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "session.updated")
                              .order_by(AuditEntry.id.desc()).limit(1))
    assert "speakers" in entry.details["changes"]


def test_capacity_cannot_go_below_the_seats_taken_and_more_seats_promote_the_waitlist(factory, db):
    coord = factory.user("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    day = day_ahead()
    [s] = services.create_sessions(coord, session_input(cohort, region, day, capacity=2))
    people = factory.enrolled_trainees(5, cohort)
    for p in people:
        services.register(p, s)
    s = fresh(db, s)
    assert s.seats_taken == 2
    with pytest.raises(Invalid) as e:
        services.update_session(coord, s, session_input(cohort, region, day, capacity=1))
    assert "tidak boleh kurang dari peserta terdaftar (2 orang)" in str(e.value)
    services.update_session(coord, s, session_input(cohort, region, day, capacity=4))
    s = fresh(db, s)
    assert (s.capacity, s.seats_taken, s.sequence) == (4, 4, 1)
    states = {r.user_id: r.status for r in db.session.scalars(sa.select(Registration))}
    assert [states[p.id] for p in people] == [RegistrationStatus.REGISTERED] * 4 + [RegistrationStatus.WAITLISTED]


def test_cancelling_a_session_keeps_the_registrations_and_tells_the_registrants(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    trainee = factory.user("trainee", region="3171", phone="+6281234567001")
    factory.enrolment(cohort=cohort, trainee=trainee)
    s = factory.training_session(cohort, title="Bimtek Jakarta Pusat")
    services.register(trainee, s)
    coord = factory.user("coordinator", region="3171")
    services.cancel_session(coord, s)
    s = fresh(db, s)
    assert s.status is SessionStatus.CANCELLED and s.cancelled_at is not None and s.sequence == 1
    assert db.session.scalar(sa.select(Registration.status)) is RegistrationStatus.REGISTERED
    login_as(trainee)
    home = client.get("/home").get_data(as_text=True)
    assert "Sesi dibatalkan" in home and "Bimtek Jakarta Pusat" in home
    with pytest.raises(Invalid) as e:
        services.register(factory.enrolled_trainees(1, cohort)[0], s)
    assert "dibatalkan" in str(e.value)


def test_cancel_and_edit_need_the_sessions_region(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171", "3172"))
    s = factory.training_session(cohort, "3171")
    with pytest.raises(NotAllowed):
        services.cancel_session(factory.user("coordinator", region="3172"), s)
    login_as("coordinator", region="3172")
    assert client.form_post(f"/sessions/{s.id}/cancel").status_code == 404
    assert fresh(db, s).status is SessionStatus.SCHEDULED


# --- registration and the waitlist ----------------------------------------------------------------

def test_register_then_waitlist_with_positions(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=2)
    people = factory.enrolled_trainees(5, cohort)
    regs = [services.register(p, s) for p in people]
    assert [r.status for r in regs] == [RegistrationStatus.REGISTERED] * 2 + [RegistrationStatus.WAITLISTED] * 3
    assert fresh(db, s).seats_taken == 2
    assert [services.place_of(p, s).position for p in people] == [None, None, 1, 2, 3]
    # the same trainee again: nothing changes
    assert services.register(people[0], s).id == regs[0].id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 5
    login_as(people[4])
    page = client.get(f"/sessions/{s.id}").get_data(as_text=True)
    assert "Daftar tunggu no. 3" in page and "urutan 3" in page


def test_the_registration_button_and_its_flash(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=1)
    a, b = factory.enrolled_trainees(2, cohort)
    login_as(a)
    resp = client.form_post(f"/sessions/{s.id}/register?next=/sessions")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/sessions")
    assert "Anda terdaftar di" in client.get("/sessions").get_data(as_text=True)
    client.form_post("/logout")
    login_as(b)
    client.form_post(f"/sessions/{s.id}/register")
    page = client.get(f"/sessions/{s.id}").get_data(as_text=True)
    assert "Anda masuk daftar tunggu, urutan 1" in page
    # a register POST without the CSRF token is refused
    assert client.post(f"/sessions/{s.id}/register").status_code == 400


def test_cancelling_a_seat_promotes_the_first_of_the_waitlist(factory, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=2)
    people = factory.enrolled_trainees(5, cohort)
    for p in people:
        services.register(p, s)
    promoted = services.unregister(people[0], s)
    assert promoted == [people[2].id]
    s = fresh(db, s)
    assert s.seats_taken == 2
    assert [services.place_of(p, s).status for p in people] == ["cancelled", "registered", "registered",
                                                                  "waitlisted", "waitlisted"]
    assert [services.place_of(p, s).position for p in people[3:]] == [1, 2]
    # leaving the waitlist frees no seat and promotes nobody
    assert services.unregister(people[3], s) == []
    assert services.place_of(people[4], s).position == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "registration.promoted")) == 1


def test_re_registering_after_cancelling_reuses_the_row(factory, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=1)
    a, b = factory.enrolled_trainees(2, cohort)
    first = services.register(a, s)
    services.unregister(a, s)
    services.register(b, s)
    again = services.register(a, s)
    assert again.id == first.id and again.status is RegistrationStatus.WAITLISTED
    assert services.place_of(a, s).position == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 2


def test_registration_closes_when_the_session_starts(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, starts_in=timedelta(minutes=-5), hours=3)
    [t] = factory.enrolled_trainees(1, cohort)
    login_as(t)
    resp = client.form_post(f"/sessions/{s.id}/register")
    assert resp.status_code == 302
    page = client.get(f"/sessions/{s.id}").get_data(as_text=True)
    assert "Pendaftaran sudah ditutup karena sesi sudah dimulai." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 0


def test_sessions_of_another_region_or_cohort_are_not_open_to_a_trainee(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171", "3172"))
    other_cohort = factory.cohort(regions=("3171",))
    [t] = factory.enrolled_trainees(1, cohort, region="3171")
    elsewhere = factory.training_session(cohort, "3172")
    not_mine = factory.training_session(other_cohort, "3171")
    mine = factory.training_session(cohort, "3171")
    login_as(t)
    for s in (elsewhere, not_mine):
        assert client.get(f"/sessions/{s.id}").status_code == 404
        assert client.form_post(f"/sessions/{s.id}/register").status_code == 404
    page = client.get("/sessions").get_data(as_text=True)
    assert mine.title in page and elsewhere.title not in page and not_mine.title not in page
    with pytest.raises(NotAllowed):
        services.register(t, elsewhere)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 0


def test_a_double_submit_that_loses_the_insert_returns_the_existing_row(factory, db, monkeypatch):
    """The IntegrityError path: the unique constraint wins, the seat taken by the loser is given back."""
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=5)
    [t] = factory.enrolled_trainees(1, cohort)
    first = services.register(t, s)
    from lms.sessions import registration

    real_find = registration._find
    calls = {"n": 0}

    def blind_first_time(session_id, user_id, lock=False):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return None if calls["n"] == 1 else real_find(session_id, user_id, lock)

    monkeypatch.setattr(registration, "_find", blind_first_time)
    again = services.register(t, s)
    assert calls["n"] == 2  # the race was simulated and the fallback looked the row up
    assert again.id == first.id
    assert fresh(db, s).seats_taken == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 1


def test_seat_decrements_never_go_below_zero(factory, db):
    s = factory.training_session(factory.cohort(regions=("3171",)))
    with transaction():
        from lms.sessions.seats import _release_seat

        assert _release_seat(s.id) is False
    assert fresh(db, s).seats_taken == 0


# --- group registration -----------------------------------------------------------------------------

def test_a_coordinator_registers_a_cohort_of_a_region_with_a_stable_waitlist(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171", "3172"))
    pusat = factory.enrolled_trainees(6, cohort, region="3171")
    factory.enrolled_trainees(2, cohort, region="3172")  # another region: not included
    factory.enrolled_trainees(2, factory.cohort(regions=("3171",)), region="3171")  # another cohort
    s = factory.training_session(cohort, "3171", capacity=4)
    services.register(pusat[5], s)  # already registered: counted as such
    login_as("coordinator", region="3171")
    assert "Seluruh angkatan di Jakarta Pusat: 6 orang" in client.get(
        f"/sessions/{s.id}/register-group").get_data(as_text=True)
    resp = client.form_post(f"/sessions/{s.id}/register-group", {"scope": "cohort", "confirmed": "1"})
    assert resp.status_code == 302
    assert "3 terdaftar, 2 masuk daftar tunggu, 1 sudah terdaftar sebelumnya." in client.get(
        f"/sessions/{s.id}").get_data(as_text=True)
    s = fresh(db, s)
    assert s.seats_taken == 4
    by_code = sorted(pusat[:5], key=lambda u: (u.managed_outlet.code, u.id))
    assert [services.place_of(u, s).status for u in by_code] == ["registered"] * 3 + ["waitlisted"] * 2
    assert [services.place_of(u, s).position for u in by_code[3:]] == [1, 2]
    # again: nothing changes
    before = [(r.id, r.status, r.waitlisted_at) for r in db.session.scalars(sa.select(Registration).order_by(Registration.id))]
    client.form_post(f"/sessions/{s.id}/register-group", {"scope": "cohort", "confirmed": "1"})
    db.session.rollback()
    assert [(r.id, r.status, r.waitlisted_at) for r in db.session.scalars(
        sa.select(Registration).order_by(Registration.id))] == before


def test_group_registration_skips_trainees_with_an_overlapping_session(factory, db):
    cohort = factory.cohort(regions=("3171",))
    people = factory.enrolled_trainees(3, cohort)
    day = day_ahead()
    morning = factory.training_session(cohort, starts_at=at(day, 8), hours=8)
    evening = factory.training_session(cohort, starts_at=at(day, 15), hours=2)
    services.register(people[0], morning)
    res = services.register_group(factory.user("coordinator", region="3171"), evening)
    assert (res.registered, res.waitlisted, res.already, [u.id for u in res.clashing]) == (2, 0, 0, [people[0].id])


def test_group_registration_needs_the_sessions_region(factory):
    cohort = factory.cohort(regions=("3171", "3172"))
    s = factory.training_session(cohort, "3171")
    with pytest.raises(NotAllowed):
        services.register_group(factory.user("coordinator", region="3172"), s)
    with pytest.raises(NotAllowed):
        services.register_group(factory.user("mentor", region="3171"), s)


# --- attendance -----------------------------------------------------------------------------------

def _started_session(factory, cohort, n, **kw):  # type: ignore[no-untyped-def]
    s = factory.training_session(cohort, starts_in=timedelta(minutes=-60), hours=6, capacity=max(n, 1), **kw)
    people = []
    for _i in range(n):
        t = factory.user("trainee", region="3171", phone="+6281234567001")
        factory.enrolment(cohort=cohort, trainee=t)
        factory.seat(s, t)
        people.append(t)
    return s, people


def test_attendance_saves_every_mark_at_once_and_pelatihan_follows(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    s, (a, b, c, d) = _started_session(factory, cohort, 4)
    coord = login_as("coordinator", region="3171")
    page = client.get(f"/sessions/{s.id}/attendance").get_data(as_text=True)
    assert page.count('type="radio"') == 16 and "Tandai semua hadir" in page
    regs = {r.user_id: r.id for r in db.session.scalars(sa.select(Registration))}
    resp = client.form_post(f"/sessions/{s.id}/attendance", {
        f"r{regs[a.id]}": "present", f"r{regs[b.id]}": "late", f"r{regs[c.id]}": "excused",
        f"r{regs[d.id]}": "absent", "save": "1"})
    assert resp.status_code == 302
    marks = {r.user_id: r for r in db.session.scalars(sa.select(Registration))}
    assert [marks[u.id].attendance for u in (a, b, c, d)] == [Attendance.PRESENT, Attendance.LATE,
                                                              Attendance.EXCUSED, Attendance.ABSENT]
    assert all(marks[u.id].attendance_marked_by_id == coord.id for u in (a, b, c, d))
    done = {e.user_id: {st.stage_key for st in e.stage_dates} for e in db.session.scalars(sa.select(Enrolment))}
    assert "pelatihan" in done[a.id] and "pelatihan" in done[b.id]
    assert "pelatihan" not in done[c.id] and "pelatihan" not in done[d.id]
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "session.attendance_saved")) is not None
    # an unsent radio keeps its mark; the "mark all present" button (no JavaScript needed) marks everyone
    client.form_post(f"/sessions/{s.id}/attendance", {"save": "1"})
    assert db.session.scalar(sa.select(Registration.attendance).where(Registration.user_id == d.id)) is Attendance.ABSENT
    client.form_post(f"/sessions/{s.id}/attendance", {"all_present": "1", "confirmed": "1"})
    assert set(db.session.scalars(sa.select(Registration.attendance))) == {Attendance.PRESENT}
    e_d = db.session.scalar(sa.select(Enrolment).where(Enrolment.user_id == d.id))
    assert db.session.get(EnrolmentStage, (e_d.id, "pelatihan")) is not None


def test_attendance_opens_half_an_hour_before_the_start(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, starts_in=timedelta(hours=2))
    t = factory.enrolled_trainees(1, cohort)[0]
    r = factory.seat(s, t)
    login_as("coordinator", region="3171")
    assert "Presensi baru bisa diisi mulai" in client.get(f"/sessions/{s.id}/attendance").get_data(as_text=True)
    client.form_post(f"/sessions/{s.id}/attendance", {f"r{r.id}": "present"})
    assert db.session.scalar(sa.select(Registration.attendance)) is None
    with pytest.raises(Invalid):
        services.save_attendance(SYSTEM, s, {r.id: "present"})
    services.save_attendance(SYSTEM, s, {r.id: "present"}, now=s.starts_at - timedelta(minutes=29))
    assert fresh(db, r).attendance is Attendance.PRESENT


def test_an_unknown_attendance_value_changes_nothing(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    s, (a,) = _started_session(factory, cohort, 1)
    r = db.session.scalar(sa.select(Registration))
    login_as("coordinator", region="3171")
    client.form_post(f"/sessions/{s.id}/attendance", {f"r{r.id}": "sakit"})
    assert fresh(db, r).attendance is None
    assert "Pilihan presensi tidak dikenal." in client.get(f"/sessions/{s.id}/attendance").get_data(as_text=True)


# --- schedule pages ------------------------------------------------------------------------------

def test_the_trainee_schedule_shows_state_and_position(client, factory, login_as):
    cohort = factory.cohort(regions=("3171",))
    full = factory.training_session(cohort, capacity=1, title="Bimtek Penuh")
    free = factory.training_session(cohort, title="Bimtek Longgar", starts_in=timedelta(days=9))
    a, b = factory.enrolled_trainees(2, cohort)
    services.register(a, full)
    services.register(b, full)
    login_as(b)
    page = client.get("/sessions").get_data(as_text=True)
    assert "Daftar tunggu no. 1" in page and "Keluar dari daftar tunggu" in page
    assert "Bimtek Longgar" in page and f'action="/sessions/{free.id}/register?next=/sessions"' in page


def test_a_mentor_sees_the_regions_schedule_read_only(client, factory, login_as):
    cohort = factory.cohort(regions=("3171", "3172"))
    here = factory.training_session(cohort, "3171", title="Bimtek Pusat")
    there = factory.training_session(cohort, "3172", title="Bimtek Utara")
    login_as("mentor", region="3171")
    page = client.get("/sessions").get_data(as_text=True)
    assert "Bimtek Pusat" in page and "Bimtek Utara" not in page and "/register" not in page
    detail = client.get(f"/sessions/{here.id}").get_data(as_text=True)
    assert "Kelola sesi" not in detail and "/register" not in detail and "Pendaftaran Anda" not in detail
    assert client.get(f"/sessions/{there.id}").status_code == 404
    assert client.get(f"/sessions/{here.id}/attendance").status_code == 403


def test_the_month_calendar_puts_sessions_on_their_wib_day(client, factory, login_as):
    cohort = factory.cohort(regions=("3171",))
    day = day_ahead(40).replace(day=10)
    early = factory.training_session(cohort, starts_at=at(day, 6), hours=2, title="Sesi Subuh")  # 23:00 UTC the day before
    late = factory.training_session(cohort, starts_at=at(day, 23, 30), hours=1, title="Sesi Malam")
    login_as("coordinator", region="3171")
    page = client.get(f"/sessions/calendar?month={day.strftime('%Y-%m')}").get_data(as_text=True)
    cell = page.split(f'<span class="cal-num" aria-hidden="true">{day.day}</span>')[1].split('class="cal-day')[0]
    assert "Sesi Subuh" in cell and "Sesi Malam" in cell
    assert "06.00" in cell and "23.30" in cell
    assert page.count('class="cal-week"') >= 4
    assert f'month={(day.replace(day=1) + timedelta(days=32)).strftime("%Y-%m")}' in page  # next month link
    assert early.id and late.id


def test_schedule_filters_by_region_stage_and_month(client, factory, login_as):
    cohort = factory.cohort(regions=("3171", "3172"))
    a = factory.training_session(cohort, "3171", title="Sesi Satu")
    b = factory.training_session(cohort, "3172", title="Sesi Dua", stage_key="pendampingan")
    login_as("coordinator", region=None)
    page = client.get(f"/sessions?region={a.region_id}").get_data(as_text=True)
    assert "Sesi Satu" in page and "Sesi Dua" not in page
    page = client.get("/sessions?stage=pendampingan").get_data(as_text=True)
    assert "Sesi Dua" in page and "Sesi Satu" not in page
    page = client.get("/sessions?month=2018-04").get_data(as_text=True)
    assert "Sesi Satu" not in page and "Belum ada sesi yang cocok." in page
    for q in ("region=99999999999999999999", "stage=x", "month=abc", "month=99999-99", "page=-1",
              "page=99999999999999999999", "month=0001-01"):
        assert client.get(f"/sessions?{q}").status_code == 200, q
        assert client.get(f"/sessions/calendar?{q}").status_code == 200, q
    assert b.id


# --- the trainee's home page ----------------------------------------------------------------------

def test_home_shows_my_upcoming_sessions_and_open_ones(client, factory, login_as):
    cohort = factory.cohort(regions=("3171",))
    [t] = factory.enrolled_trainees(1, cohort)
    mine = factory.training_session(cohort, title="Bimtek Saya")
    factory.training_session(cohort, title="Bimtek Lain", starts_in=timedelta(days=12))
    services.register(t, mine)
    login_as(t)
    home = client.get("/home").get_data(as_text=True)
    assert "Sesi saya yang akan datang" in home and "Bimtek Saya" in home and "Terdaftar" in home
    assert "1 jadwal Bimtek terbuka untuk Anda" in home
    assert "Sesi dibatalkan" not in home


def test_the_edit_form_shows_wib_times_and_saves_through_the_service(client, factory, login_as, db):
    coord = login_as("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    day = day_ahead()
    [s] = services.create_sessions(coord, session_input(cohort, factory.region("3171"), day, capacity=1))
    [t] = factory.enrolled_trainees(1, cohort)
    services.register(t, s)
    page = client.get(f"/sessions/{s.id}/edit").get_data(as_text=True)
    assert f'value="{day.isoformat()}T08:00"' in page and f'value="{day.isoformat()}T16:00"' in page
    assert 'value="Dra. Rini Handayani"' in page and 'name="extra_dates"' not in page
    data = form_data(cohort, factory.region("3171"), day, title="Bimtek (jam diperbarui)", capacity="1",
                     starts_at=f"{day.isoformat()}T09:00")
    resp = client.form_post(f"/sessions/{s.id}/edit", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    s = fresh(db, s)
    assert (s.title, to_wib(s.starts_at).hour, s.sequence) == ("Bimtek (jam diperbarui)", 9, 1)
    resp = client.form_post(f"/sessions/{s.id}/edit", {**data, "capacity": "0"})
    assert resp.status_code == 422
    other_cohort = factory.cohort(regions=("3171",))
    resp = client.form_post(f"/sessions/{s.id}/edit", {**data, "cohort_id": str(other_cohort.id)})
    assert resp.status_code == 422 and "sudah ada peserta terdaftar" in resp.get_data(as_text=True)
