"""Browser: a trainee submits a licence, a coordinator verifies it, the trainee's tracker advances."""
from pathlib import Path

import pytest

from tests.browser_helpers import see, sign_in, sign_out
from tests.factories import tiny_pdf

pytestmark = pytest.mark.browser




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

    current.get_by_role("link", name="Catat izin usaha").click()
    page.get_by_label("Jenis izin").select_option("NIB")
    page.get_by_label("Nomor izin").fill("9120001234567")
    page.get_by_label("Tanggal terbit").fill("2018-03-01")
    page.get_by_label("Instansi penerbit").fill("OSS RBA")
    scan = tmp_path / "nib.pdf"
    scan.write_bytes(tiny_pdf())
    page.get_by_label("Pindaian izin").set_input_files(str(scan))
    page.get_by_role("button", name="Kirim untuk verifikasi").click()
    see(page, "Menunggu verifikasi")
    sign_out(page)

    sign_in(page, coordinator.email)
    page.goto("/review")
    page.get_by_role("link", name="Izin usaha: NIB 9120001234567").click()
    page.get_by_role("button", name="Verifikasi").click()
    see(page, "Bukti diverifikasi")
    see(page, "Tidak ada bukti yang menunggu verifikasi")
    sign_out(page)

    sign_in(page, trainee.email)
    page.goto("/progress")
    assert page.locator("li.step-done").count() == 4
    assert "Pemasaran" in page.locator("li.step-current").inner_text()
    see(page, "4 dari 7 langkah selesai")


def _verify_all_waiting(page, coordinator_email):
    sign_in(page, coordinator_email)
    page.goto("/review")
    while page.locator("table a[href^='/evidence/']").count():
        page.locator("table a[href^='/evidence/']").first.click()
        page.get_by_role("button", name="Verifikasi").click()
        see(page, "Bukti diverifikasi")
    sign_out(page)


def test_pemasaran_to_permodalan_walked_through_in_the_browser(browser_page, factory):
    """From an outlet whose licence is verified to all seven steps complete, by hand."""
    from datetime import date

    from lms.files import PDF, CheckedUpload
    from lms.programme import services

    page = browser_page
    trainee = factory.user("trainee", region="3171", phone="+6281234567001")
    enrolment = factory.enrolment(trainee=trainee)
    factory.attended(enrolment)
    factory.visited(enrolment, times=3)
    coordinator = factory.user("coordinator", region="3171")
    lic = services.save_licence(trainee, trainee.managed_outlet, services.LicenceInput(
        "NIB", "9120001234567", date(2018, 3, 1), "OSS"), CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))
    services.review(coordinator, lic, "verify")

    sign_in(page, trainee.email)
    page.goto("/progress")
    page.locator("li.step-current").get_by_role("link", name="Catat langkah pemasaran").click()
    page.get_by_label("Jenis langkah pemasaran").select_option("online_shop")
    page.get_by_label("Uraian").fill("Toko online sembako di marketplace, dikelola anggota KUBE.")
    page.get_by_label("Tautan (opsional)").fill("https://toko.example/ewarong-melati")
    page.get_by_role("button", name="Kirim untuk verifikasi").click()
    for month in ("2018-05", "2018-06", "2018-07"):
        page.goto("/progress")
        # the reporting step is not reached yet (the marketing step waits): reports may be prepared
        page.locator("li.step").filter(has_text="Pelaporan keuangan").get_by_role(
            "link", name="Siapkan laporan lebih dulu").click()
        page.get_by_label("Bulan").fill(month)
        page.get_by_label("Omzet").fill("Rp 15.000.000")
        page.get_by_label("Harga pokok penjualan").fill("11.500.000")
        page.get_by_label("Biaya operasional").fill("1.250.000")
        page.get_by_role("button", name="Kirim laporan").click()
        see(page, "Rp 2.250.000")
    page.goto("/progress")
    page.locator("li.step").filter(has_text="Permodalan").get_by_role("link", name="Siapkan lebih dulu").click()
    page.get_by_label("Pemberi modal").select_option("bank_dki")
    page.get_by_label("Produk pembiayaan").fill("Kredit Monas Pemula")
    page.get_by_label("Jumlah diajukan").fill("10.000.000")
    page.get_by_label("Jumlah disetujui").fill("10.000.000")
    page.get_by_label("Status pengajuan").select_option("approved")
    page.get_by_label("Tanggal pengajuan").fill("2018-09-03")
    page.get_by_label("Tanggal keputusan").fill("2018-10-01")
    page.get_by_role("button", name="Simpan").click()
    sign_out(page)

    _verify_all_waiting(page, coordinator.email)

    sign_in(page, trainee.email)
    page.goto("/progress")
    see(page, "7 dari 7 langkah selesai")
    assert page.locator("li.step-done").count() == 7
