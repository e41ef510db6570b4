"""Browser, on a 360 px phone: the trainee's home page and tracker lead to the next action."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import fits_the_screen, see, sign_in
from tests.factories import tiny_pdf, tiny_png

pytestmark = pytest.mark.browser


def _at_perizinan(factory):  # type: ignore[no-untyped-def]
    trainee = factory.user("trainee", region="3171", phone="+6281234567001", full_name="Ibu Siti Rahmawati")
    enrolment = factory.enrolment(trainee=trainee)
    factory.attended(enrolment)
    factory.visited(enrolment, times=3)
    return trainee, enrolment


def test_home_sentence_to_current_step_to_form_to_pending_on_a_phone(phone_page, factory, tmp_path: Path):
    page = phone_page
    trainee, _e = _at_perizinan(factory)
    mentor = factory.user("mentor", region="3171", full_name="Pak Budi Pendamping", phone="+6281311112222")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    scan = tmp_path / "nib.pdf"
    scan.write_bytes(tiny_pdf())

    sign_in(page, trainee.email)
    # the home page says in one sentence what to do next, and who the mentor is (tap to call)
    see(page, "Yang perlu Anda lakukan: Unggah izin usaha")
    expect(page.locator(".mentor-card a[href='tel:+6281311112222']")).to_be_visible()
    expect(page.locator(".mentor-card a[href='https://wa.me/6281311112222']")).to_be_visible()
    assert fits_the_screen(page)
    page.get_by_role("link", name="Buka Kemajuan Saya").click()
    page.wait_for_url("**/progress")

    # the current step has the one primary action; the steps not reached yet have none
    current = page.locator("li.step-current")
    expect(current).to_contain_text("Perizinan")
    assert page.locator("li.step-locked .btn").count() == 0
    assert page.locator(".tracker .btn-primary").count() == 1
    assert fits_the_screen(page)
    current.locator(".btn-primary", has_text="Catat izin usaha").click()

    # a mistake: the page lists it and asks for the chosen file again
    page.get_by_label("Jenis izin").select_option("NIB")
    page.get_by_label("Nomor izin").fill("9120001234567")
    page.get_by_label("Tanggal terbit").fill("2018-03-01")
    page.get_by_label("Pindaian izin").set_input_files(str(scan))
    page.get_by_role("button", name="Kirim untuk verifikasi").click()
    see(page, "Ada 1 isian yang perlu diperbaiki")
    see(page, "Pilih berkasnya lagi")
    assert fits_the_screen(page)
    page.get_by_label("Instansi penerbit").fill("OSS RBA")
    page.get_by_label("Pindaian izin").set_input_files(str(scan))
    page.get_by_role("button", name="Kirim untuk verifikasi").click()
    see(page, "Tersimpan dan dikirim untuk verifikasi")

    # back on the tracker the step waits for the reviewer, with nothing more to press
    page.goto("/progress")
    current = page.locator("li.step-current")
    expect(current).to_contain_text("Menunggu verifikasi")
    expect(current).to_contain_text("Izin usaha Anda sedang menunggu verifikasi")
    assert current.locator(".btn-primary").count() == 0
    page.goto("/home")
    see(page, "Izin usaha Anda sedang menunggu verifikasi")


def test_a_returned_report_is_fixed_from_the_home_page_on_a_phone(phone_page, factory, tmp_path: Path):
    from lms.programme import services

    page = phone_page
    trainee, _e = _at_perizinan(factory)
    rep = services.save_report(trainee, trainee.managed_outlet, services.ReportInput(date(2018, 5, 1), 1_000_000, 2, 3))
    coordinator = factory.user("coordinator", region="3171")
    services.review(coordinator, rep, "return", "Omzet tidak sesuai buku kas, lampirkan fotonya")
    photo = tmp_path / "kas.png"
    photo.write_bytes(tiny_png())

    sign_in(page, trainee.email)
    box = page.locator(".returned-box")
    expect(box).to_contain_text("Omzet tidak sesuai buku kas, lampirkan fotonya")
    assert fits_the_screen(page)
    box.get_by_role("link", name="Perbaiki").click()
    see(page, "Omzet tidak sesuai buku kas")  # the comment is on the form too
    page.get_by_label("Omzet").fill("1.500.000")
    page.get_by_label("Foto buku kas (opsional)").set_input_files(str(photo))
    page.get_by_role("button", name="Kirim laporan").click()
    see(page, "Perubahan tersimpan dan dikirim untuk verifikasi")
    see(page, "Menunggu verifikasi")
    page.goto("/home")
    expect(page.locator(".returned-box")).to_have_count(0)


def test_the_manager_ticks_off_their_action_item_on_a_phone(phone_page, factory):
    from lms.db import utcnow
    from lms.i18n import to_wib

    page = phone_page
    trainee, _e = _at_perizinan(factory)
    mentor = factory.user("mentor", region="3171")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    due = to_wib(utcnow()).date() + timedelta(days=2)
    factory.visit(mentor, trainee.managed_outlet, actions=(("Isi buku kas harian setiap sore", "Pengelola", due),))
    sign_in(page, trainee.email)
    card = page.locator(".mentor-card")
    expect(card).to_contain_text("Isi buku kas harian setiap sore")
    card.get_by_role("button", name="Tandai selesai").click()
    see(page, "Tindak lanjut ditandai selesai")
    expect(page.locator(".mentor-card")).not_to_contain_text("Isi buku kas harian setiap sore")
