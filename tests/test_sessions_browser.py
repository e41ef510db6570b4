"""Browser: a coordinator schedules a Bimtek through the form, a trainee registers, the coordinator
takes attendance and the trainee's tracker shows the training step complete; on a phone the month
calendar becomes a list per day and the check-in QR loads under the CSP."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.db import transaction, utcnow
from lms.i18n import to_wib
from lms.sessions.models import Attendance, Registration, RegistrationStatus, TrainingSession
from tests.browser_helpers import fits_the_screen, see, sign_in, sign_out

pytestmark = pytest.mark.browser





def test_schedule_register_take_attendance_and_the_tracker_follows(browser_page, factory, db):
    page = browser_page
    cohort = factory.cohort(name="e-Warong DKI Jakarta 2018 (uji)", regions=("3171",))
    trainee = factory.user("trainee", region="3171", phone="+6281234567001", full_name="Ibu Siti Rahmawati")
    factory.enrolment(cohort=cohort, trainee=trainee)  # pendaftaran done: the profile is complete
    coord = factory.user("coordinator", region="3171", full_name="Pak Koordinator Pusat")
    day = to_wib(utcnow()).date() + timedelta(days=14)

    sign_in(page, coord.email)
    page.goto("/sessions")
    page.get_by_role("link", name="Jadwalkan sesi").click()
    page.wait_for_url("**/sessions/new")
    page.get_by_label("Judul").fill("Bimtek Pengelola e-Warong Jakarta Pusat")
    assert page.get_by_label("Langkah 7 PAS").input_value() == "pelatihan"
    page.get_by_label("Mulai (WIB)").fill(f"{day.isoformat()}T08:00")
    page.get_by_label("Selesai (WIB)").fill(f"{day.isoformat()}T16:00")
    page.get_by_label("Nama tempat").fill("Aula Dinas Sosial Provinsi DKI Jakarta")
    page.get_by_label("Alamat tempat").fill("Jl. Gunung Sahari II No. 5, Jakarta Pusat")
    page.get_by_label("Kapasitas (orang)").fill("40")
    page.get_by_label("Narasumber 1").fill("Dra. Rini Handayani")
    page.locator("[name='speakers-0-agency']").select_option("dinas_sosial")
    page.get_by_label("Narasumber 2").fill("Bambang Sutrisno")
    page.locator("[name='speakers-1-agency']").select_option("bank_indonesia")
    page.get_by_role("button", name="Simpan").click()
    page.wait_for_url("**/sessions/*")
    see(page, "Sesi dijadwalkan.")
    see(page, "08.00–16.00 WIB")
    db.session.rollback()
    s = db.session.scalar(sa.select(TrainingSession))
    assert to_wib(s.starts_at).hour == 8 and [sp.name for sp in s.speakers] == ["Dra. Rini Handayani",
                                                                               "Bambang Sutrisno"]
    sign_out(page)

    sign_in(page, trainee.email)
    see(page, "1 jadwal Bimtek terbuka untuk Anda")
    page.goto("/sessions")
    page.get_by_role("button", name="Daftar", exact=True).click()
    page.wait_for_url("**/sessions")
    see(page, "Anda terdaftar di Bimtek Pengelola e-Warong Jakarta Pusat.")
    assert page.locator(".badge", has_text="Terdaftar").count() == 1
    sign_out(page)

    with transaction():  # the day of the session arrives: it started a few minutes ago
        row = db.session.get(TrainingSession, s.id)
        row.starts_at, row.ends_at = utcnow() - timedelta(minutes=5), utcnow() + timedelta(hours=7)

    sign_in(page, coord.email)
    page.goto(f"/sessions/{s.id}")
    page.get_by_role("link", name="Presensi").click()
    page.wait_for_url(f"**/sessions/{s.id}/attendance")
    row = page.locator("tr", has_text="Ibu Siti Rahmawati")
    row.get_by_label("Terlambat").check()
    row.get_by_label("Hadir", exact=True).check()  # changed their mind: on time after all
    page.get_by_role("button", name="Simpan presensi").click()
    page.wait_for_url(f"**/sessions/{s.id}/attendance")
    see(page, "Presensi tersimpan (1 perubahan).")
    assert page.locator("tr", has_text="Ibu Siti Rahmawati").get_by_label("Hadir", exact=True).is_checked()
    db.session.rollback()
    reg = db.session.scalar(sa.select(Registration))
    assert (reg.status, reg.attendance) == (RegistrationStatus.REGISTERED, Attendance.PRESENT)
    sign_out(page)

    sign_in(page, trainee.email)
    page.goto("/progress")
    step = page.locator("li.step", has_text="Pelatihan").first
    assert "step-done" in (step.get_attribute("class") or "")
    assert "(1/1)" in step.inner_text()


def test_on_a_phone_the_month_is_a_list_and_the_qr_loads(phone_page, factory, db):
    page = phone_page
    cohort = factory.cohort(regions=("3171",))
    [trainee] = factory.enrolled_trainees(1, cohort)
    soon = factory.training_session(cohort, title="Bimtek Hari Ini", starts_in=timedelta(minutes=15), hours=3)
    later = factory.training_session(cohort, title="Bimtek Bulan Depan", starts_in=timedelta(days=3))
    factory.seat(soon, trainee)
    month = to_wib(later.starts_at).strftime("%Y-%m")

    sign_in(page, trainee.email)
    page.goto(f"/sessions/calendar?month={month}")
    assert fits_the_screen(page)
    item = page.locator(".cal-day", has_text="Bimtek Bulan Depan")
    assert item.is_visible()
    assert page.locator(".cal-head").is_hidden()  # no seven-column grid on a phone
    assert page.locator(".cal-day.is-empty").first.is_hidden()  # days without sessions are left out
    item.get_by_role("link", name="Bimtek Bulan Depan").click()
    page.wait_for_url(f"**/sessions/{later.id}")
    page.locator(".my-place").get_by_role("button", name="Daftar").click()
    page.wait_for_url(f"**/sessions/{later.id}")
    see(page, "Anda terdaftar di Bimtek Bulan Depan.")
    assert fits_the_screen(page)
    sign_out(page)

    coord = factory.user("coordinator", region="3171")
    sign_in(page, coord.email)
    page.goto(f"/sessions/{soon.id}/qr")
    img = page.locator("img.qr")
    page.wait_for_function("document.querySelector('img.qr').complete && "
                           "document.querySelector('img.qr').naturalWidth > 0")
    assert img.is_visible() and fits_the_screen(page)
    assert page.locator("[data-qr-closed]").is_hidden()
    page.goto(f"/sessions/{soon.id}/attendance")
    assert fits_the_screen(page)  # the table scrolls inside its own box, the page does not
    box = page.locator(".att-choice").first.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44  # a finger-sized target
