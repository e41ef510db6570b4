"""Browser, on a 360 px phone: a coordinator picks a dataset and XLSX, the browser downloads a workbook
that opens; the admin's audit log fits the screen and filters by action."""
from __future__ import annotations

import io

import openpyxl
import pytest

from tests.browser_helpers import fits_the_screen, sign_in

pytestmark = pytest.mark.browser


def test_coordinator_downloads_an_xlsx_from_the_phone(phone_page, factory, db):
    cohort = factory.cohort(name="Angkatan Telepon", regions=("3171",))
    factory.enrolled_trainees(3, cohort)
    coord = factory.user("coordinator", region="3171", email="koor.hp@uji.example")
    db.session.commit()
    page = phone_page
    sign_in(page, coord.email)
    page.locator("summary").click()
    page.get_by_role("link", name="Ekspor data").click()
    page.wait_for_url("**/exports")
    assert fits_the_screen(page)
    page.get_by_label("Kemajuan per pengelola").check()
    page.get_by_label("XLSX (buku kerja Excel)").check()
    page.get_by_label("Angkatan").select_option(label="Angkatan Telepon")
    with page.expect_download() as info:
        page.get_by_role("button", name="Unduh").click()
    download = info.value
    assert download.suggested_filename.startswith("kemajuan-3171-") and download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as fh:
        ws = openpyxl.load_workbook(io.BytesIO(fh.read())).active
    assert ws["A1"].value == "Angkatan" and ws.max_row == 4
    assert {ws.cell(row=r, column=1).value for r in range(2, 5)} == {"Angkatan Telepon"}


def test_a_bad_date_range_comes_back_on_the_form(phone_page, factory, db):
    coord = factory.user("coordinator", region="3171", email="koor.tgl@uji.example")
    db.session.commit()
    page = phone_page
    sign_in(page, coord.email)
    page.goto("/exports")
    page.get_by_label("Kehadiran Bimtek").check()
    page.get_by_label("Dari tanggal").fill("2018-05-10")
    page.get_by_label("Sampai tanggal").fill("2018-05-01")
    page.get_by_role("button", name="Unduh").click()
    page.get_by_text("Tanggal akhir tidak boleh sebelum tanggal awal.").wait_for()
    assert page.get_by_label("Kehadiran Bimtek").is_checked()
    assert fits_the_screen(page)


def test_admin_reads_the_audit_log_on_the_phone(phone_page, factory, db):
    admin = factory.user("admin", region=None, email="admin.hp@uji.example")
    factory.outlet("3171")
    db.session.commit()
    page = phone_page
    sign_in(page, admin.email)  # records auth.login
    page.locator("summary").click()
    page.get_by_role("link", name="Log audit").click()
    page.wait_for_url("**/admin/audit")
    assert fits_the_screen(page)
    page.get_by_label("Tindakan").select_option("auth.login")
    page.get_by_role("button", name="Terapkan").click()
    page.wait_for_url("**action=auth.login**")
    rows = page.locator("table.audit-table tbody tr")
    assert rows.count() == 1
    assert "admin.hp@uji.example" in rows.first.inner_text()
    assert fits_the_screen(page)
