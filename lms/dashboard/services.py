"""The coordinator dashboard: numbers for one scope (cohort, region, kecamatan, date range).

Every view reads the maintained summaries (:mod:`lms.dashboard.summaries`) or a bounded
slice of a source table through an index, so the number of queries does not grow with the
number of managers or visits, and the rows they touch grow with the kecamatan, days and
months shown, not with the managers:

* funnel, per-kecamatan table, coverage, certificates and completions per month, and the
  stuck counts: ``dashboard_counts`` rows, in one statement (the stuck counts add the
  enrolments of the cut-off's month, an index range of ``ix_enrolments_stuck``);
* the longest-stuck few: a short index walk per region (``ix_enrolments_stuck``);
* sessions: the next and the last few sessions, and their registrations, in one statement.

The funnel, the kecamatan table, the stuck view and mentor coverage are the state *now*;
the date range applies to the monthly charts and to the past sessions.
"""
from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from .. import permissions
from ..db import utcnow
from ..errors import NotAllowed
from ..extensions import db
from ..people.models import User
from ..i18n import to_wib
from ..places.models import Kecamatan, Outlet, Region
from ..programme import services as programme
from ..programme.models import Cohort, Enrolment, EnrolmentStatus, cohort_regions
from ..sessions.models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .models import DashboardCount
from . import summaries
from .summaries import DONE

DEFAULT_STUCK_DAYS = 60
COVERAGE_DAYS = 30
SESSION_ROWS = 8
STUCK_ROWS = 10
PER_PAGE = 25
MAX_MONTHS = 36


def wib_today(now: datetime | None = None) -> date:
    return to_wib(now or utcnow()).date()


def wib_start_utc(day: date) -> datetime:
    from ..visits.services import wib_start_utc as start

    return start(day)


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m + 1, 1)


def months_between(start: date, end: date) -> list[date]:
    out, m = [], month_start(start)
    while m <= end and len(out) < MAX_MONTHS:
        out.append(m)
        m = add_months(m, 1)
    return out


@dataclass
class Scope:
    """What the dashboard shows; build it with :func:`scope_for` (it checks the actor's rights)."""

    region_ids: list[int]
    cohort_id: int | None = None
    kecamatan_id: int | None = None
    start: date | None = None
    end: date | None = None
    stuck_days: int = DEFAULT_STUCK_DAYS
    today: date = field(default_factory=wib_today)
    #: the last day with activity (completions, certificates) when no end date is given
    latest: date | None = None

    @property
    def range_end(self) -> date:
        if self.end:
            return self.end
        if self.start:
            return max(self.today, self.start)
        return min(self.latest or self.today, self.today)

    @property
    def range_start(self) -> date:
        return self.start or add_months(month_start(self.range_end), -11)

    def params(self, **extra: Any) -> dict[str, Any]:
        """The query parameters that reproduce this scope (for links)."""
        out: dict[str, Any] = {}
        if self.cohort_id:
            out["cohort"] = self.cohort_id
        if len(self.region_ids) == 1 and getattr(self, "region_chosen", False):
            out["region"] = self.region_ids[0]
        if self.kecamatan_id:
            out["kecamatan"] = self.kecamatan_id
        if self.start:
            out["start"] = self.start.isoformat()
        if self.end:
            out["end"] = self.end.isoformat()
        if self.stuck_days != DEFAULT_STUCK_DAYS:
            out["days"] = self.stuck_days
        out.update({k: v for k, v in extra.items() if v not in (None, "")})
        return out


@dataclass(frozen=True)
class Place:
    """A region or a kecamatan as the dashboard shows it (reference data, read once per process)."""

    id: int
    code: str
    name: str
    #: a kecamatan's region (None for a region)
    region_id: int | None = None
    region_name: str = ""


def _places() -> tuple[list[Place], list[Place]]:
    """(regions by code, kecamatan by code): made by the migrations and never edited, so each app reads
    them once instead of twice per dashboard."""
    from flask import current_app

    found = current_app.extensions.get("lms.dashboard_places")
    if found is None:
        regions = [Place(r.id, r.code, r.name) for r in db.session.scalars(sa.select(Region).order_by(Region.code))]
        names = {r.id: r.name for r in regions}
        kecs = [Place(k.id, k.code, k.name, k.region_id, names.get(k.region_id, ""))
                for k in db.session.scalars(sa.select(Kecamatan).order_by(Kecamatan.code))]
        found = current_app.extensions["lms.dashboard_places"] = (regions, kecs)
    return found


def region_places(actor: Any) -> list[Place]:
    """``allowed_regions`` from the per-process copy (no query)."""
    regions, _kecs = _places()
    if not permissions.is_admin(actor) and actor.region_id is not None:
        return [r for r in regions if r.id == actor.region_id]
    return list(regions)


def kecamatan_places(regions: list[Any]) -> list[Place]:
    """``kecamatan_for`` from the per-process copy (no query), by name."""
    ids = {r.id for r in regions}
    return sorted((k for k in _places()[1] if k.region_id in ids), key=lambda k: (k.name, k.id))


_REGION_IDS: list[int] = []


def allowed_region_ids(actor: Any) -> list[int]:
    """``allowed_regions`` as ids, without a query (regions are reference data, read once per process)."""
    if not permissions.is_admin(actor) and actor.region_id is not None:
        return [actor.region_id]
    if not _REGION_IDS:
        _REGION_IDS.extend(db.session.scalars(sa.select(Region.id).order_by(Region.code)))
    return list(_REGION_IDS)


def allowed_regions(actor: Any) -> list[Region]:
    """Regions the actor's dashboard covers: a coordinator's own, or all of DKI."""
    q = sa.select(Region).order_by(Region.code)
    if not permissions.is_admin(actor) and actor.region_id is not None:
        q = q.where(Region.id == actor.region_id)
    return list(db.session.scalars(q))


def scope_for(actor: Any, *, regions: list[Region] | list[Place], region_id: int | None = None,
              cohort_id: int | None = None, kecamatan: Kecamatan | Place | None = None, start: date | None = None,
              end: date | None = None, stuck_days: int | None = None, now: datetime | None = None) -> Scope:
    if not permissions.can(actor, "dashboard.view"):
        raise NotAllowed()
    ids = [r.id for r in regions]
    chosen = region_id in ids
    if chosen:
        ids = [region_id]  # type: ignore[list-item]
    if kecamatan is not None and kecamatan.region_id in ids:
        ids = [kecamatan.region_id]
    else:
        kecamatan = None
    s = Scope(region_ids=ids, cohort_id=cohort_id, kecamatan_id=kecamatan.id if kecamatan else None,
              start=start, end=end, stuck_days=stuck_days or DEFAULT_STUCK_DAYS, today=wib_today(now))
    s.region_chosen = chosen or kecamatan is not None  # type: ignore[attr-defined]
    if not end and not start:
        s.latest = _latest_activity(s)
    return s


def _latest_activity(scope: Scope) -> date | None:
    """The last month with a completion or a certificate in scope (indexed MAXes over the summary, 1 query).

    Without an explicit range the monthly charts end there rather than at today, so a
    programme that ended (like the 2018 demo cohort) still shows its last twelve months.
    """
    def build() -> Any:
        t = DashboardCount
        # months after this one hold no real activity (only a mistyped or hand-written date): ignored
        conds = [*_bound_summary_unit(bool(scope.cohort_id), bool(scope.kecamatan_id)), t.day != "",
                 t.day <= sa.bindparam("month")]
        # one MAX per metric: each is a backward walk of ix_dashboard_counts_metric_day that stops at the first
        # row in scope (a MAX over both metrics at once read every month of both)
        each = sa.union_all(*(sa.select(sa.func.max(t.day).label("day")).where(t.metric == m, *conds)
                              for m in ("completed", "certs"))).subquery()
        return sa.select(sa.func.max(each.c.day))

    stmt = _built(("latest", bool(scope.cohort_id), bool(scope.kecamatan_id)), build)
    last = db.session.scalar(stmt, {**_scope_params(scope), "month": scope.today.strftime("%Y-%m")})
    if not last:
        return None
    first = date.fromisoformat(last + "-01")
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


# --- the numbers -----------------------------------------------------------------------------

@dataclass
class StageCount:
    key: str
    name: str
    count: int


@dataclass
class KecamatanRow:
    kecamatan: Place
    region_name: str
    enrolled: int
    by_stage: dict[str, int]
    done: int
    certified: int


@dataclass(frozen=True)
class SessionInfo:
    """What the dashboard shows of a training session."""

    id: int
    title: str
    starts_at: datetime
    region_name: str


@dataclass
class SessionRow:
    session: SessionInfo
    registered: int
    capacity: int
    attended: int = 0
    marked: int = 0

    @property
    def fill_rate(self) -> float:
        return self.registered / self.capacity if self.capacity else 0.0

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.registered if self.registered else None


@dataclass
class SessionsView:
    """What the sessions view shows (rendered apart from the other views)."""

    upcoming: list[SessionRow]
    past: list[SessionRow]

    @property
    def upcoming_fill(self) -> float | None:
        cap = sum(r.capacity for r in self.upcoming)
        return sum(r.registered for r in self.upcoming) / cap if cap else None

    @property
    def past_attendance(self) -> float | None:
        reg = sum(r.registered for r in self.past)
        return sum(r.attended for r in self.past) / reg if reg else None


@dataclass
class StuckRow:
    """One of the managers longest without progress, as the dashboard lists them."""

    enrolment_id: int
    full_name: str
    outlet: str
    kecamatan: str
    stage: str | None
    days: int


@dataclass
class Coverage:
    outlets: int
    recent: int
    overdue: int
    never: int
    past_due_actions: int
    overdue_days: int
    window_days: int = COVERAGE_DAYS

    @property
    def between(self) -> int:
        """Visited, not in the last 30 days, not yet overdue (when the curriculum allows more than 30 days)."""
        return max(self.outlets - self.recent - self.overdue - self.never, 0)


@dataclass
class MonthCount:
    month: date
    count: int
    by_key: dict[str, int] = field(default_factory=dict)


@dataclass
class Dashboard:
    scope: Scope
    stages: list[StageCount]
    enrolled: int
    stuck_total: int
    stuck_by_stage: list[StageCount]
    stuck_rows: list[StuckRow]
    kecamatan_rows: list[KecamatanRow]
    upcoming: list[SessionRow]
    past: list[SessionRow]
    coverage: Coverage
    certificates: list[MonthCount]
    certificate_kinds: list[str]
    completions: list[MonthCount]

    @property
    def upcoming_fill(self) -> float | None:
        return SessionsView(self.upcoming, self.past).upcoming_fill

    @property
    def past_attendance(self) -> float | None:
        return SessionsView(self.upcoming, self.past).past_attendance

    @property
    def done(self) -> int:
        return next((s.count for s in self.stages if s.key == DONE), 0)


def stage_list(lang: str) -> list[tuple[str, str]]:
    """(key, name) of the default curriculum's stages, then 'all done'."""
    cur = programme.default_curriculum()
    return [(s.key, s.name.get(lang)) for s in cur.stages] + [(DONE, _("Selesai 7 PAS"))]


def _counts(scope: Scope, metric: str, *cols: Any, cohort: bool = True, where: Any = None) -> list[Any]:
    t = DashboardCount
    conds = [t.metric == metric, t.region_id.in_(scope.region_ids)]
    if cohort and scope.cohort_id:
        conds.append(t.cohort_id == scope.cohort_id)
    if scope.kecamatan_id:
        conds.append(t.kecamatan_id == scope.kecamatan_id)
    if where is not None:
        conds.append(where)
    q = sa.select(*cols, sa.func.sum(t.n)).where(*conds)
    if cols:
        q = q.group_by(*cols)
    return list(db.session.execute(q).all())


def _total(scope: Scope, metric: str, **kw: Any) -> int:
    rows = _counts(scope, metric, **kw)
    return int(rows[0][0] or 0) if rows else 0


def _enrolment_scope(scope: Scope) -> list[Any]:
    conds: list[Any] = [Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.region_id.in_(scope.region_ids)]
    if scope.cohort_id:
        conds.append(Enrolment.cohort_id == scope.cohort_id)
    if scope.kecamatan_id:
        conds.append(Enrolment.outlet_id.in_(sa.select(Outlet.id).where(Outlet.kecamatan_id == scope.kecamatan_id)))
    return conds


def _stuck_where(scope: Scope, now: datetime) -> list[Any]:
    cutoff = now - timedelta(days=scope.stuck_days)
    return _enrolment_scope(scope) + [Enrolment.current_stage.is_not(None), Enrolment.progress_changed_at < cutoff]


# --- statements built once per shape --------------------------------------------------------------
#
# The dashboard's statements are unions of subqueries; building one (and its columns) in SQLAlchemy cost
# more than PostgreSQL took to run it. Each is built once per process and shape (the database kind, which
# filters are set, the number of regions for the per-region walks), its values bound at execution.

_BUILT: dict[tuple[Any, ...], Any] = {}


def _built(key: tuple[Any, ...], build: Any) -> Any:
    key = (db.session.get_bind().dialect.name,) + key
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = build()
    return found


def _scope_params(scope: Scope) -> dict[str, Any]:
    return {"regions": list(scope.region_ids), "cohort": scope.cohort_id, "kec": scope.kecamatan_id}


def _bound_enrolment_scope(cohort: bool, kec: bool, region: Any = None) -> list[Any]:
    """:func:`_enrolment_scope` with its values bound (``regions``, ``cohort``, ``kec``), or one region's."""
    regions = Enrolment.region_id == region if region is not None else \
        Enrolment.region_id.in_(sa.bindparam("regions", expanding=True))
    conds: list[Any] = [Enrolment.status == EnrolmentStatus.ACTIVE, regions]
    if cohort:
        conds.append(Enrolment.cohort_id == sa.bindparam("cohort"))
    if kec:
        conds.append(Enrolment.outlet_id.in_(sa.select(Outlet.id).where(Outlet.kecamatan_id == sa.bindparam("kec"))))
    return conds


def _bound_summary_unit(cohort: bool, kec: bool, with_cohort: bool = True) -> list[Any]:
    """The summary rows of the scope (values bound: ``regions``, ``cohort``, ``kec``)."""
    t = DashboardCount
    conds: list[Any] = [t.region_id.in_(sa.bindparam("regions", expanding=True))]
    if kec:
        conds.append(t.kecamatan_id == sa.bindparam("kec"))
    if cohort and with_cohort:
        conds.append(t.cohort_id == sa.bindparam("cohort"))
    return conds


def dashboard(actor: Any, scope: Scope, lang: str = "id", now: datetime | None = None) -> Dashboard:
    """Every view's numbers: :func:`dashboard_numbers` with :func:`dashboard_sessions`."""
    now = now or utcnow()
    data = dashboard_numbers(actor, scope, lang, now)
    sessions = dashboard_sessions(actor, scope, now)
    data.upcoming, data.past = sessions.upcoming, sessions.past
    return data


def dashboard_sessions(actor: Any, scope: Scope, now: datetime | None = None) -> SessionsView:
    """The sessions view: the next and the last few sessions in scope (1 query). Kept apart from the
    other views because registrations and check-ins change it all day (its own version: summaries)."""
    if not permissions.can(actor, "dashboard.view"):
        raise NotAllowed()
    return SessionsView(*_sessions(scope, now or utcnow()))


def dashboard_numbers(actor: Any, scope: Scope, lang: str = "id", now: datetime | None = None) -> Dashboard:
    """Every view but the sessions' (``upcoming`` and ``past`` are left empty)."""
    if not permissions.can(actor, "dashboard.view"):
        raise NotAllowed()
    now = now or utcnow()
    names = stage_list(lang)
    name_of = dict(names)

    # the months the monthly charts show
    first, last = scope.range_start, scope.range_end
    months = months_between(first, last)
    lo, hi = months[0].strftime("%Y-%m") if months else "", last.strftime("%Y-%m")
    overdue_days = programme.default_curriculum().visit_overdue_days
    recent_from = (scope.today - timedelta(days=COVERAGE_DAYS - 1)).isoformat()
    fresh_from = (scope.today - timedelta(days=overdue_days - 1)).isoformat()

    # funnel, per kecamatan, certified, coverage, the months and the stuck counts: one query
    by_stage: dict[str, int] = defaultdict(int)
    per_kec: dict[int, dict[str, int]] = defaultdict(dict)
    certified: dict[int, int] = defaultdict(int)
    certs = {m.strftime("%Y-%m"): MonthCount(m, 0) for m in months}
    completions = {m.strftime("%Y-%m"): MonthCount(m, 0) for m in months}
    kinds: set[str] = set()
    cov = dict.fromkeys(("outlets", "visited", "recent", "fresh", "open", "not_yet_due"), 0)
    stuck_counts: dict[str, int] = defaultdict(int)
    for metric, kec_id, key, day, n in _summary_rows(scope, lo, hi, min(recent_from, fresh_from), now):
        n = int(n or 0)
        if metric == "stage":
            by_stage[key] += n
            per_kec[kec_id][key] = n
        elif metric == "certified":
            certified[kec_id] += n
        elif metric == "certs" and day in certs:
            certs[day].count += n
            certs[day].by_key[key] = certs[day].by_key.get(key, 0) + n
            kinds.add(key)
        elif metric == "completed" and day in completions:
            completions[day].count += n
        elif metric == "visit":
            cov["recent"] += n if day >= recent_from else 0
            cov["fresh"] += n if day >= fresh_from else 0
        elif metric == "open_due":
            cov["not_yet_due"] += n
        elif metric == "stuck":
            stuck_counts[key] += n
        elif metric in cov:
            cov[metric] += n
    stages = [StageCount(k, n, by_stage.get(k, 0)) for k, n in names]
    stages += [StageCount(k, k, n) for k, n in sorted(by_stage.items()) if k not in name_of]
    enrolled = sum(s.count for s in stages)
    coverage = Coverage(outlets=cov["outlets"], recent=cov["recent"], overdue=max(cov["visited"] - cov["fresh"], 0),
                        never=max(cov["outlets"] - cov["visited"], 0),
                        past_due_actions=max(cov["open"] - cov["not_yet_due"], 0), overdue_days=overdue_days)

    # stuck: the counts (read above), the longest-stuck few (1 query)
    stuck_by_stage = [StageCount(k, n, int(stuck_counts.get(k, 0))) for k, n in names if k != DONE]
    stuck_rows = _longest_stuck(scope, now)

    # per kecamatan (the names: reference data, no query)
    in_scope = set(scope.region_ids)
    kec_rows = []
    for kec in _places()[1]:
        if kec.region_id not in in_scope or (scope.kecamatan_id and kec.id != scope.kecamatan_id):
            continue
        counts = per_kec.get(kec.id, {})
        kec_rows.append(KecamatanRow(kec, kec.region_name, sum(counts.values()),
                                     {k: counts.get(k, 0) for k, _n in names if k != DONE}, counts.get(DONE, 0),
                                     certified.get(kec.id, 0)))

    return Dashboard(scope=scope, stages=stages, enrolled=enrolled, stuck_total=sum(s.count for s in stuck_by_stage),
                     stuck_by_stage=stuck_by_stage, stuck_rows=stuck_rows, kecamatan_rows=kec_rows,
                     upcoming=[], past=[], coverage=coverage, certificates=list(certs.values()),
                     certificate_kinds=sorted(kinds), completions=list(completions.values()))


def _stuck_counts(scope: Scope, now: datetime) -> dict[str, int]:
    """Active enrolments at each stage without progress since the cut-off (now - ``stuck_days``), in one
    query (:func:`_stuck_parts`; the dashboard reads them with the other numbers)."""
    cohort, kec = bool(scope.cohort_id), bool(scope.kecamatan_id)
    stmt = _built(("stuck", cohort, kec), lambda: sa.union_all(*_stuck_parts(cohort, kec)))
    counts: dict[str, int] = defaultdict(int)
    for _metric, _kec, key, _day, n in db.session.execute(stmt, {**_scope_params(scope), **_stuck_params(scope, now)}):
        counts[key] += int(n or 0)
    return counts


def _stuck_params(scope: Scope, now: datetime) -> dict[str, Any]:
    cutoff = now - timedelta(days=scope.stuck_days)
    month = to_wib(cutoff).date().replace(day=1)
    return {"cutoff": cutoff, "progress_month": month.strftime("%Y-%m"),
            "month_from": wib_start_utc(month) - timedelta(milliseconds=1)}


def _stuck_parts(cohort: bool, kec: bool) -> list[sa.Select[Any]]:
    """Two SELECTs of ('stuck', 0, stage, '', n) rows whose sums per stage are the stuck counts (values bound:
    the scope's, :func:`_stuck_params`): the summary's ``progress`` rows of the whole WIB months before the
    cut-off's month, and the enrolments that last progressed in that month before the cut-off (an index
    range of at most a month, instead of every stuck enrolment)."""
    t = DashboardCount
    label, zero, none = sa.literal("stuck", sa.String), sa.literal(0, sa.Integer), sa.literal("", sa.String)
    months = sa.select(label, zero, t.key, none, sa.func.sum(t.n)).where(
        t.metric == "progress", t.day < sa.bindparam("progress_month"), *_bound_summary_unit(cohort, kec)
    ).group_by(t.key)
    # grouped by an expression: grouping by the bare column lets SQLite walk ix_enrolments_current_stage
    # over every enrolment (56 ms at 100k) instead of the range of ix_enrolments_stuck.
    # The two parts split the enrolments by the summary's own month expression (SQLite rounds a time to the
    # millisecond first, so a time in the last half millisecond of a month falls in the next one there);
    # the index range starts a millisecond early to hold those.
    stage_expr = sa.func.coalesce(Enrolment.current_stage, "")
    changed = Enrolment.progress_changed_at
    recent = sa.select(label, zero, stage_expr, none, sa.func.count()).where(
        *_bound_enrolment_scope(cohort, kec), Enrolment.current_stage.is_not(None),
        changed < sa.bindparam("cutoff"), changed >= sa.bindparam("month_from"),
        summaries.wib_month(db.session, changed) >= sa.bindparam("progress_month")).group_by(stage_expr)
    return [months, recent]


def _summary_rows(scope: Scope, lo: str, hi: str, visits_from: str, now: datetime) -> list[Any]:
    """(metric, kecamatan_id, key, day, n) rows for every view but the longest-stuck list and the sessions
    view, in one statement (UNION ALL):

    * ``stage`` and ``certified`` per kecamatan and key (the funnel, the kecamatan table);
    * ``certs`` and ``completed`` per month (``day``) in [lo, hi] and key (the monthly charts);
    * coverage (its rows carry no cohort): ``outlets``, ``visited`` and ``open`` in total, ``visit`` per
      day from ``visits_from`` (an index range), ``open_due`` from today;
    * ``stuck`` per stage (:func:`_stuck_parts`).
    """
    cohort, kec = bool(scope.cohort_id), bool(scope.kecamatan_id)

    def build() -> Any:
        t = DashboardCount
        unit = _bound_summary_unit(cohort, kec, with_cohort=False)
        counted = _bound_summary_unit(cohort, kec)
        none, zero = sa.literal("", sa.String), sa.literal(0, sa.Integer)
        total = sa.func.sum(t.n)
        return sa.union_all(
            sa.select(t.metric, t.kecamatan_id, t.key, none, total)
            .where(t.metric.in_(["stage", "certified"]), *counted).group_by(t.metric, t.kecamatan_id, t.key),
            sa.select(t.metric, zero, t.key, t.day, total)
            .where(t.metric.in_(["certs", "completed"]), t.day >= sa.bindparam("lo"), t.day <= sa.bindparam("hi"),
                   *counted)
            .group_by(t.metric, t.day, t.key),
            sa.select(t.metric, zero, none, none, total)
            .where(t.metric.in_(["outlets", "visited", "open"]), *unit).group_by(t.metric),
            # (two parts rather than one with OR: each is then one range of ix_dashboard_counts_metric_day,
            # read from the index alone)
            sa.select(t.metric, zero, none, t.day, total)
            .where(t.metric == "visit", t.day >= sa.bindparam("visits_from"), *unit).group_by(t.metric, t.day),
            sa.select(t.metric, zero, none, t.day, total)
            .where(t.metric == "open_due", t.day >= sa.bindparam("today"), *unit).group_by(t.metric, t.day),
            *_stuck_parts(cohort, kec))

    stmt = _built(("summary", cohort, kec), build)
    return list(db.session.execute(stmt, {
        **_scope_params(scope), **_stuck_params(scope, now), "lo": lo, "hi": hi, "visits_from": visits_from,
        "today": scope.today.isoformat()}).all())


def _longest_stuck(scope: Scope, now: datetime) -> list[StuckRow]:
    """The ``STUCK_ROWS`` enrolments longest without progress, with their person and outlet (1 query).

    One index walk per region (``ix_enrolments_stuck`` is ordered by progress time within a
    region), each stopping after a few rows, instead of sorting every stuck enrolment of DKI;
    only the first few of all regions' candidates are joined to their person and outlet.
    """
    if not scope.region_ids:
        return []
    cohort, kec, n = bool(scope.cohort_id), bool(scope.kecamatan_id), len(scope.region_ids)

    def build() -> Any:
        parts = [sa.select(sa.select(Enrolment.id).where(
            *_bound_enrolment_scope(cohort, kec, region=sa.bindparam(f"r{i}")), Enrolment.current_stage.is_not(None),
            Enrolment.progress_changed_at < sa.bindparam("cutoff")).order_by(Enrolment.progress_changed_at)
            .limit(STUCK_ROWS).subquery()) for i in range(n)]
        candidates = (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
        e, o, u = Enrolment.__table__, Outlet.__table__, User.__table__
        k = Kecamatan.__table__
        return (sa.select(e.c.id, u.c.full_name, o.c.name, k.c.name, e.c.current_stage, e.c.progress_changed_at)
                .select_from(candidates.join(e, e.c.id == candidates.c.id).join(u, u.c.id == e.c.user_id)
                             .join(o, o.c.id == e.c.outlet_id).join(k, k.c.id == o.c.kecamatan_id))
                .order_by(e.c.progress_changed_at, e.c.id).limit(STUCK_ROWS))

    stmt = _built(("longest", n, cohort, kec), build)
    params = {"cohort": scope.cohort_id, "kec": scope.kecamatan_id,
              "cutoff": now - timedelta(days=scope.stuck_days), **{f"r{i}": rid for i, rid in enumerate(scope.region_ids)}}
    return [StuckRow(eid, name, outlet, kecamatan, stage, (now - changed).days)
            for eid, name, outlet, kecamatan, stage, changed in db.session.execute(stmt, params)]


def _sessions(scope: Scope, now: datetime) -> tuple[list[SessionRow], list[SessionRow]]:
    """The next ``SESSION_ROWS`` sessions and the last ones in the date range, with their region's name and,
    for past ones, how many registered people attended and were marked (1 query)."""
    cohort = bool(scope.cohort_id)

    def build() -> Any:
        ts, rg, reg = TrainingSession.__table__, Region.__table__, Registration.__table__
        where = [ts.c.region_id.in_(sa.bindparam("regions", expanding=True)), ts.c.status == SessionStatus.SCHEDULED]
        if cohort:
            where.append(ts.c.cohort_id == sa.bindparam("cohort"))
        counted = sa.and_(reg.c.session_id == ts.c.id, reg.c.status == RegistrationStatus.REGISTERED)

        def count(*when: Any) -> Any:
            return sa.select(sa.func.count()).where(counted, *when).scalar_subquery()

        upcoming = (sa.select(sa.literal(True).label("up"), ts.c.id, ts.c.starts_at)
                    .where(*where, ts.c.starts_at >= sa.bindparam("now", type_=ts.c.starts_at.type))
                    .order_by(ts.c.starts_at, ts.c.id).limit(SESSION_ROWS))
        past = (sa.select(sa.literal(False).label("up"), ts.c.id, ts.c.starts_at)
                .where(*where, ts.c.starts_at < sa.bindparam("past_end", type_=ts.c.starts_at.type),
                       ts.c.starts_at >= sa.bindparam("past_start", type_=ts.c.starts_at.type))
                .order_by(ts.c.starts_at.desc(), ts.c.id.desc()).limit(SESSION_ROWS))
        picked = sa.union_all(sa.select(upcoming.subquery()), sa.select(past.subquery())).subquery()
        return (sa.select(picked.c.up, ts.c.id, ts.c.title, ts.c.starts_at, rg.c.name, ts.c.seats_taken, ts.c.capacity,
                          sa.case((picked.c.up, 0), else_=count(reg.c.attendance.in_([Attendance.PRESENT, Attendance.LATE]))),
                          sa.case((picked.c.up, 0), else_=count(reg.c.attendance.is_not(None))))
                .select_from(picked.join(ts, ts.c.id == picked.c.id).join(rg, rg.c.id == ts.c.region_id)))

    stmt = _built(("sessions", cohort), build)
    rows = db.session.execute(stmt, {
        "regions": list(scope.region_ids), "cohort": scope.cohort_id, "now": now,
        "past_end": min(wib_start_utc(scope.range_end + timedelta(days=1)), now),
        "past_start": wib_start_utc(scope.range_start)}).all()
    up_rows: list[SessionRow] = []
    past_rows: list[SessionRow] = []
    for up, sid, title, starts_at, region, seats, capacity, attended, marked in rows:
        info = SessionInfo(sid, title, starts_at, region)
        if up:
            up_rows.append(SessionRow(info, seats, capacity))
        else:
            past_rows.append(SessionRow(info, seats, capacity, int(attended or 0), int(marked or 0)))
    up_rows.sort(key=lambda r: (r.session.starts_at, r.session.id))
    past_rows.sort(key=lambda r: (r.session.starts_at, r.session.id), reverse=True)
    return up_rows, past_rows


# --- the drill-down list ---------------------------------------------------------------------

def managers(actor: Any, scope: Scope, *, stage: str | None = None, stuck: bool = False, page: int = 1,
             now: datetime | None = None) -> tuple[list[Enrolment], int]:
    """Active enrolments in scope at ``stage`` (or all), optionally only the stuck ones; a page of them."""
    if not permissions.can(actor, "dashboard.view"):
        raise NotAllowed()
    now = now or utcnow()
    where = _stuck_where(scope, now) if stuck else _enrolment_scope(scope)
    if stage == DONE:
        where.append(Enrolment.current_stage.is_(None))
    elif stage:
        where.append(Enrolment.current_stage == stage)
    if stuck:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(*where)) or 0
    else:  # the same number, from the summary instead of counting enrolments
        total = _total(scope, "stage", where=DashboardCount.key == stage) if stage else _total(scope, "stage")
    order = (Enrolment.progress_changed_at, Enrolment.id) if stuck else (Enrolment.id,)
    rows = list(db.session.scalars(
        sa.select(Enrolment).where(*where)
        .options(joinedload(Enrolment.user), joinedload(Enrolment.cohort),
                 joinedload(Enrolment.outlet).joinedload(Outlet.kecamatan))
        .order_by(*order).limit(PER_PAGE).offset((max(page, 1) - 1) * PER_PAGE)))
    return rows, int(total)


def cohorts_for(actor: Any) -> list[Cohort]:
    return programme.cohorts_for(actor)


@dataclass(frozen=True)
class CohortChoice:
    """A cohort as the dashboard's filter offers it: its name and its regions (for the rule ``cohort.view``)."""

    id: int
    name: str
    regions: tuple[Place, ...]


def cohort_choices(actor: Any) -> list[CohortChoice]:
    """The cohorts the actor may see, newest first, with their region ids (1 query, no ORM objects)."""
    c, cr = Cohort.__table__, cohort_regions
    rows = db.session.execute(
        sa.select(c.c.id, c.c.name, cr.c.region_id).select_from(c.outerjoin(cr, cr.c.cohort_id == c.c.id))
        .order_by(c.c.start_date.desc(), c.c.id.desc())).all()
    regions = {r.id: r for r in _places()[0]}
    found: dict[int, tuple[str, list[Place]]] = {}
    for cid, name, rid in rows:
        entry = found.setdefault(cid, (name, []))
        if rid is not None and rid in regions:
            entry[1].append(regions[rid])
    out = [CohortChoice(cid, name, tuple(rs)) for cid, (name, rs) in found.items()]
    return [ch for ch in out if permissions.can(actor, "cohort.view", ch)]


def kecamatan_for(regions: list[Region]) -> list[Kecamatan]:
    return list(db.session.scalars(sa.select(Kecamatan).where(Kecamatan.region_id.in_([r.id for r in regions]))
                                   .order_by(Kecamatan.name)))

