"""The main sections in the header: a bar on a desktop (by role, from the rulebook), the Menu on a phone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import fits_the_screen, sign_in, sign_out

pytestmark = pytest.mark.browser

BAR = "nav.mainnav"


def _bar_links(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.strip() for t in page.locator(f"{BAR} a").all_inner_texts()]


def test_desktop_header_shows_the_coordinators_sections(browser_page, factory):
    page = browser_page
    coordinator = factory.user("coordinator", region="3171")
    sign_in(page, coordinator.email)
    page.goto("/dashboard")
    expect(page.locator(BAR)).to_be_visible()
    links = _bar_links(page)
    for name in ("Beranda", "Dasbor", "Antrean verifikasi", "Jadwal Bimtek", "Angkatan program", "e-Warong",
                 "Pendampingan", "Sertifikat"):
        assert name in links, links
    assert "Kemajuan Saya" not in links and "Log audit" not in links  # not a coordinator's
    current = page.locator(f"{BAR} a[aria-current='page']")
    expect(current).to_have_text("Dasbor")
    # the bar fits in the header row: no link wraps and none runs past the page
    assert fits_the_screen(page)
    assert page.evaluate(f"""() => [...document.querySelectorAll('{BAR} a')].every(
        a => a.getBoundingClientRect().height < 48)""")
    # the Menu keeps what the bar does not show, and does not repeat the bar
    page.locator("summary", has_text="Menu").click()
    menu = page.locator("details.menu nav")
    expect(menu.get_by_role("link", name="Pengguna")).to_be_visible()
    expect(menu.get_by_role("link", name="Ekspor data")).to_be_visible()
    expect(menu.get_by_role("link", name="Dasbor")).to_be_hidden()
    page.get_by_role("navigation", name="Bagian utama").get_by_role("link", name="Jadwal Bimtek").click()
    page.wait_for_url("**/sessions")
    sign_out(page)


def test_desktop_header_shows_the_trainees_sections(browser_page, factory):
    page = browser_page
    trainee = factory.user("trainee", region="3171")
    sign_in(page, trainee.email)
    links = _bar_links(page)
    assert links[:2] == ["Beranda", "Kemajuan Saya"], links
    assert "Jadwal Bimtek" in links and "Sertifikat Saya" in links
    assert "Dasbor" not in links and "Antrean verifikasi" not in links and "Pengguna" not in links


def test_phone_keeps_every_section_in_the_menu(phone_page, factory):
    page = phone_page
    coordinator = factory.user("coordinator", region="3171")
    sign_in(page, coordinator.email)
    expect(page.locator(BAR)).to_be_hidden()
    # brand, bell, Menu and the language button stay in one row
    tops = page.evaluate("() => [...document.querySelector('.topbar-inner').children].map(e => e.getBoundingClientRect().top)")
    assert max(tops) - min(tops) < 16, tops
    page.locator("summary", has_text="Menu").click()
    menu = page.locator("details.menu nav")
    for name in ("Beranda", "Dasbor", "Jadwal Bimtek", "Pengguna", "Ekspor data", "Ganti kata sandi"):
        expect(menu.get_by_role("link", name=name)).to_be_visible()
    assert fits_the_screen(page)
