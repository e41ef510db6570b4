"""Correction and erasure requests: the person's pages (ask, follow, withdraw) and the reviewers'
(the list, one request, accept or decline). Thin: load, authorize, call a service, render."""
from __future__ import annotations

import math

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..confirm import is_confirmed, render_confirm
from ..db import utcnow
from ..errors import Invalid
from ..forms_common import int_or_none
from ..people.auth import client_ip
from ..people.forms import ConfirmForm
from ..permissions import authorize, rule
from . import erasure, requests
from .blueprint import bp
from .models import DataRequest, RequestKind
from .request_forms import AcceptForm, CorrectionForm, DeclineForm, ErasureForm, RequestFilterForm

#: the ``jenis`` query values of the "new request" page
KIND_ARGS = {"koreksi": "correction", "hapus": "erasure"}


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _correction_form() -> CorrectionForm:
    form = CorrectionForm()
    form.field.choices = [("", _("— Pilih —"))] + [(f, str(requests.FIELD_LABELS[f]))
                                                   for f in requests.fields_for(_actor())]
    return form


def _new_page(kind: str | None, *, correction: CorrectionForm | None = None, erasure_form: ErasureForm | None = None,
              existing: DataRequest | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    person = _actor()
    if kind == "correction" and correction is None:
        correction = _correction_form()
    if kind == "erasure" and erasure_form is None:
        erasure_form = ErasureForm()
    current = {f: requests.current_value(person, f) for f in requests.fields_for(person)}
    return render_template("privacy/request_new.html", kind=kind, correction=correction, erasure=erasure_form,
                           existing=existing, current=current, labels=requests.FIELD_LABELS,
                           hours=requests.request_hours()), status


@bp.route("/privasi/permintaan/baru", methods=["GET", "POST"])
@rule("privacy.own")
def request_new():
    """Ask for a correction (one item of one's data) or for erasure (explained, then confirmed)."""
    if request.method == "GET":
        return _new_page(KIND_ARGS.get(request.args.get("jenis", "")))
    kind = request.form.get("kind")
    person = _actor()
    if kind == "erasure":
        form = ErasureForm()
        if not form.validate_on_submit():
            if form.csrf_token.errors:
                abort(400)
            return _new_page("erasure", erasure_form=form, status=422)
        existing = requests.pending_of(person.id, RequestKind.ERASURE)
        if existing is not None:
            form.form_errors.append(str(requests.DuplicateRequest(existing)))
            return _new_page("erasure", erasure_form=form, existing=existing, status=422)
        if not is_confirmed():
            return render_confirm(
                action_url=url_for("privacy.request_new"),
                title=_("Minta data Anda dihapus?"),
                intro=_("Bila admin menyetujui permintaan ini:"),
                consequences=_erasure_consequences(),
                button_label=_("Ya, ajukan permintaan penghapusan"),
                cancel_url=url_for("privacy.my_requests"),
                hidden={"kind": "erasure", "reason": form.reason.data or ""})
        try:
            req = requests.create_erasure(person, form.reason.data, ip=client_ip())
        except requests.DuplicateRequest as e:
            form.form_errors.append(str(e))
            return _new_page("erasure", erasure_form=form, existing=e.existing, status=422)
        except Invalid as e:
            e.apply_to_form(form)
            return _new_page("erasure", erasure_form=form, status=422)
        flash(_("Permintaan penghapusan data terkirim. Admin menjawabnya paling lambat %(hours)d jam lagi.",
                hours=requests.request_hours()), "success")
        return redirect(url_for("privacy.request_detail", request_id=req.id))
    form = _correction_form()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _new_page("correction", correction=form, status=422)
    try:
        req = requests.create_correction(person, form.field.data, form.message.data, form.proposed_value.data,
                                         ip=client_ip())
    except requests.DuplicateRequest as e:
        form.form_errors.append(str(e))
        return _new_page("correction", correction=form, existing=e.existing, status=422)
    except Invalid as e:
        e.apply_to_form(form)
        return _new_page("correction", correction=form, status=422)
    flash(_("Permintaan koreksi terkirim. Jawabannya paling lambat %(hours)d jam lagi.",
            hours=requests.request_hours()), "success")
    return redirect(url_for("privacy.request_detail", request_id=req.id))


def _erasure_consequences() -> list[str]:
    return [
        _("Nama, e-mail, nomor HP, dan teks yang Anda tulis (catatan, komentar) dihapus dari aplikasi; "
          "akun Anda menjadi \u201cPengguna dihapus\u201d."),
        _("Anda tidak bisa masuk lagi, dan tidak menerima pesan lagi dari aplikasi ini."),
        _("Berkas yang Anda unggah (pindaian, lampiran laporan) dan foto e-Warong dari masa Anda dihapus."),
        _("Sertifikat Anda tetap sah; halaman verifikasinya menampilkan bahwa nama pemegang dihapus atas "
          "permintaan Anda."),
        _("Angka program (kehadiran, kunjungan, kemajuan 7 PAS) tetap dihitung tanpa identitas Anda, dan data "
          "e-Warong tetap ada untuk pengelola berikutnya."),
        _("Catatan yang wajib disimpan menurut undang-undang lain (misalnya pengajuan pembiayaan yang masih "
          "diproses bank) dapat membuat permintaan ini ditolak, dengan alasan tertulis."),
    ]


@bp.route("/privasi/permintaan")
@rule("privacy.own")
def my_requests():
    items = requests.my_requests(_actor())
    return render_template("privacy/my_requests.html", items=items, now=utcnow(), due=requests.due_state,
                           labels=requests.FIELD_LABELS, kinds=requests.KIND_LABELS,
                           statuses=requests.STATUS_LABELS)


@bp.route("/privasi/tinjau")
@rule("privacy.requests")
def request_list():
    form = RequestFilterForm(request.args)
    status = form.status.data if form.status.data in (*requests.LIST_STATUSES, "all") else "pending"
    form.status.data = status
    page = max(1, int_or_none(request.args.get("page")) or 1)
    per_page = current_app.config["PAGE_SIZE"]
    items, total = requests.list_requests(_actor(), status=status, page=page, per_page=per_page)
    return render_template("privacy/request_list.html", form=form, items=items, total=total, page=page,
                           pages=max(1, math.ceil(total / per_page)), now=utcnow(), due=requests.due_state,
                           labels=requests.FIELD_LABELS, kinds=requests.KIND_LABELS,
                           statuses=requests.STATUS_LABELS)


def _load(request_id: str, action: str | None = None) -> DataRequest:
    return authorize(requests.get(request_id), "privacy.request.view", action)  # type: ignore[no-any-return]


def _detail(req: DataRequest, *, accept: AcceptForm | None = None, decline: DeclineForm | None = None,
            status: int = 200):  # type: ignore[no-untyped-def]
    person = req.user
    facts = erasure.review_facts(person) if req.kind is RequestKind.ERASURE and not person.erased_at else None
    return render_template(
        "privacy/request_detail.html", req=req, person=person, now=utcnow(), due=requests.due_state(req),
        labels=requests.FIELD_LABELS, kinds=requests.KIND_LABELS, statuses=requests.STATUS_LABELS,
        current=requests.current_value(person, req.field) if req.kind is RequestKind.CORRECTION else "",
        facts=facts, mine=req.user_id == _actor().id, can_withdraw=requests.can_withdraw(_actor(), req),
        accept=accept or AcceptForm(formdata=None), decline=decline or DeclineForm(formdata=None),
        confirm=ConfirmForm(formdata=None)), status


@bp.route("/privasi/permintaan/<request_id>")
@rule("privacy.own")
def request_detail(request_id: str):
    return _detail(_load(request_id))


@bp.route("/privasi/permintaan/<request_id>/tarik", methods=["POST"])
@rule("privacy.own")
def request_withdraw(request_id: str):
    req = _load(request_id)
    if not requests.can_withdraw(_actor(), req):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    requests.withdraw(_actor(), req, ip=client_ip())
    flash(_("Permintaan Anda ditarik kembali."), "success")
    return redirect(url_for("privacy.request_detail", request_id=req.id))


@bp.route("/privasi/permintaan/<request_id>/terima", methods=["POST"])
@rule("privacy.own")
def request_accept(request_id: str):
    """Accept a correction (applied through the normal services), or carry out an erasure (confirmed first)."""
    req = _load(request_id, "privacy.request.handle")
    form = AcceptForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail(req, accept=form, status=422)
    if req.kind is RequestKind.ERASURE:
        if not is_confirmed():
            return render_confirm(
                action_url=url_for("privacy.request_accept", request_id=req.id),
                title=_("Hapus data pribadi %(name)s?", name=req.user.full_name),
                consequences=[
                    _("Nama, e-mail, nomor HP, kata sandi, dan teks yang ditulisnya dihapus atau disamarkan di semua "
                      "tabel, termasuk rincian log audit; akunnya menjadi \u201cPengguna dihapus #%(id)d\u201d dan "
                      "tidak bisa masuk lagi.", id=req.user_id),
                    _("Berkas yang diunggahnya, pindaian bukti dan foto e-Warong dari masa kepengurusannya, PDF "
                      "sertifikatnya, dan unduhan \u201cData saya\u201d dihapus."),
                    _("Pendaftaran, bukti terverifikasi, kehadiran, kunjungan, dan sertifikat tetap ada dan tetap "
                      "dihitung; sertifikat tetap sah tanpa nama."),
                    _("Tindakan ini tidak bisa dibatalkan."),
                ],
                button_label=_("Ya, hapus data pribadinya"),
                cancel_url=url_for("privacy.request_detail", request_id=req.id))
        counts = erasure.erase(_actor(), req, ip=client_ip())
        flash(_("Data pribadi sudah dihapus (%(files)d berkas dihapus, %(rows)d baris lain disamarkan).",
                files=counts.get("files", 0), rows=counts.get("redacted", 0)), "success")
        return redirect(url_for("privacy.request_detail", request_id=req.id))
    try:
        requests.accept_correction(_actor(), req, form.response.data, ip=client_ip())
    except Invalid as e:
        e.apply_to_form(form)
        return _detail(req, accept=form, status=422)
    flash(_("Koreksi diterapkan dan pemohon diberi tahu."), "success")
    return redirect(url_for("privacy.request_detail", request_id=req.id))


@bp.route("/privasi/permintaan/<request_id>/tolak", methods=["POST"])
@rule("privacy.own")
def request_decline(request_id: str):
    req = _load(request_id, "privacy.request.handle")
    form = DeclineForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail(req, decline=form, status=422)
    try:
        requests.decline(_actor(), req, form.reason.data, ip=client_ip())
    except Invalid as e:
        e.apply_to_form(form)
        return _detail(req, decline=form, status=422)
    flash(_("Permintaan ditolak; pemohon diberi tahu alasannya."), "success")
    return redirect(url_for("privacy.request_detail", request_id=req.id))
