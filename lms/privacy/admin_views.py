"""The admins' privacy pages: retention (the rules, the last runs, the accounts to review, "run
now") and breaches (record one, its affected people and letter, send it). Thin: load, authorize
(rule "privacy.admin"), call retention.py / breach.py, render or redirect."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..confirm import is_confirmed, render_confirm
from ..db import utcnow
from ..errors import Invalid
from ..extensions import db
from ..forms_common import int_or_none
from ..i18n import WIB
from ..people.auth import client_ip
from ..permissions import rule
from . import breach, retention
from .admin_forms import BreachForm, ButtonForm
from .blueprint import bp
from .models import BreachNotice

#: rows per page of the inactive accounts and of the affected people
PAGE_SIZE = 50


def _me() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _page() -> int:
    return max(1, min(int_or_none(request.args.get("page")) or 1, 100_000))


def _pages(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))


# --- retention --------------------------------------------------------------------------------------

@bp.route("/admin/privasi/masa-simpan", endpoint="retention")
@rule("privacy.admin")
def retention_page():  # type: ignore[no-untyped-def]
    now = utcnow()
    page = _page()
    total, inactive = retention.inactive_page(now, page, PAGE_SIZE)
    periods = {r.key: retention.period(r) for r in retention.RULES}
    return render_template("privacy/retention.html", rules=retention.RULES, periods=periods,
                           runs=retention.last_runs(), inactive=inactive, inactive_total=total, page=page,
                           pages=_pages(total, PAGE_SIZE), labels=_counter_labels(),
                           cutoff=retention.inactive_cutoff(now), form=ButtonForm())


@bp.route("/admin/privasi/masa-simpan/jalankan", methods=["POST"])
@rule("privacy.admin")
def retention_run():  # type: ignore[no-untyped-def]
    if not ButtonForm().validate_on_submit():
        abort(400)
    back = url_for("privacy.retention")
    if not is_confirmed():
        dry = retention.run_retention(_me(), dry_run=True)
        labels = dict(_counter_labels())
        consequences = [_("%(what)s: %(num)d", what=labels[key], num=dry.counts.get(key, 0))
                        for key, _rule, _table in retention.COUNTERS if dry.counts.get(key)]
        if not consequences:
            consequences = [_("Saat ini tidak ada data yang sudah melewati masa simpannya; tidak ada yang berubah.")]
        consequences.append(_("Akun yang lama tidak masuk hanya didaftar untuk ditinjau, tidak diubah."))
        consequences.append(_("Yang dihapus atau diganti hash tidak bisa dikembalikan. Jalannya dicatat di log audit."))
        return render_confirm(action_url=url_for("privacy.retention_run"), title=_("Jalankan aturan masa simpan sekarang?"),
                              consequences=consequences, button_label=_("Ya, jalankan sekarang"), cancel_url=back,
                              danger=dry.changed > 0)
    report = retention.run_retention(_me(), ip=client_ip())
    flash(ngettext("Aturan masa simpan dijalankan: %(num)d baris diubah atau dihapus.",
                   "Aturan masa simpan dijalankan: %(num)d baris diubah atau dihapus.", report.changed), "success")
    return redirect(back)


def _counter_labels() -> list[tuple[str, str]]:
    """The report's counters in words, for the confirm page and the last runs."""
    return [
        ("codes.setup_links", _("Tautan atur kata sandi dihapus")),
        ("codes.sign_in_codes", _("Kode masuk sekali pakai dihapus")),
        ("codes.recovery_codes", _("Kode pemulihan terpakai dihapus")),
        ("failures.login_failures", _("Catatan gagal masuk dihapus")),
        ("failures.second_factor_failures", _("Catatan kode verifikasi salah dihapus")),
        ("ip.audit_log", _("Alamat IP di log audit diganti hash")),
        ("ip.login_failures", _("Alamat IP di catatan gagal masuk diganti hash")),
        ("ip.sign_in_codes", _("Alamat IP di permintaan kode diganti hash")),
        ("ip.user_sessions", _("Alamat IP di catatan perangkat diganti hash")),
        ("ip.second_factor_failures", _("Alamat IP di catatan kode verifikasi diganti hash")),
        ("deliveries.bodies", _("Isi pesan terkirim dikosongkan")),
        ("webhooks.deliveries", _("Kiriman webhook yang sudah sampai dihapus")),
        ("exports.files", _("Berkas \"Data saya\" kedaluwarsa dihapus")),
    ]


# --- breaches -----------------------------------------------------------------------------------------

def _utc(value: datetime | None) -> datetime | None:
    """A datetime-local typed in WIB, as an aware UTC moment."""
    if value is None:
        return None
    return value.replace(tzinfo=WIB).astimezone(timezone.utc)


def _notice(breach_id: str) -> BreachNotice:
    pk = int_or_none(breach_id)
    notice = db.session.get(BreachNotice, pk) if pk is not None else None
    if notice is None:
        abort(404)
    return notice


@bp.route("/admin/privasi/kebocoran")
@rule("privacy.admin")
def breach_list():  # type: ignore[no-untyped-def]
    page = _page()
    total, notices = breach.notices_page(page, PAGE_SIZE)
    now = utcnow()
    return render_template("privacy/breach_list.html", notices=notices, total=total, page=page,
                           pages=_pages(total, PAGE_SIZE), deadlines={n.id: breach.deadline(n, now) for n in notices},
                           category_label=breach.category_label)


@bp.route("/admin/privasi/kebocoran/baru", methods=["GET", "POST"])
@rule("privacy.admin")
def breach_new():  # type: ignore[no-untyped-def]
    form = BreachForm()
    if request.method == "GET":
        form.discovered_at.data = utcnow().astimezone(WIB).replace(tzinfo=None, second=0, microsecond=0)
    if form.validate_on_submit():
        try:
            notice = breach.record_breach(_me(), breach.BreachInput(
                discovered_at=_utc(form.discovered_at.data), window_start=_utc(form.window_start.data),
                window_end=_utc(form.window_end.data), categories=list(form.categories.data or []),
                description=form.description.data or "", measures=form.measures.data or ""), ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            flash(ngettext("Kebocoran dicatat: %(num)d orang terdampak. Periksa suratnya lalu kirim.",
                           "Kebocoran dicatat: %(num)d orang terdampak. Periksa suratnya lalu kirim.",
                           notice.affected), "success")
            return redirect(url_for("privacy.breach_detail", breach_id=notice.id))
    elif request.method == "POST" and form.csrf_token.errors:
        abort(400)
    return render_template("privacy/breach_form.html", form=form, categories=breach.CATEGORIES,
                           hours=breach.NOTICE_HOURS), (422 if form.errors else 200)


@bp.route("/admin/privasi/kebocoran/<breach_id>")
@rule("privacy.admin")
def breach_detail(breach_id: str):  # type: ignore[no-untyped-def]
    notice = _notice(breach_id)
    page = _page()
    people = breach.affected_page(notice, page, PAGE_SIZE)
    return render_template("privacy/breach_detail.html", notice=notice, people=people, page=page,
                           created_by=notice.created_by,
                           pages=_pages(notice.affected, PAGE_SIZE), deadline=breach.deadline(notice),
                           category_label=breach.category_label, form=ButtonForm())


@bp.route("/admin/privasi/kebocoran/<breach_id>/kirim", methods=["POST"])
@rule("privacy.admin")
def breach_send(breach_id: str):  # type: ignore[no-untyped-def]
    notice = _notice(breach_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    back = url_for("privacy.breach_detail", breach_id=notice.id)
    if notice.sent_at is not None:
        flash(_("Surat ini sudah dikirim; tidak dikirim lagi."), "info")
        return redirect(back)
    if not is_confirmed():
        return render_confirm(
            action_url=url_for("privacy.breach_send", breach_id=notice.id),
            title=ngettext("Kirim pemberitahuan kepada %(num)d orang?", "Kirim pemberitahuan kepada %(num)d orang?",
                           notice.affected),
            consequences=[
                _("Surat ini masuk ke daftar pemberitahuan di aplikasi setiap orang, dikirim ke e-mail mereka, dan "
                  "ke WhatsApp bagi yang sudah setuju menerimanya; tanpa menunggu jam tenang."),
                _("Orang dengan akun nonaktif tidak menerima pesan otomatis: hubungi mereka langsung lewat kontak "
                  "di daftar."),
                _("Surat dikirim sekali saja dan tidak bisa ditarik kembali. Pengirimannya dicatat di log audit."),
            ],
            button_label=_("Ya, kirim pemberitahuan"), cancel_url=back, danger=False)
    if breach.send_notice(_me(), notice, ip=client_ip()):
        flash(_("Pemberitahuan diserahkan ke saluran pesan; lihat kotak keluar untuk pengirimannya."), "success")
    else:
        flash(_("Surat ini sudah dikirim; tidak dikirim lagi."), "info")
    return redirect(back)
