"""Browser, on a 360 px phone: the mentor opens the outlet page from the caseload and follows its
links; long words and numbers neither overflow the screen nor break inside a word; the scan of a
submission under review is seen in the page, a PDF in the browser's own viewer."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from lms.db import transaction, utcnow
from lms.files import PDF, PNG, CheckedUpload
from lms.permissions import SYSTEM
from lms.programme import services as programme
from tests.browser_helpers import see, sign_in, sign_out
from tests.factories import tiny_pdf, tiny_png

pytestmark = pytest.mark.browser

LONG_EMAIL = "siti.nurhaliza.wulandari.pengelola.ewarong@kelurahan-kebon-kelapa-gambir.example"
LONG_LINK = "https://toko-online-ewarong.example/kube/sejahtera-bersama/produk/beras-premium-5kg?ref=okoce7pas"
NIB = "9120001234567"

#: every word of the text inside these elements is on one line: pills, codes, NIB and serials as a
#: whole; in running text a word may break after its hyphen ("e-" "Warong"); e-mails and links anywhere
WORDS_ON_ONE_LINE = """(selector) => {
  const broken = [];
  for (const el of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.parentElement.closest('.email, .url, .sr-only')) continue;
      const whole = n.parentElement.closest('.badge, .code, .nowrap');
      for (const m of n.data.matchAll(whole ? /\\S+/g : /[^\\s-]+-?/g)) {
        const r = document.createRange();
        r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
        const tops = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


def fits_360(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide"


def no_broken_words(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate(WORDS_ON_ONE_LINE, ".badge, .code, .nowrap, dl.facts dd, .phone-links") == [], page.url


def stacked_cells_hold_one_item(page) -> None:  # type: ignore[no-untyped-def]
    """On a phone a stacked table's cell is a grid of its label and ONE item: a second element or a
    loose text beside the first would fall under the label."""
    crowded = page.evaluate("""() => [...document.querySelectorAll('.table.stack td')].filter(td =>
        [...td.childNodes].filter(n => n.nodeType === 1 || (n.nodeType === 3 && n.data.trim())).length > 1
        && [...td.childNodes].some(n => n.nodeType === 1)).map(td => td.textContent.trim().slice(0, 40))""")
    assert crowded == [], (page.url, crowded)


def _mentor_world(factory):  # type: ignore[no-untyped-def]
    trainee = factory.user("trainee", region="3171", phone="+6281234567001", full_name="Ibu Siti Nurhaliza Wulandari",
                           email=LONG_EMAIL)
    enrolment = factory.enrolment(trainee=trainee)
    mentor = factory.user("mentor", region="3171", full_name="Pak Anton Pendamping", phone="+6281377778888")
    outlet = trainee.managed_outlet
    with transaction():
        outlet.name = "e-Warong KUBE Sejahtera Bersama Kebon Kelapa"
    factory.assign_mentor(mentor, outlet)
    licence = programme.save_licence(trainee, outlet, programme.LicenceInput("NIB", NIB, date(2018, 3, 1), "OSS"),
                                     CheckedUpload(tiny_png((600, 400)), PNG, "nib.png"))
    marketing = programme.save_marketing(trainee, outlet, programme.MarketingInput(
        "online_shop", "Toko online di lokapasar untuk beras dan minyak goreng", LONG_LINK),
        CheckedUpload(tiny_pdf(), PDF, "rencana.pdf"))
    return trainee, enrolment, mentor, outlet, licence, marketing


def test_mentor_opens_the_outlet_page_from_the_caseload_and_follows_its_links(phone_page, factory):
    page = phone_page
    trainee, enrolment, mentor, outlet, licence, _marketing = _mentor_world(factory)
    sign_in(page, mentor.email)
    page.goto("/caseload")
    fits_360(page)
    no_broken_words(page)
    card = page.locator(".caseload-item", has_text=outlet.name)
    assert card.locator("a[href='tel:+6281234567001']").count() == 1
    assert card.locator("a[href='https://wa.me/6281234567001']").count() == 1
    card.get_by_role("link", name=outlet.name).click()
    page.wait_for_url(f"**/outlets/{outlet.id}")
    see(page, "Kemajuan 7 PAS")
    fits_360(page)
    no_broken_words(page)
    links = page.get_by_role("navigation", name="Halaman e-Warong ini")

    links.get_by_role("link", name="Riwayat pendampingan").click()
    page.wait_for_url(f"**/outlets/{outlet.id}/timeline")
    see(page, "Riwayat pendampingan")
    fits_360(page)
    page.go_back()

    links.get_by_role("link", name="Kemajuan 7 PAS").click()
    page.wait_for_url(f"**/enrolments/{enrolment.id}")
    see(page, trainee.full_name)
    fits_360(page)
    page.go_back()

    page.get_by_role("link", name="Bukti", exact=True).click()
    page.get_by_role("link", name=f"Izin usaha: NIB {NIB}").click()
    page.wait_for_url(f"**/evidence/{licence.id}")
    fits_360(page)
    page.go_back()

    links.get_by_role("link", name="Laporan keuangan bulanan").click()
    page.wait_for_url(f"**/outlets/{outlet.id}/reports")
    fits_360(page)
    page.go_back()

    links.get_by_role("link", name="Catat kunjungan").click()
    page.wait_for_url(f"**/visits/new?outlet={outlet.id}")
    assert page.get_by_label("e-Warong").input_value() == str(outlet.id)
    fits_360(page)


def test_reviewing_on_a_phone_shows_the_scan_and_opens_the_pdf_inline(phone_page, factory):
    page = phone_page
    _trainee, _enrolment, mentor, _outlet, licence, marketing = _mentor_world(factory)
    sign_in(page, mentor.email)
    page.goto(f"/evidence/{licence.id}")
    img = page.locator("img.evidence-preview")
    assert img.get_attribute("alt") and NIB in img.get_attribute("alt")
    assert page.evaluate("document.querySelector('img.evidence-preview').naturalWidth") == 600
    box = img.bounding_box()
    assert box and box["width"] <= 360 - 2 * 16  # scaled to the screen, not 600 px wide
    fits_360(page)
    no_broken_words(page)
    assert page.locator("span.code", has_text=NIB).count() == 1
    # the PDF opens in the browser (no download starts), the download link stays
    page.goto(f"/evidence/{marketing.id}")
    fits_360(page)
    assert page.get_by_role("link", name="Unduh").get_attribute("href") == f"/evidence/{marketing.id}/file?unduh=1"
    downloads: list = []
    page.on("download", lambda d: downloads.append(d))
    response = page.goto(f"/evidence/{marketing.id}/file")
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    page.wait_for_timeout(500)
    assert downloads == []


def test_long_words_fit_at_360_px(phone_page, factory):
    page = phone_page
    trainee, enrolment, mentor, outlet, licence, marketing = _mentor_world(factory)
    session = factory.session(region="3171")
    factory.register(session, trainee, "present")
    cert = factory.certificate(session=session, holder=trainee)
    programme.review(SYSTEM, licence, "verify")
    coordinator = factory.user("coordinator", region="3171")
    factory.visit(mentor, outlet, visited_at=utcnow() - timedelta(days=1))
    sign_in(page, mentor.email)
    for url in ("/caseload", f"/outlets/{outlet.id}", f"/evidence/{licence.id}", f"/evidence/{marketing.id}",
                f"/outlets/{outlet.id}/timeline"):
        page.goto(url)
        fits_360(page)
        no_broken_words(page)
    sign_out(page)
    sign_in(page, coordinator.email)
    for url in (f"/certificates/{cert.id}", f"/users/{trainee.id}", "/users", "/review", f"/outlets/{outlet.id}",
                "/dashboard"):
        page.goto(url)
        fits_360(page)
        no_broken_words(page)
        stacked_cells_hold_one_item(page)
    page.goto(f"/certificates/{cert.id}")
    assert page.locator(".lead .code", has_text=cert.serial).count() == 1
    # the per-kecamatan table scrolls in its own box, reachable by keyboard
    page.goto("/dashboard")
    box = page.get_by_role("region", name="Tabel per kecamatan (geser ke samping)")
    assert box.get_attribute("tabindex") == "0"
    assert box.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert box.locator("table caption", has_text="Pengelola per kecamatan").count() == 1
