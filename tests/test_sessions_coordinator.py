"""What a coordinator tripped over (issue 11): the certificate a session gives, chosen on its form and
explained on the candidates page; past sessions recorded; group registration by step; past sessions in
the schedule; the printable attendance sheet and roster; confirm pages before wide actions; ranges
of dates and capacity, and stored extremes that never break a page."""
from __future__ import annotations

import re
import shutil
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.certification import services as certs
from lms.certification.models import Certificate, CertificateJob
from lms.db import transaction, utcnow
from lms.errors import Invalid
from lms.i18n import WIB, to_wib
from lms.permissions import SYSTEM
from lms.programme.models import Enrolment
from lms.sessions import services
from lms.sessions.models import Attendance, Registration, RegistrationStatus, TrainingSession


def wib_day(days: int):  # type: ignore[no-untyped-def]
    return to_wib(utcnow()).date() + timedelta(days=days)


def form_data(cohort, region, day, **kw):  # type: ignore[no-untyped-def]
    data = {"title": "Bimtek Pengelola e-Warong Jakarta Pusat", "cohort_id": str(cohort.id), "stage_key": "pelatihan",
            "region_id": str(region.id), "venue_name": "Aula Dinas Sosial Provinsi DKI Jakarta",
            "venue_address": "Jl. Gunung Sahari II No. 5", "starts_at": f"{day.isoformat()}T08:00",
            "ends_at": f"{day.isoformat()}T16:00", "capacity": "45", "description": "", "certificate_kind": "bimtek",
            "speakers-0-name": "Dra. Rini Handayani", "speakers-0-agency": "dinas_sosial"}
    for i in range(1, 6):
        data.update({f"speakers-{i}-name": "", f"speakers-{i}-agency": "", f"speakers-{i}-agency_other": ""})
    data.update(kw)
    return data


def session_input(cohort, region, day, **kw):  # type: ignore[no-untyped-def]
    data = dict(title="Bimtek", stage_key="pelatihan", cohort_id=cohort.id, region_id=region.id,
                venue_name=f"Aula {day.isoformat()}", venue_address="", capacity=40,
                starts_at=datetime.combine(day, time(8)), ends_at=datetime.combine(day, time(16)))
    data.update(kw)
    return services.SessionInput(**data)


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


def set_steps(db, users, step: str) -> None:  # type: ignore[no-untyped-def]
    with transaction():
        db.session.execute(sa.update(Enrolment).where(Enrolment.user_id.in_([u.id for u in users]))
                           .values(current_stage=step))


# --- 1. the certificate a session gives ------------------------------------------------------------

def test_the_form_offers_each_design_with_its_steps_and_the_default_follows_the_step(client, factory, login_as):
    factory.cohort(regions=("3171",))
    login_as("coordinator", region="3171")
    html = text(client.get("/sessions/new"))
    select = re.search(r'<select[^>]*id="certificate_kind".*?</select>', html).group(0)
    assert '<option value="">Tanpa sertifikat</option>' in select
    assert re.search(r'<option data-stages="pelatihan" selected value="bimtek">Sertifikat Bimbingan Teknis '
                     r'\(hanya sesi Pelatihan\)</option>', select)
    assert "completion" not in select  # an enrolment design is not a session's
    assert services.default_certificate_kind("pelatihan") == "bimtek"
    assert services.default_certificate_kind("pemasaran") is None


def test_a_design_that_does_not_allow_the_step_is_refused_with_the_reason(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    coord = login_as("coordinator", region="3171")
    resp = client.form_post("/sessions/new", form_data(cohort, region, wib_day(20), stage_key="pemasaran"))
    assert resp.status_code == 422
    assert ("Sesi ini untuk tahap Pemasaran; desain “Sertifikat Bimbingan Teknis” hanya untuk sesi Pelatihan. "
            "Pilih desain lain atau “Tanpa sertifikat”.") in text(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession)) == 0
    with pytest.raises(Invalid) as e:
        services.create_sessions(coord, session_input(cohort, region, wib_day(20), stage_key="pemasaran",
                                                      certificate_kind="bimtek"))
    assert "certificate_kind" in e.value.reasons
    # "no certificate" is always possible; the session page says so
    resp = client.form_post("/sessions/new", form_data(cohort, region, wib_day(20), stage_key="pemasaran",
                                                       certificate_kind=""))
    assert resp.status_code == 302
    s = db.session.scalar(sa.select(TrainingSession))
    assert s.certificate_kind is None
    assert "<dt>Sertifikat</dt><dd><span class=\"muted\">Tanpa sertifikat</span>" in text(client.get(f"/sessions/{s.id}"))


def test_changing_the_design_on_edit_is_audited_but_calendars_are_not_told(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    login_as("coordinator", region="3171")
    day = wib_day(20)
    client.form_post("/sessions/new", form_data(cohort, region, day))
    s = db.session.scalar(sa.select(TrainingSession))
    assert (s.certificate_kind, s.sequence) == ("bimtek", 0)
    data = form_data(cohort, region, day, certificate_kind="")
    assert client.form_post(f"/sessions/{s.id}/edit", data).status_code == 302
    db.session.refresh(s)
    assert (s.certificate_kind, s.sequence) == (None, 0)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "session.updated"))
    assert entry.details["changes"]["certificate_kind"] == ["bimtek", None]


def test_the_candidates_page_says_why_nobody_is_eligible_and_where_to_change_it(client, factory, login_as):
    pemasaran = factory.session(stage_key="pemasaran")
    factory.attendee(pemasaran)
    coord = login_as("coordinator", region="3171")
    html = text(client.get(f"/certificates/sessions/{pemasaran.id}"))
    assert ("Sesi ini untuk tahap Pemasaran; desain “Sertifikat Bimbingan Teknis” hanya untuk sesi Pelatihan. "
            "Ubah desain sertifikat sesi ini di halaman Ubah sesi.") in html
    assert f'href="/sessions/{pemasaran.id}/edit"' in html
    # a training session set to give no certificate says so, and nothing can be issued
    none = factory.session(certificate_kind=None)
    holder = factory.attendee(none)
    html = text(client.get(f"/certificates/sessions/{none.id}"))
    assert "Sesi ini diatur tanpa sertifikat. Pilih desain sertifikat di halaman Ubah sesi." in html
    with pytest.raises(Invalid):
        certs.issue_for_session(coord, certs.design_for("bimtek"), none, holder)


def test_the_rule_is_data_a_new_design_for_another_step_needs_no_code(app, client, factory, login_as, db,
                                                                      tmp_path):
    from lms.certification.designs import parse

    folder = tmp_path / "pemasaran"
    shutil.copytree(Path(__file__).resolve().parents[1] / "certificates" / "bimtek", folder)
    meta = folder / "metadata.yaml"
    meta.write_text(meta.read_text().replace("kind: bimtek", "kind: pemasaran")
                    .replace("serial_prefix: BIMTEK", "serial_prefix: PASAR")
                    .replace("session_stages: [pelatihan]", "session_stages: [pemasaran]"))
    app.extensions["lms.certificate_designs"] = dict(app.extensions["lms.certificate_designs"],
                                                     pemasaran=parse(folder))
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    coord = login_as("coordinator", region="3171")
    assert services.default_certificate_kind("pemasaran") == "pemasaran"
    [s] = services.create_sessions(coord, session_input(cohort, region, wib_day(-3), stage_key="pemasaran",
                                                        certificate_kind="pemasaran", past=True))
    people = factory.enrolled_trainees(1, cohort)
    services.register_group(coord, s, scope=services.GROUP_COHORT)
    services.save_attendance(coord, s, {}, all_present=True)
    cert = certs.issue_for_session(coord, certs.design_for("pemasaran"), s, people[0]).certificate
    assert cert.serial.startswith("PASAR/")


# --- 2. past sessions --------------------------------------------------------------------------

def test_a_start_in_the_past_needs_the_past_session_box(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    login_as("coordinator", region="3171")
    resp = client.form_post("/sessions/new", form_data(cohort, region, wib_day(-30)))
    assert resp.status_code == 422
    assert "Waktu mulai sudah lewat. Untuk mencatat sesi yang sudah berlangsung, centang" in text(resp)
    resp = client.form_post("/sessions/new", form_data(cohort, region, wib_day(30), past="y"))
    assert resp.status_code == 422 and "Waktu mulai belum lewat" in text(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession)) == 0


def test_a_past_session_is_recorded_audited_closed_to_trainees_and_open_for_attendance(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    people = factory.enrolled_trainees(3, cohort)
    coord = login_as("coordinator", region="3171")
    day = wib_day(-40)
    resp = client.form_post("/sessions/new", form_data(cohort, region, day, past="y"))
    assert resp.status_code == 302
    s = db.session.scalar(sa.select(TrainingSession))
    assert s.backdated and to_wib(s.starts_at).date() == day
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.target_id == str(s.id)))
    assert entry.action == "session.backdated" and entry.actor_id == coord.id
    assert "Catatan sesi lampau" in text(client.get(f"/sessions/{s.id}"))
    # trainees cannot register themselves; the coordinator registers the group, then takes attendance
    with pytest.raises(Invalid):
        services.register(people[0], s)
    assert services.group_registration_open(s)
    res = services.register_group(coord, s, scope=services.GROUP_COHORT)
    assert res.registered == 3
    regs = {r.user_id: r.id for r in db.session.scalars(sa.select(Registration))}
    resp = client.form_post(f"/sessions/{s.id}/attendance", {f"r{regs[people[0].id]}": "present",
                                                             f"r{regs[people[1].id]}": "late",
                                                             f"r{regs[people[2].id]}": "absent", "save": "1"})
    assert resp.status_code == 302
    # and certificates follow
    html = text(client.get(f"/certificates/sessions/{s.id}"))
    assert "<strong>2</strong> memenuhi syarat, belum bersertifikat" in html
    client.form_post(f"/certificates/sessions/{s.id}/attendees/{people[0].id}", {"kind": "bimtek"})
    cert = db.session.scalar(sa.select(Certificate))
    assert cert.holder_id == people[0].id and cert.session_id == s.id


def test_a_regular_session_that_started_does_not_take_group_registrations(factory):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, starts_in=timedelta(hours=-1))
    factory.enrolled_trainees(1, cohort)
    with pytest.raises(Invalid):
        services.register_group(factory.user("coordinator", region="3171"), s)


@pytest.mark.parametrize("start, message", [
    ("2017-12-31T08:00", "Tanggal harus antara 1 Jan 2018 dan"),
    ("0001-01-01T08:00", "Tanggal harus antara 1 Jan 2018 dan"),
    ("9999-12-31T08:00", "Tanggal harus antara 1 Jan 2018 dan"),
    ("far-ahead", "Tanggal harus antara 1 Jan 2018 dan"),
])
def test_session_dates_have_a_range_on_the_form(client, factory, login_as, db, start, message):
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    login_as("coordinator", region="3171")
    if start == "far-ahead":
        start = (services.latest_session_date() + timedelta(days=1)).isoformat() + "T08:00"
    data = form_data(cohort, region, wib_day(1), starts_at=start, ends_at=start.replace("T08", "T16"), past="y")
    resp = client.form_post("/sessions/new", data)
    assert resp.status_code == 422
    assert message in text(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession)) == 0


def test_session_dates_and_capacity_have_a_range_in_the_service(factory):
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    coord = factory.user("coordinator", region="3171")
    for kw in (dict(starts_at=datetime(1, 1, 1, 8), ends_at=datetime(1, 1, 1, 16)),
               dict(starts_at=datetime(9999, 12, 31, 8), ends_at=datetime(9999, 12, 31, 16)),
               dict(starts_at=datetime(2017, 12, 31, 8), ends_at=datetime(2017, 12, 31, 16)),
               dict(starts_at=datetime(9999, 12, 31, 23, tzinfo=timezone.utc),
                    ends_at=datetime(9999, 12, 31, 23, 30, tzinfo=timezone.utc))):
        with pytest.raises(Invalid) as e:
            services.create_sessions(coord, session_input(cohort, region, wib_day(1), past=True, **kw))
        assert "Tanggal harus antara 1 Jan 2018" in str(e.value)
    with pytest.raises(Invalid) as e:
        services.create_sessions(coord, session_input(cohort, region, wib_day(1), capacity=10**12))
    assert "capacity" in e.value.reasons
    with pytest.raises(Invalid) as e:
        services.create_sessions(coord, session_input(cohort, region, wib_day(1), extra_dates=[wib_day(365 * 3)]))
    assert "extra_dates" in e.value.reasons
    # the first and last days of the range are fine
    services.create_sessions(coord, session_input(cohort, region, datetime(2018, 1, 1).date(), past=True))
    services.create_sessions(coord, session_input(cohort, region, services.latest_session_date()))


def test_capacity_has_a_range_on_the_form(client, factory, login_as):
    cohort = factory.cohort(regions=("3171",))
    region = factory.region("3171")
    login_as("coordinator", region="3171")
    for value in ("0", str(10**12), "1e309"):
        resp = client.form_post("/sessions/new", form_data(cohort, region, wib_day(5), capacity=value))
        assert resp.status_code == 422, value
    assert 'max="5000"' in text(client.get("/sessions/new"))


# --- 3. group registration by step -------------------------------------------------------------

def test_group_registration_offers_the_step_first_with_counts_and_asks_before_registering(client, factory,
                                                                                         login_as, db):
    cohort = factory.cohort(regions=("3171",))
    at_step = factory.enrolled_trainees(2, cohort)
    others = factory.enrolled_trainees(3, cohort)
    set_steps(db, at_step, "perizinan")
    set_steps(db, others[:2], "pemasaran")
    s = factory.training_session(cohort, stage_key="perizinan", capacity=10)
    login_as("coordinator", region="3171")
    assert f'href="/sessions/{s.id}/register-group"' in text(client.get(f"/sessions/{s.id}"))
    html = text(client.get(f"/sessions/{s.id}/register-group"))
    assert "Tahap saat ini Perizinan: 2 orang" in html
    assert "Seluruh angkatan di Jakarta Pusat: 5 orang" in html
    assert html.index("Tahap saat ini Perizinan") < html.index("Seluruh angkatan")
    assert re.search(r'<input [^>]*checked id="scope-0" name="scope" required type="radio" value="step">', html)
    # the choice leads to a confirm page that says what will happen; nothing is registered yet
    resp = client.form_post(f"/sessions/{s.id}/register-group", {"scope": "step"})
    assert resp.status_code == 200
    html = text(resp)
    assert "Daftarkan 2 orang ke" in html and "2 orang didaftarkan (Tahap saat ini Perizinan: 2 orang)." in html
    assert '<input type="hidden" name="scope" value="step">' in html
    assert '<input type="hidden" name="confirmed" value="1">' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 0
    resp = client.form_post(f"/sessions/{s.id}/register-group", {"scope": "step", "confirmed": "1"})
    assert resp.status_code == 302
    assert set(db.session.scalars(sa.select(Registration.user_id))) == {u.id for u in at_step}
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "session.group_registered"))
    assert entry.details["scope"] == "step"


def test_group_options_count_in_one_query(factory, db, count_queries):
    cohort = factory.cohort(regions=("3171",))
    people = factory.enrolled_trainees(4, cohort)
    set_steps(db, people[:3], "pelatihan")
    s = factory.training_session(cohort)
    factory.seat(s, people[0])
    coord = factory.user("coordinator", region="3171")
    services.group_options(coord, s)  # loads the actor and the session
    with count_queries() as c:
        opts = services.group_options(coord, s)
    assert c.count == 1
    assert (opts["step"].total, opts["step"].new, opts["cohort"].total, opts["cohort"].new) == (3, 2, 4, 3)


# --- 4. the schedule shows the past -------------------------------------------------------------

def test_the_schedule_has_upcoming_and_past_tabs_with_counts_newest_past_first(client, factory, login_as):
    cohort = factory.cohort(regions=("3171",))
    for days in (5, 40, 20):
        factory.training_session(cohort, starts_in=timedelta(days=-days), title=f"Lampau {days} hari")
    login_as("coordinator", region="3171")
    html = text(client.get("/sessions"))
    assert "0 sesi" in html
    assert re.search(r'Akan datang <span class="tab-count">0</span>', html)
    assert re.search(r'href="/sessions\?when=past">Sudah lewat <span class="tab-count">3</span>', html)
    assert "Lihat 3 sesi yang sudah lewat" in html
    html = text(client.get("/sessions?when=past"))
    assert "3 sesi" in html
    assert html.index("Lampau 5 hari") < html.index("Lampau 20 hari") < html.index("Lampau 40 hari")
    assert 'aria-current="page">Sudah lewat' in html


def test_the_past_tab_reads_a_bounded_number_of_queries(client, factory, login_as, count_queries):
    cohort = factory.cohort(regions=("3171",))
    login_as("coordinator", region="3171")

    def queries() -> int:
        with count_queries() as c:
            assert client.get("/sessions?when=past").status_code == 200
        return c.count

    factory.training_session(cohort, starts_in=timedelta(days=-3), speakers=(("Bu Rini", "dinas_sosial"),))
    few = queries()
    for d in range(4, 24):
        factory.training_session(cohort, starts_in=timedelta(days=-d), speakers=(("Bu Rini", "dinas_sosial"),))
    assert queries() == few


# --- 5. printable attendance sheet, roster with phones, search ---------------------------------

def test_the_attendance_sheet_and_roster_print_what_a_coordinator_needs(client, factory, login_as):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, speakers=(("Dra. Rini Handayani", "dinas_sosial"),
                                                   ("Bambang Sutrisno", "bank_indonesia")))
    people = factory.enrolled_trainees(2, cohort)
    for p in people:
        factory.seat(s, p)
    login_as("coordinator", region="3171")
    html = text(client.get(f"/sessions/{s.id}/attendance-sheet"))
    assert "<h1" in html and "Daftar hadir" in html
    for expected in (s.title, s.venue_name, "Dra. Rini Handayani (Dinas Sosial)", "Bambang Sutrisno (Bank Indonesia)",
                     services.when_text(s.starts_at, s.ends_at), "Tanda tangan", people[0].full_name,
                     people[0].managed_outlet.code, people[1].managed_outlet.name):
        assert expected in html, expected
    assert html.count('class="sign-col"') == 1 + 2 + 5  # header, two people, five blank rows
    html = text(client.get(f"/sessions/{s.id}/roster"))
    assert 'href="tel:+6281234567001"' in html and "https://wa.me/6281234567001" in html
    assert people[1].full_name in html
    css = (Path(__file__).resolve().parents[1] / "lms" / "static" / "css" / "app.css").read_text()
    printing = css[css.index("@media print"):]
    assert ".topbar" in printing and "display: none" in printing


def test_the_attendance_screen_filters_by_name_without_javascript_and_keeps_hidden_marks(client, factory,
                                                                                        login_as, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, starts_in=timedelta(minutes=-30))
    people = factory.enrolled_trainees(3, cohort)
    regs = [factory.seat(s, p, attendance="late") for p in people]
    login_as("coordinator", region="3171")
    html = text(client.get(f"/sessions/{s.id}/attendance?q={people[1].full_name.upper()}"))
    assert 'type="search"' in html and 'name="q"' in html
    assert people[1].full_name in html and people[0].full_name not in html and people[2].full_name not in html
    assert "1 dari 3 peserta tampil" in html
    assert text(client.get(f"/sessions/{s.id}/attendance?q={people[2].managed_outlet.code}")).count('<tr data-search') == 1
    resp = client.form_post(f"/sessions/{s.id}/attendance?q=x", {f"r{regs[1].id}": "present", "save": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("?q=x")
    marks = {r.id: r.attendance for r in db.session.scalars(sa.select(Registration))}
    assert marks == {regs[0].id: Attendance.LATE, regs[1].id: Attendance.PRESENT, regs[2].id: Attendance.LATE}


# --- 6. wide or irreversible actions ask first ---------------------------------------------------

def test_cancelling_my_registration_asks_first(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, capacity=1)
    [me, waiting] = factory.enrolled_trainees(2, cohort)
    services.register(me, s)
    services.register(waiting, s)
    login_as(me)
    resp = client.form_post(f"/sessions/{s.id}/unregister?next=/home")
    assert resp.status_code == 200
    html = text(resp)
    assert "Batalkan pendaftaran Anda?" in html and "orang pertama di daftar tunggu" in html
    assert 'action="/sessions/' in html and "next=/home" in html
    assert services.place_of(me, s).status == "registered"
    resp = client.form_post(f"/sessions/{s.id}/unregister?next=/home", {"confirmed": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/home")
    assert services.place_of(me, s).status == "cancelled"
    assert services.place_of(waiting, s).status == "registered"


def test_mark_all_present_asks_first(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, starts_in=timedelta(minutes=-10))
    people = factory.enrolled_trainees(3, cohort)
    factory.seat(s, people[0], attendance="absent")
    for p in people[1:]:
        factory.seat(s, p)
    login_as("coordinator", region="3171")
    resp = client.form_post(f"/sessions/{s.id}/attendance", {"all_present": "1"})
    assert resp.status_code == 200
    html = text(resp)
    assert "Tandai semua 3 peserta hadir?" in html and "3 catatan berubah, termasuk 2 yang belum diisi" in html
    assert '<input type="hidden" name="all_present" value="1">' in html
    assert set(db.session.scalars(sa.select(Registration.attendance))) == {Attendance.ABSENT, None}
    client.form_post(f"/sessions/{s.id}/attendance", {"all_present": "1", "confirmed": "1"})
    assert set(db.session.scalars(sa.select(Registration.attendance))) == {Attendance.PRESENT}


def test_bulk_issuing_asks_first(client, factory, login_as, db):
    s = factory.session()
    for _i in range(2):
        factory.attendee(s)
    login_as("coordinator", region="3171")
    resp = client.form_post(f"/certificates/sessions/{s.id}/bulk", {"kind": "bimtek"})
    assert resp.status_code == 200
    html = text(resp)
    assert "Terbitkan 2 sertifikat?" in html and "nomor yang sudah terbit tidak dipakai ulang" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CertificateJob)) == 0
    resp = client.form_post(f"/certificates/sessions/{s.id}/bulk", {"kind": "bimtek", "confirmed": "1"})
    assert resp.status_code == 302 and "/certificates/jobs/" in resp.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CertificateJob)) == 1


def test_bulk_issuing_for_a_cohort_asks_first(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    factory.completed_enrolment(cohort)
    login_as("coordinator", region="3171")
    resp = client.form_post(f"/certificates/cohorts/{cohort.id}/bulk", {"kind": "completion"})
    assert resp.status_code == 200 and "Terbitkan 1 sertifikat?" in text(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CertificateJob)) == 0


# --- 7. stored extremes never break a page --------------------------------------------------------

def test_a_stored_session_at_the_ends_of_the_calendar_breaks_no_page(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171",))
    big = 10**12 if db.engine.dialect.name == "sqlite" else 2**31 - 1  # PostgreSQL's integer stops there
    early = factory.training_session(cohort, starts_at=datetime(1, 1, 1, tzinfo=timezone.utc), title="Tahun satu")
    late = factory.training_session(cohort, starts_at=datetime(9999, 12, 31, 15, tzinfo=timezone.utc), hours=8,
                                    title="Tahun 9999")
    huge = factory.training_session(cohort, capacity=big, title="Kapasitas besar")
    [trainee] = factory.enrolled_trainees(1, cohort)
    for s in (early, late, huge):
        factory.seat(s, trainee)
    coord = login_as("coordinator", region="3171")
    feed = services.create_feed(coord)
    urls = ["/sessions", "/sessions?when=past", "/sessions/calendar", "/sessions/calendar?month=9999-12",
            "/sessions/calendar?month=0001-01", f"/calendar/{feed}.ics", "/dashboard", "/certificates", "/home"]
    for s in (early, late, huge):
        urls += [f"/sessions/{s.id}", f"/sessions/{s.id}/edit", f"/sessions/{s.id}/attendance",
                 f"/sessions/{s.id}/attendance-sheet", f"/sessions/{s.id}/roster", f"/sessions/{s.id}/calendar.ics",
                 f"/certificates/sessions/{s.id}"]
    for url in urls:
        assert client.get(url).status_code == 200, url
    # registration of a group is closed once a (not back-dated) session started: a redirect, not an error
    assert [client.get(f"/sessions/{s.id}/register-group").status_code for s in (early, late, huge)] == [302, 200, 200]
    client.form_post("/logout")
    login_as(trainee)
    for url in ("/home", "/sessions", "/sessions?when=past", f"/sessions/{late.id}", f"/sessions/{huge.id}"):
        assert client.get(url).status_code == 200, url
