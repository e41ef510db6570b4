"""The "Ekspor data" page and its download. Thin: build the form, call a service, stream the file."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import export
from ..errors import Invalid
from ..forms_common import int_or_none, options
from ..people.auth import client_ip
from ..permissions import rule
from ..places.services import kecamatan_for, regions_for
from ..programme.services import cohorts_for
from ..visits.services import wib_today
from . import services
from .forms import ExportForm

bp = Blueprint("reports", __name__)


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _form(actor: Any, args: Any) -> ExportForm:
    """The form with the choices ``actor`` may pick; a coordinator of one region has it fixed."""
    form = ExportForm(args)
    form.dataset.choices = options([(d.key, d.label) for d in services.DATASETS.values()])
    form.format.choices = options(list(services.FORMAT_LABELS.items()))
    form.status.choices = options([("active", _("Hanya pendaftaran aktif")),
                                   ("all", _("Semua, termasuk yang berakhir atau mundur"))])
    form.cohort.choices = options([("", _("Semua angkatan"))] + [(str(c.id), c.name) for c in cohorts_for(actor)])
    regions = regions_for(actor)
    if len(regions) == 1:
        form.region.choices = options([(str(regions[0].id), regions[0].name)])
        if not args.get("region"):
            form.region.data = str(regions[0].id)
    else:
        form.region.choices = options([("", _("Semua wilayah"))] + [(str(r.id), r.name) for r in regions])
    form.kecamatan.choices = options([("", _("Semua kecamatan"))] + [
        (str(k.id), f"{k.name} · {k.region.name}" if len(regions) > 1 else k.name) for k in kecamatan_for(actor)])
    return form


def _filters(form: ExportForm) -> services.Filters:
    return services.Filters(cohort_id=int_or_none(form.cohort.data), region_id=int_or_none(form.region.data),
                            kecamatan_id=int_or_none(form.kecamatan.data), start=form.start.data,
                            end=form.end.data, status=form.status.data or "active")


def _page(form: ExportForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("reports/index.html", form=form, datasets=services.DATASETS), status


@bp.route("/exports")
@rule("exports.download")
def index():
    return _page(_form(_actor(), MultiDict()))


@bp.route("/exports/download")
@rule("exports.download")
def download():
    actor = _actor()
    form = _form(actor, request.args)
    if not request.args:
        return _page(form)
    if form.validate():
        dataset, fmt, filters = form.dataset.data, form.format.data, _filters(form)
        try:
            header, rows = services.export(actor, dataset, filters, fmt=fmt, ip=client_ip())
        except Invalid as e:
            e.apply_to_form(form)
        else:
            name = services.file_stem(dataset, filters, wib_today())
            return export.download(fmt, name, str(services.DATASETS[dataset].sheet), header, rows)
    return _page(form, 422)
