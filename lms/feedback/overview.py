"""The feedback overview's plumbing: filters from the form, the cache key, the chart and table context."""
from __future__ import annotations

from typing import Any, Callable

from flask_babel import gettext as _
from sqlalchemy import inspect

from ..dashboard import cache, charts, scopes
from ..forms_common import int_or_none, options
from ..i18n import number
from ..programme import services as programme
from ..sessions.models import TrainingSession
from . import reports, services
from .forms import OverviewForm
from .questions import Questionnaire


def filters(form: OverviewForm, actor: Any) -> reports.Filters:
    """Fill the choices, validate, and build the filters from the valid fields (invalid ones are ignored)."""
    regions = scopes.allowed_regions(actor)
    cohorts = scopes.cohort_choices(actor)
    form.cohort.choices = options([("", _("Semua angkatan"))] + [(str(c.id), c.name) for c in cohorts])
    if len(regions) == 1:
        form.region.choices = options([(str(regions[0].id), regions[0].name)])
    else:
        form.region.choices = options([("", _("Semua wilayah DKI"))] + [(str(r.id), r.name) for r in regions])
    form.validate()
    ok = lambda f: f.data if not f.errors else None  # noqa: E731
    region_id = int_or_none(ok(form.region))
    ids = tuple(r.id for r in regions if region_id is None or r.id == region_id) or (-1,)
    cohort_id = int_or_none(ok(form.cohort))
    if cohort_id is not None and cohort_id not in {c.id for c in cohorts}:
        cohort_id = -1
    return reports.Filters(region_ids=ids, cohort_id=cohort_id, start=ok(form.start),
                           end=ok(form.end) if not form.start.errors else None)


def cached(actor: Any, f: reports.Filters, lang: str, make: Callable[[], str]) -> str:
    """The rendered views, cached under everything they depend on, including the data's version."""
    key = ("feedback.overview", f, lang, reports.data_version(f), getattr(actor.role, "value", ""))
    return str(cache.cache().get_or_make(key, cache.ttl(), make))


def _stage_names(lang: str) -> dict[str, str]:
    return {s.key: f"{s.number}. {s.name.get(lang)}" for s in programme.default_curriculum().stages}


def _next_stage(stage_key: str) -> str | None:
    keys = programme.default_curriculum().stage_keys
    return keys[keys.index(stage_key) + 1] if stage_key in keys and keys.index(stage_key) + 1 < len(keys) else None


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{round(x * 100):d}%"


def _gain(x: float | None) -> str:
    return "—" if x is None else f"{round(x * 100):+d}"


def context(actor: Any, f: reports.Filters, lang: str) -> dict[str, Any]:
    nxt = _next_stage("pelatihan")
    ov = reports.overview(actor, f, gain_stage="pelatihan", next_stage=nxt)
    names = _stage_names(lang)
    bars = [charts.Bar(label=_("Kuartil %(n)d (naik %(lo)s s.d. %(hi)s poin)", n=q.number, lo=_gain(q.gain_low),
                                hi=_gain(q.gain_high)),
                       value=q.median_days or 0, display=_("%(d)s hari", d=number(round(q.median_days)))
                       if q.median_days is not None else _("< %(n)d orang", n=reports.MIN_GROUP),
                       css="s%d" % q.number)
            for q in ov.quartiles]
    chart = charts.hbars("chart-gain-quartiles", _("Lama menuju langkah berikutnya menurut kuartil kenaikan nilai"),
                         _("Median hari dari selesai Pelatihan sampai selesai %(next)s, per kuartil kenaikan nilai "
                           "pre-test ke post-test. Angkanya juga ada di tabel.", next=names.get(nxt or "", "")),
                         bars) if bars else None
    return {"ov": ov, "stage_names": names, "next_name": names.get(nxt or "", ""), "pct": _pct, "gain": _gain,
            "chart": chart, "min_group": reports.MIN_GROUP, "number": number}


def default_questionnaire() -> Questionnaire | None:
    for stage in programme.default_curriculum().stages:
        if stage.questionnaire:
            q = services.assessments().get(stage.questionnaire)
            if isinstance(q, Questionnaire):
                return q
    return None


def offers(session: TrainingSession) -> tuple[bool, bool]:
    """(feedback form, knowledge test) of the session's stage, from the curriculum in memory: the cohort is used
    when already loaded, else the default curriculum (no query from a template)."""
    state = inspect(session)
    cur = (programme.curriculum_for(session.cohort) if "cohort" not in state.unloaded
           else programme.default_curriculum())
    try:
        stage = cur.stage(session.stage_key)
    except KeyError:
        return False, False
    return bool(stage.questionnaire), bool(stage.knowledge_test)
