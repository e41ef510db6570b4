"""The shared phone mechanism: tap-to-call and WhatsApp links from a stored +62… number."""
from __future__ import annotations

import re

import pytest
from flask import render_template_string

from lms.people.phone import tel_uri, whatsapp_digits


@pytest.mark.parametrize(("stored", "digits"), [
    ("+6281234567890", "6281234567890"),
    ("0812-3456-7890", "6281234567890"),  # anything normalize_phone reads
    ("+62215551234", None),  # a Jakarta landline has no WhatsApp
    ("", None),
    (None, None),
    ("bukan nomor", None),
])
def test_whatsapp_digits(stored, digits):
    assert whatsapp_digits(stored) == digits


def test_tel_uri():
    assert tel_uri("+6281234567890") == "tel:+6281234567890"
    assert tel_uri("021-555-1234") == "tel:+62215551234"
    assert tel_uri(None) is None
    assert tel_uri("xx") is None


def _render(app, number, name=None):  # type: ignore[no-untyped-def]
    with app.test_request_context("/"):
        return render_template_string(
            '{% from "macros/phone.html" import phone_links %}{{ phone_links(number, name) }}', number=number, name=name)


def test_macro_mobile_gives_tel_and_whatsapp(app):
    html = _render(app, "+6281234567890", "Siti")
    assert 'href="tel:+6281234567890"' in html
    assert ">0812-3456-7890</a>" in html
    assert 'href="https://wa.me/6281234567890"' in html
    # the accessible names contain the visible text (axe: label-content-name-mismatch)
    for label, text in re.findall(r'aria-label="([^"]+)"[^>]*>([^<]+)</a>', html):
        assert text in label


def test_macro_landline_and_empty(app):
    html = _render(app, "+62215551234")
    assert 'href="tel:+62215551234"' in html and "wa.me" not in html
    assert _render(app, None).strip() == "–"


def test_user_and_outlet_pages_link_phones(client, login_as, factory):
    admin = login_as("admin")
    mentor = factory.user("mentor", phone="+6281311112222")
    outlet = factory.outlet(phone="+6285777776666")
    user_page = client.get(f"/users/{mentor.id}").get_data(as_text=True)
    assert 'href="tel:+6281311112222"' in user_page and 'href="https://wa.me/6281311112222"' in user_page
    outlet_page = client.get(f"/outlets/{outlet.id}").get_data(as_text=True)
    assert 'href="tel:+6285777776666"' in outlet_page and 'href="https://wa.me/6285777776666"' in outlet_page
    assert admin
