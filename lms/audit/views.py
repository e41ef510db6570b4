"""The audit log viewer for admins, and its CSV/XLSX export. Thin: form, service, template."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import export
from ..i18n import file_stem
from ..errors import Invalid
from ..forms_common import int_or_none, options
from ..people.auth import client_ip
from ..permissions import rule
from . import browse
from .forms import AuditExportForm

bp = Blueprint("audit", __name__)


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _form(actor: Any) -> AuditExportForm:
    form = AuditExportForm(request.args)
    form.action.choices = options([("", _("Semua tindakan"))] + [
        (a, f"{browse.action_label(a)} ({a})" if browse.action_label(a) else a)
        for a in browse.actions_present(actor)])
    form.format.choices = options([("csv", "CSV"), ("xlsx", "XLSX")])
    return form


def _filters(form: AuditExportForm) -> browse.AuditFilters:
    return browse.AuditFilters(actor_email=(form.actor.data or "").strip(), action=form.action.data or "",
                               start=form.start.data, end=form.end.data)


def _render(form: AuditExportForm, result: browse.AuditPage | None, status: int = 200):  # type: ignore[no-untyped-def]
    filtered = any(request.args.get(k) for k in ("actor", "action", "start", "end"))
    return render_template("audit/log.html", form=form, result=result, filtered=filtered), status


@bp.route("/admin/audit")
@rule("audit.view")
def log():
    actor = _actor()
    form = _form(actor)
    if request.args and not form.validate():
        return _render(form, None, 422)
    try:
        result = browse.audit_page(actor, _filters(form), page=int_or_none(request.args.get("page")) or 1)
    except Invalid as e:
        e.apply_to_form(form)
        return _render(form, None, 422)
    return _render(form, result)


@bp.route("/admin/audit/export")
@rule("audit.view")
def export_log():
    actor = _actor()
    form = _form(actor)
    if form.validate():
        fmt = form.format.data
        try:
            header, rows = browse.export_entries(actor, _filters(form), fmt=fmt, ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            from ..visits.services import wib_today

            return export.download(fmt, file_stem("log-audit", f"{wib_today():%Y%m%d}"), _("Log audit"), header, rows)
    return _render(form, None, 422)
