"""Browser: a mentor returns a monthly report; the trainee's bell shows 1 and the notification
opens the report with the reviewer's comment (on a 360 px phone)."""
from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from lms.notifications import dispatch, events
from tests.browser_helpers import see, sign_in, sign_out

pytestmark = pytest.mark.browser


def test_returned_report_rings_the_trainees_bell(phone_page, factory, app):
    from lms.programme import services as programme

    page = phone_page
    with events.muted():
        trainee = factory.user("trainee", region="3171", phone="+6281234567001", full_name="Ibu Sri Wahyuni")
        mentor = factory.user("mentor", region="3171", full_name="Pak Budi Pendamping")
        factory.assign_mentor(mentor, trainee.managed_outlet)
        factory.enrolment(trainee=trainee)
    report = programme.save_report(trainee, trainee.managed_outlet, programme.ReportInput(
        month=date(2018, 5, 1), turnover=12_500_000, cost_of_goods=9_000_000, operating_expenses=1_500_000))
    dispatch.run_once()  # the mentor's "waiting for review" notification

    sign_in(page, mentor.email)
    page.goto(f"/evidence/{report.id}")
    page.get_by_label("Komentar untuk pengelola").fill("Omzet Mei tidak cocok dengan buku kas, mohon periksa lagi")
    page.get_by_role("button", name="Kembalikan").click()
    see(page, "Bukti dikembalikan")
    sign_out(page)

    dispatch.run_once()  # what the worker does right after the commit

    sign_in(page, trainee.email)
    bell = page.locator("a.bell")
    expect(bell.locator(".bell-count")).to_have_text("1")
    bell.click()
    page.wait_for_url("**/notifications")
    item = page.get_by_role("button", name="Perlu diperbaiki")
    expect(item).to_contain_text("Omzet Mei tidak cocok")
    item.click()
    page.wait_for_url(f"**/evidence/{report.id}")
    see(page, "Omzet Mei tidak cocok dengan buku kas, mohon periksa lagi")
    expect(page.locator("a.bell .bell-count")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
