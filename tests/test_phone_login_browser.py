"""Sign-in by phone number in a real browser at 360 px: a manager without e-mail types her number,
the code reaches WhatsApp (the local test server) and she signs in with it."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lms.notifications import dispatch
from tests.browser_helpers import fits_the_screen, see

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("PHONE_SHOTS", "/tmp/phone-shots"))


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("PHONE_SHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_manager_signs_in_with_her_phone_number_and_a_code_on_a_phone(phone_page, factory, db, channels):
    _smtp, wa = channels
    page = phone_page
    manager = factory.user("trainee", email=None, phone="+6281344440101", full_name="Ibu Wartini Lestari")
    page.goto("/login")
    _shot(page, "1-login")
    page.get_by_role("link", name="Masuk dengan nomor HP").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Masuk dengan nomor HP")
    field = page.get_by_label("Nomor HP (WhatsApp)")
    assert field.get_attribute("inputmode") == "tel" and field.get_attribute("autocomplete") == "tel"
    field.fill("0813 4444 0101")
    _shot(page, "2-number")
    assert fits_the_screen(page)
    page.get_by_role("button", name="Kirim kode").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Masukkan kode")
    see(page, "Jika nomor 0813-4444-0101 terdaftar")
    _shot(page, "3-code")
    assert fits_the_screen(page)
    dispatch.run_once()  # the worker, as the app's thread would
    params = [p["text"] for p in wa.received[-1]["template"]["components"][0]["parameters"]]
    code = re.search(r"\b(\d{6})\b", " ".join(params)).group(1)  # type: ignore[union-attr]
    code_field = page.get_by_label("Kode 6 angka")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    code_field.fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Masuk").click()
    see(page, "Kode salah atau sudah tidak berlaku")
    _shot(page, "4-wrong")
    assert fits_the_screen(page)
    page.get_by_label("Kode 6 angka").fill(code)
    page.get_by_role("button", name="Masuk").click()
    see(page, manager.full_name)
    assert page.url.endswith("/home")
    _shot(page, "5-home")
    assert fits_the_screen(page)
