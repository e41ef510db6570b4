"""The "Token API" page (/akun/token-api): one's personal access tokens, a form to make one (shown
once), and revoking one after a confirm page. Thin: the service is lms/api/tokens.py."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..confirm import is_confirmed, render_confirm
from ..errors import Invalid, NotFound
from ..forms_common import Form
from ..people.auth import client_ip
from ..people.forms import ConfirmForm
from ..permissions import rule
from . import tokens

bp = Blueprint("api_tokens", __name__)

#: what each scope allows, as the form explains it
SCOPE_LABELS = {
    "read": _l("read — membaca data yang boleh Anda lihat"),
    "write:evidence": _l("write:evidence — mengirim bukti (izin usaha, pemasaran, laporan, permodalan)"),
    "write:visits": _l("write:visits — mencatat kunjungan pendampingan"),
    "write:attendance": _l("write:attendance — mendaftar ke Bimtek dan mengisi presensi"),
    "review": _l("review — memverifikasi atau mengembalikan bukti"),
    "admin": _l("admin — tindakan admin lewat API"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenForm(Form):
    name = StringField(_l("Nama token"), validators=[DataRequired(_l("Beri nama token, misalnya tempat ia dipakai.")),
                                                     Length(max=tokens.MAX_NAME)],
                       description=_l("Misalnya “Portal Satu Data” atau “Spreadsheet laporan”."))
    scopes = MultiCheckboxField(_l("Cakupan"), choices=[], validate_choice=False)
    days = IntegerField(_l("Berlaku (hari)"), default=tokens.DEFAULT_DAYS,
                        validators=[Optional(), NumberRange(1, tokens.MAX_DAYS)],
                        description=_l("Paling lama 365 hari. Sesudahnya buat token baru."))


def _form() -> TokenForm:
    form = TokenForm()
    form.scopes.choices = [(s, str(SCOPE_LABELS[s])) for s in tokens.scopes_for(current_user)]
    if not form.is_submitted():
        form.scopes.data = ["read"]
    return form


def _page(form: TokenForm, status: int = 200):  # type: ignore[no-untyped-def]
    user = current_user._get_current_object()
    return render_template("api/tokens.html", form=form, tokens=tokens.tokens_of(user), state=tokens.state,
                           confirm=ConfirmForm(), scopes=tokens.scopes_for(user)), status


@bp.route("/akun/token-api", methods=["GET", "POST"])
@rule("api.tokens")
def index():
    form = _form()
    if not form.validate_on_submit():
        return _page(form, 422 if form.is_submitted() else 200)
    user = current_user._get_current_object()
    try:
        new = tokens.create(user, user, name=form.name.data or "", scopes=form.scopes.data or [],
                            days=form.days.data if form.days.data is not None else tokens.DEFAULT_DAYS,
                            ip=client_ip(), source="page")
    except Invalid as e:
        e.apply_to_form(form)
        return _page(form, 422)
    resp = render_template("api/token_created.html", token=new.token, secret=new.secret)
    return resp, 200, {"Cache-Control": "no-store"}


@bp.route("/akun/token-api/<token_id>/cabut", methods=["POST"])
@rule("api.tokens")
def revoke(token_id: str):
    user = current_user._get_current_object()
    try:
        token = tokens.own_token(user, token_id)
    except NotFound:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not is_confirmed():
        return render_confirm(
            action_url=url_for("api_tokens.revoke", token_id=token.id),
            title=_("Cabut token %(name)s?", name=token.name),
            consequences=[_("Program yang memakai token ini (%(prefix)s…) langsung ditolak (401).", prefix=token.prefix),
                          _("Token yang dicabut tidak bisa dipulihkan; buat token baru bila perlu.")],
            button_label=_("Ya, cabut token"), cancel_url=url_for("api_tokens.index"))
    if tokens.revoke(user, token, ip=client_ip(), source="page"):
        flash(_("Token %(name)s sudah dicabut.", name=token.name), "success")
    return redirect(url_for("api_tokens.index"))
