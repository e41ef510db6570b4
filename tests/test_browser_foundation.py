"""Real-browser journey: each role signs in, sees its home page, switches language, signs out."""
import pytest

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

HOME_HEADINGS = {
    "trainee": "e-Warong Anda",
    "mentor": "Pendamping wilayah",
    "coordinator": "Koordinator",
    "admin": "Admin sistem",
}


def sign_in(page, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()


@pytest.mark.parametrize("role", ["trainee", "mentor", "coordinator", "admin"])
def test_role_signs_in_switches_language_and_signs_out(browser_page, factory, role):
    page = browser_page
    user = factory.user(role, region="3171", full_name=f"Uji {role.title()}")
    sign_in(page, user.email)
    page.wait_for_url("**/home")
    assert page.locator("html").get_attribute("lang") == "id"
    assert HOME_HEADINGS[role] in page.content()
    assert f"Uji {role.title()}" in page.locator(".userbar").inner_text()

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    page.reload()
    assert page.locator("html").get_attribute("lang") == "en", "the language choice is remembered"

    page.locator("summary").click()
    page.locator("form[action='/logout'] button").click()
    page.wait_for_url("**/login")
    page.goto("/home")
    assert "/login" in page.url, "signed out: home needs a new sign-in"


def test_wrong_password_shows_message_on_form(browser_page, factory):
    page = browser_page
    user = factory.user("mentor")
    sign_in(page, user.email, "salah-sekali-123")
    assert page.url.endswith("/login")
    assert "E-mail atau kata sandi salah" in page.content()
