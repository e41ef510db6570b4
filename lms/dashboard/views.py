"""Dashboard pages: the regional dashboard and its drill-down list of managers. Thin views."""
from __future__ import annotations

from typing import Any

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..forms_common import int_or_none, options
from ..permissions import rule
from markupsafe import Markup

from ..extensions import db
from ..notifications import UNREAD
from ..people import auth
from . import bp, cache, charts, scopes, services, summaries
from .forms import FilterForm, ListForm
from .summaries import DONE

MONTHS = {"id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
          "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]}


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc and loc.language == "en" else "id"


def _filters(form: FilterForm, actor: Any) -> scopes.Scope:
    """Fill the choices, validate, and build the scope from the valid fields (invalid ones are ignored)."""
    regions = scopes.region_places(actor)
    cohorts = scopes.cohort_choices(actor)
    kecs = scopes.kecamatan_places(regions)
    form.cohort.choices = options([("", _("Semua angkatan"))] + [(str(c.id), c.name) for c in cohorts])
    if len(regions) == 1:
        form.region.choices = options([(str(regions[0].id), regions[0].name)])
    else:
        form.region.choices = options([("", _("Semua wilayah DKI"))] + [(str(r.id), r.name) for r in regions])
    form.kecamatan.choices = options([("", _("Semua kecamatan"))] + [
        (str(k.id), k.name if len(regions) == 1 else f"{k.name} ({_region_short(regions, k.region_id)})") for k in kecs])
    form.validate()
    ok = lambda f: f.data if not f.errors else None  # noqa: E731
    kec_id = int_or_none(ok(form.kecamatan))
    kecamatan = next((k for k in kecs if k.id == kec_id), None)
    scope = scopes.scope_for(
        actor, regions=regions, region_id=int_or_none(ok(form.region)), cohort_id=int_or_none(ok(form.cohort)),
        kecamatan=kecamatan, start=ok(form.start), end=ok(form.end) if not form.start.errors else None,
        stuck_days=ok(form.days))
    return scope


def _region_short(regions: list[Any], region_id: int) -> str:
    r = next((r for r in regions if r.id == region_id), None)
    return r.name.replace("Jakarta ", "Jak. ").replace("Kepulauan Seribu", "Kep. Seribu") if r else ""


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{round(x * 100)}%"


def _read_with_user() -> list[Any]:
    """Read with the signed-in person, in the same statement: the data version, the bell, the region's name."""
    import sqlalchemy as sa

    from ..notifications import unread_column
    from ..people.models import User
    from ..places.models import Region

    region = sa.select(Region.name).where(Region.id == User.region_id).scalar_subquery().label(_REGION_NAME)
    return [*summaries.version_columns(), unread_column(), region]


_REGION_NAME = "dashboard_region_name"
auth.read_with_user("dashboard.index", _read_with_user)


@bp.route("/dashboard")
@rule("dashboard.view")
def index():
    """The dashboard. The whole page is cached per browser session, and its content (filters and
    views) per viewer kind, query and data version (lms.dashboard.cache); a repeated page costs the
    sign-in statement, which reads the version and the bell's count with the person."""
    actor = _actor()
    lang = _lang()
    read: dict[str, Any] = g.get("with_user") or {}
    if all(read.get(label) is not None for label in summaries.VERSION_LABELS):
        versions = tuple(int(read[label]) for label in summaries.VERSION_LABELS)
    else:  # not read with the user (signed in during this request)
        versions = summaries.versions(db.session, scopes.allowed_region_ids(actor))
    today = scopes.wib_today()
    key = cache.frame_key(actor, lang, versions, (today, read.get(UNREAD), read.get(_REGION_NAME)) if read else None)
    if key is None or not read:
        return _page(actor, lang, versions, today)
    return cache.cache().get_or_make(key, cache.ttl(), lambda: _page(actor, lang, versions, today))


def _page(actor: Any, lang: str, versions: tuple[int, int], today: Any) -> tuple[str, int]:
    key = ("page", lang, actor.role.value, actor.region_id, tuple(sorted(request.args.items(multi=True))), today,
           versions)
    html, status = cache.cache().get_or_make(key, cache.ttl(), lambda: _content(actor, lang, versions))
    return render_template("dashboard/index.html", content=Markup(html)), status


#: where _views.html leaves the place of the sessions view (_sessions.html)
SESSIONS_MARK = "<!-- dashboard: sessions -->"


def _content(actor: Any, lang: str, versions: tuple[int, int]) -> tuple[str, int]:
    """``versions``: (numbers, sessions) of all the regions the actor's dashboard covers (a narrower scope
    reads its own). The sessions view has a version of its own: registrations and check-ins change it all
    morning, and need not make the other views be counted and drawn again."""
    # the heading and filters: their choices (cohorts) and the scope's dates (the last month with activity)
    # change only with the numbers' version, so a registration does not make them be read and drawn again
    head_key = ("head", lang, actor.role.value, actor.region_id, tuple(sorted(request.args.items(multi=True))),
                scopes.wib_today(), versions[0])
    scope, head = cache.cache().get_or_make(head_key, cache.ttl(), lambda: _head(actor))
    if sorted(scope.region_ids) != sorted(scopes.allowed_region_ids(actor)):
        versions = summaries.versions(db.session, scope.region_ids)
    key = ("views", lang, actor.role.value, tuple(scope.region_ids), scope.cohort_id, scope.kecamatan_id,
           getattr(scope, "region_chosen", False), scope.range_start, scope.range_end, scope.stuck_days, scope.today)
    numbers = cache.cache().get_or_make(key + ("numbers", versions[0]), cache.ttl(),
                                        lambda: _views(actor, scope, lang))
    sessions = cache.cache().get_or_make(key + ("sessions", versions[1]), cache.ttl(),
                                         lambda: _sessions_view(actor, scope, lang))
    return head + numbers.replace(SESSIONS_MARK, sessions, 1), 200


def _head(actor: Any) -> tuple[scopes.Scope, str]:
    """The scope the query asks for, and the rendered heading and filter form with the note on its dates."""
    form = FilterForm(request.args)
    scope = _filters(form, actor)
    return scope, render_template("dashboard/_filters.html", form=form, scope=scope)


def _sessions_view(actor: Any, scope: scopes.Scope, lang: str) -> str:
    """The rendered sessions view of one scope (cached by the caller)."""
    data = services.dashboard_sessions(actor, scope)
    sessions_chart = charts.hbars(
        "chart-sessions", _("Keterisian Bimtek mendatang"),
        _("Persentase kursi terisi di %(n)s sesi mendatang.", n=len(data.upcoming)),
        [charts.Bar(f"{_short_date(r.session.starts_at)} · {r.session.title}",
                    round(r.fill_rate * 100), display=f"{r.registered}/{r.capacity}", css="a")
         for r in data.upcoming], max_value=100)
    attendance_chart = charts.hbars(
        "chart-attendance", _("Kehadiran Bimtek yang lalu"),
        _("Persentase peserta terdaftar yang hadir di %(n)s sesi terakhir dalam rentang tanggal.", n=len(data.past)),
        [charts.Bar(f"{_short_date(r.session.starts_at)} · {r.session.title}",
                    round((r.attendance_rate or 0) * 100), display=_pct(r.attendance_rate), css="ok")
         for r in data.past], max_value=100)
    return render_template("dashboard/_sessions.html", data=data, sessions_chart=sessions_chart,
                           attendance_chart=attendance_chart, pct=_pct, lang=lang)


def _views(actor: Any, scope: scopes.Scope, lang: str) -> str:
    """The rendered views of one scope but the sessions view, whose place is marked (cached by the caller)."""
    data = services.dashboard_numbers(actor, scope, lang)
    month_names = MONTHS[lang]
    step = 1 if len(data.completions) <= 12 else 2
    mlabel = lambda m: month_names[m.month - 1] if (m.month - 1) % step == 0 else ""  # noqa: E731
    links: dict[tuple[Any, ...], str] = {}

    def link(**kw: Any) -> str:
        """The managers list of this scope narrowed by ``kw``; each drawn twice (a chart's bar, a table's row)."""
        key = tuple(sorted(kw.items()))
        if key not in links:
            links[key] = url_for("dashboard.managers", **scope.params(**kw))
        return links[key]

    funnel = charts.hbars(
        "chart-funnel", _("Pengelola per langkah 7 PAS"),
        _("Jumlah pengelola aktif di setiap langkah; %(n)s terdaftar. Pilih batang untuk melihat daftarnya.",
          n=data.enrolled),
        [charts.Bar(s.name, s.count, href=link(stage=s.key), css="done" if s.key == DONE else "a")
         for s in data.stages])
    stuck = charts.hbars(
        "chart-stuck", _("Pengelola macet per langkah"),
        _("Pengelola tanpa kemajuan selama %(d)s hari atau lebih, per langkah; total %(n)s.",
          d=scope.stuck_days, n=data.stuck_total),
        [charts.Bar(s.name, s.count, href=link(stage=s.key, stuck=1), css="warn") for s in data.stuck_by_stage])
    cov = data.coverage
    coverage = charts.hbars(
        "chart-coverage", _("Cakupan pendampingan"),
        _("Dari %(n)s e-Warong aktif: %(a)s dikunjungi dalam %(w)s hari terakhir, %(b)s terlambat dikunjungi, "
          "%(c)s belum pernah dikunjungi.", n=cov.outlets, a=cov.recent, w=cov.window_days, b=cov.overdue, c=cov.never),
        [charts.Bar(_("Dikunjungi %(w)s hari terakhir", w=cov.window_days), cov.recent, css="ok"),
         charts.Bar(_("Terlambat (> %(d)s hari)", d=cov.overdue_days), cov.overdue, css="warn"),
         charts.Bar(_("Belum pernah dikunjungi"), cov.never, css="bad"),
         charts.Bar(_("Tindak lanjut lewat tenggat"), cov.past_due_actions, css="bad")])
    certs_chart = charts.columns(
        "chart-certs", _("Sertifikat terbit per bulan"),
        _("Sertifikat yang berlaku menurut bulan terbit; total %(n)s.", n=sum(m.count for m in data.certificates)),
        [mlabel(m.month) for m in data.certificates], [m.count for m in data.certificates], css="a")
    trend_chart = charts.columns(
        "chart-trend", _("Pengelola menyelesaikan 7 PAS per bulan"),
        _("Jumlah pengelola yang menyelesaikan ketujuh langkah setiap bulan; total %(n)s.",
          n=sum(m.count for m in data.completions)),
        [mlabel(m.month) for m in data.completions], [m.count for m in data.completions], css="done")
    stage_keys = [s for s in data.stages if s.key != DONE]
    done_stage = next(s for s in data.stages if s.key == DONE)
    series = [f"s{i % 8}" for i in range(len(stage_keys))] + ["done"]
    if len(scope.region_ids) > 1:  # all of DKI: one bar per region (the table has every kecamatan)
        by_region: dict[str, list[int]] = {}
        for r in data.kecamatan_rows:
            row = by_region.setdefault(r.region_name, [0] * (len(stage_keys) + 1))
            for i, s in enumerate(stage_keys):
                row[i] += r.by_stage.get(s.key, 0)
            row[-1] += r.done
        kec_chart = charts.stacked(
            "chart-kecamatan", _("Pengelola per wilayah dan langkah"),
            _("Satu batang per wilayah, dibagi menurut langkah saat ini; angka per kecamatan ada di tabel."),
            list(by_region.items()), series)
    else:
        kec_chart = charts.stacked(
            "chart-kecamatan", _("Pengelola per kecamatan dan langkah"),
            _("Satu batang per kecamatan, dibagi menurut langkah saat ini; angkanya ada di tabel."),
            [(r.kecamatan.name, [r.by_stage.get(s.key, 0) for s in stage_keys] + [r.done])
             for r in data.kecamatan_rows], series)
    return render_template(
        "dashboard/_views.html", data=data, scope=scope, funnel=funnel, stuck=stuck,
        kecamatan_body=kecamatan_body(data, lang),
        coverage=coverage, certs_chart=certs_chart,
        trend_chart=trend_chart, kec_chart=kec_chart, series=list(zip(stage_keys + [done_stage], series)), link=link,
        mlabel=mlabel, pct=_pct, done_key=DONE, lang=lang, stage_name=_stage_namer(lang), kind_name=_kind_name)


def kecamatan_body(data: services.Dashboard, lang: str) -> Markup:
    """The rows of the per-kecamatan table: the count per stage, done and certified of each kecamatan, under
    its region's name when the table covers several regions. Written here rather than in the template: an
    all-DKI table is 44 rows of 11 numbers, and the template loop was most of the cost of drawing the views."""
    from markupsafe import escape

    from ..i18n import whole_number_format

    fmt = whole_number_format(lang)  # (the cells are counts: ints)
    grouped = len(data.scope.region_ids) > 1
    span = len(data.stages) + 3
    out: list[str] = []
    region = None
    for r in data.kecamatan_rows:
        if grouped and r.region_name != region:
            region = r.region_name
            out.append(f'<tr class="group-row"><th scope="rowgroup" colspan="{span}">{escape(region)}</th></tr>')
        cells = "".join(f'<td class="num">{fmt(r.done if s.key == DONE else r.by_stage.get(s.key, 0))}</td>'
                        for s in data.stages)
        out.append(f'<tr><th scope="row">{escape(r.kecamatan.name)}</th><td class="num">{fmt(r.enrolled)}</td>'
                   f'{cells}<td class="num">{fmt(r.certified)}</td></tr>')
    return Markup("\n".join(out))


def _stage_namer(lang: str) -> Any:
    names = dict(services.stage_list(lang))
    return lambda key: names.get(key if key else DONE, key)


def _kind_name(kind: str) -> str:
    return {"bimtek": _("Bimtek"), "completion": _("Kelulusan 7 PAS")}.get(kind, kind)


def _short_date(value: Any) -> str:
    from ..i18n import to_wib

    local = to_wib(value)
    return f"{local.day} {MONTHS[_lang()][local.month - 1]}"


@bp.route("/dashboard/managers")
@rule("dashboard.view")
def managers():
    actor = _actor()
    form = ListForm(request.args)
    lang = _lang()
    stages = services.stage_list(lang)
    form.stage.choices = options([("", _("Semua langkah"))] + stages)
    form.stuck.choices = options([("", _("Semua pengelola")), ("1", _("Hanya yang macet"))])
    scope = _filters(form, actor)
    stage = form.stage.data if not form.stage.errors else None
    stuck = form.stuck.data == "1" and not form.stuck.errors
    page = max(int_or_none(request.args.get("page")) or 1, 1)
    rows, total = services.managers(actor, scope, stage=stage or None, stuck=stuck, page=page)
    pages = max((total + services.PER_PAGE - 1) // services.PER_PAGE, 1)
    return render_template("dashboard/managers.html", form=form, rows=rows, total=total, page=page, pages=pages,
                           scope=scope, stage=stage, stuck=stuck, stage_names=dict(stages), done_key=DONE,
                           back=url_for("dashboard.index", **scope.params()))


@bp.cli.command("rebuild")
def rebuild_command() -> None:
    """Recount the dashboard summaries from the source tables (after bulk SQL loads)."""
    import time

    import click

    from ..db import transaction
    from ..extensions import db
    from .summaries import rebuild_all

    t = time.perf_counter()
    with transaction():
        rebuild_all(db.session)
    click.echo(f"dashboard summaries rebuilt in {time.perf_counter() - t:.1f} s")
