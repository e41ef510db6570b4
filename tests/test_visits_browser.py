"""Browser, on a 360 px phone: a mentor logs a visit and the trainee's tracker counts it; a visit
typed without signal reaches the server exactly once when the signal returns; a draft survives a reload."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.db import transaction, utcnow
from lms.visits.models import Visit
from tests.browser_helpers import do_not_see, fits_the_screen, see, sign_in, sign_out
from tests.factories import tiny_png

pytestmark = pytest.mark.browser

QUEUED = "tersimpan di HP, akan dikirim saat sinyal kembali"





def visits(db) -> list[Visit]:
    db.session.rollback()  # a fresh snapshot of what the server wrote
    return list(db.session.scalars(sa.select(Visit)))


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _enrolled_outlet(factory):
    trainee = factory.user("trainee", region="3171", phone="+6281234567001", full_name="Ibu Sari Wulandari")
    enrolment = factory.enrolment(trainee=trainee)
    with transaction():  # the visit's time is typed to the minute: start the enrolment a day earlier
        enrolment.started_at = utcnow() - timedelta(days=1)
    mentor = factory.user("mentor", region="3171", full_name="Pak Anton Pendamping")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    return trainee, mentor, trainee.managed_outlet


def test_mentor_logs_a_visit_on_a_phone_and_the_journey_counts_it(phone_page, factory, db, tmp_path: Path):
    page = phone_page
    trainee, mentor, outlet = _enrolled_outlet(factory)
    sign_in(page, mentor.email)
    page.goto("/caseload")
    see(page, "Belum pernah dikunjungi")
    assert fits_the_screen(page)
    page.locator(f"a[href='/visits/new?outlet={outlet.id}']").click()
    page.wait_for_url(f"**/visits/new?outlet={outlet.id}")
    assert page.get_by_label("e-Warong").input_value() == str(outlet.id)
    assert page.get_by_label("Tanggal dan jam (WIB)").input_value()  # defaults to now
    page.get_by_label("3. Pendampingan").check()
    page.get_by_label("Pengamatan dan masalah yang ditemukan").fill("Stok beras cukup; buku kas belum diisi.")
    page.get_by_label("Catatan internal (tidak terlihat oleh pengelola)").fill("Pengelola perlu didampingi lagi.")
    page.locator("[name='action_items-0-description']").fill("Isi buku kas setiap sore")
    page.locator("[name='action_items-0-owner']").fill("Pengelola")
    page.locator("[name='action_items-0-due_on']").fill((utcnow() + timedelta(days=7)).date().isoformat())
    photo = tmp_path / "warung.png"
    photo.write_bytes(tiny_png())
    page.get_by_label("Foto (opsional)").set_input_files(str(photo))
    assert fits_the_screen(page)
    page.get_by_role("button", name="Simpan kunjungan").click()
    page.wait_for_url("**/visits/*?baru=1")
    see(page, "Kunjungan tersimpan")
    see(page, "Isi buku kas setiap sore")
    assert fits_the_screen(page)
    [visit] = visits(db)
    assert len(visit.photos) == 1 and visit.action_items[0].owner == "Pengelola"
    sign_out(page)

    sign_in(page, trainee.email)
    page.goto("/progress")
    milestone = page.locator("li.milestone", has_text="Kunjungan pendamping")
    assert "(1/3)" in milestone.inner_text()
    page.goto("/visits/mine")
    see(page, "Stok beras cukup")
    do_not_see(page, "Pengelola perlu didampingi lagi")


def test_a_visit_typed_offline_is_sent_once_when_the_signal_returns(phone_page, factory, db, app, tmp_path: Path):
    page = phone_page
    trainee, mentor, outlet = _enrolled_outlet(factory)
    sign_in(page, mentor.email)
    page.goto(f"/visits/new?outlet={outlet.id}")
    page.wait_for_function("document.querySelector('[name=client_key]').value.length >= 8")

    page.context.set_offline(True)
    page.get_by_label("3. Pendampingan").check()
    page.get_by_label("Telepon").check()
    page.get_by_label("Pengamatan dan masalah yang ditemukan").fill("Sinyal hilang di lokasi; stok telur habis.")
    photo = tmp_path / "rak.png"
    photo.write_bytes(tiny_png())
    page.get_by_label("Foto (opsional)").set_input_files(str(photo))
    page.get_by_role("button", name="Simpan kunjungan").click()
    page.get_by_text(QUEUED).wait_for()
    assert page.locator("[data-outbox-list] li").count() == 1
    assert visits(db) == []
    # the form is ready for the next visit, with a new key
    assert page.get_by_label("Pengamatan dan masalah yang ditemukan").input_value() == ""

    # the page's CSRF token expires while the phone is offline: the retry fetches a fresh one
    app.config["WTF_CSRF_TIME_LIMIT"] = 2
    time.sleep(3.5)
    page.context.set_offline(False)
    assert wait_for(lambda: len(visits(db)) == 1), "the queued visit was not sent after the signal came back"
    page.get_by_text("sudah terkirim").wait_for()
    assert page.locator("[data-outbox]").is_hidden()
    [visit] = visits(db)
    assert visit.observations == "Sinyal hilang di lokasi; stok telur habis." and visit.kind.value == "phone_call"
    assert len(visit.photos) == 1  # the photo travelled in IndexedDB as a Blob

    # and only once: reloading flushes the (now empty) outbox again
    app.config["WTF_CSRF_TIME_LIMIT"] = 12 * 3600
    page.reload()
    page.wait_for_load_state("networkidle")
    time.sleep(1)
    assert len(visits(db)) == 1


def test_a_draft_survives_a_reload(phone_page, factory, db):
    page = phone_page
    trainee, mentor, outlet = _enrolled_outlet(factory)
    sign_in(page, mentor.email)
    page.goto(f"/visits/new?outlet={outlet.id}")
    page.wait_for_function("document.querySelector('[name=client_key]').value.length >= 8")
    key = page.locator("[name=client_key]").input_value()
    page.get_by_label("4. Perizinan").check()
    page.get_by_label("Pengamatan dan masalah yang ditemukan").fill("Draf: izin usaha sedang diurus.")
    # the draft is saved shortly after typing stops
    assert wait_for(lambda: "izin usaha sedang diurus" in page.evaluate("JSON.stringify(localStorage)"), timeout=10)
    page.reload()
    page.get_by_text("Draf yang belum dikirim dari HP ini dipulihkan").wait_for()
    assert page.get_by_label("Pengamatan dan masalah yang ditemukan").input_value() == "Draf: izin usaha sedang diurus."
    assert page.get_by_label("4. Perizinan").is_checked()
    assert page.locator("[name=client_key]").input_value() == key  # the same visit if it was already sent
    page.get_by_role("button", name="Simpan kunjungan").click()
    page.wait_for_url("**/visits/*?baru=1")
    page.goto(f"/visits/new?outlet={outlet.id}")
    page.wait_for_function("document.querySelector('[name=client_key]').value.length >= 8")
    assert page.get_by_label("Pengamatan dan masalah yang ditemukan").input_value() == ""
    assert len(visits(db)) == 1


def test_validation_errors_show_on_the_phone_form(phone_page, factory, db):
    page = phone_page
    trainee, mentor, outlet = _enrolled_outlet(factory)
    sign_in(page, mentor.email)
    page.goto(f"/visits/new?outlet={outlet.id}")
    page.wait_for_function("document.querySelector('[name=client_key]').value.length >= 8")
    page.get_by_label("Pengamatan dan masalah yang ditemukan").fill("Lupa memilih langkah.")
    page.get_by_role("button", name="Simpan kunjungan").click()
    page.get_by_text("Pilih minimal satu langkah 7 PAS yang dibahas.").wait_for()
    see(page, "Periksa kembali isian yang ditandai")
    assert visits(db) == []
    page.get_by_label("3. Pendampingan").check()
    page.get_by_role("button", name="Simpan kunjungan").click()
    page.wait_for_url("**/visits/*?baru=1")
    assert len(visits(db)) == 1


def test_a_mentor_edits_a_visit_on_the_phone(phone_page, factory, db):
    page = phone_page
    trainee, mentor, outlet = _enrolled_outlet(factory)
    visit = factory.visit(mentor, outlet, observations="Catatan awal")
    sign_in(page, mentor.email)
    page.goto(f"/visits/{visit.id}")
    page.get_by_role("link", name="Ubah").click()
    page.wait_for_url(f"**/visits/{visit.id}/edit")
    assert page.get_by_label("Pengamatan dan masalah yang ditemukan").input_value() == "Catatan awal"
    page.get_by_label("Pengamatan dan masalah yang ditemukan").fill("Catatan diperbaiki")
    page.get_by_role("button", name="Simpan perubahan").click()
    page.wait_for_url(f"**/visits/{visit.id}?diubah=1")
    see(page, "Perubahan tersimpan")
    see(page, "Catatan diperbaiki")
    [v] = visits(db)
    assert v.observations == "Catatan diperbaiki"
