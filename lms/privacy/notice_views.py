"""The privacy notice (public), the consent page the sign-in gate sends people to, and the person's
"Privasi & persetujuan" page (decisions, history, withdrawal, WhatsApp again). Thin: consent.py
decides, notice.py builds the notice and holds the gate."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..confirm import is_confirmed, render_confirm
from ..errors import Invalid
from ..people.auth import safe_next
from ..permissions import PUBLIC, rule
from . import consent, notice
from .blueprint import bp
from .consent_forms import ConsentForm, EmptyForm, WhatsAppForm
from .models import ConsentKind

# every request of a signed-in person passes the gate (notice.gate says which pages are exempt)
bp.before_app_request(notice.gate)


def _me() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


@bp.route("/privasi", endpoint="notice")
@rule(PUBLIC)
def show_notice():  # type: ignore[no-untyped-def]
    return render_template("privacy/notice.html", notice=notice.build())


@bp.route("/privasi/persetujuan", methods=["GET", "POST"], endpoint="consent")
@rule("privacy.own")
def consent_page():  # type: ignore[no-untyped-def]
    me = _me()
    form = ConsentForm()
    nxt = safe_next(form.next.data if request.method == "POST" else request.args.get("next"))
    if consent.has_accepted(me):
        return redirect(nxt or url_for("privacy.my_consents"))
    ask_whatsapp = bool(me.phone)
    if not ask_whatsapp:
        del form.whatsapp
    source = consent.gate_source(me)
    if request.method == "GET":
        form.next.data = nxt or ""
        if ask_whatsapp:
            form.whatsapp.data = "yes" if consent.whatsapp_opted_in(me) else "no"
    if form.validate_on_submit():
        if form.decline.data:
            consent.decline_notice(me, source)
            return render_template("privacy/declined.html", links=notice.rights_links())
        consent.accept_notice(me, (form.whatsapp.data == "yes") if ask_whatsapp else None, source)
        flash(_("Terima kasih. Persetujuan Anda tercatat."), "success")
        return redirect(nxt or url_for("core.home"))
    return render_template("privacy/consent.html", form=form, summary=notice.summary(), source=source,
                           version=consent.current_version()), (422 if form.errors else 200)


@bp.route("/privasi/saya", endpoint="my_consents")
@rule("privacy.own")
def my_consents():  # type: ignore[no-untyped-def]
    me = _me()
    return render_template("privacy/my_consents.html", state=consent.state(me), links=notice.rights_links(),
                           version=consent.current_version(), kinds=consent.KIND_LABELS,
                           source_label=consent.source_label, form=EmptyForm(), wa_form=WhatsAppForm())


@bp.route("/privasi/saya/tarik/<kind>", methods=["POST"], endpoint="withdraw")
@rule("privacy.own")
def withdraw(kind: str):  # type: ignore[no-untyped-def]
    try:
        k = ConsentKind(kind)
    except ValueError:
        abort(404)
    me = _me()
    if not EmptyForm().validate_on_submit():
        abort(400)
    in_force = consent.has_accepted(me) if k is ConsentKind.PROGRAMME else consent.whatsapp_opted_in(me)
    if not in_force:
        flash(_("Tidak ada persetujuan yang bisa ditarik."), "info")
        return redirect(url_for("privacy.my_consents"))
    if not is_confirmed():
        if k is ConsentKind.PROGRAMME:
            title = _("Tarik persetujuan atas pemberitahuan privasi?")
            consequences = [
                _("Program 7 PAS tidak dapat dijalankan untuk Anda tanpa persetujuan ini: halaman program tertutup "
                  "sampai Anda menyetujuinya lagi."),
                _("Pesan WhatsApp dari program juga berhenti."),
                _("Anda tetap bisa masuk, membaca pemberitahuan, mengunduh data Anda, serta mengajukan perbaikan "
                  "atau penghapusan."),
                _("Data yang sudah tercatat tidak otomatis terhapus; untuk itu ajukan penghapusan."),
            ]
        else:
            title = _("Berhenti menerima pesan WhatsApp?")
            consequences = [
                _("Pesan WhatsApp dari program berhenti, termasuk yang sudah menunggu dikirim."),
                _("Pemberitahuan tetap muncul di aplikasi, dan lewat e-mail bila e-mail aktif."),
                _("Kode masuk lewat WhatsApp tetap dikirim bila Anda sendiri memintanya."),
                _("Anda bisa menyetujuinya lagi kapan saja di halaman Privasi & persetujuan."),
            ]
        return render_confirm(action_url=url_for("privacy.withdraw", kind=k.value), title=title,
                              consequences=consequences, button_label=_("Ya, tarik persetujuan"),
                              cancel_url=url_for("privacy.my_consents"))
    consent.withdraw(me, k)
    if k is ConsentKind.PROGRAMME:
        flash(_("Persetujuan Anda ditarik. Anda bisa menyetujuinya lagi kapan saja."), "success")
    else:
        flash(_("Anda tidak akan menerima pesan WhatsApp dari program lagi."), "success")
    return redirect(url_for("privacy.my_consents"))


@bp.route("/privasi/saya/whatsapp", methods=["POST"], endpoint="whatsapp")
@rule("privacy.own")
def whatsapp_opt_in():  # type: ignore[no-untyped-def]
    if not WhatsAppForm().validate_on_submit():  # (a bad CSRF token never gets here: 400)
        flash(_("Pilih \"Ya, kirimi saya pesan WhatsApp\" untuk menerima pesan WhatsApp."), "error")
        return redirect(url_for("privacy.my_consents"))
    try:
        consent.set_whatsapp(_me(), True, "profile")
    except Invalid as e:
        flash(str(e), "error")
    else:
        flash(_("Anda akan menerima pesan WhatsApp tentang program."), "success")
    return redirect(url_for("privacy.my_consents"))
