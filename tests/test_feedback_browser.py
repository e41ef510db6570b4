"""Browser, on a 360 px phone: a trainee checks in by the session's QR link, takes the post-test one
question per screen (no JavaScript needed), sees the score, then gives feedback."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.feedback import services
from lms.feedback.models import FeedbackResponse, TestAttempt
from lms.sessions import services as sessions
from tests.browser_helpers import fits_the_screen, see, sign_in

pytestmark = pytest.mark.browser


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Screenshots for a person to look at, when LMS_TEST_SHOTS names a folder."""
    folder = os.environ.get("LMS_TEST_SHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
        with open(os.path.join(folder, f"{name}.html"), "w", encoding="utf-8") as f:
            f.write(page.content())


def test_check_in_take_the_post_test_and_give_feedback_on_a_phone(phone_page, factory, db):
    page = phone_page
    cohort = factory.cohort(regions=("3171",))
    [trainee] = factory.enrolled_trainees(1, cohort)
    s = factory.training_session(cohort, title="Bimtek Pagi Ini", starts_in=timedelta(minutes=-30), hours=4,
                                 speakers=(("Dra. Sri Wahyuni, M.Si.", "dinas_sosial"), ("Rudi Hartono", "bni")))
    factory.seat(s, trainee)
    test = services.test_for(s)
    sign_in(page, trainee.email)

    # the QR code carries this link
    page.goto(f"/checkin/{s.id}/{sessions.checkin_token(s, sessions.checkin_step())}")
    page.get_by_role("button", name="Saya hadir").click()
    see(page, "kehadiran Anda tercatat")
    assert fits_the_screen(page)
    _shot(page, "1-checked-in")
    page.get_by_role("link", name="Kerjakan post-test").click()
    page.get_by_role("link", name="Mulai").click()
    for n, q in enumerate(test.questions, start=1):
        see(page, f"Pertanyaan {n} dari {len(test.questions)}")
        assert fits_the_screen(page)
        if n == 1:
            _shot(page, "2-question")
        # the first question wrong, the rest right
        choice = q.options[(q.correct + 1) % len(q.options) if n == 1 else q.correct].id
        page.get_by_label(choice, exact=True).check()
        page.get_by_role("button", name="Simpan dan").click()
    see(page, f"Nilai Anda: {len(test.questions) - 1} dari {len(test.questions)} benar")
    assert fits_the_screen(page)
    _shot(page, "3-score")

    page.get_by_role("link", name="Isi umpan balik").click()
    see(page, "Umpan balik sesi")
    for fieldset in page.locator("fieldset.scale").all():
        fieldset.get_by_label("4", exact=False).first.check()
    page.get_by_label("Saran atau komentar").fill("Contoh soal pembukuan perlu ditambah.")
    assert fits_the_screen(page)
    _shot(page, "4-feedback-form")
    page.get_by_role("button", name="Kirim umpan balik").click()
    see(page, "Umpan balik Anda tersimpan")
    assert fits_the_screen(page)
    _shot(page, "5-feedback-saved")

    db.session.rollback()
    attempt = db.session.scalar(sa.select(TestAttempt).where(TestAttempt.user_id == trainee.id))
    assert attempt.finished_at is not None and attempt.correct == len(test.questions) - 1
    response = db.session.scalar(sa.select(FeedbackResponse).where(FeedbackResponse.user_id == trainee.id))
    assert response.comment == "Contoh soal pembukuan perlu ditambah."
    assert sorted({r.value for r in response.ratings}) == [4] and len(response.ratings) == 4 + 2
