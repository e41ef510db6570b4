"""People in a real browser: an admin deactivates with a reason after the confirm page (desktop);
a set-up link on a phone signs the person in; the audit log fits the screen on both."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from lms.audit.models import AuditEntry
from lms.db import transaction
from lms.people import services
from lms.people.models import User
from tests.browser_helpers import fits_the_screen, see, sign_in

pytestmark = pytest.mark.browser


def test_admin_deactivates_a_user_with_a_reason_after_confirming(browser_page, factory, db):
    page = browser_page
    admin = factory.user("admin")
    target = factory.user("mentor", full_name="Iis Anggraini")
    sign_in(page, admin.email)
    page.goto(f"/users/{target.id}")
    page.locator("summary", has_text="Nonaktifkan akun").click()
    page.get_by_role("button", name="Lanjut: nonaktifkan").click()
    see(page, "Tulis alasan menonaktifkan akun ini.")
    page.get_by_label("Alasan menonaktifkan").fill("Pindah tugas ke Kepulauan Seribu")
    page.get_by_role("button", name="Lanjut: nonaktifkan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nonaktifkan akun Iis Anggraini?")
    see(page, "Semua sesinya di semua perangkat langsung berakhir.")
    db.session.rollback()  # a fresh read: the server wrote in another connection
    assert db.session.get(User, target.id).active is True  # asked, not done
    page.get_by_role("button", name="Ya, nonaktifkan akun").click()
    see(page, "Akun dinonaktifkan")
    see(page, "alasan: Pindah tugas ke Kepulauan Seribu")
    assert fits_the_screen(page)
    db.session.rollback()  # a fresh read: the server wrote in another connection
    user = db.session.get(User, target.id)
    assert user.active is False and user.deactivation_reason == "Pindah tugas ke Kepulauan Seribu"


def test_a_setup_link_on_a_phone_refuses_the_name_then_signs_the_person_in(phone_page, factory, app):
    page = phone_page
    admin = factory.user("admin")
    siti = factory.user("trainee", full_name="Siti Aminah")
    token = services.reset_password(admin, siti)
    page.goto(f"/set-password/{token}")
    assert fits_the_screen(page)
    page.get_by_label("Kata sandi baru", exact=True).fill("siti12345")
    page.get_by_label("Ulangi kata sandi baru").fill("siti12345")
    page.get_by_role("button", name="Simpan kata sandi").click()
    see(page, 'Kata sandi tidak boleh memuat nama atau e-mail Anda ("siti")')
    page.get_by_label("Kata sandi baru", exact=True).fill("Warung-Sembako-Jaya-77")
    page.get_by_label("Ulangi kata sandi baru").fill("Warung-Sembako-Jaya-77")
    page.get_by_role("button", name="Simpan kata sandi").click()
    page.wait_for_url("**/home")
    see(page, "Selamat datang, Siti Aminah")
    assert fits_the_screen(page)
    # and this phone is now a known device for her
    assert any(c["name"] == "lms_device" for c in page.context.cookies())


@pytest.mark.parametrize("width", [1280, 360])
def test_the_audit_log_fits_the_screen(_playwright, live_server, factory, db, width):
    admin = factory.user("admin", email="administrator.dinas.sosial.provinsi@demo.okoce.id")
    long_mail = "fatimah.tarigan.ew3171001.pengelola.utama@demo.okoce.id"
    manager = factory.user("trainee", full_name="Fatimah Tarigan Binti Abdullah Panjang Sekali", email=long_mail)
    with transaction():
        for i in range(5):
            db.session.add(AuditEntry(
                action="user.deactivated", at=datetime(2018, 4, 10, 2, i, tzinfo=timezone.utc), actor_id=admin.id,
                target_type="user", target_id=str(manager.id), ip="2001:db8:85a3::8a2e:370:7334",
                details={"reason": "Tidak lagi mengelola e-Warong karena pindah ke luar kota " * 3,
                         "email": long_mail, "known_device": True}))
    context = _playwright.new_context(base_url=live_server.url, viewport={"width": width, "height": 900},
                                      is_mobile=width < 720)
    page = context.new_page()
    try:
        sign_in(page, admin.email)
        page.goto("/admin/audit")
        see(page, "Akun dinonaktifkan")
        assert fits_the_screen(page)
        # nothing inside the table is cut off or scrolled sideways
        assert page.evaluate("[...document.querySelectorAll('.table-wrap')]"
                             ".every(w => w.scrollWidth <= w.clientWidth + 1)")
    finally:
        context.close()
