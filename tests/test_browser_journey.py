"""Browser: a trainee submits a licence, a coordinator verifies it, the trainee's tracker advances."""
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD
from tests.factories import tiny_pdf

pytestmark = pytest.mark.browser


def sign_in(page, email):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Kata sandi").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/home")


def sign_out(page):
    page.locator("summary").click()
    page.locator("form[action='/logout'] button").click()
    page.wait_for_url("**/login")


def test_licence_submitted_verified_and_tracker_advances(browser_page, factory, tmp_path: Path):
    page = browser_page
    trainee = factory.user("trainee", region="3171", phone="+6281234567001", full_name="Ibu Siti Rahmawati")
    enrolment = factory.enrolment(trainee=trainee)
    factory.attended(enrolment)
    factory.visited(enrolment, times=3)
    coordinator = factory.user("coordinator", region="3171")

    sign_in(page, trainee.email)
    page.goto("/progress")
    current = page.locator("li.step-current")
    assert "Perizinan" in current.inner_text()
    assert page.locator("li.step-done").count() == 3

    current.get_by_role("link", name="Isi formulir").click()
    page.get_by_label("Jenis izin").select_option("NIB")
    page.get_by_label("Nomor izin").fill("9120001234567")
    page.get_by_label("Tanggal terbit").fill("2018-03-01")
    page.get_by_label("Instansi penerbit").fill("OSS RBA")
    scan = tmp_path / "nib.pdf"
    scan.write_bytes(tiny_pdf())
    page.get_by_label("Pindaian izin").set_input_files(str(scan))
    page.get_by_role("button", name="Kirim untuk verifikasi").click()
    assert "Menunggu verifikasi" in page.content()
    sign_out(page)

    sign_in(page, coordinator.email)
    page.goto("/review")
    page.get_by_role("link", name="Izin usaha: NIB 9120001234567").click()
    page.get_by_role("button", name="Verifikasi").click()
    assert "Bukti diverifikasi" in page.content()
    assert "Tidak ada bukti yang menunggu verifikasi" in page.content()
    sign_out(page)

    sign_in(page, trainee.email)
    page.goto("/progress")
    assert page.locator("li.step-done").count() == 4
    assert "Pemasaran" in page.locator("li.step-current").inner_text()
    assert "4 dari 7 langkah selesai" in page.content()
