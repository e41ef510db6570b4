"""Real browser: a coordinator bulk-issues for a session and watches the progress bar; the
trainee downloads their PDF; the verify page opens from the URL decoded from its QR code."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.browser_helpers import see, sign_in, sign_out
from tests.test_certificates import pdf_qr_codes, pdf_text

pytestmark = pytest.mark.browser



def test_bulk_issue_progress_zip_download_and_verify_from_qr(app, browser_page, live_server, factory, tmp_path):
    app.config["BASE_URL"] = live_server.url  # the QR code must lead back to this server
    session = factory.session(title="Bimtek Peramban Jakarta Pusat")
    people = [factory.attendee(session, full_name=f"Peserta Peramban {i}") for i in range(8)]
    factory.attendee(session, "absent", full_name="Tidak Datang")
    coordinator = factory.user("coordinator", region="3171")
    page = browser_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    sign_in(page, coordinator.email)
    page.wait_for_url("**/home")
    page.goto(f"/certificates/sessions/{session.id}")
    see(page, "Kehadiran tercatat: tidak hadir.")
    page.get_by_role("button", name="Terbitkan untuk semua 8 yang memenuhi syarat").click()
    see(page, "Terbitkan 8 sertifikat?")  # a wide action asks first and says what will happen
    page.get_by_role("button", name="Ya, terbitkan 8 sertifikat").click()
    page.wait_for_url("**/certificates/jobs/*")
    # the static script polls the JSON endpoint and reloads when done: the bar reaches 100%
    page.wait_for_selector("#job-finished", timeout=60_000)
    bar = page.locator("#job-bar")
    assert bar.get_attribute("max") == "8" and bar.get_attribute("value") == "8"
    assert page.locator('[data-field="percent"]').inner_text() == "100%"
    assert page.locator('[data-field="remaining"]').inner_text() == "0"
    with page.expect_download() as dl:
        page.locator("#job-zip").click()
    zipped = Path(dl.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
        names = zf.namelist()
        assert len(names) == 8 and all(n.startswith("BIMTEK-") and n.endswith(".pdf") for n in names)
        assert "Peserta Peramban" in pdf_text(zf.read(names[0]))
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]
    sign_out(page)

    holder = people[3]
    sign_in(page, holder.email)
    page.wait_for_url("**/home")
    page.get_by_role("link", name="Lihat sertifikat saya").click()
    page.wait_for_url("**/certificates/mine")
    with page.expect_download() as dl:
        page.get_by_role("link", name="Unduh PDF").click()
    pdf = Path(dl.value.path()).read_bytes()
    assert "Peserta Peramban 3" in pdf_text(pdf)
    [url] = pdf_qr_codes(pdf, tmp_path)
    assert url.startswith(live_server.url + "/verify/")
    sign_out(page)
    page.goto(url)
    see(page, "Sertifikat ini sah dan berlaku.")
    see(page, "Peserta Peramban 3")
