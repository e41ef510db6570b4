"""Home pages per role and the language switch (the health checks: lms/ops/views.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..i18n import LANG_COOKIE
from ..people.auth import safe_next
from ..permissions import AUTHENTICATED, PUBLIC, rule
from . import services

bp = Blueprint("core", __name__)


@bp.route("/")
@rule(PUBLIC)
def index():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    return redirect(url_for("people.login"))


@bp.route("/home")
@rule(AUTHENTICATED)
def home():
    actor = current_user._get_current_object()
    ctx = services.home_context(actor)
    return render_template(f"core/home_{actor.role.value}.html", **ctx)


@bp.route("/lang", methods=["POST"])
@rule(PUBLIC)
def set_language():
    from ..people.forms import ConfirmForm

    form = ConfirmForm()
    lang = request.form.get("lang", "")
    target = safe_next(request.form.get("next")) or url_for("core.index")
    if not form.validate_on_submit() or lang not in current_app.config["LANGUAGES"]:
        return redirect(target)
    if current_user.is_authenticated:
        services.set_locale(current_user._get_current_object(), lang)
    resp = make_response(redirect(target))
    resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax",
                    secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return resp
