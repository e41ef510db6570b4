"""Shared steps for the browser tests.

Assertions about a page that a click has just asked for go through Playwright's ``expect``, which
waits until the new page shows the text: reading ``page.content()`` straight after a click can
catch the document between the form's POST, the redirect and the next page (CI saw an empty page).
"""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import TEST_PASSWORD

expect.set_options(timeout=10_000)


def _at_consent(url: str) -> bool:
    return "/privasi/persetujuan" in url


def sign_in(page: Page, email: str, password: str = TEST_PASSWORD, *, wait: bool = True,
            accept_notice: bool = True) -> None:
    """Sign in through the login page (and the code step of staff). Someone who has not accepted the
    privacy notice in force (the demo accounts, ``factory.user(accepted_notice=False)``) lands on the
    consent page: ``accept_notice`` ticks the box and goes on home; False stays there."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    if wait:
        page.wait_for_url(lambda url: url.endswith("/home") or url.endswith("/login/code") or _at_consent(url))
        if page.url.endswith("/login/code"):  # staff with the test authenticator (tests.factories.enrol_totp)
            from tests.factories import totp_code

            page.get_by_label("Kode").fill(totp_code(email))
            page.get_by_role("button", name="Lanjutkan").click()
            page.wait_for_url(lambda url: url.endswith("/home") or _at_consent(url))
        if _at_consent(page.url):
            if not accept_notice:
                return
            accept_privacy_notice(page)
        page.wait_for_url("**/home")


def accept_privacy_notice(page: Page, whatsapp: bool = False) -> None:
    """On the consent page: tick "Saya telah membaca dan menyetujui…", choose about WhatsApp, accept."""
    page.get_by_label("Saya telah membaca dan menyetujui").check()
    choice = page.get_by_label("Ya, saya mau menerima pesan WhatsApp" if whatsapp else "Tidak, jangan kirim pesan WhatsApp")
    if choice.count():
        choice.check()
    page.get_by_role("button", name="Setuju dan lanjutkan").click()


def sign_out(page: Page) -> None:
    page.locator("summary", has_text="Menu").click()
    page.locator("form[action='/logout'] button").click()
    page.wait_for_url("**/login")


def see(page: Page, text: str) -> None:
    """The page (once it has loaded) shows ``text``."""
    expect(page.locator("body")).to_contain_text(text)


def do_not_see(page: Page, text: str) -> None:
    expect(page.locator("body")).not_to_contain_text(text)


def fits_the_screen(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))
