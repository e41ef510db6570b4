"""Home pages per role, health check and the language switch."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import db
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


@bp.route("/healthz")
@rule(PUBLIC)
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
        db_ok = True
    except Exception:  # the whole point is to report, not to raise
        db.session.rollback()
        db_ok = False
    # says whether the database answers, never which kind it is (nor any version)
    body = {"status": "ok" if db_ok else "degraded", "database": "ok" if db_ok else "unavailable"}
    return jsonify(body), 200


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
