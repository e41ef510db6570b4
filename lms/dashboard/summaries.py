"""Keeping ``dashboard_counts``, its per-region sums and ``outlets.last_visit_on`` equal to the source tables.

The rule: the summary is recounted, per kecamatan, in the same transaction as the change
it summarises. A SQLAlchemy ``after_flush`` hook notes which kecamatan a flushed
enrolment, outlet, visit, action item or certificate touches (old and new values), and a
``before_commit`` hook recounts exactly those kecamatan from the source rows before the
commit. So nothing can forget to update the summary, a rolled-back transaction rolls
the summary back with it, and the recount is the same SQL as the full rebuild
(:func:`rebuild_all`) restricted to a few kecamatan — a test compares the two.

A recount reads the rows of one kecamatan (about 1/44 of the outlets), never the visits
table as a whole: ``outlets.last_visit_on`` carries each outlet's latest visit day,
refreshed from the ``(outlet_id, visited_at)`` index for the outlets whose visits changed.
It writes only the rows whose count changed, and adds the changes to
``dashboard_region_counts`` (the same rows added up per region, which the views of whole
regions read); the tests' comparison with a rebuild covers those rows too.

Writes made with bulk SQL (``insert()``/``update()`` statements) bypass the ORM and the
hook; the bench-data generator calls :func:`rebuild_all` afterwards, and
``flask --app lms dashboard rebuild`` does the same by hand.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, attributes
from sqlalchemy.orm.util import identity_key

from ..certification.models import Certificate, CertificateStatus
from ..db import built, constant
from ..i18n import to_wib
from ..places.models import Outlet
from ..programme.models import Cohort, Enrolment, EnrolmentStatus
from ..sessions.models import Registration, TrainingSession
from ..visits.models import ActionItem, Visit
from .models import DashboardCount, DashboardRegionCount

#: metric groups, each recounted as a whole for a unit (region_id, kecamatan_id)
ENROLMENT, CERTIFICATE, VISIT, ACTION = "E", "C", "V", "A"
GROUP_METRICS = {
    ENROLMENT: ("stage", "completed", "progress"),
    CERTIFICATE: ("certified", "certs"),
    VISIT: ("outlets", "visited", "visit"),
    ACTION: ("open", "open_due"),
}
DONE = "_done"
#: the certificates that mean "completed the programme" (per-kecamatan "certified" column)
PROGRAMME_SUBJECT = "enrolment"

_INFO_OUTLETS = "lms.dashboard.outlets"      # {group: set(outlet_id)}
_INFO_UNITS = "lms.dashboard.units"          # {group: set((region_id, kecamatan_id))}
_INFO_VISITED = "lms.dashboard.visited"      # outlet ids whose visits changed
_INFO_BUMP = "lms.dashboard.bump"            # region ids with a change the cache must see
Unit = tuple[int, int]


# --- SQL pieces shared by the recount and the rebuild ---------------------------------------

def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


#: the last WIB moment a Python datetime can hold: a stored time in the last seven hours of year
#: 9999 (UTC) counts on this day instead of on a day of year 10000 (which no page could show)
LAST_WIB = "9999-12-31 23:59:59"


def _wib_text(session: Session, col: Any, month: bool) -> Any:
    """'YYYY-MM' (or 'YYYY-MM-DD') of a UTC timestamp column in WIB (UTC+7, no daylight saving)."""
    if _dialect(session) == "sqlite":
        fmt = "'%Y-%m'" if month else "'%Y-%m-%d'"
        # strftime gives NULL past year 9999
        return sa.func.coalesce(sa.func.strftime(sa.literal_column(fmt), col, sa.literal_column("'+7 hours'")),
                                sa.func.strftime(sa.literal_column(fmt), sa.literal(LAST_WIB)))
    fmt = "'YYYY-MM'" if month else "'YYYY-MM-DD'"
    return sa.func.to_char(_wib_pg(col), sa.literal_column(fmt))


def wib_month(session: Session, col: Any) -> Any:
    """'YYYY-MM' of a UTC timestamp column in WIB, as the summaries' month rows are keyed."""
    return _wib_text(session, col, month=True)


def _wib_pg(col: Any) -> Any:
    """PostgreSQL: a UTC timestamp column moved to WIB, never past the last day Python can read."""
    shifted = sa.func.least(col + sa.literal_column("interval '7 hours'"),
                            sa.literal_column(f"timestamp '{LAST_WIB}'"))
    return sa.case((col.is_(None), None), else_=shifted)  # LEAST skips NULLs: keep a NULL a NULL


def _date_text(session: Session, col: Any) -> Any:
    """A DATE column as 'YYYY-MM-DD' text."""
    if _dialect(session) == "sqlite":
        return sa.func.strftime(sa.literal_column("'%Y-%m-%d'"), col)
    return sa.func.to_char(col, sa.literal_column("'YYYY-MM-DD'"))


def _lit(value: Any, type_: Any = sa.Integer) -> Any:
    return sa.literal(value, type_)


def _selects(session: Session, group: str, outlet_where: Any, *, few: bool = False) -> list[sa.Select[Any]]:
    """SELECTs producing (metric, cohort_id, region_id, kecamatan_id, key, day, n) rows of ``group``.

    ``outlet_where`` limits the outlets (a condition on ``Outlet``); certificates without an
    outlet are handled by :func:`_loose_certificates`. ``few``: it is a few kecamatan (a recount).
    """
    o = Outlet
    if group == ENROLMENT:
        if few and _dialect(session) == "postgresql":
            # each outlet's enrolments looked up by outlet (ix_enrolments_outlet_id). With a join, PostgreSQL's
            # default costs (random_page_cost 4) judge the lookups of a kecamatan's 1,400 outlets dearer than
            # reading all 100,000 enrolments, three times: a recount took 42 ms at 100k instead of about 25.
            # (SQLite looks them up by itself.)
            each = (sa.select(Enrolment.cohort_id, Enrolment.current_stage, Enrolment.status, Enrolment.completed_at,
                              Enrolment.progress_changed_at).where(Enrolment.outlet_id == o.id)
                    .offset(constant(0))  # (a subquery with an OFFSET is not merged into a join)
                    .lateral("e"))
            e = each.c
            source = lambda select: select.select_from(o).join(each, sa.true())  # noqa: E731
        else:
            e = Enrolment.__table__.c
            source = lambda select: select.select_from(Enrolment).join(o, o.id == Enrolment.outlet_id)  # noqa: E731
        stage = sa.func.coalesce(e.current_stage, DONE)
        month = _wib_text(session, e.completed_at, month=True)
        progressed = _wib_text(session, e.progress_changed_at, month=True)
        return [
            source(sa.select(_lit("stage", sa.String), e.cohort_id, o.region_id, o.kecamatan_id, stage,
                             _lit("", sa.String), sa.func.count()))
            .where(outlet_where, e.status == EnrolmentStatus.ACTIVE)
            .group_by(e.cohort_id, o.region_id, o.kecamatan_id, stage),
            source(sa.select(_lit("completed", sa.String), e.cohort_id, o.region_id, o.kecamatan_id,
                             _lit("", sa.String), month, sa.func.count()))
            .where(outlet_where, e.completed_at.is_not(None))
            .group_by(e.cohort_id, o.region_id, o.kecamatan_id, month),
            source(sa.select(_lit("progress", sa.String), e.cohort_id, o.region_id, o.kecamatan_id, e.current_stage,
                             progressed, sa.func.count()))
            .where(outlet_where, e.status == EnrolmentStatus.ACTIVE, e.current_stage.is_not(None))
            .group_by(e.cohort_id, o.region_id, o.kecamatan_id, e.current_stage, progressed),
        ]
    if group == CERTIFICATE:
        c = Certificate
        month = _wib_text(session, c.issued_at, month=True)
        cohort = sa.func.coalesce(c.cohort_id, 0)
        return [
            sa.select(_lit("certified", sa.String), cohort, o.region_id, o.kecamatan_id, _lit("", sa.String),
                      _lit("", sa.String), sa.func.count())
            .select_from(c).join(o, o.id == c.outlet_id)
            .where(outlet_where, c.status == CertificateStatus.ACTIVE, c.subject_type == PROGRAMME_SUBJECT)
            .group_by(cohort, o.region_id, o.kecamatan_id),
            sa.select(_lit("certs", sa.String), cohort, o.region_id, o.kecamatan_id, c.kind, month, sa.func.count())
            .select_from(c).join(o, o.id == c.outlet_id).where(outlet_where, c.status == CertificateStatus.ACTIVE)
            .group_by(cohort, o.region_id, o.kecamatan_id, c.kind, month),
        ]
    if group == VISIT:
        active = sa.and_(outlet_where, o.active.is_(True))
        day = _date_text(session, o.last_visit_on)
        return [
            sa.select(_lit("outlets", sa.String), _lit(0), o.region_id, o.kecamatan_id, _lit("", sa.String),
                      _lit("", sa.String), sa.func.count()).select_from(o).where(active).group_by(o.region_id, o.kecamatan_id),
            sa.select(_lit("visited", sa.String), _lit(0), o.region_id, o.kecamatan_id, _lit("", sa.String),
                      _lit("", sa.String), sa.func.count())
            .select_from(o).where(active, o.last_visit_on.is_not(None)).group_by(o.region_id, o.kecamatan_id),
            sa.select(_lit("visit", sa.String), _lit(0), o.region_id, o.kecamatan_id, _lit("", sa.String), day,
                      sa.func.count())
            .select_from(o).where(active, o.last_visit_on.is_not(None)).group_by(o.region_id, o.kecamatan_id, day),
        ]
    if group == ACTION:
        a = ActionItem
        day = _date_text(session, a.due_on)
        open_ = sa.and_(outlet_where, o.active.is_(True), a.done_at.is_(None))
        return [
            sa.select(_lit("open", sa.String), _lit(0), o.region_id, o.kecamatan_id, _lit("", sa.String),
                      _lit("", sa.String), sa.func.count())
            .select_from(a).join(o, o.id == a.outlet_id).where(open_).group_by(o.region_id, o.kecamatan_id),
            sa.select(_lit("open_due", sa.String), _lit(0), o.region_id, o.kecamatan_id, _lit("", sa.String), day,
                      sa.func.count())
            .select_from(a).join(o, o.id == a.outlet_id).where(open_).group_by(o.region_id, o.kecamatan_id, day),
        ]
    raise ValueError(group)


def _loose_certificates(session: Session, region_where: Any) -> sa.Select[Any]:
    """Certificates with no outlet (kecamatan 0), by the certificate's own region."""
    c = Certificate
    month = _wib_text(session, c.issued_at, month=True)
    cohort = sa.func.coalesce(c.cohort_id, 0)
    return (sa.select(_lit("certs", sa.String), cohort, c.region_id, _lit(0), c.kind, month, sa.func.count())
            .select_from(c).where(region_where, c.outlet_id.is_(None), c.status == CertificateStatus.ACTIVE)
            .group_by(cohort, c.region_id, c.kind, month))


_COLUMNS = ["metric", "cohort_id", "region_id", "kecamatan_id", "key", "day", "n"]


def _insert_from(session: Session, select: sa.Select[Any]) -> None:
    table = DashboardCount.__table__
    session.execute(sa.insert(table).from_select(_COLUMNS, select))


# --- last visit day per outlet ---------------------------------------------------------------

def refresh_last_visits(session: Session, outlet_ids: Iterable[int]) -> None:
    """Set ``outlets.last_visit_on`` of these outlets from their visits (index lookups)."""
    ids = sorted(set(outlet_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        latest = dict(session.execute(
            sa.select(Visit.outlet_id, sa.func.max(Visit.visited_at)).where(Visit.outlet_id.in_(chunk))
            .group_by(Visit.outlet_id)).all())
        params = []
        for oid in chunk:
            at = latest.get(oid)
            if isinstance(at, str):  # func.max over a TypeDecorator column comes back raw on SQLite
                at = datetime.fromisoformat(at)
            day = None
            if at is not None:
                if at.tzinfo is None:
                    at = at.replace(tzinfo=timezone.utc)
                day = to_wib(at).date()
            params.append({"oid": oid, "day": day})
        if params:
            session.execute(sa.update(Outlet.__table__).where(Outlet.__table__.c.id == sa.bindparam("oid"))
                            .values(last_visit_on=sa.bindparam("day")), params)


def _refresh_all_last_visits(session: Session) -> None:
    """Every outlet's ``last_visit_on`` in one statement."""
    latest = sa.select(sa.func.max(Visit.visited_at)).where(Visit.outlet_id == Outlet.id).scalar_subquery()
    if _dialect(session) == "sqlite":
        day = sa.func.coalesce(sa.func.date(latest, sa.literal_column("'+7 hours'")),
                               sa.case((latest.is_not(None), sa.func.date(sa.literal(LAST_WIB)))))
    else:
        day = sa.cast(_wib_pg(latest), sa.Date)
    session.execute(sa.update(Outlet.__table__).values(last_visit_on=day))


# --- recount ---------------------------------------------------------------------------------

def _recount_statements(session: Session, group: str) -> tuple[Any, list[Any]]:
    """The SELECT of a group's rows as they are and the SELECTs of them as the source tables say, for some
    kecamatan (``kecs``, an expanding bound parameter): built once per process, database kind and group (every
    committing registration, check-in or visit runs them)."""
    def build() -> tuple[Any, list[Any]]:
        table = DashboardCount.__table__
        kept = sa.select(*[table.c[c] for c in _COLUMNS]).where(
            table.c.metric.in_(GROUP_METRICS[group]), table.c.kecamatan_id.in_(sa.bindparam("kecs", expanding=True)))
        return kept, _selects(session, group, Outlet.kecamatan_id.in_(sa.bindparam("kecs", expanding=True)),
                              few=True)

    return built(("dashboard.recount", _dialect(session), group), build)


def recount(session: Session, units: dict[str, set[Unit]]) -> None:
    """Recount the metric groups of these (region_id, kecamatan_id) units, and bump their regions' versions.

    The rows are counted again from the source tables and compared with the rows kept; only the rows that
    differ are written (a visit changes two or three of a kecamatan's few hundred rows), and their differences
    are added to the per-region rows.

    Recounts of one region follow each other: each first raises the region's version (:func:`bump_versions`, an
    UPDATE of one row, which holds it until the commit), and on PostgreSQL every statement after it sees what
    the one before committed. So the rows compared with are the ones the per-region rows add up."""
    table = DashboardCount.__table__
    bump_versions(session, {r for group_units in units.values() for r, _k in group_units})
    for group, group_units in units.items():
        if not group_units:
            continue
        kec_ids = sorted({k for _r, k in group_units if k})
        loose_regions = sorted({r for r, k in group_units if not k})
        kept, counted = _recount_statements(session, group)
        for start in range(0, len(kec_ids), 200):
            chunk = {"kecs": kec_ids[start:start + 200]}
            _write_differences(session, _rows(session, [kept], chunk), _rows(session, counted, chunk))
        if group == CERTIFICATE and loose_regions:
            loose = {"regions": loose_regions}
            kept_loose = built(("dashboard.loose", _dialect(session)), lambda: sa.select(
                *[table.c[c] for c in _COLUMNS]).where(table.c.metric == "certs", table.c.kecamatan_id == 0,
                                                       table.c.region_id.in_(sa.bindparam("regions", expanding=True))))
            counted_loose = built(("dashboard.loose_count", _dialect(session)), lambda: _loose_certificates(
                session, Certificate.region_id.in_(sa.bindparam("regions", expanding=True))))
            _write_differences(session, _rows(session, [kept_loose], loose), _rows(session, [counted_loose], loose))


Row = tuple[Any, ...]


def _rows(session: Session, selects: list[Any], params: dict[str, Any]) -> dict[Row, int]:
    """{(metric, cohort_id, region_id, kecamatan_id, key, day): n} of these SELECTs."""
    out: dict[Row, int] = {}
    for select in selects:
        for *key, n in session.execute(select, params):
            out[tuple(key)] = int(n)
    return out


def _write_differences(session: Session, kept: dict[Row, int], counted: dict[Row, int]) -> None:
    """Make the kept rows equal to the counted ones, writing only those that differ, and add the differences
    to the per-region rows."""
    table, rt = DashboardCount.__table__, DashboardRegionCount.__table__
    gone = [k for k in kept if k not in counted]
    changed = [k for k, n in counted.items() if k in kept and kept[k] != n]
    added = [k for k in counted if k not in kept]
    if not (gone or changed or added):
        return
    pk = lambda k: dict(zip(_COLUMNS[:-1], k))  # noqa: E731
    delete, update, insert = built(("dashboard.write_rows",), lambda: (
        sa.delete(table).where(*[table.c[c] == sa.bindparam(c) for c in _COLUMNS[:-1]]),
        sa.update(table).where(*[table.c[c] == sa.bindparam("k_" + c) for c in _COLUMNS[:-1]])
        .values(n=sa.bindparam("n")),
        sa.insert(table)))
    if gone:
        session.execute(delete, [pk(k) for k in gone])
    if changed:
        session.execute(update, [{**{"k_" + c: v for c, v in pk(k).items()}, "n": counted[k]} for k in changed])
    if added:
        session.execute(insert, [{**pk(k), "n": counted[k]} for k in added])
    # the per-region rows: (metric, cohort_id, region_id, key, day) without the kecamatan
    deltas: dict[Row, int] = defaultdict(int)
    for k in gone:
        deltas[k[:3] + k[4:]] -= kept[k]
    for k in changed:
        deltas[k[:3] + k[4:]] += counted[k] - kept[k]
    for k in added:
        deltas[k[:3] + k[4:]] += counted[k]
    deltas = {k: d for k, d in deltas.items() if d}
    if not deltas:
        return
    add, zero = built(("dashboard.region_rows", _dialect(session)), lambda: (
        _add_to_regions(_dialect(session)),
        sa.delete(rt).where(*[rt.c[c] == sa.bindparam(c) for c in _REGION_COLUMNS[:-1]], rt.c.n == 0)))
    rows = [{**dict(zip(_REGION_COLUMNS[:-1], k)), "n": d} for k, d in sorted(deltas.items())]
    session.execute(add, rows)
    if any(d < 0 for d in deltas.values()):
        session.execute(zero, [{c: r[c] for c in _REGION_COLUMNS[:-1]} for r in rows if r["n"] < 0])


# --- the same rows added up per region ------------------------------------------------------

_REGION_COLUMNS = ["metric", "cohort_id", "region_id", "key", "day", "n"]


def _add_to_regions(dialect: str) -> Any:
    """INSERT … ON CONFLICT that adds ``n`` to a per-region row (making it when there is none)."""
    rt = DashboardRegionCount.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(rt).values({c: sa.bindparam(c) for c in _REGION_COLUMNS})
    return stmt.on_conflict_do_update(index_elements=[rt.c[c] for c in _REGION_COLUMNS[:-1]],
                                      set_={"n": rt.c.n + stmt.excluded.n})


def rebuild_regions(session: Session) -> None:
    """Every region row from the per-kecamatan rows (inside the caller's transaction)."""
    t, rt = DashboardCount.__table__, DashboardRegionCount.__table__
    session.execute(sa.delete(rt))
    session.execute(sa.insert(rt).from_select(_REGION_COLUMNS, sa.select(
        t.c.metric, t.c.cohort_id, t.c.region_id, t.c.key, t.c.day, sa.func.sum(t.c.n))
        .where(t.c.metric.not_in(VERSIONS)).group_by(t.c.metric, t.c.cohort_id, t.c.region_id, t.c.key, t.c.day)))


#: the version of a region's summarised numbers (raised by every recount)
VERSION = "version"
#: the version of a region's training sessions and registrations (seats, attendance): the dashboard's
#: sessions view only, so that a morning of registrations and check-ins does not make every other view
#: be counted again
SESSIONS_VERSION = "version_s"
VERSIONS = (VERSION, SESSIONS_VERSION)


def bump_versions(session: Session, region_ids: Iterable[int], metric: str = VERSION) -> None:
    """Count one more change in these regions (the dashboard's cache key; see lms.dashboard.cache).

    Versions only grow, so the sum over a scope's regions names one state of its numbers.
    """
    ids = sorted(set(region_ids))
    if not ids:
        return
    t = DashboardCount.__table__

    def version_rows() -> Any:
        return sa.and_(t.c.metric == metric, t.c.cohort_id == 0, t.c.kecamatan_id == 0, t.c.key == "", t.c.day == "")

    update = built(("dashboard.bump", metric), lambda: sa.update(t).where(
        version_rows(), t.c.region_id.in_(sa.bindparam("ids", expanding=True))).values(n=t.c.n + 1))
    done = session.execute(update, {"ids": ids}).rowcount
    if done < len(ids):
        have = set(session.scalars(sa.select(t.c.region_id).where(version_rows(), t.c.region_id.in_(ids))))
        for rid in ids:
            if rid not in have:
                session.execute(sa.insert(t).values(metric=metric, cohort_id=0, region_id=rid, kecamatan_id=0,
                                                    key="", day="", n=1))


def session_changed(session: Session, session_id: int) -> None:
    """A training session's seats or registrations changed through a bulk UPDATE (which the ORM
    hooks do not see): raise its region's sessions version at commit so the dashboard reads them again."""
    session.info.setdefault(_INFO_BUMP, set()).add(("session", session_id))


def rebuild_all(session: Session | None = None, *, per_region: bool = True) -> None:
    """Recount everything from the source tables (inside the caller's transaction). ``per_region`` False: not
    the per-region rows (for the migration that made the summaries, before their table existed)."""
    if session is None:
        from ..extensions import db
        session = db.session
    session.flush()
    _refresh_all_last_visits(session)
    t = DashboardCount.__table__
    # every version goes past its highest value so far: no cached view can be taken for the recounted numbers
    tops = {m: session.scalar(sa.select(sa.func.max(t.c.n)).where(t.c.metric == m)) or 0 for m in VERSIONS}
    session.execute(sa.delete(t))
    from ..places.models import Region
    for rid in session.scalars(sa.select(Region.id)):
        for metric, top in tops.items():
            session.execute(sa.insert(t).values(metric=metric, cohort_id=0, region_id=rid, kecamatan_id=0, key="",
                                                day="", n=top + 1))
    for group in GROUP_METRICS:
        for select in _selects(session, group, sa.true()):
            _insert_from(session, select)
    _insert_from(session, _loose_certificates(session, sa.true()))
    if per_region:
        rebuild_regions(session)
    _pending(session).clear()
    session.info.pop(_INFO_VISITED, None)


def snapshot(session: Session, *, per_region: bool = True) -> set[tuple[Any, ...]]:
    """Every summary row as a tuple, the per-region ones marked ``"region"`` (tests compare this with a rebuild).
    A region row of 0 is kept in it: the recount removes those. ``per_region`` False: the per-kecamatan rows
    only."""
    t, rt = DashboardCount.__table__, DashboardRegionCount.__table__
    rows = {tuple(r) for r in session.execute(sa.select(*[t.c[c] for c in _COLUMNS])
                                              .where(t.c.n != 0, t.c.metric.not_in(VERSIONS)))}
    if per_region:
        rows |= {("region", *r) for r in session.execute(sa.select(*[rt.c[c] for c in _REGION_COLUMNS]))}
    return rows


def version(session: Session, region_ids: Iterable[int], metric: str = VERSION) -> int:
    """The sum of these regions' versions (of ``metric``): it changes whenever one of their numbers may have."""
    t = DashboardCount.__table__
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(t.c.n), 0))
                              .where(t.c.metric == metric, t.c.region_id.in_(list(region_ids)))) or 0)


def versions(session: Session, region_ids: Iterable[int]) -> tuple[int, int]:
    """(:func:`version`, the sessions' version) of these regions, in one query."""
    t = DashboardCount.__table__
    found = dict(session.execute(sa.select(t.c.metric, sa.func.sum(t.c.n))
                                 .where(t.c.metric.in_(VERSIONS), t.c.region_id.in_(list(region_ids)))
                                 .group_by(t.c.metric)).all())
    return int(found.get(VERSION) or 0), int(found.get(SESSIONS_VERSION) or 0)


VERSION_LABELS = ("dashboard_version", "dashboard_sessions_version")


def version_columns() -> list[Any]:
    """:func:`versions` of the regions a user's dashboard covers, as scalar subqueries correlated to the
    users table (read in the sign-in statement, lms.people.auth.read_with_user): an admin's, or a
    coordinator's without a region, is the sum over all regions; a coordinator's, their region's."""
    from ..people.models import Role, User

    t = DashboardCount.__table__
    # (the constants written into the SQL: PostgreSQL then plans the sign-in statement once, lms.db.constant)
    return [sa.select(sa.func.coalesce(sa.func.sum(t.c.n), constant(0)))
            .where(t.c.metric == constant(metric),
                   sa.or_(User.role == constant(Role.ADMIN), User.region_id.is_(None), t.c.region_id == User.region_id))
            .scalar_subquery().label(label) for metric, label in zip(VERSIONS, VERSION_LABELS)]


# --- the hooks -------------------------------------------------------------------------------

def _pending(session: Session) -> dict[str, set[Any]]:
    return session.info.setdefault(_INFO_OUTLETS, defaultdict(set))


def _units(session: Session) -> dict[str, set[Unit]]:
    return session.info.setdefault(_INFO_UNITS, defaultdict(set))


def _old_and_new(obj: Any, attr: str) -> set[Any]:
    hist = attributes.get_history(obj, attr, passive=attributes.PASSIVE_NO_INITIALIZE)
    values = set(hist.deleted or ()) | set(hist.added or ()) | set(hist.unchanged or ())
    current = obj.__dict__.get(attr)
    if current is not None:
        values.add(current)
    return {v for v in values if v is not None}


def _changed(obj: Any, *attrs: str) -> bool:
    return any(attributes.get_history(obj, a, passive=attributes.PASSIVE_NO_INITIALIZE).has_changes() for a in attrs)


def _note(session: Session, instances: Iterable[Any], deleted: bool, new: bool) -> None:
    outlets = _pending(session)
    units = _units(session)
    for obj in instances:
        if isinstance(obj, Enrolment):
            if new or deleted or _changed(obj, "current_stage", "status", "completed_at", "outlet_id", "cohort_id",
                                          "progress_changed_at"):
                outlets[ENROLMENT] |= _old_and_new(obj, "outlet_id")
        elif isinstance(obj, Outlet):
            if new or deleted or _changed(obj, "kecamatan_id", "region_id", "active"):
                for r in _old_and_new(obj, "region_id"):
                    for k in _old_and_new(obj, "kecamatan_id"):
                        for group in GROUP_METRICS:
                            units[group].add((r, k))
        elif isinstance(obj, Visit):
            if new or deleted or _changed(obj, "visited_at", "outlet_id"):
                ids = _old_and_new(obj, "outlet_id")
                session.info.setdefault(_INFO_VISITED, set()).update(ids)
                outlets[VISIT] |= ids
        elif isinstance(obj, ActionItem):
            if new or deleted or _changed(obj, "done_at", "due_on", "outlet_id"):
                outlets[ACTION] |= _old_and_new(obj, "outlet_id")
        elif isinstance(obj, Cohort):  # names and regions shown in the dashboard's filter
            session.info.setdefault(_INFO_BUMP, set()).add(("all", 0))
        elif isinstance(obj, (TrainingSession, Registration)):
            # not summarised, but shown: a new sessions version makes the dashboard cache read them again
            # (the bulk UPDATEs of seats and registrations call session_changed())
            bump = session.info.setdefault(_INFO_BUMP, set())
            if isinstance(obj, TrainingSession):
                bump |= {("region", r) for r in _old_and_new(obj, "region_id")}
            else:
                bump |= {("session", sid) for sid in _old_and_new(obj, "session_id")}
        elif isinstance(obj, Certificate):
            if new or deleted or _changed(obj, "status", "outlet_id", "issued_at", "cohort_id", "kind"):
                ids = _old_and_new(obj, "outlet_id")
                outlets[CERTIFICATE] |= ids
                if not ids or attributes.get_history(obj, "outlet_id").deleted:
                    for r in _old_and_new(obj, "region_id"):
                        units[CERTIFICATE].add((r, 0))


def _after_flush(session: Session, flush_context: Any) -> None:
    # after the INSERTs (foreign keys set through relationships are filled in) and before the
    # history is reset: new/dirty/deleted still describe what this flush wrote
    _note(session, session.new, deleted=False, new=True)
    _note(session, session.dirty, deleted=False, new=False)
    _note(session, session.deleted, deleted=True, new=False)


def _resolve(session: Session) -> dict[str, set[Unit]]:
    """Turn the noted outlet ids into (region, kecamatan) units."""
    outlets = _pending(session)
    units = _units(session)
    all_ids = set().union(*outlets.values()) if outlets else set()
    if all_ids:
        where = {}
        ids = sorted(all_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            where.update({oid: (r, k) for oid, r, k in session.execute(
                sa.select(Outlet.id, Outlet.region_id, Outlet.kecamatan_id).where(Outlet.id.in_(chunk)))})
        for group, oids in outlets.items():
            units[group].update(where[o] for o in oids if o in where)
    outlets.clear()
    out = {g: set(u) for g, u in units.items() if u}
    units.clear()
    return out


def _before_commit(session: Session) -> None:
    for _round in range(5):  # the recount's own flushes may note more (they do not, but be safe)
        session.flush()
        visited = session.info.pop(_INFO_VISITED, None)
        if visited:
            refresh_last_visits(session, visited)
        bump = session.info.pop(_INFO_BUMP, None)
        if bump:
            # sessions and registrations: the sessions' version; a cohort (its name and regions are in the
            # filters of every view): every version of every region
            regions = {v for kind, v in bump if kind == "region"}
            everything = any(kind == "all" for kind, _v in bump)
            if everything:
                from ..places.models import Region
                regions |= set(session.scalars(sa.select(Region.id)))
            regions |= _regions_of_sessions(session, [v for kind, v in bump if kind == "session"])
            bump_versions(session, regions, SESSIONS_VERSION)
            if everything:
                bump_versions(session, regions)
        units = _resolve(session)
        if not units:
            return
        recount(session, units)


def _regions_of_sessions(session: Session, ids: list[int]) -> set[int]:
    """The regions of these training sessions: from the ones this unit of work holds (a registration or a
    check-in has its session loaded), the others read."""
    found: set[int] = set()
    missing = []
    for sid in ids:
        obj = session.identity_map.get(identity_key(TrainingSession, sid))
        rid = obj.__dict__.get("region_id") if obj is not None else None
        if rid is None:
            missing.append(sid)
        else:
            found.add(rid)
    if missing:
        found |= set(session.scalars(sa.select(TrainingSession.region_id).where(TrainingSession.id.in_(missing))))
    return found


def _after_rollback(session: Session) -> None:
    for key in (_INFO_OUTLETS, _INFO_UNITS, _INFO_VISITED, _INFO_BUMP):
        session.info.pop(key, None)


_installed = False


def install() -> None:
    """Register the hooks on every ORM session (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    event.listen(Session, "after_soft_rollback", lambda s, previous: _after_rollback(s))
    # seat changes the sessions area makes with bulk UPDATEs (it announces them; it does not import us)
    from ..sessions.signals import seats_changed

    seats_changed.connect(_on_seats_changed, weak=False)
    _installed = True


def _on_seats_changed(sender: Session, session_id: int) -> None:
    session_changed(sender, session_id)

