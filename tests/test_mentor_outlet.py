"""The mentor on a phone: the outlet page leads everywhere the outlet's record is, phones are links."""
from __future__ import annotations

import re

from lms.people.models import Role


def _links(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


def test_outlet_page_links_for_the_mentor(client, login_as, factory):
    w = factory.world()
    login_as(w.mentor)
    html = client.get(f"/outlets/{w.outlet.id}").get_data(as_text=True)
    links = _links(html)
    assert f"/visits/new?outlet={w.outlet.id}" in links  # Catat kunjungan, prefilled
    assert f"/outlets/{w.outlet.id}/timeline" in links
    assert f"/enrolments/{w.enrolment.id}" in links  # the manager's tracker as staff see it
    assert f"/outlets/{w.outlet.id}/reports" in links
    assert f"/evidence/{w.evidence.id}" in links
    assert "#bukti" in links
    # every link the page offers opens for the mentor
    for href in sorted(links):
        if href.startswith(("/outlets/", "/enrolments/", "/evidence/", "/visits/")):
            assert client.get(href).status_code == 200, href
    # the manager's and the mentor's phones are tap-to-call and WhatsApp links
    assert 'href="tel:+6281234567101"' in html and 'href="https://wa.me/6281234567101"' in html


def test_outlet_page_offers_only_allowed_links(client, login_as, factory):
    w = factory.world()
    login_as(w.users["coord_3171"])
    html = client.get(f"/outlets/{w.outlet.id}").get_data(as_text=True)
    assert "/visits/new" not in html  # only the outlet's mentor logs visits
    assert f"/enrolments/{w.enrolment.id}" in html and f"/outlets/{w.outlet.id}/timeline" in html
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    login_as(w.owner)
    html = client.get(f"/outlets/{w.outlet.id}").get_data(as_text=True)
    assert "/visits/new" not in html
    assert f"/outlets/{w.outlet.id}/reports" in html


def test_outlet_page_without_enrolment_or_mentor(client, login_as, factory):
    login_as("admin")
    outlet = factory.outlet(phone="+62215551234")  # a landline: no WhatsApp
    html = client.get(f"/outlets/{outlet.id}").get_data(as_text=True)
    assert "/enrolments/" not in html and "/visits/new" not in html
    assert 'href="tel:+62215551234"' in html and "wa.me" not in html
    assert f"/outlets/{outlet.id}/timeline" in html


def test_catat_kunjungan_link_preselects_the_outlet(client, login_as, factory):
    mentor, (outlet, other) = factory.caseload(2)
    login_as(mentor)
    html = client.get(f"/visits/new?outlet={outlet.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{outlet.id}">|<option value="{outlet.id}" selected>', html), html


def test_caseload_card_shows_the_manager_phone_and_opens_the_outlet_page(client, login_as, factory):
    mentor = factory.user(Role.MENTOR, region="3171")
    trainee = factory.user("trainee", region="3171", phone="+6281298765432", full_name="Bu Sari")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    login_as(mentor)
    html = client.get("/caseload").get_data(as_text=True)
    assert 'href="tel:+6281298765432"' in html
    assert 'href="https://wa.me/6281298765432"' in html
    assert f'href="/outlets/{trainee.managed_outlet.id}"' in html


def test_timeline_shows_the_mentor_phone_and_the_outlet_page(client, login_as, factory):
    mentor = factory.user(Role.MENTOR, region="3171", phone="+6281377778888")
    trainee = factory.user("trainee", region="3171")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    login_as(trainee)
    html = client.get(f"/outlets/{trainee.managed_outlet.id}/timeline").get_data(as_text=True)
    assert 'href="tel:+6281377778888"' in html and 'href="https://wa.me/6281377778888"' in html
    assert f'href="/outlets/{trainee.managed_outlet.id}"' in html


def test_outlet_page_query_count_is_bounded(client, login_as, factory, count_queries, db):
    w = factory.world()
    login_as(w.mentor)
    client.get(f"/outlets/{w.outlet.id}")
    with count_queries() as few:
        client.get(f"/outlets/{w.outlet.id}")
    from datetime import date

    from lms.permissions import SYSTEM
    from lms.programme import services

    for m in range(1, 7):
        services.save_report(SYSTEM, w.outlet, services.ReportInput(date(2018, m, 1), 1000, 100, 100))
    with count_queries() as many:
        client.get(f"/outlets/{w.outlet.id}")
    assert many.count == few.count, many.statements
