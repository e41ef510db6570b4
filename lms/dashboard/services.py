"""The coordinator dashboard: numbers for one scope (cohort, region, kecamatan, date range).

Every view reads the maintained summaries (:mod:`lms.dashboard.summaries`) or a bounded
slice of a source table through an index, so the number of queries does not grow with the
number of managers or visits, and the rows they touch grow with the kecamatan, days and
months shown, not with the managers:

* funnel, per-kecamatan table, coverage, certificates and completions per month, and the
  stuck counts: ``dashboard_counts`` rows, in one statement (the stuck counts read the rows of
  the last month or two, and the enrolments of the cut-off's month, an index range of
  ``ix_enrolments_stuck``);
* the longest-stuck few: a short index walk per region (``ix_enrolments_stuck``);
* sessions: the next and the last few sessions, and their registrations, in one statement.

The funnel, the kecamatan table, the stuck view and mentor coverage are the state *now*;
the date range applies to the monthly charts and to the past sessions. The scope itself (what an actor
may ask for, the places it names) is :mod:`lms.dashboard.scopes`; the SQL conditions and the statements
built once per shape are :mod:`lms.dashboard.statements`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from .. import permissions
from ..db import constant, utcnow
from ..errors import NotAllowed
from ..extensions import db
from ..i18n import to_wib
from ..people.models import User
from ..places.models import Kecamatan, Outlet, Region
from ..programme import services as programme
from ..programme.models import Enrolment
from ..sessions.models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from . import statements, summaries
from .models import DashboardCount
from .scopes import Place, Scope, months_between, places, wib_start_utc
from .summaries import DONE

COVERAGE_DAYS = 30
SESSION_ROWS = 8
STUCK_ROWS = 10
PER_PAGE = 25


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


def stuck_where(scope: Scope, now: datetime) -> list[Any]:
    """The conditions of the scope's stuck enrolments at ``now`` (the drill-down list's, and the tests')."""
    return statements.stuck(*statements.values(scope), now - timedelta(days=scope.stuck_days))


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
    stuck_counts: dict[str, int] = defaultdict(int)  # (the cut-off's month, before the cut-off)
    since_counts: dict[str, int] = defaultdict(int)  # (the cut-off's month and later)
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
        elif metric == "since":
            since_counts[key] += n
        elif metric in cov:
            cov[metric] += n
    stages = [StageCount(k, n, by_stage.get(k, 0)) for k, n in names]
    stages += [StageCount(k, k, n) for k, n in sorted(by_stage.items()) if k not in name_of]
    enrolled = sum(s.count for s in stages)
    coverage = Coverage(outlets=cov["outlets"], recent=cov["recent"], overdue=max(cov["visited"] - cov["fresh"], 0),
                        never=max(cov["outlets"] - cov["visited"], 0),
                        past_due_actions=max(cov["open"] - cov["not_yet_due"], 0), overdue_days=overdue_days)

    # stuck: the counts (from the rows read above: _stuck_parts), the longest-stuck few (1 query)
    stuck_by_stage = [StageCount(k, n, by_stage.get(k, 0) - since_counts.get(k, 0) + stuck_counts.get(k, 0))
                      for k, n in names if k != DONE]
    stuck_rows = _longest_stuck(scope, now)

    # per kecamatan (the names: reference data, no query)
    in_scope = set(scope.region_ids)
    kec_rows = []
    for kec in places()[1]:
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


def _stuck_params(scope: Scope, now: datetime) -> dict[str, Any]:
    cutoff = now - timedelta(days=scope.stuck_days)
    month = to_wib(cutoff).date().replace(day=1)
    return {"cutoff": cutoff, "progress_month": month.strftime("%Y-%m"),
            "month_from": wib_start_utc(month) - timedelta(milliseconds=1)}


def _stuck_parts(scope: Scope) -> list[sa.Select[Any]]:
    """Two SELECTs of (metric, 0, stage, '', n) rows from which :func:`dashboard_numbers` takes the stuck counts
    (values bound: :func:`statements.params` and :func:`_stuck_params`):

    * ``since``: the summary's ``progress`` rows of the cut-off's WIB month and later, per stage: the enrolments
      that progressed in those months;
    * ``stuck``: the enrolments that last progressed in the cut-off's month before the cut-off (an index range
      of at most a month).

    A stage's stuck count is its active enrolments (the ``stage`` rows, read anyway) less ``since`` plus
    ``stuck``: the same number as adding the ``progress`` rows of every month before the cut-off's, but the
    rows read are those of the last month or two instead of every month since the programme began (at
    100,000 managers, 5,700 rows and 2 ms of the admin's dashboard on PostgreSQL)."""
    t, in_scope = statements.totals(*statements.bound(scope))
    zero, none = sa.literal(0, sa.Integer), sa.literal("", sa.String)
    since = sa.select(sa.literal("since", sa.String), zero, t.key, none, sa.func.sum(t.n)).where(
        t.metric == "progress", t.day >= sa.bindparam("progress_month"), *in_scope).group_by(t.key)
    # grouped by an expression: grouping by the bare column lets SQLite walk ix_enrolments_current_stage
    # over every enrolment (56 ms at 100k) instead of the range of ix_enrolments_stuck.
    # The two parts split the enrolments by the summary's own month expression (SQLite rounds a time to the
    # millisecond first, so a time in the last half millisecond of a month falls in the next one there);
    # the index range starts a millisecond early to hold those.
    stage_expr = sa.func.coalesce(Enrolment.current_stage, "")
    changed = Enrolment.progress_changed_at
    recent = sa.select(sa.literal("stuck", sa.String), zero, stage_expr, none, sa.func.count()).where(
        *statements.stuck(*statements.bound(scope), sa.bindparam("cutoff"), by_progress_time=True),
        changed >= sa.bindparam("month_from"),
        summaries.wib_month(db.session, changed) >= sa.bindparam("progress_month")).group_by(stage_expr)
    return [since, recent]


def _summary_rows(scope: Scope, lo: str, hi: str, visits_from: str, now: datetime) -> list[Any]:
    """(metric, kecamatan_id, key, day, n) rows for every view but the longest-stuck list and the sessions
    view, in one statement (UNION ALL):

    * ``stage`` and ``certified`` per kecamatan and key (the funnel, the kecamatan table);
    * ``certs`` and ``completed`` per month (``day``) in [lo, hi] and key (the monthly charts);
    * coverage (its rows carry no cohort): ``outlets``, ``visited`` and ``open`` in total, ``visit`` per
      day from ``visits_from`` (an index range), ``open_due`` from today;
    * ``since`` and ``stuck`` per stage, for the stuck counts (:func:`_stuck_parts`).

    All but the first and the last are read per region unless the scope is one kecamatan
    (:func:`statements.totals`): at 100,000 managers the admin's dashboard reads about 1,700 summary
    rows instead of 7,500 (PostgreSQL: about 1 ms instead of 3.5).
    """
    def build() -> Any:
        t = DashboardCount
        regions, cohort, kec = statements.bound(scope)
        counted = statements.summary(regions, cohort, kec)
        # the rest: per region unless the scope is one kecamatan (statements.totals)
        m, counted_m = statements.totals(regions, cohort, kec)
        _m, unit = statements.totals(regions, None, kec)  # (coverage rows carry no cohort)
        none = sa.literal("", sa.String)
        total = sa.func.sum(t.n)
        return sa.union_all(
            sa.select(t.metric, t.kecamatan_id, t.key, none, total)
            .where(t.metric.in_(["stage", "certified"]), *counted).group_by(t.metric, t.kecamatan_id, t.key),
            *_month_parts(m, unit, counted_m), *_stuck_parts(scope))

    stmt = statements.built(("summary", *statements.shape(scope)), build)
    return list(db.session.execute(stmt, {
        **statements.params(scope), **_stuck_params(scope, now), "lo": lo, "hi": hi, "visits_from": visits_from,
        "today": scope.today.isoformat()}).all())


def _month_parts(t: Any, unit: list[Any], counted: list[Any]) -> list[sa.Select[Any]]:
    """The parts of :func:`_summary_rows` read by month or day, from ``t`` (:func:`statements.totals`)."""
    none, zero = sa.literal("", sa.String), sa.literal(0, sa.Integer)
    total = sa.func.sum(t.n)
    return [
        sa.select(t.metric, zero, t.key, t.day, total)
        .where(t.metric.in_(["certs", "completed"]), t.day >= sa.bindparam("lo"), t.day <= sa.bindparam("hi"),
               *counted)
        .group_by(t.metric, t.day, t.key),
        sa.select(t.metric, zero, none, none, total)
        .where(t.metric.in_(["outlets", "visited", "open"]), *unit).group_by(t.metric),
        # (two parts rather than one with OR: each is then one range of the (metric, day) index, read from the
        # index alone)
        sa.select(t.metric, zero, none, t.day, total)
        .where(t.metric == "visit", t.day >= sa.bindparam("visits_from"), *unit).group_by(t.metric, t.day),
        sa.select(t.metric, zero, none, t.day, total)
        .where(t.metric == "open_due", t.day >= sa.bindparam("today"), *unit).group_by(t.metric, t.day),
    ]


def _longest_stuck(scope: Scope, now: datetime) -> list[StuckRow]:
    """The ``STUCK_ROWS`` enrolments longest without progress, with their person and outlet (1 query).

    One index walk per region (``ix_enrolments_stuck`` is ordered by progress time within a
    region), each stopping after a few rows, instead of sorting every stuck enrolment of DKI;
    only the first few of all regions' candidates are joined to their person and outlet (the
    candidates carry what the join needs, so the enrolments are not read a second time).
    """
    if not scope.region_ids:
        return []
    n = len(scope.region_ids)

    def build() -> Any:
        _regions, cohort, kec = statements.bound(scope)
        e = Enrolment
        parts = [sa.select(sa.select(e.id, e.progress_changed_at, e.current_stage, e.user_id, e.outlet_id).where(
            *statements.stuck([sa.bindparam(f"r{i}")], cohort, kec, sa.bindparam("cutoff"), by_progress_time=True))
            .order_by(e.progress_changed_at).limit(constant(STUCK_ROWS)).subquery()) for i in range(n)]
        c = _all_of(parts).c
        first = (sa.select(c.id, c.progress_changed_at, c.current_stage, c.user_id, c.outlet_id)
                 .order_by(c.progress_changed_at, c.id).limit(constant(STUCK_ROWS)).subquery())
        f = first.c
        o, u, k = Outlet.__table__, User.__table__, Kecamatan.__table__
        return (sa.select(f.id, u.c.full_name, o.c.name, k.c.name, f.current_stage, f.progress_changed_at)
                .select_from(first.join(u, u.c.id == f.user_id).join(o, o.c.id == f.outlet_id)
                             .join(k, k.c.id == o.c.kecamatan_id))
                .order_by(f.progress_changed_at, f.id))

    stmt = statements.built(("longest", n, *statements.shape(scope)), build)
    params = {**statements.params(scope), "cutoff": now - timedelta(days=scope.stuck_days),
              **{f"r{i}": rid for i, rid in enumerate(scope.region_ids)}}
    return [StuckRow(eid, name, outlet, kecamatan, stage, (now - changed).days)
            for eid, name, outlet, kecamatan, stage, changed in db.session.execute(stmt, params)]


def _all_of(parts: list[Any]) -> Any:
    """The rows of every region's walk (one SELECT each), as one subquery."""
    return (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery()


def _sessions(scope: Scope, now: datetime) -> tuple[list[SessionRow], list[SessionRow]]:
    """The next ``SESSION_ROWS`` sessions and the last ones in the date range, with their region's name and,
    for past ones, how many registered people attended and were marked (1 query)."""
    def build() -> Any:
        ts, rg, reg = TrainingSession.__table__, Region.__table__, Registration.__table__
        regions, cohort, _kec = statements.bound(scope)  # (sessions belong to a region, not a kecamatan)
        where = [ts.c.region_id.in_(regions), ts.c.status == constant(SessionStatus.SCHEDULED)]
        if cohort is not None:
            where.append(ts.c.cohort_id == cohort)
        counted = sa.and_(reg.c.session_id == ts.c.id, reg.c.status == constant(RegistrationStatus.REGISTERED))

        def count(*when: Any) -> Any:
            return sa.select(sa.func.count()).where(counted, *when).scalar_subquery()

        # (the constants written into the SQL, so that PostgreSQL plans it once: lms.db.constant)
        upcoming = (sa.select(sa.true().label("up"), ts.c.id, ts.c.starts_at)
                    .where(*where, ts.c.starts_at >= sa.bindparam("now", type_=ts.c.starts_at.type))
                    .order_by(ts.c.starts_at, ts.c.id).limit(constant(SESSION_ROWS)))
        past = (sa.select(sa.false().label("up"), ts.c.id, ts.c.starts_at)
                .where(*where, ts.c.starts_at < sa.bindparam("past_end", type_=ts.c.starts_at.type),
                       ts.c.starts_at >= sa.bindparam("past_start", type_=ts.c.starts_at.type))
                .order_by(ts.c.starts_at.desc(), ts.c.id.desc()).limit(constant(SESSION_ROWS)))
        picked = sa.union_all(sa.select(upcoming.subquery()), sa.select(past.subquery())).subquery()
        return (sa.select(picked.c.up, ts.c.id, ts.c.title, ts.c.starts_at, rg.c.name, ts.c.seats_taken, ts.c.capacity,
                          sa.case((picked.c.up, constant(0)), else_=count(reg.c.attendance.in_([constant(Attendance.PRESENT), constant(Attendance.LATE)]))),
                          sa.case((picked.c.up, constant(0)), else_=count(reg.c.attendance.is_not(None))))
                .select_from(picked.join(ts, ts.c.id == picked.c.id).join(rg, rg.c.id == ts.c.region_id)))

    stmt = statements.built(("sessions", statements.shape(scope)[0]), build)
    rows = db.session.execute(stmt, {
        **statements.params(scope), "now": now,
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
    at_stage = ([Enrolment.current_stage.is_(None)] if stage == DONE
                else [Enrolment.current_stage == stage] if stage else [])
    where = (stuck_where(scope, now) if stuck else statements.enrolments(*statements.values(scope))) + at_stage
    if stuck:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(*where)) or 0
    else:  # the same number, from the summary instead of counting enrolments
        t, in_scope = statements.totals(*statements.values(scope))
        total = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(t.n), 0)).where(
            t.metric == "stage", *in_scope, *([t.key == stage] if stage else [])))
    offset = (max(page, 1) - 1) * PER_PAGE
    if stuck:
        order = (Enrolment.progress_changed_at, Enrolment.id)
        chosen = Enrolment.id.in_(_stuck_page(scope, now, at_stage, offset))
    else:
        order, chosen = (Enrolment.id,), sa.and_(*where)
    query = (sa.select(Enrolment).where(chosen)
             .options(joinedload(Enrolment.user), joinedload(Enrolment.cohort),
                      joinedload(Enrolment.outlet).joinedload(Outlet.kecamatan))
             .order_by(*order))
    if not stuck:
        query = query.limit(PER_PAGE).offset(offset)
    return list(db.session.scalars(query)), int(total)


def _stuck_page(scope: Scope, now: datetime, at_stage: list[Any], offset: int) -> Any:
    """The ids of a page of the scope's stuck enrolments in progress order (a subquery).

    As for the longest-stuck list: each region's first ``offset + PER_PAGE`` from its walk of
    ``ix_enrolments_stuck`` (which stops there), then the page of all of them. Ordering every stuck
    enrolment of DKI joined to its person and outlet took 75 ms on SQLite and 25 on PostgreSQL at 100,000
    managers (the admin's "macet" bar of the funnel)."""
    e = Enrolment
    regions, cohort, kec = statements.values(scope)
    cutoff = now - timedelta(days=scope.stuck_days)
    parts = []
    for region in regions or [-1]:  # (no region: a part that finds nothing)
        conds = statements.stuck([region], cohort, kec, cutoff, by_progress_time=True) + at_stage
        parts.append(sa.select(sa.select(e.id, e.progress_changed_at).where(*conds)
                               .order_by(e.progress_changed_at, e.id).limit(offset + PER_PAGE).subquery()))
    c = _all_of(parts).c
    return sa.select(c.id).order_by(c.progress_changed_at, c.id).limit(PER_PAGE).offset(offset)
