"""Browser (desktop): a coordinator records a Bimtek held before the system was used, registers the
managers on its step, takes attendance (searching the list) and issues their certificates."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from lms.certification.models import Certificate
from lms.db import transaction, utcnow
from lms.i18n import to_wib
from lms.programme.models import Enrolment
from lms.sessions.models import Attendance, Registration, TrainingSession
from tests.browser_helpers import fits_the_screen, see, sign_in

pytestmark = pytest.mark.browser


def test_a_coordinator_records_a_past_session_takes_attendance_and_issues_certificates(browser_page, factory, db):
    page = browser_page
    cohort = factory.cohort(name="e-Warong DKI Jakarta (uji)", regions=("3171",))
    people = factory.enrolled_trainees(3, cohort)
    with transaction():  # two managers are on the training step; the third has not reached it
        db.session.execute(sa.update(Enrolment).where(Enrolment.user_id.in_([p.id for p in people[:2]]))
                           .values(current_stage="pelatihan"))
    coord = factory.user("coordinator", region="3171", full_name="Pak Koordinator Pusat")
    day = to_wib(utcnow()).date() - timedelta(days=60)

    sign_in(page, coord.email)
    page.goto("/sessions/new")
    page.get_by_label("Judul").fill("Bimtek Pengelola e-Warong Jakarta Pusat (sebelum aplikasi)")
    page.get_by_label("Mulai (WIB)").fill(f"{day.isoformat()}T08:00")
    page.get_by_label("Selesai (WIB)").fill(f"{day.isoformat()}T15:00")
    page.get_by_label("Nama tempat").fill("Aula Dinas Sosial Provinsi DKI Jakarta")
    page.get_by_label("Kapasitas (orang)").fill("40")
    cert = page.get_by_label("Sertifikat untuk peserta yang hadir")
    assert cert.input_value() == "bimtek"
    # the designs follow the step: on another step the Bimtek design is not offered
    page.get_by_label("Langkah 7 PAS").select_option("pemasaran")
    assert cert.input_value() == ""
    page.get_by_label("Langkah 7 PAS").select_option("pelatihan")
    cert.select_option("bimtek")
    # without the box a start in the past is refused, with a message that names the box
    page.get_by_role("button", name="Simpan").click()
    see(page, "Waktu mulai sudah lewat. Untuk mencatat sesi yang sudah berlangsung")
    page.get_by_label("Sesi ini sudah berlangsung (mencatat sesi lampau)").check()
    page.get_by_role("button", name="Simpan").click()
    page.wait_for_url("**/sessions/*")
    see(page, "Sesi lampau dicatat.")
    see(page, "Catatan sesi lampau")
    see(page, "Sertifikat Bimbingan Teknis")

    # register the managers whose current step is the session's step (the default), after a confirmation
    page.get_by_role("link", name="Daftarkan peserta").click()
    see(page, "Tahap saat ini Pelatihan: 2 orang")
    see(page, "Seluruh angkatan di Jakarta Pusat: 3 orang")
    expect(page.locator("input[value='step']")).to_be_checked()
    page.get_by_role("button", name="Lanjut").click()
    see(page, "Daftarkan 2 orang ke")
    page.get_by_role("button", name="Ya, daftarkan 2 orang").click()
    see(page, "2 terdaftar, 0 masuk daftar tunggu")

    # attendance: the search box filters as one types; one present, one late
    page.get_by_role("link", name="Presensi", exact=True).click()
    page.wait_for_url("**/attendance")
    search = page.get_by_label("Cari nama atau kode e-Warong")
    search.fill(people[1].full_name)
    expect(page.locator("#att-rows tr:visible")).to_have_count(1)
    search.fill("")
    expect(page.locator("#att-rows tr:visible")).to_have_count(2)
    db.session.rollback()
    regs = {r.user_id: r.id for r in db.session.scalars(sa.select(Registration))}
    page.locator(f"input[name='r{regs[people[0].id]}'][value='present']").check()
    page.locator(f"input[name='r{regs[people[1].id]}'][value='late']").check()
    page.get_by_role("button", name="Simpan presensi").click()
    see(page, "Presensi tersimpan (2 perubahan).")
    db.session.rollback()
    assert {r.user_id: r.attendance for r in db.session.scalars(sa.select(Registration))} == {
        people[0].id: Attendance.PRESENT, people[1].id: Attendance.LATE}

    # certificates: both are eligible; one is issued from the list
    s = db.session.scalar(sa.select(TrainingSession))
    page.goto(f"/sessions/{s.id}")
    page.get_by_role("link", name="Terbitkan sertifikat").click()
    page.wait_for_url("**/certificates/sessions/*")
    see(page, "2 memenuhi syarat, belum bersertifikat")
    row = page.locator("tr", has_text=people[0].full_name)
    row.get_by_role("button", name="Terbitkan").click()
    see(page, f"diterbitkan untuk {people[0].full_name}")
    db.session.rollback()
    cert_row = db.session.scalar(sa.select(Certificate))
    assert cert_row.holder_id == people[0].id and cert_row.session_id == s.id
    assert cert_row.serial.startswith("BIMTEK/")


def test_on_a_phone_the_schedule_tabs_share_a_row_and_past_sessions_read_finished(phone_page, factory):
    page = phone_page
    cohort = factory.cohort(regions=("3171",))
    [trainee] = factory.enrolled_trainees(1, cohort)
    past = factory.training_session(cohort, starts_in=timedelta(days=-9), title="Bimtek yang sudah lewat")
    factory.seat(past, trainee, attendance="present")
    sign_in(page, trainee.email)
    page.goto("/sessions?when=past")
    see(page, "Bimtek yang sudah lewat")
    tabs = page.locator("nav.tabs a")
    assert tabs.nth(0).bounding_box()["y"] == tabs.nth(1).bounding_box()["y"]
    see(page, "Selesai")
    assert "Pendaftaran ditutup" not in page.locator("table").inner_text()
    assert fits_the_screen(page)
