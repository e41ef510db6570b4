"""Sign-in, account and user administration pages. Thin: load, authorize, call a service."""
from __future__ import annotations

import math

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..confirm import is_confirmed, render_confirm
from ..errors import Invalid, Throttled
from ..forms_common import int_or_none
from ..permissions import AUTHENTICATED, PUBLIC, load, rule
from ..places.services import regions_for
from ..urls import external_url
from . import phone_codes, services
from .auth import client_ip, complete_login, current_device, safe_next
from .forms import (
    ROLE_LABELS, ChangePasswordForm, CodeForm, ConfirmForm, PhoneForm, DeactivateForm, LoginForm, SetPasswordForm, UserFilterForm, UserForm,
)
from .models import Role, User
from .phone import display_phone

bp = Blueprint("people", __name__)


@bp.route("/login", methods=["GET", "POST"])
@rule(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("core.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, client_ip(), current_device())
        except Throttled as e:
            minutes = max(1, math.ceil(e.retry_after_seconds / 60))
            hint = None
            if getattr(e, "scope", None) == "account":
                hint = _("Akun ini sedang dilindungi karena banyak percobaan masuk yang gagal. Dari perangkat "
                         "yang pernah Anda pakai untuk masuk ke akun ini, Anda tetap bisa masuk sekarang.")
            resp = current_app.make_response((render_template(
                "errors/429.html", retry_after=e.retry_after_seconds, minutes=minutes, hint=hint), 429))
            resp.headers["Retry-After"] = str(e.retry_after_seconds)
            return resp
        except Invalid as e:
            e.apply_to_form(form)
            status = 200
        else:
            return complete_login(user, remember=bool(form.remember.data),
                                  next_url=safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 200
    return render_template("auth/login.html", form=form), status


def _throttled_page(e: Throttled, hint: str | None = None):  # type: ignore[no-untyped-def]
    minutes = max(1, math.ceil(e.retry_after_seconds / 60))
    resp = current_app.make_response((render_template(
        "errors/429.html", retry_after=e.retry_after_seconds, minutes=minutes, hint=hint), 429))
    resp.headers["Retry-After"] = str(e.retry_after_seconds)
    return resp


def _demo_code(code: str | None) -> str | None:
    """The code itself, kept in the session only for the demo (LMS_DEMO_SHOW_CODES) when no
    WhatsApp channel is configured: nobody could receive it otherwise."""
    from ..notifications.channels import CHANNELS

    if code and current_app.config.get("DEMO_SHOW_CODES") and not CHANNELS["whatsapp"].configured(current_app.config):
        return code
    return None


@bp.route("/login/phone", methods=["GET", "POST"])
@rule(PUBLIC)
def login_phone():
    """Sign-in by phone, step 1: the number. The same answer for known and unknown numbers."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = PhoneForm()
    if form.validate_on_submit():
        pending = session.get("phone_code") or {}
        try:
            row_id, code = phone_codes.request_login_code(form.phone.data, client_ip(), current_device(),
                                                          replaces=pending.get("id"))
        except Throttled as e:
            return _throttled_page(e, _("Terlalu banyak permintaan kode. Dari perangkat yang pernah Anda pakai "
                                        "untuk masuk, Anda tetap bisa meminta kode."))
        except Invalid as e:
            e.apply_to_form(form)
        else:
            session["phone_code"] = {"id": row_id, "phone": display_phone(phone_codes.parse_phone(form.phone.data)),
                                     "next": safe_next(request.args.get("next")), "demo": _demo_code(code)}
            return redirect(url_for("people.login_phone_code"))
    elif request.method == "POST" and form.csrf_token.errors:
        return render_template("auth/login_phone.html", form=form), 400
    return render_template("auth/login_phone.html", form=form)


@bp.route("/login/phone/code", methods=["GET", "POST"])
@rule(PUBLIC)
def login_phone_code():
    """Sign-in by phone, step 2: the code sent to the number (if it is registered)."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    pending = session.get("phone_code")
    if not pending:
        return redirect(url_for("people.login_phone"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            user = phone_codes.sign_in_with_code(pending.get("id"), form.code.data, client_ip(), current_device())
        except Throttled as e:
            return _throttled_page(e, _("Akun ini sedang dilindungi karena banyak kode salah. Dari perangkat "
                                        "yang pernah Anda pakai untuk masuk, Anda tetap bisa masuk sekarang."))
        except Invalid as e:
            e.apply_to_form(form)
        else:
            return complete_login(user, remember=bool(form.remember.data), next_url=pending.get("next"))
    elif request.method == "POST" and form.csrf_token.errors:
        abort(400)
    return render_template("auth/login_phone_code.html", form=form, phone=pending.get("phone"),
                           demo_code=pending.get("demo"), minutes=int(current_app.config["PHONE_CODE_MINUTES"]))


@bp.route("/account/phone", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def change_phone():
    """Change one's own number: a code goes to the NEW number, then the confirm page."""
    user = current_user._get_current_object()
    form = PhoneForm()
    if form.validate_on_submit():
        pending = session.get("phone_change") or {}
        try:
            row_id, code = phone_codes.request_phone_change(user, form.phone.data, client_ip(), current_device(),
                                                            replaces=pending.get("id"))
        except Throttled as e:
            return _throttled_page(e)
        except Invalid as e:
            e.apply_to_form(form)
        else:
            session["phone_change"] = {"id": row_id, "phone": display_phone(phone_codes.parse_phone(form.phone.data)),
                                       "demo": _demo_code(code)}
            return redirect(url_for("people.change_phone_confirm"))
    elif request.method == "POST" and form.csrf_token.errors:
        abort(400)
    return render_template("auth/change_phone.html", form=form, current=display_phone(user.phone))


@bp.route("/account/phone/confirm", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def change_phone_confirm():
    pending = session.get("phone_change")
    if not pending:
        return redirect(url_for("people.change_phone"))
    user = current_user._get_current_object()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            phone_codes.confirm_phone_change(user, pending.get("id"), form.code.data, client_ip(), current_device())
        except Throttled as e:
            return _throttled_page(e)
        except Invalid as e:
            e.apply_to_form(form)
        else:
            session.pop("phone_change", None)
            flash(_("Nomor HP Anda sekarang %(phone)s.", phone=display_phone(user.phone)), "success")
            return redirect(url_for("core.home"))
    elif request.method == "POST" and form.csrf_token.errors:
        abort(400)
    return render_template("auth/change_phone_confirm.html", form=form, phone=pending.get("phone"),
                           demo_code=pending.get("demo"), minutes=int(current_app.config["PHONE_CODE_MINUTES"]))


@bp.route("/logout", methods=["POST"])
@rule(AUTHENTICATED)
def logout():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    services.logout(current_user._get_current_object(), client_ip())
    logout_user()
    session.clear()
    flash(_("Anda sudah keluar."), "info")
    return redirect(url_for("people.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current_password.data, form.new_password.data, client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            # every other session ended with the token; this one continues under the new token
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            session.clear()
            login_user(user, remember=remembered)
            from .signins import start_session, twofactor

            start_session(user, twofactor.is_enrolled(user), getattr(current_device(), "id", None))
            flash(_("Kata sandi sudah diganti. Sesi lain di perangkat lain sudah diakhiri."), "success")
            return redirect(url_for("core.home"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@rule(PUBLIC)
def set_password(token: str):
    if services.find_setup_token(token) is None:
        return render_template("auth/set_password_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.redeem_setup_token(token, form.new_password.data, client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            # signed in as the link's owner: a fresh session, whoever was signed in before
            if current_user.is_authenticated:
                logout_user()
            resp = complete_login(user)  # with a second factor, the code step comes first
            flash(_("Kata sandi tersimpan. Selamat datang, %(name)s!", name=user.full_name), "success")
            return resp
    return render_template("auth/set_password.html", form=form)


# --- user administration -------------------------------------------------------------

def _role_choices(actor) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    roles = [Role.TRAINEE, Role.MENTOR] + ([Role.COORDINATOR, Role.ADMIN] if actor.role is Role.ADMIN else [])
    return [(r.value, str(ROLE_LABELS[r.value])) for r in roles]


def _region_choices(actor, blank: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [("", blank)] + [(str(r.id), f"{r.name} ({r.code})") for r in regions_for(actor)]



@bp.route("/users")
@rule("users.list")
def user_list():
    actor = current_user._get_current_object()
    form = UserFilterForm(request.args)
    form.region.choices = _region_choices(actor, _("Semua wilayah"))
    form.role.choices = [("", _("Semua peran"))] + [(k, str(v)) for k, v in ROLE_LABELS.items()]
    page = max(1, int_or_none(request.args.get("page")) or 1)
    role = Role(form.role.data) if form.role.data in {r.value for r in Role} else None
    per_page = current_app.config["PAGE_SIZE"]
    users, total = services.search_users(actor, q=(form.q.data or "")[:100], region_id=int_or_none(form.region.data),
                                         role=role, page=page, per_page=per_page)
    pages = max(1, math.ceil(total / per_page))
    return render_template("people/user_list.html", form=form, users=users, total=total, page=page, pages=pages,
                           role_labels=ROLE_LABELS)


def _user_input(form: UserForm) -> services.UserInput:
    return services.UserInput(
        email=form.email.data or "", full_name=form.full_name.data or "", phone=form.phone.data,
        role=Role(form.role.data), region_id=int_or_none(form.region_id.data),
        outlet_code=form.outlet_code.data)


@bp.route("/users/new", methods=["GET", "POST"])
@rule("users.create")
def user_create():
    actor = current_user._get_current_object()
    form = UserForm()
    form.role.choices = _role_choices(actor)
    form.region_id.choices = _region_choices(actor, _("— Seluruh DKI Jakarta —"))
    if form.validate_on_submit():
        try:
            user, token = services.create_user(actor, _user_input(form), ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            if token:
                session["setup_link"] = {"user_id": user.id, "token": token}
            flash(_("Akun %(name)s sudah dibuat.", name=user.full_name), "success")
            return redirect(url_for("people.user_detail", user_id=user.id))
    return render_template("people/user_form.html", form=form, user=None)


def _detail(user: User, deactivate: DeactivateForm | None = None) -> str:
    link = session.pop("setup_link", None)
    setup_url = None
    if link and link.get("user_id") == user.id:
        setup_url = external_url("people.set_password", token=link["token"])
    from .setup_links import whatsapp_setup_url

    setup_wa = whatsapp_setup_url(user.full_name, user.phone, user.locale, setup_url) if setup_url else None
    return render_template("people/user_detail.html", user=user, confirm=ConfirmForm(), setup_url=setup_url,
                           setup_wa=setup_wa,
                           role_labels=ROLE_LABELS, deactivate=deactivate or DeactivateForm(formdata=None))


@bp.route("/users/<user_id>")
@rule(AUTHENTICATED)
def user_detail(user_id: str):
    user = load(User, user_id, "user.view")
    page = _detail(user)
    from ..privacy import access  # who looked at whom (UU PDP): someone else opened this person's record

    access.record(current_user, user.id, access.RECORD, f"user:{user.id}")
    return page


@bp.route("/users/<user_id>/edit", methods=["GET", "POST"])
@rule(AUTHENTICATED)
def user_edit(user_id: str):
    user = load(User, user_id, "user.view", "user.edit")
    actor = current_user._get_current_object()
    form = UserForm(obj=user if request.method == "GET" else None)
    form.role.choices = _role_choices(actor)
    if user.role.value not in dict(form.role.choices):
        form.role.choices.append((user.role.value, str(ROLE_LABELS[user.role.value])))
    form.region_id.choices = _region_choices(actor, _("— Seluruh DKI Jakarta —"))
    if request.method == "GET":
        form.role.data = user.role.value
        form.region_id.data = str(user.region_id or "")
        form.outlet_code.data = user.managed_outlet.code if user.managed_outlet else ""
        from .phone import display_phone

        form.phone.data = display_phone(user.phone)
    if form.validate_on_submit():
        try:
            services.update_user(actor, user, _user_input(form), ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(_("Perubahan tersimpan."), "success")
            return redirect(url_for("people.user_detail", user_id=user.id))
    return render_template("people/user_form.html", form=form, user=user)


@bp.route("/users/<user_id>/active", methods=["POST"])
@rule(AUTHENTICATED)
def user_set_active(user_id: str):
    """Reactivate at once; deactivate only with a reason and after the confirm page (confirmed=1)."""
    user = load(User, user_id, "user.view", "user.administer")
    actor = current_user._get_current_object()
    if request.form.get("active") == "1":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        try:
            services.set_active(actor, user, True, ip=client_ip())
        except Invalid as e:
            flash(str(e), "error")
            return redirect(url_for("people.user_detail", user_id=user.id))
        flash(_("Akun diaktifkan."), "success")
        return redirect(url_for("people.user_detail", user_id=user.id))
    form = DeactivateForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail(user, deactivate=form), 422
    problems = services.deactivation_reason_problems(form.reason.data)
    if problems:
        form.reason.errors = list(problems)
        return _detail(user, deactivate=form), 422
    if not is_confirmed():
        return render_confirm(
            action_url=url_for("people.user_set_active", user_id=user.id),
            title=_("Nonaktifkan akun %(name)s?", name=user.full_name),
            consequences=[
                _("%(name)s tidak bisa masuk lagi sampai akunnya diaktifkan kembali.", name=user.full_name),
                _("Semua sesinya di semua perangkat langsung berakhir."),
                _("Datanya (kemajuan, bukti, kunjungan, sertifikat) tetap tersimpan dan tetap terlihat."),
                _("Alasan dicatat di akun dan di log audit: \u201c%(reason)s\u201d",
                  reason=" ".join(form.reason.data.split())),
            ],
            button_label=_("Ya, nonaktifkan akun"),
            cancel_url=url_for("people.user_detail", user_id=user.id),
            hidden={"active": "0", "reason": form.reason.data})
    try:
        services.set_active(actor, user, False, ip=client_ip(), reason=form.reason.data)
    except Invalid as e:
        e.apply_to_form(form)
        return _detail(user, deactivate=form), 422
    flash(_("Akun dinonaktifkan; semua sesinya sudah diakhiri."), "success")
    return redirect(url_for("people.user_detail", user_id=user.id))


@bp.route("/users/<user_id>/reset-password", methods=["POST"])
@rule(AUTHENTICATED)
def user_reset_password(user_id: str):
    """After the confirm page (confirmed=1): clear the password and show a one-time set-up link."""
    user = load(User, user_id, "user.view", "user.administer")
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if not is_confirmed():
        hours = int(current_app.config["PASSWORD_SETUP_HOURS"])
        return render_confirm(
            action_url=url_for("people.user_reset_password", user_id=user.id),
            title=_("Reset kata sandi %(name)s?", name=user.full_name),
            consequences=[
                _("Kata sandi %(name)s yang sekarang langsung tidak berlaku.", name=user.full_name),
                _("Semua sesinya di semua perangkat langsung berakhir."),
                _("Anda mendapat tautan sekali pakai (berlaku %(hours)d jam) untuk dikirim kepadanya; "
                  "lewat tautan itu ia membuat kata sandi baru.", hours=hours),
            ],
            button_label=_("Ya, reset kata sandi"),
            cancel_url=url_for("people.user_detail", user_id=user.id))
    token = services.reset_password(current_user._get_current_object(), user, ip=client_ip())
    session["setup_link"] = {"user_id": user.id, "token": token}
    flash(_("Kata sandi direset. Berikan tautan di bawah kepada pemilik akun."), "success")
    return redirect(url_for("people.user_detail", user_id=user.id))
