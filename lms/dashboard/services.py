"""The coordinator dashboard: numbers for one scope (cohort, region, kecamatan, date range).

Every view reads the maintained summaries (:mod:`lms.dashboard.summaries`) or a bounded
slice of a source table through an index, so the number of queries and the rows they
touch do not grow with the number of managers or visits:

* funnel, per-kecamatan table, coverage, certificates and completions per month: a few
  hundred ``dashboard_counts`` rows at most;
* stuck managers: an index range over the stuck enrolments only (``ix_enrolments_stuck``);
* sessions: the next and the last few sessions, and their registrations.

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
from ..i18n import to_wib
from ..places.models import Kecamatan, Outlet, Region
from ..programme import services as programme
from ..programme.models import Cohort, Enrolment, EnrolmentStatus
from ..sessions.models import Attendance, Registration, RegistrationStatus, SessionStatus, TrainingSession
from .models import DashboardCount
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
    """The last month with a completion or a certificate in scope (one indexed MAX over the summary).

    Without an explicit range the monthly charts end there rather than at today, so a
    programme that ended (like the 2018 demo cohort) still shows its last twelve months.
    """
    t = DashboardCount
    # months after this one hold no real activity (only a mistyped or hand-written date): ignored
    conds = [t.metric.in_(["completed", "certs"]), t.region_id.in_(scope.region_ids), t.day != "",
             t.day <= scope.today.strftime("%Y-%m")]
    if scope.cohort_id:
        conds.append(t.cohort_id == scope.cohort_id)
    if scope.kecamatan_id:
        conds.append(t.kecamatan_id == scope.kecamatan_id)
    last = db.session.scalar(sa.select(sa.func.max(t.day)).where(*conds))
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


@dataclass
class SessionRow:
    session: TrainingSession
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
    enrolment: Enrolment
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


def _counts_of(scope: Scope, metrics: tuple[str, ...], *cols: Any, where: Any = None) -> list[Any]:
    """:func:`_counts` of several metrics (same filters, cohort included) in one query: rows start with the metric."""
    t = DashboardCount
    conds = [t.metric.in_(metrics), t.region_id.in_(scope.region_ids)]
    if scope.cohort_id:
        conds.append(t.cohort_id == scope.cohort_id)
    if scope.kecamatan_id:
        conds.append(t.kecamatan_id == scope.kecamatan_id)
    if where is not None:
        conds.append(where)
    return list(db.session.execute(sa.select(t.metric, *cols, sa.func.sum(t.n)).where(*conds)
                                   .group_by(t.metric, *cols)).all())


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


def dashboard(actor: Any, scope: Scope, lang: str = "id", now: datetime | None = None) -> Dashboard:
    """Every view's numbers: :func:`dashboard_numbers` with :func:`dashboard_sessions`."""
    now = now or utcnow()
    data = dashboard_numbers(actor, scope, lang, now)
    sessions = dashboard_sessions(actor, scope, now)
    data.upcoming, data.past = sessions.upcoming, sessions.past
    return data


def dashboard_sessions(actor: Any, scope: Scope, now: datetime | None = None) -> SessionsView:
    """The sessions view: the next and the last few sessions in scope (3 queries). Kept apart from the
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

    # funnel, per kecamatan and certified (1 query over the summary; the funnel is the kecamatan rows' sum)
    by_stage: dict[str, int] = defaultdict(int)
    per_kec: dict[int, dict[str, int]] = defaultdict(dict)
    certified: dict[int, int] = defaultdict(int)
    for metric, kec_id, key, n in _counts_of(scope, ("stage", "certified"), DashboardCount.kecamatan_id,
                                             DashboardCount.key):
        if metric == "stage":
            by_stage[key] += int(n or 0)
            per_kec[kec_id][key] = int(n or 0)
        else:
            certified[kec_id] += int(n or 0)
    stages = [StageCount(k, n, by_stage.get(k, 0)) for k, n in names]
    stages += [StageCount(k, k, n) for k, n in sorted(by_stage.items()) if k not in name_of]
    enrolled = sum(s.count for s in stages)

    # stuck (2 queries: counts by stage, the longest-stuck few)
    stuck_where = _stuck_where(scope, now)
    # grouped by an expression: grouping by the bare column lets SQLite walk ix_enrolments_current_stage
    # over every enrolment (56 ms at 100k) instead of the stuck range of ix_enrolments_stuck (4 ms)
    stage_expr = sa.func.coalesce(Enrolment.current_stage, "")
    stuck_counts = dict(db.session.execute(
        sa.select(stage_expr, sa.func.count()).where(*stuck_where).group_by(stage_expr)).all())
    stuck_by_stage = [StageCount(k, n, int(stuck_counts.get(k, 0))) for k, n in names if k != DONE]
    stuck_rows = [StuckRow(e, (now - e.progress_changed_at).days) for e in _longest_stuck(scope, now)]

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

    # coverage (1 query: six sums over dashboard_counts)
    coverage = _coverage(scope)

    # months (1 query: certificates by kind and completions)
    first, last = scope.range_start, scope.range_end
    months = months_between(first, last)
    lo, hi = months[0].strftime("%Y-%m") if months else "", last.strftime("%Y-%m")
    window = sa.and_(DashboardCount.day >= lo, DashboardCount.day <= hi)
    certs = {m.strftime("%Y-%m"): MonthCount(m, 0) for m in months}
    completions = {m.strftime("%Y-%m"): MonthCount(m, 0) for m in months}
    kinds: set[str] = set()
    for metric, day, kind, n in _counts_of(scope, ("certs", "completed"), DashboardCount.day, DashboardCount.key,
                                           where=window):
        if metric == "certs" and day in certs:
            certs[day].count += int(n or 0)
            certs[day].by_key[kind] = certs[day].by_key.get(kind, 0) + int(n or 0)
            kinds.add(kind)
        elif metric == "completed" and day in completions:
            completions[day].count += int(n or 0)

    return Dashboard(scope=scope, stages=stages, enrolled=enrolled, stuck_total=sum(s.count for s in stuck_by_stage),
                     stuck_by_stage=stuck_by_stage, stuck_rows=stuck_rows, kecamatan_rows=kec_rows,
                     upcoming=[], past=[], coverage=coverage, certificates=list(certs.values()),
                     certificate_kinds=sorted(kinds), completions=list(completions.values()))


def _longest_stuck(scope: Scope, now: datetime) -> list[Enrolment]:
    """The ``STUCK_ROWS`` enrolments longest without progress (2 queries).

    One index walk per region (``ix_enrolments_stuck`` is ordered by progress time within a
    region), each stopping after a few rows, instead of sorting every stuck enrolment of DKI.
    """
    cutoff = now - timedelta(days=scope.stuck_days)
    parts = []
    for rid in scope.region_ids:
        conds = [Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.region_id == rid,
                 Enrolment.progress_changed_at < cutoff, Enrolment.current_stage.is_not(None)]
        if scope.cohort_id:
            conds.append(Enrolment.cohort_id == scope.cohort_id)
        if scope.kecamatan_id:
            conds.append(Enrolment.outlet_id.in_(sa.select(Outlet.id).where(Outlet.kecamatan_id == scope.kecamatan_id)))
        parts.append(sa.select(sa.select(Enrolment.id).where(*conds).order_by(Enrolment.progress_changed_at)
                               .limit(STUCK_ROWS).subquery()))
    if not parts:
        return []
    ids = list(db.session.scalars(sa.union_all(*parts) if len(parts) > 1 else parts[0]))
    if not ids:
        return []
    # the first few of all regions' candidates: only those are loaded (with their person and outlet)
    return list(db.session.scalars(
        sa.select(Enrolment).where(Enrolment.id.in_(ids))
        .options(joinedload(Enrolment.user), joinedload(Enrolment.outlet).joinedload(Outlet.kecamatan))
        .order_by(Enrolment.progress_changed_at, Enrolment.id).limit(STUCK_ROWS)))


def _coverage(scope: Scope) -> Coverage:
    """Mentor coverage now, in one query: the per-day rows only from the earliest day that counts (an
    index range), the per-kecamatan totals whole."""
    today = scope.today
    overdue_days = programme.default_curriculum().visit_overdue_days
    recent_from = (today - timedelta(days=COVERAGE_DAYS - 1)).isoformat()
    fresh_from = (today - timedelta(days=overdue_days - 1)).isoformat()
    t = DashboardCount
    rows = sa.or_(t.metric.in_(["outlets", "visited", "open"]),
                  sa.and_(t.metric == "visit", t.day >= min(recent_from, fresh_from)),
                  sa.and_(t.metric == "open_due", t.day >= today.isoformat()))
    conds = [rows, t.region_id.in_(scope.region_ids)]  # (the coverage rows carry no cohort)
    if scope.kecamatan_id:
        conds.append(t.kecamatan_id == scope.kecamatan_id)

    def total(*when: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*when), t.n), else_=0)), 0)

    outlets, visited, recent, fresh, open_total, not_yet_due = (int(v or 0) for v in db.session.execute(
        sa.select(total(t.metric == "outlets"), total(t.metric == "visited"),
                  total(t.metric == "visit", t.day >= recent_from), total(t.metric == "visit", t.day >= fresh_from),
                  total(t.metric == "open"), total(t.metric == "open_due")).where(*conds)).one())
    return Coverage(outlets=outlets, recent=recent, overdue=max(visited - fresh, 0), never=max(outlets - visited, 0),
                    past_due_actions=max(open_total - not_yet_due, 0), overdue_days=overdue_days)


def _session_where(scope: Scope) -> list[Any]:
    conds: list[Any] = [TrainingSession.region_id.in_(scope.region_ids), TrainingSession.status == SessionStatus.SCHEDULED]
    if scope.cohort_id:
        conds.append(TrainingSession.cohort_id == scope.cohort_id)
    return conds


def _sessions(scope: Scope, now: datetime) -> tuple[list[SessionRow], list[SessionRow]]:
    where = _session_where(scope)
    upcoming = list(db.session.scalars(
        sa.select(TrainingSession).options(joinedload(TrainingSession.region)).where(*where, TrainingSession.starts_at >= now)
        .order_by(TrainingSession.starts_at, TrainingSession.id).limit(SESSION_ROWS)))
    past_end = min(wib_start_utc(scope.range_end + timedelta(days=1)), now)
    past = list(db.session.scalars(
        sa.select(TrainingSession).options(joinedload(TrainingSession.region))
        .where(*where, TrainingSession.starts_at < past_end,
               TrainingSession.starts_at >= wib_start_utc(scope.range_start))
        .order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc()).limit(SESSION_ROWS)))
    stats: dict[int, tuple[int, int]] = {}
    if past:
        attended = sa.func.sum(sa.case((Registration.attendance.in_([Attendance.PRESENT, Attendance.LATE]), 1), else_=0))
        marked = sa.func.sum(sa.case((Registration.attendance.is_not(None), 1), else_=0))
        stats = {sid: (int(a or 0), int(m or 0)) for sid, a, m in db.session.execute(
            sa.select(Registration.session_id, attended, marked)
            .where(Registration.session_id.in_([s.id for s in past]),
                   Registration.status == RegistrationStatus.REGISTERED)
            .group_by(Registration.session_id))}
    up_rows = [SessionRow(s, s.seats_taken, s.capacity) for s in upcoming]
    past_rows = [SessionRow(s, s.seats_taken, s.capacity, *stats.get(s.id, (0, 0))) for s in past]
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


def kecamatan_for(regions: list[Region]) -> list[Kecamatan]:
    return list(db.session.scalars(sa.select(Kecamatan).where(Kecamatan.region_id.in_([r.id for r in regions]))
                                   .order_by(Kecamatan.name)))

