"""Real-browser journey: each role signs in, sees its home page, switches language, signs out."""
import pytest
from playwright.sync_api import expect

from tests.browser_helpers import see, sign_in, sign_out

pytestmark = pytest.mark.browser

HOME_HEADINGS = {
    "trainee": "e-Warong Anda",
    "mentor": "Pendamping wilayah",
    "coordinator": "Koordinator",
    "admin": "Admin sistem",
}


@pytest.mark.parametrize("role", ["trainee", "mentor", "coordinator", "admin"])
def test_role_signs_in_switches_language_and_signs_out(browser_page, factory, role):
    page = browser_page
    user = factory.user(role, region="3171", full_name=f"Uji {role.title()}")
    sign_in(page, user.email)
    assert page.locator("html").get_attribute("lang") == "id"
    see(page, HOME_HEADINGS[role])
    assert f"Uji {role.title()}" in page.locator(".userbar").inner_text()

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    assert page.locator("html").get_attribute("lang") == "en", "the language choice is remembered"

    sign_out(page)
    page.goto("/home")
    assert "/login" in page.url, "signed out: home needs a new sign-in"


def test_wrong_password_shows_message_on_form(browser_page, factory):
    page = browser_page
    user = factory.user("mentor")
    sign_in(page, user.email, "salah-sekali-123", wait=False)
    see(page, "E-mail atau kata sandi salah")
    assert page.url.endswith("/login")
