"""Session feedback and pre/post tests: who may answer and when, one response per attendee, scoring,
the anonymity rule (no aggregate of fewer than 5), eligibility with a required post-test, the data files."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.db import transaction, utcnow
from lms.feedback import questions, reports, services
from lms.feedback.models import FeedbackRating, FeedbackResponse, TestAnswer, TestAttempt, TestPhase
from lms.programme.curriculum import CurriculumError
from lms.sessions.models import Attendance, Registration, RegistrationStatus

SPEAKERS = (("Dra. Sri Wahyuni", "dinas_sosial"), ("Rudi Hartono", "bank_indonesia"))
SCALES = ("overall", "content", "usefulness", "venue")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cohort(factory):  # type: ignore[no-untyped-def]
    return factory.cohort(regions=("3171",))


def _session(factory, cohort, *, ended_days_ago: float = 1, hours: float = 7):  # type: ignore[no-untyped-def]
    return factory.training_session(cohort, "3171", starts_in=-timedelta(days=ended_days_ago, hours=hours),
                                    hours=hours, speakers=SPEAKERS)


def _attendees(factory, cohort, session, n: int, attendance: str | None = "present"):  # type: ignore[no-untyped-def]
    users = factory.enrolled_trainees(n, cohort, region="3171")
    with transaction():
        for u in users:
            factory.db.session.add(Registration(session_id=session.id, user_id=u.id,
                                                status=RegistrationStatus.REGISTERED,
                                                attendance=Attendance(attendance) if attendance else None))
    return users


def _answers(session, value: int = 4, **extra):  # type: ignore[no-untyped-def]
    data = {k: str(value) for k in SCALES}
    data.update({f"speaker_{sp.id}": str(value) for sp in session.speakers})
    data.update(extra)
    return data


def _bulk_responses(factory, session, users, value=lambda i: 1 + i % 5, comment=lambda i: ""):  # type: ignore[no-untyped-def]
    """Responses written straight to the database (as the service would), for large groups."""
    with transaction():
        for i, u in enumerate(users):
            r = FeedbackResponse(session_id=session.id, user_id=u.id, questionnaire_key="bimtek-feedback",
                                 comment=comment(i))
            r.ratings.extend(FeedbackRating(item=k, speaker_id=0, value=value(i)) for k in SCALES)
            r.ratings.extend(FeedbackRating(item="speaker", speaker_id=sp.id, value=value(i)) for sp in session.speakers)
            factory.db.session.add(r)


def _bulk_attempts(factory, session, users, phase: TestPhase, right: int):  # type: ignore[no-untyped-def]
    test = services.test_for(session)
    with transaction():
        for u in users:
            a = TestAttempt(session_id=session.id, user_id=u.id, phase=phase, test_key=test.key,
                            finished_at=utcnow(), total=len(test.questions), correct=right)
            for j, q in enumerate(test.questions):
                ok = j < right
                a.answers.append(TestAnswer(question_key=q.key, choice=q.correct if ok else (q.correct + 1) % 3,
                                            is_correct=ok))
            factory.db.session.add(a)


# --- giving feedback --------------------------------------------------------------------------

def test_an_attendee_gives_one_response_and_can_change_it(client, factory, cohort, login_as, db):
    s = _session(factory, cohort)
    [t] = _attendees(factory, cohort, s, 1)
    login_as(t)
    page = client.get(f"/sessions/{s.id}/feedback")
    assert page.status_code == 200 and "Dra. Sri Wahyuni" in page.get_data(as_text=True)
    resp = client.form_post(f"/sessions/{s.id}/feedback", _answers(s, 4, comment="Materi bagus"))
    assert resp.status_code == 302
    resp = client.form_post(f"/sessions/{s.id}/feedback", _answers(s, 2, comment="Ruangan panas"))
    assert resp.status_code == 302
    db.session.rollback()
    rows = db.session.scalars(sa.select(FeedbackResponse)).all()
    assert len(rows) == 1 and rows[0].comment == "Ruangan panas"
    assert sorted(r.value for r in rows[0].ratings) == [2] * (len(SCALES) + len(SPEAKERS))
    # the form shows their own answers back
    assert 'value="2" checked' in client.get(f"/sessions/{s.id}/feedback").get_data(as_text=True)


def test_an_incomplete_form_names_what_is_missing_and_saves_nothing(client, factory, cohort, login_as, db):
    s = _session(factory, cohort)
    [t] = _attendees(factory, cohort, s, 1)
    login_as(t)
    data = _answers(s)
    data.pop("venue")
    data[f"speaker_{s.speakers[0].id}"] = "9"
    resp = client.form_post(f"/sessions/{s.id}/feedback", data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="venue-error"' in html and f'id="speaker_{s.speakers[0].id}-error"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackResponse)) == 0


@pytest.mark.parametrize("days, status", [(6.5, 302), (7.5, 403)])
def test_feedback_closes_seven_days_after_the_session_ends(client, factory, cohort, login_as, db, days, status):
    s = _session(factory, cohort, ended_days_ago=days)
    [t] = _attendees(factory, cohort, s, 1)
    login_as(t)
    resp = client.form_post(f"/sessions/{s.id}/feedback", _answers(s))
    assert resp.status_code == status
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackResponse)) == (1 if status == 302 else 0)
    if status == 403:
        assert "sudah ditutup" in client.get(f"/sessions/{s.id}/feedback").get_data(as_text=True)


def test_feedback_opens_at_check_in_not_before(client, factory, cohort, login_as, db):
    s = factory.training_session(cohort, "3171", starts_in=timedelta(minutes=-10), hours=4, speakers=SPEAKERS)
    [t] = _attendees(factory, cohort, s, 1, attendance=None)
    login_as(t)
    assert client.form_post(f"/sessions/{s.id}/feedback", _answers(s)).status_code == 403
    from lms.sessions import services as sessions

    client.form_post(f"/checkin/{s.id}/{sessions.checkin_token(s, sessions.checkin_step())}")
    assert client.form_post(f"/sessions/{s.id}/feedback", _answers(s)).status_code == 302


@pytest.mark.parametrize("attendance", ["absent", "excused", None])
def test_registered_non_attendees_are_refused_403(client, factory, cohort, login_as, db, attendance):
    s = _session(factory, cohort)
    [t] = _attendees(factory, cohort, s, 1, attendance=attendance)
    login_as(t)
    assert client.get(f"/sessions/{s.id}/feedback").status_code == 403
    assert client.form_post(f"/sessions/{s.id}/feedback", _answers(s)).status_code == 403
    assert client.get(f"/sessions/{s.id}/test/post").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackResponse)) == 0


def test_a_trainee_of_another_region_gets_404(client, factory, cohort, login_as):
    s = _session(factory, cohort)
    _attendees(factory, cohort, s, 1)
    login_as(factory.user("trainee", region="3172"))
    assert client.get(f"/sessions/{s.id}/feedback").status_code == 404
    assert client.form_post(f"/sessions/{s.id}/feedback", _answers(s)).status_code == 404
    assert client.get(f"/sessions/{s.id}/test/pre").status_code == 404


# --- pre- and post-tests -------------------------------------------------------------------------

def test_the_post_test_one_question_per_screen_resumable_then_scored(client, factory, cohort, login_as, db):
    s = _session(factory, cohort)
    [t] = _attendees(factory, cohort, s, 1)
    test = services.test_for(s)
    login_as(t)
    base = f"/sessions/{s.id}/test/post"
    assert client.get(base).status_code == 200
    q1 = client.get(f"{base}/1").get_data(as_text=True)
    assert test.questions[0].text.id in q1 and test.questions[1].text.id not in q1
    assert 'type="radio" name="choice"' in q1 and "<script" not in q1.split("<main", 1)[-1]
    # no answer: a clear message
    assert client.form_post(f"{base}/1", {}).status_code == 422
    # the first two right, then leave: the start page resumes at the third
    for n in (1, 2):
        resp = client.form_post(f"{base}/{n}", {"choice": str(test.questions[n - 1].correct)})
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{base}/{n + 1}")
    assert "sudah menjawab 2 pertanyaan" in client.get(base).get_data(as_text=True)
    assert f"{base}/3" in client.get(base).get_data(as_text=True)
    # the rest wrong; the last answer finishes and shows the score
    for n in range(3, len(test.questions) + 1):
        wrong = (test.questions[n - 1].correct + 1) % len(test.questions[n - 1].options)
        resp = client.form_post(f"{base}/{n}", {"choice": str(wrong)})
    assert resp.headers["Location"].endswith(f"{base}/result")
    html = client.get(f"{base}/result").get_data(as_text=True)
    total = len(test.questions)
    assert f"2 dari {total} benar" in html
    db.session.rollback()
    a = db.session.scalar(sa.select(TestAttempt))
    assert (a.correct, a.total, a.phase) == (2, total, TestPhase.POST) and a.finished_at is not None
    assert len(a.answers) == total
    # a finished test is final
    assert client.form_post(f"{base}/1", {"choice": "0"}).status_code == 302
    db.session.rollback()
    assert db.session.scalar(sa.select(TestAttempt.correct)) == 2


def test_the_pre_test_is_open_before_the_session_and_closes_at_check_in(client, factory, cohort, login_as, db):
    s = factory.training_session(cohort, "3171", starts_in=timedelta(minutes=20), hours=4, speakers=SPEAKERS)
    [t] = _attendees(factory, cohort, s, 1, attendance=None)
    login_as(t)
    assert client.get(f"/sessions/{s.id}/test/pre").status_code == 200
    assert client.form_post(f"/sessions/{s.id}/test/pre/1", {"choice": "0"}).status_code == 302
    # the pre-test shows no score
    from lms.sessions import services as sessions

    client.form_post(f"/checkin/{s.id}/{sessions.checkin_token(s, sessions.checkin_step())}")
    resp = client.form_post(f"/sessions/{s.id}/test/pre/2", {"choice": "0"})
    assert resp.status_code == 403 and "sebelum check-in" in resp.get_data(as_text=True)
    assert client.get(f"/sessions/{s.id}/test/post").status_code == 200


def test_the_pre_test_closes_when_the_session_starts(factory, cohort, db):
    s = factory.training_session(cohort, "3171", starts_in=timedelta(minutes=-1), hours=4)
    [t] = _attendees(factory, cohort, s, 1, attendance=None)
    with pytest.raises(services.Closed):
        services.answer(t, s, TestPhase.PRE, 1, 0)


def test_scoring_counts_right_answers_of_the_current_questions():
    test = questions.parse({
        "key": "t", "kind": "test", "title": {"id": "T", "en": "T"}, "pass_threshold": 0.5,
        "questions": [{"key": f"q{i}", "text": {"id": f"Soal {i}", "en": f"Q {i}"},
                       "options": [{"id": "a", "en": "a"}, {"id": "b", "en": "b"}], "correct": 2} for i in range(4)]},
        "t.yaml")
    a = TestAttempt(phase=TestPhase.POST, test_key="t", finished_at=utcnow())
    a.answers = [TestAnswer(question_key="q0", choice=1, is_correct=True), TestAnswer(question_key="q1", choice=1, is_correct=True),
                 TestAnswer(question_key="q2", choice=0, is_correct=False),
                 TestAnswer(question_key="gone", choice=1, is_correct=True)]
    services.score(a, test)
    assert (a.correct, a.total, a.score) == (2, 4, 0.5)
    assert services.passed(a, 0.5) and not services.passed(a, 0.51) and not services.passed(None, 0.1)


# --- the data files --------------------------------------------------------------------------------

def test_the_shipped_questionnaires_are_valid_and_referenced(app):
    found = app.extensions["lms.assessments"]
    assert isinstance(found["bimtek-feedback"], questions.Questionnaire)
    assert isinstance(found["bimtek-pengetahuan"], questions.KnowledgeTest)


@pytest.mark.parametrize("body, message", [
    ("kind: test\nkey: t\ntitle: {id: T, en: T}\nquestions:\n  - key: q\n    text: {id: S, en: Q}\n"
     "    options: [{id: a, en: a}, {id: b, en: b}]\n    correct: 3\n", "correct: must be the number"),
    ("kind: test\nkey: t\ntitle: {id: T, en: T}\nquestions:\n  - key: q\n    text: {id: S}\n"
     "    options: [{id: a, en: a}, {id: b, en: b}]\n    correct: 1\n", "text.en: missing"),
    ("kind: feedback\nkey: f\ntitle: {id: F, en: F}\nscales: []\nspeaker: {text: {id: N, en: S}}\n",
     "scales: must be a non-empty list"),
    ("kind: quiz\nkey: f\ntitle: {id: F, en: F}\n", "kind: must be one of"),
])
def test_an_invalid_questionnaire_stops_the_app_and_the_check(tmp_path, body, message, runner_app):
    cur = tmp_path / "curricula"
    (cur / "questionnaires").mkdir(parents=True)
    (cur / "okoce-7pas.yaml").write_text((ROOT / "curricula/okoce-7pas.yaml").read_text(encoding="utf-8"))
    for f in (ROOT / "curricula/questionnaires").glob("*.yaml"):
        (cur / "questionnaires" / f.name).write_text(f.read_text(encoding="utf-8"))
    (cur / "questionnaires" / "broken.yaml").write_text(body)
    from lms import ConfigError, create_app

    with pytest.raises(ConfigError, match=message.split(":")[0]):
        create_app({"TESTING": True, "CURRICULA_DIR": str(cur), "INSTANCE_PATH": str(tmp_path / "i"),
                    "DATABASE_URL": "sqlite://"})
    result = runner_app.test_cli_runner().invoke(args=["curriculum", "check", str(cur / "okoce-7pas.yaml")])
    assert result.exit_code == 1 and message in result.output


def test_a_stage_naming_a_missing_questionnaire_is_refused(tmp_path, runner_app):
    cur = tmp_path / "curricula"
    (cur / "questionnaires").mkdir(parents=True)
    (cur / "okoce-7pas.yaml").write_text((ROOT / "curricula/okoce-7pas.yaml").read_text(encoding="utf-8"))
    result = runner_app.test_cli_runner().invoke(args=["curriculum", "check", str(cur / "okoce-7pas.yaml")])
    assert result.exit_code == 1 and "no file in questionnaires/ has key 'bimtek-feedback'" in result.output
    ok = runner_app.test_cli_runner().invoke(args=["curriculum", "check"])
    assert ok.exit_code == 0 and "bimtek-pengetahuan, test, 5 questions" in ok.output


@pytest.fixture
def runner_app(app):  # type: ignore[no-untyped-def]
    return app


# --- anonymity: the 5-response rule everywhere -----------------------------------------------------

def test_the_report_shows_who_answered_but_no_figures_below_five(client, factory, cohort, login_as, db):
    s = _session(factory, cohort)
    users = _attendees(factory, cohort, s, 6)
    _bulk_responses(factory, s, users[:4], comment=lambda i: f"Komentar rahasia {i}")
    _bulk_attempts(factory, s, users[:4], TestPhase.POST, 3)
    login_as("coordinator", region="3171")
    html = client.get(f"/sessions/{s.id}/feedback/report").get_data(as_text=True)
    assert "4 dari 6 peserta" in html
    assert all(u.full_name in html for u in users[:4]) and users[5].full_name not in html
    assert "Baru 4 jawaban" in html and "Rata-rata" not in html and "Komentar rahasia" not in html
    assert "Hasil tes ditampilkan setelah" in html and "60%" not in html
    _bulk_responses(factory, s, users[4:5], comment=lambda i: "Komentar rahasia 4")
    _bulk_attempts(factory, s, users[4:5], TestPhase.POST, 3)
    html = client.get(f"/sessions/{s.id}/feedback/report").get_data(as_text=True)
    assert "Rata-rata" in html and "Komentar rahasia 0" in html and "Per instansi" in html
    assert "Bank Indonesia" in html


def test_a_speaker_with_fewer_than_five_ratings_is_suppressed(factory, cohort, db):
    from lms.permissions import SYSTEM
    from lms.sessions.models import SessionSpeaker, SpeakerAgency

    s = _session(factory, cohort)
    users = _attendees(factory, cohort, s, 5)
    _bulk_responses(factory, s, users)
    with transaction():
        s.speakers.append(SessionSpeaker(name="Yusuf Maulana", name_key="yusuf maulana", agency=SpeakerAgency.BNI,
                                         position=3))
    with transaction():  # two people rated the new speaker: too few to show, alone or as their agency
        for r in db.session.scalars(sa.select(FeedbackResponse).limit(2)):
            r.ratings.append(FeedbackRating(item="speaker", speaker_id=s.speakers[-1].id, value=1))
    r = reports.session_report(SYSTEM, s)
    by_name = {sp.name: d for sp, d in r.speakers}
    assert by_name["Yusuf Maulana"].n == 2 and by_name["Yusuf Maulana"].mean is None
    assert by_name["Rudi Hartono"].mean is not None
    agencies = dict(r.agencies)
    assert agencies["BNI"].mean is None and agencies["Dinas Sosial"].mean is not None


def test_the_overview_suppresses_small_regions_and_quartiles(client, factory, login_as, db):
    c = factory.cohort(regions=("3171", "3172"))
    big = _session(factory, c)
    small = factory.training_session(c, "3172", starts_in=-timedelta(days=2), hours=7, speakers=SPEAKERS)
    big_users = _attendees(factory, c, big, 8)
    _bulk_responses(factory, big, big_users)
    _bulk_attempts(factory, big, big_users, TestPhase.PRE, 1)
    _bulk_attempts(factory, big, big_users, TestPhase.POST, 4)
    small_users = factory.enrolled_trainees(4, c, region="3172")
    with transaction():
        for u in small_users:
            db.session.add(Registration(session_id=small.id, user_id=u.id, status=RegistrationStatus.REGISTERED,
                                        attendance=Attendance.PRESENT))
    _bulk_responses(factory, small, small_users, value=lambda i: 1)
    _bulk_attempts(factory, small, small_users, TestPhase.PRE, 0)
    _bulk_attempts(factory, small, small_users, TestPhase.POST, 5)
    from lms.permissions import SYSTEM

    ov = reports.overview(SYSTEM, reports.Filters(region_ids=(big.region_id, small.region_id)), next_stage="pendampingan")
    cells = {c.region: c for c in ov.cells}
    assert len(cells) == 2
    shown = cells[big.region.name]
    hidden = next(c for r, c in cells.items() if r != big.region.name)
    assert shown.overall is not None and shown.gain == pytest.approx(0.6)
    assert hidden.responses == 4 and (hidden.overall, hidden.pre, hidden.post, hidden.gain) == (None, None, None, None)
    # 12 trainees with both tests: quartiles of 3 are all below 5, so none is shown
    assert ov.trainees_with_gain == 12 and all(not q.shown and q.gain_low is None for q in ov.quartiles)
    login_as("coordinator", region=None)
    html = client.get("/dashboard/feedback").get_data(as_text=True)
    assert "kurang dari 5 pengelola" in html and "&lt; 5" in html


def test_the_export_is_anonymous_and_leaves_out_small_sessions(client, factory, login_as, db):
    c = factory.cohort(regions=("3171",))
    big = _session(factory, c)
    small = _session(factory, c, ended_days_ago=3)
    big_users = _attendees(factory, c, big, 5)
    small_users = _attendees(factory, c, small, 4)
    _bulk_responses(factory, big, big_users, comment=lambda i: "=HYPERLINK(\"x\")" if i == 0 else f"saran {i}")
    _bulk_responses(factory, small, small_users, comment=lambda i: "sesi kecil")
    from tests.test_reports import plain_client

    coord = factory.user("coordinator", region="3171")
    db.session.commit()
    client = plain_client(client.application, coord)
    resp = client.get("/dashboard/feedback/export?format=csv")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 5
    assert "sesi kecil" not in text
    for u in big_users + small_users:
        assert u.full_name not in text and u.email not in text
    header = rows[0]
    assert not any(h.lower() in ("user_id", "id", "nama", "email") for h in header)
    assert "'=HYPERLINK" in text  # the export machinery's formula guard
    xlsx = client.get("/dashboard/feedback/export?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"



def test_mentors_and_trainees_cannot_export(client, factory, login_as):
    for role in ("mentor", "trainee"):
        client.form_post("/logout")
        login_as(role, region="3171")
        assert client.get("/dashboard/feedback/export?format=csv").status_code == 403


def test_trainees_and_mentors_cannot_read_a_report(client, factory, cohort, login_as):
    s = _session(factory, cohort)
    users = _attendees(factory, cohort, s, 5)
    _bulk_responses(factory, s, users)
    login_as(users[0])
    assert client.get(f"/sessions/{s.id}/feedback/report").status_code == 403
    assert client.get("/dashboard/feedback").status_code == 403
    client.form_post("/logout")
    login_as("mentor", region="3171")
    assert client.get(f"/sessions/{s.id}/feedback/report").status_code == 403
    client.form_post("/logout")
    login_as("coordinator", region="3172")
    assert client.get(f"/sessions/{s.id}/feedback/report").status_code == 404


# --- query counts: constant for 5 and 300 responses --------------------------------------------------

def test_the_reports_cost_the_same_for_5_and_300_responses(client, factory, login_as, count_queries, db):
    c = factory.cohort(regions=("3171",))
    counts = {}
    login_as("coordinator", region="3171")
    for n in (5, 300):
        s = _session(factory, c, ended_days_ago=2 if n == 5 else 3)
        users = _attendees(factory, c, s, n)
        _bulk_responses(factory, s, users, comment=lambda i: f"saran {i}")
        _bulk_attempts(factory, s, users, TestPhase.PRE, 1)
        _bulk_attempts(factory, s, users, TestPhase.POST, 4)
        from lms.dashboard.cache import cache

        cache().clear()
        with count_queries() as q_report:
            r1 = client.get(f"/sessions/{s.id}/feedback/report")
        with count_queries() as q_overview:
            r2 = client.get(f"/dashboard/feedback?start={(utcnow() - timedelta(days=n and 60)).date()}")
        assert r1.status_code == 200 and r2.status_code == 200
        assert f"{n} dari {n} peserta" in r1.get_data(as_text=True)
        counts[n] = (q_report.count, q_overview.count)
    assert counts[5] == counts[300], counts


# --- eligibility with a required post-test ---------------------------------------------------------------

def _design_with_post_test(tmp_path, threshold: str) -> Path:
    import shutil

    d = tmp_path / "designs" / "bimtek"
    shutil.copytree(ROOT / "certificates" / "bimtek", d)
    meta = (d / "metadata.yaml").read_text(encoding="utf-8")
    (d / "metadata.yaml").write_text(meta.replace("session_stages: [pelatihan]\n",
                                                  f"session_stages: [pelatihan]\nrequires_post_test: {threshold}\n"))
    return d


@pytest.mark.parametrize("value", ["{threshold: 1.5}", "{threshold: yes}", "0.7", "{threshold: 0.7, extra: 1}"])
def test_requires_post_test_is_validated(tmp_path, value):
    from lms.certification.designs import DesignError, parse

    with pytest.raises(DesignError, match="requires_post_test"):
        parse(_design_with_post_test(tmp_path, value))
    assert parse(_design_with_post_test(tmp_path / "ok", "{threshold: 0.7}")).post_test_threshold == 0.7


def test_a_design_requiring_a_passed_post_test_explains_it_on_the_candidates_page(client, factory, cohort, login_as,
                                                                                   app, tmp_path, db):
    from lms.certification.designs import parse

    design = parse(_design_with_post_test(tmp_path, "{threshold: 0.7}"))
    app.extensions["lms.certificate_designs"] = {**app.extensions.get("lms.certificate_designs", {}), "bimtek": design}
    s = _session(factory, cohort, ended_days_ago=2)
    passed, failed, missing = _attendees(factory, cohort, s, 3)
    total = len(services.test_for(s).questions)
    _bulk_attempts(factory, s, [passed], TestPhase.POST, total)
    _bulk_attempts(factory, s, [failed], TestPhase.POST, 1)
    login_as("coordinator", region="3171")
    html = client.get(f"/certificates/sessions/{s.id}?kind=bimtek").get_data(as_text=True)
    assert "Post-test belum diselesaikan (perlu nilai paling sedikit 70%)" in html
    assert f"Nilai post-test {round(100 / total)}%, di bawah batas 70%" in html
    from lms.certification import services as certs

    by = {c.holder.id: c for c in certs.session_candidates(__import__("lms.permissions").permissions.SYSTEM, design, s)}
    assert by[passed.id].eligible and not by[failed.id].eligible and not by[missing.id].eligible


def test_the_overview_is_cached_but_never_older_than_the_answers(client, factory, login_as, db):
    c = factory.cohort(regions=("3171",))
    s = _session(factory, c)
    users = _attendees(factory, c, s, 10)
    login_as("coordinator", region="3171")
    assert "Belum ada umpan balik" in client.get("/dashboard/feedback").get_data(as_text=True)
    from lms.dashboard.cache import cache

    hits = cache().hits
    client.get("/dashboard/feedback")
    assert cache().hits == hits + 1  # the same data: served from the cache
    _bulk_responses(factory, s, users[:5], value=lambda i: 5)
    html = client.get("/dashboard/feedback").get_data(as_text=True)
    assert "Belum ada umpan balik" not in html and ">5.0<" in html
    # the dashboard links to it
    assert 'href="/dashboard/feedback"' in client.get("/dashboard").get_data(as_text=True)


def test_the_session_page_offers_the_pre_test_before_and_feedback_after_check_in(client, factory, cohort, login_as):
    s = factory.training_session(cohort, "3171", starts_in=timedelta(minutes=20), hours=4, speakers=SPEAKERS)
    [t] = _attendees(factory, cohort, s, 1, attendance=None)
    login_as(t)
    html = client.get(f"/sessions/{s.id}").get_data(as_text=True)
    assert f"/sessions/{s.id}/test/pre" in html and f"/sessions/{s.id}/feedback" not in html
    from lms.sessions import services as sessions

    client.form_post(f"/checkin/{s.id}/{sessions.checkin_token(s, sessions.checkin_step())}")
    html = client.get(f"/sessions/{s.id}").get_data(as_text=True)
    assert f"/sessions/{s.id}/test/post" in html and f"/sessions/{s.id}/feedback" in html
    assert f"/sessions/{s.id}/test/pre" not in html
    # in English, the questions are the file's English texts
    client.set_cookie("lms_lang", "en")
    assert "Overall, how was this session?" in client.get(f"/sessions/{s.id}/feedback").get_data(as_text=True)
