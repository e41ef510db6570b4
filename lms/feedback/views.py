"""Session feedback and knowledge test pages, the session report, the overview and its export.
Thin: load, authorize, call a service, render or redirect."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from .. import export
from ..errors import Invalid
from ..forms_common import int_or_none
from ..permissions import AUTHENTICATED, load, rule
from ..sessions.models import TrainingSession
from . import overview as overview_page
from . import reports, services
from .forms import ButtonForm, OverviewForm
from .models import TestPhase
from .questions import SCALE_MAX, SCALE_MIN, SPEAKER_ITEM

bp = Blueprint("feedback", __name__)

PHASES = {"pre": TestPhase.PRE, "post": TestPhase.POST}


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return "en" if loc and loc.language == "en" else "id"


def _load(session_id: str, action: str | None = None) -> TrainingSession:
    return load(TrainingSession, session_id, "session.view", action)  # type: ignore[no-any-return]


def _phase(name: str) -> TestPhase:
    phase = PHASES.get(name)
    if phase is None:
        abort(404)
    return phase


# --- the trainee's feedback form --------------------------------------------------------------------

@bp.route("/sessions/<session_id>/feedback", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def give(session_id: str):
    session = _load(session_id, "session.feedback")
    actor = _actor()
    q = services.questionnaire_for(session)
    closed = services.feedback_problem(actor, session)
    form = ButtonForm()
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = services.answers_of(services.my_response(actor, session))
    comment = ""
    response = services.my_response(actor, session)
    comment = response.comment if response else ""
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if closed:
            return render_template("feedback/give.html", session=session, q=q, closed=closed, values=values,
                                   comment=comment, errors={}, form=form, lang=_lang(), scale=_scale()), 403
        names = [s.key for s in q.scales] + [f"{SPEAKER_ITEM}_{sp.id}" for sp in session.speakers] if q else []
        data = services.FeedbackInput(ratings={n: request.form.get(n) for n in names},
                                      comment=request.form.get("comment", ""))
        try:
            services.save_feedback(actor, session, data)
        except Invalid as e:
            errors = e.reasons
            values = {n: int_or_none(request.form.get(n)) for n in names}
            comment = data.comment
        except services.Closed as e:
            abort(403, e.message)
        else:
            flash(_("Terima kasih! Umpan balik Anda tersimpan. Anda bisa mengubahnya sampai formulir ditutup."),
                  "success")
            return redirect(url_for("feedback.give", session_id=session.id))
    return render_template("feedback/give.html", session=session, q=q, closed=closed, values=values,
                           comment=comment, errors=errors, form=form, lang=_lang(), scale=_scale(),
                           closes=services.feedback_closes(session), given=response is not None), \
        (422 if errors else 200)


def _scale() -> list[tuple[int, str]]:
    words = {1: _("Sangat kurang"), 2: _("Kurang"), 3: _("Cukup"), 4: _("Baik"), 5: _("Sangat baik")}
    return [(v, words[v]) for v in range(SCALE_MIN, SCALE_MAX + 1)]


# --- pre- and post-tests: one question per screen -----------------------------------------------------

@bp.route("/sessions/<session_id>/test/<phase_name>")
@rule(AUTHENTICATED)
def test_start(session_id: str, phase_name: str):
    phase = _phase(phase_name)
    session = _load(session_id, services.phase_rule(phase))
    actor = _actor()
    test = services.test_for(session)
    attempt = services.attempt_of(actor, session, phase)
    if attempt is not None and attempt.finished_at is not None:
        return redirect(url_for("feedback.test_result", session_id=session.id, phase_name=phase.value))
    problem = services.test_problem(actor, session, phase)
    if problem:
        return render_template("feedback/test_intro.html", session=session, test=test, phase=phase, problem=problem,
                               lang=_lang(), answered=0), 403
    answered = len(services.chosen(attempt))
    return render_template("feedback/test_intro.html", session=session, test=test, phase=phase, problem=None,
                           lang=_lang(), answered=answered,
                           next_number=services.next_question(test, attempt) if test else None)


@bp.route("/sessions/<session_id>/test/<phase_name>/<int:number>", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def test_question(session_id: str, phase_name: str, number: int):
    phase = _phase(phase_name)
    session = _load(session_id, services.phase_rule(phase))
    actor = _actor()
    test = services.test_for(session)
    if test is None or not 1 <= number <= len(test.questions):
        abort(404)
    attempt = services.attempt_of(actor, session, phase)
    if attempt is not None and attempt.finished_at is not None:
        return redirect(url_for("feedback.test_result", session_id=session.id, phase_name=phase.value))
    problem = services.test_problem(actor, session, phase)
    if problem:
        return render_template("feedback/test_intro.html", session=session, test=test, phase=phase, problem=problem,
                               lang=_lang(), answered=0), 403
    form = ButtonForm()
    error = None
    picked = services.chosen(attempt).get(test.questions[number - 1].key)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            attempt = services.answer(actor, session, phase, number, request.form.get("choice"))
        except Invalid as e:
            error = " ".join(str(m) for ms in e.reasons.values() for m in ms)
        except services.Closed as e:
            return render_template("feedback/test_intro.html", session=session, test=test, phase=phase,
                                   problem=e.message, lang=_lang(), answered=0), 403
        else:
            if attempt.finished_at is not None:
                return redirect(url_for("feedback.test_result", session_id=session.id, phase_name=phase.value))
            nxt = services.next_question(test, attempt)
            following = number + 1 if number < len(test.questions) else nxt
            return redirect(url_for("feedback.test_question", session_id=session.id, phase_name=phase.value,
                                    number=following or nxt or 1))
    return render_template("feedback/test_question.html", session=session, test=test, phase=phase, number=number,
                           question=test.questions[number - 1], picked=picked, error=error, form=form, lang=_lang(),
                           answered=len(services.chosen(attempt))), (422 if error else 200)


@bp.route("/sessions/<session_id>/test/<phase_name>/result")
@rule(AUTHENTICATED)
def test_result(session_id: str, phase_name: str):
    phase = _phase(phase_name)
    session = _load(session_id, services.phase_rule(phase))
    actor = _actor()
    attempt = services.attempt_of(actor, session, phase)
    if attempt is None or attempt.finished_at is None:
        return redirect(url_for("feedback.test_start", session_id=session.id, phase_name=phase.value))
    test = services.test_for(session)
    state = services.trainee_state(actor, session)
    return render_template("feedback/test_result.html", session=session, test=test, phase=phase, attempt=attempt,
                           passed=services.passed(attempt, test.pass_threshold) if test else False, state=state)


# --- the coordinator's report of one session -----------------------------------------------------------

@bp.route("/sessions/<session_id>/feedback/report")
@rule(AUTHENTICATED)
def session_report(session_id: str):
    session = _load(session_id, "session.feedback_report")
    report = reports.session_report(_actor(), session)
    return render_template("feedback/report.html", r=report, session=session, min_group=reports.MIN_GROUP,
                           agency_label=reports.agency_label)


# --- the overview (dashboard) and the export -----------------------------------------------------------

@bp.route("/dashboard/feedback")
@rule("feedback.overview")
def overview():
    actor = _actor()
    form = OverviewForm(request.args)
    filters = overview_page.filters(form, actor)
    html = overview_page.cached(actor, filters, _lang(), lambda: render_template(
        "feedback/_overview_views.html", **overview_page.context(actor, filters, _lang())))
    return render_template("feedback/overview.html", form=form, views=Markup(html), min_group=reports.MIN_GROUP)


@bp.route("/dashboard/feedback/export")
@rule("exports.download")
def export_responses():
    actor = _actor()
    form = OverviewForm(request.args)
    filters = overview_page.filters(form, actor)
    fmt = request.args.get("format", "csv")
    if fmt not in export.FORMATS:
        abort(400)
    q = overview_page.default_questionnaire()
    if q is None:
        abort(404)
    header, rows = reports.export_rows(actor, filters, q)
    return export.download(fmt, "umpan-balik-bimtek", _("Umpan balik"), header, rows)


@bp.app_context_processor
def _feedback_globals() -> dict[str, Any]:
    from datetime import timedelta

    return {"feedback_days": timedelta(days=services.FEEDBACK_DAYS)}


@bp.app_template_global("feedback_offers")
def feedback_offers(session: TrainingSession) -> tuple[bool, bool]:
    """(has a feedback form, has a knowledge test): from the curriculum in memory, no query."""
    return overview_page.offers(session)

