"""Browser: a coordinator imports a spreadsheet of outlets and managers, from the outlet list to the result.

Then the dashboard's funnel counts them and its bar opens the filtered list.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms.places.models import Outlet
from lms.programme.models import Enrolment
from tests.test_import import HEADER, csv_bytes, row
from tests.browser_helpers import fits_the_screen, sign_in

pytestmark = pytest.mark.browser


def choose_file(page, data: bytes, name: str = "ewarong-pusat.csv") -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Berkas spreadsheet (CSV atau XLSX)").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}])


def test_coordinator_uploads_previews_confirms_and_sees_the_result(phone_page, factory, db):
    page = phone_page
    coord = factory.user("coordinator", region="3171", full_name="Bu Koordinator Pusat")
    cohort = factory.cohort(name="e-Warong DKI 2018 Pusat", regions=("3171",))
    data = csv_bytes([HEADER, row(1, manager="Siti Aminah"), row(2, kec="kec. tanah  abang", phone="+62 812 3456 7002"),
                      row(3, kec="MENTENG", joined="1 Januari 2018")], delimiter=";", bom=True)

    sign_in(page, coord.email)
    page.goto("/outlets")
    page.get_by_role("link", name="Impor dari spreadsheet").click()
    page.wait_for_url("**/import/outlets")
    assert fits_the_screen(page)
    choose_file(page, data)
    page.get_by_label("Daftarkan ke angkatan (opsional)").select_option(label=cohort.name)
    page.get_by_role("button", name="Periksa berkas").click()

    page.get_by_role("heading", name="Pratinjau impor").wait_for()
    summary = page.locator("dl.import-counts")
    assert summary.locator("dt:has-text('e-Warong baru') + dd").inner_text() == "3"
    assert summary.locator("dt:has-text('Pengelola baru') + dd").inner_text() == "3"
    assert summary.locator("dt:has-text('Didaftarkan ke angkatan') + dd").inner_text() == "3"
    assert page.locator("#baris-3").get_by_text("Tanah Abang").is_visible()
    assert fits_the_screen(page)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Outlet)) == 0  # nothing yet

    page.get_by_role("button", name="Ya, impor sekarang").click()
    page.get_by_role("heading", name="Impor selesai").wait_for()
    links = page.get_by_label("Semua tautan (untuk disalin sekaligus)").input_value()
    assert len(links.strip().splitlines()) == 3 and "Siti Aminah (EW-3171-001, 0812-3456-7001): http" in links
    assert fits_the_screen(page)

    db.session.rollback()
    codes = set(db.session.scalars(sa.select(Outlet.code)))
    assert codes == {"EW-3171-001", "EW-3171-002", "EW-3171-003"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)
                             .where(Enrolment.cohort_id == cohort.id)) == 3

    page.get_by_role("link", name="Lihat daftar e-Warong").click()
    page.wait_for_url("**/outlets")
    assert page.get_by_text("Siti Aminah").is_visible()

    # the dashboard's funnel counts the three new managers; their bar opens the list of them
    page.goto("/dashboard")
    assert page.locator("#funnel tfoot td.num").first.inner_text() == "3"
    assert fits_the_screen(page)
    first = db.session.scalar(sa.select(Enrolment.current_stage).where(Enrolment.cohort_id == cohort.id).limit(1))
    bar = page.locator(f'#chart-funnel a[href*="stage={first}"]')
    bar.click()
    page.wait_for_url("**/dashboard/managers?*")
    assert page.get_by_role("link", name="Siti Aminah").is_visible()


def test_a_file_with_errors_shows_them_and_offers_no_confirmation(browser_page, factory):
    page = browser_page
    coord = factory.user("coordinator", region="3171")
    sign_in(page, coord.email)
    page.goto("/import/outlets")
    choose_file(page, csv_bytes([HEADER, row(1), row(2, kec="Atlantis"), row(3, code="EW-3171-001")]))
    page.get_by_role("button", name="Periksa berkas").click()
    page.get_by_role("heading", name="Pratinjau impor").wait_for()
    assert page.locator("#baris-3").get_by_text('Kecamatan "Atlantis" tidak dikenal.').is_visible()
    assert page.locator("#baris-4").get_by_text("Kode EW-3171-001 sudah ada di baris 2.").is_visible()
    assert page.get_by_role("button", name="Ya, impor sekarang").count() == 0
    page.get_by_role("link", name="Unggah berkas yang sudah diperbaiki").click()
    page.wait_for_url("**/import/outlets")
