"""Pages for the second factor (code step, enrolment, recovery codes, admin reset) and "My devices".
Thin: load, authorize, call a service (lms/people/twofactor.py, lms/people/signins.py)."""
from __future__ import annotations

import math

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from ..confirm import is_confirmed, render_confirm
from ..errors import Invalid, NotAllowed, Throttled
from ..forms_common import Form
from ..permissions import AUTHENTICATED, PUBLIC, load, rule
from . import signins, twofactor
from .auth import client_ip, complete_login
from .forms import ConfirmForm
from .models import User

bp = Blueprint("security", __name__)


class CodeForm(Form):
    code = StringField(_l("Kode"), validators=[DataRequired(_l("Isi kodenya.")), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                                  "spellcheck": "false"},
                       description=_l("6 angka dari aplikasi autentikator, atau salah satu kode pemulihan."))
    remember_device = BooleanField(_l("Ingat perangkat ini 30 hari"))


class EnrolForm(Form):
    code = StringField(_l("Kode dari aplikasi"), validators=[DataRequired(_l("Isi kodenya.")), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
                       description=_l("6 angka yang tampil di aplikasi setelah kode QR dipindai."))


class DisableForm(Form):
    code = StringField(_l("Kode dari aplikasi"), validators=[DataRequired(_l("Isi kodenya.")), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


def _too_many(e: Throttled):  # type: ignore[no-untyped-def]
    minutes = max(1, math.ceil(e.retry_after_seconds / 60))
    resp = current_app.make_response((render_template(
        "errors/429.html", retry_after=e.retry_after_seconds, minutes=minutes,
        hint=_("Terlalu banyak kode yang salah untuk akun ini.")), 429))
    resp.headers["Retry-After"] = str(e.retry_after_seconds)
    return resp


# --- the code step after the password -------------------------------------------------------

@bp.route("/login/code", methods=["GET", "POST"])
@rule(PUBLIC)
def verify():
    pending = signins.pending_user()
    if pending is None:
        if current_user.is_authenticated:
            return redirect(url_for("core.home"))
        flash(_("Masuk lagi dengan e-mail dan kata sandi."), "info")
        return redirect(url_for("people.login"))
    user, data = pending
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            method = twofactor.verify(user, form.code.data, client_ip())
        except Throttled as e:
            return _too_many(e)
        except Invalid as e:
            e.apply_to_form(form)
            status = 422
        else:
            resp = complete_login(user, remember=bool(data.get("r")), next_url=data.get("n"),
                                  second_factor_done=True)
            if form.remember_device.data:
                resp.set_cookie(twofactor.REMEMBER_COOKIE, twofactor.remember_value(user),
                                max_age=twofactor.remember_max_age(), path="/", httponly=True, samesite="Lax",
                                secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))
            if method == "recovery":
                flash(_("Anda masuk dengan kode pemulihan; kode itu tidak bisa dipakai lagi. Sisa kode: %(n)d.",
                        n=twofactor.recovery_codes_left(user)), "warning")
            return resp
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    return render_template("auth/verify.html", form=form, demo_code=twofactor.demo_code(user)), status


# --- enrolment, recovery codes, turning off ------------------------------------------------

def _enrol_page(user: User, form: EnrolForm, status: int = 200):  # type: ignore[no-untyped-def]
    secret = twofactor.pending_secret(user)
    uri = twofactor.provisioning_uri(user, secret)
    demo = None
    if current_app.config.get("DEMO_SHOW_CODES"):
        import pyotp

        demo = pyotp.TOTP(secret).now()
    return render_template("auth/two_factor_enrol.html", form=form, secret=twofactor.grouped(secret), uri=uri,
                           qr=twofactor.qr_svg(uri), required=twofactor.required(user), demo_code=demo), status


@bp.route("/account/two-factor")
@rule("account.two_factor")
def two_factor():
    user = current_user._get_current_object()
    if not twofactor.is_enrolled(user):
        return _enrol_page(user, EnrolForm(formdata=None))
    return render_template("auth/two_factor.html", confirm=ConfirmForm(), disable=DisableForm(formdata=None),
                           left=twofactor.recovery_codes_left(user), required=twofactor.required(user))


@bp.route("/account/two-factor/confirm", methods=["POST"])
@rule("account.two_factor")
def two_factor_confirm():
    user = current_user._get_current_object()
    if twofactor.is_enrolled(user):
        return redirect(url_for("security.two_factor"))
    form = EnrolForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _enrol_page(user, form, 422)
    try:
        codes = twofactor.confirm_enrolment(user, form.code.data, client_ip())
    except Throttled as e:
        return _too_many(e)
    except Invalid as e:
        e.apply_to_form(form)
        return _enrol_page(user, form, 422)
    session["mfa"] = True
    return render_template("auth/recovery_codes.html", codes=codes, first=True)


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@rule("account.two_factor")
def recovery_codes():
    user = current_user._get_current_object()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not twofactor.is_enrolled(user):
        abort(404)
    if not is_confirmed():
        return render_confirm(
            action_url=url_for("security.recovery_codes"), title=_("Buat kode pemulihan baru?"),
            consequences=[_("Kode pemulihan yang lama langsung tidak berlaku."),
                          _("Sepuluh kode baru ditampilkan sekali; simpan di tempat aman.")],
            button_label=_("Ya, buat kode baru"), cancel_url=url_for("security.two_factor"), danger=False)
    codes = twofactor.regenerate_recovery_codes(user, client_ip())
    return render_template("auth/recovery_codes.html", codes=codes, first=False)


@bp.route("/account/two-factor/disable", methods=["POST"])
@rule("account.two_factor")
def two_factor_disable():
    user = current_user._get_current_object()
    if twofactor.required(user):
        abort(403)
    if not twofactor.is_enrolled(user):
        abort(404)
    form = DisableForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return render_template("auth/two_factor.html", confirm=ConfirmForm(), disable=form,
                               left=twofactor.recovery_codes_left(user), required=False), 422
    try:
        twofactor.disable(user, form.code.data, client_ip())
    except Throttled as e:
        return _too_many(e)
    except Invalid as e:
        e.apply_to_form(form)
        return render_template("auth/two_factor.html", confirm=ConfirmForm(), disable=form,
                               left=twofactor.recovery_codes_left(user), required=False), 422
    flash(_("Verifikasi dua langkah sudah dimatikan."), "success")
    return redirect(url_for("security.two_factor"))


@bp.route("/users/<user_id>/reset-two-factor", methods=["POST"])
@rule(AUTHENTICATED)
def user_reset_two_factor(user_id: str):
    """An admin removes a staff member's second factor, after the confirm page."""
    user = load(User, user_id, "user.view", "user.reset_2fa")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not is_confirmed():
        return render_confirm(
            action_url=url_for("security.user_reset_two_factor", user_id=user.id),
            title=_("Reset verifikasi dua langkah %(name)s?", name=user.full_name),
            consequences=[
                _("Aplikasi autentikator dan kode pemulihan %(name)s tidak berlaku lagi.", name=user.full_name),
                _("Semua sesinya di semua perangkat langsung berakhir."),
                _("Saat masuk berikutnya ia mendaftarkan aplikasi autentikator lagi."),
            ],
            button_label=_("Ya, reset verifikasi dua langkah"),
            cancel_url=url_for("people.user_detail", user_id=user.id))
    twofactor.admin_reset(current_user._get_current_object(), user, client_ip())
    flash(_("Verifikasi dua langkah %(name)s direset; ia mendaftar lagi saat masuk berikutnya.",
            name=user.full_name), "success")
    return redirect(url_for("people.user_detail", user_id=user.id))


# --- my devices -------------------------------------------------------------------------------

@bp.route("/account/devices")
@rule(AUTHENTICATED)
def devices():
    user = current_user._get_current_object()
    return render_template("auth/devices.html", sessions=signins.active_sessions(user), current=session.get("sid"),
                           confirm=ConfirmForm())


@bp.route("/account/devices/<sid>/sign-out", methods=["POST"])
@rule(AUTHENTICATED)
def device_sign_out(sid: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    if sid == session.get("sid"):
        abort(400)  # this browser signs out with the ordinary "Keluar" button
    try:
        signins.revoke(user, sid[:64], client_ip())
    except NotAllowed:  # not one of the person's active sessions
        abort(404)
    flash(_("Perangkat itu sudah dikeluarkan."), "success")
    return redirect(url_for("security.devices"))


@bp.route("/account/devices/sign-out-others", methods=["POST"])
@rule(AUTHENTICATED)
def devices_sign_out_others():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    n = signins.revoke_others(current_user._get_current_object(), session.get("sid"), client_ip())
    flash(_("%(n)d perangkat lain sudah dikeluarkan.", n=n), "success")
    return redirect(url_for("security.devices"))
