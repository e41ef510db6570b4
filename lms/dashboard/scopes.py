"""What a dashboard covers: the scope (regions, cohort, kecamatan, date range, stuck threshold) an actor
may ask for, the reference places it names, the cohorts the filter offers, and the WIB dates it works in."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from .. import permissions
from ..db import utcnow
from ..errors import NotAllowed
from ..extensions import db
from ..i18n import to_wib
from ..places.models import Kecamatan, Region
from ..programme.models import Cohort, cohort_regions
from . import statements

DEFAULT_STUCK_DAYS = 60
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


def places() -> tuple[list[Place], list[Place]]:
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
    regions, _kecs = places()
    if not permissions.is_admin(actor) and actor.region_id is not None:
        return [r for r in regions if r.id == actor.region_id]
    return list(regions)


def kecamatan_places(regions: list[Any]) -> list[Place]:
    """``kecamatan_for`` from the per-process copy (no query), by name."""
    ids = {r.id for r in regions}
    return sorted((k for k in places()[1] if k.region_id in ids), key=lambda k: (k.name, k.id))


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
        t, in_scope = statements.totals(*statements.bound(scope))
        # months after this one hold no real activity (only a mistyped or hand-written date): ignored
        conds = [*in_scope, t.day != "", t.day <= sa.bindparam("month")]
        # one MAX per metric: each is a backward walk of ix_dashboard_counts_metric_day that stops at the first
        # row in scope (a MAX over both metrics at once read every month of both)
        each = sa.union_all(*(sa.select(sa.func.max(t.day).label("day")).where(t.metric == m, *conds)
                              for m in ("completed", "certs"))).subquery()
        return sa.select(sa.func.max(each.c.day))

    stmt = statements.built(("latest", *statements.shape(scope)), build)
    last = db.session.scalar(stmt, {**statements.params(scope), "month": scope.today.strftime("%Y-%m")})
    if not last:
        return None
    first = date.fromisoformat(last + "-01")
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


@dataclass(frozen=True)
class CohortChoice:
    """A cohort as a filter offers it: its name and its regions (for the rule ``cohort.view``)."""

    id: int
    name: str
    regions: tuple[RegionRef, ...]


@dataclass(frozen=True)
class RegionRef:
    id: int


def cohort_choices(actor: Any) -> list[CohortChoice]:
    """The cohorts the actor may see, newest first, with their regions' ids (1 query, no ORM objects)."""
    c, cr = Cohort.__table__, cohort_regions
    rows = db.session.execute(
        sa.select(c.c.id, c.c.name, cr.c.region_id).select_from(c.outerjoin(cr, cr.c.cohort_id == c.c.id))
        .order_by(c.c.start_date.desc(), c.c.id.desc())).all()
    found: dict[int, tuple[str, list[RegionRef]]] = {}
    for cid, name, rid in rows:
        entry = found.setdefault(cid, (name, []))
        if rid is not None:
            entry[1].append(RegionRef(rid))
    out = [CohortChoice(cid, name, tuple(rs)) for cid, (name, rs) in found.items()]
    return [ch for ch in out if permissions.can(actor, "cohort.view", ch)]
