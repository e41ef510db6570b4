"""The dashboard's SQL: which rows a scope covers, and statements built once per shape.

The conditions take either values (a statement built for one request) or bound parameters (a statement
built once per process and shape by :func:`built`, its values given at execution by :func:`params`).
The dashboard's statements are unions of subqueries; building one (and its columns) in SQLAlchemy cost
more than PostgreSQL took to run it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

import sqlalchemy as sa

from ..db import built as db_built
from ..db import constant
from ..extensions import db
from ..places.models import Outlet
from ..programme.models import Enrolment, EnrolmentStatus
from .models import DashboardCount, DashboardRegionCount


def built(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """The statement of this shape (``key``: which filters are set, how many regions …), built once per
    process and database kind (:func:`lms.db.built`)."""
    return db_built(("dashboard", db.session.get_bind().dialect.name) + key, build)


def values(scope: Any) -> tuple[list[int], int | None, int | None]:
    """(regions, cohort, kecamatan) of a scope, None where it does not narrow."""
    return list(scope.region_ids), scope.cohort_id or None, scope.kecamatan_id or None


def bound(scope: Any) -> tuple[Any, Any, Any]:
    """:func:`values` as bound parameters (``regions``, ``cohort``, ``kec``), for a statement of this scope's
    shape; give it :func:`params` when it runs."""
    _regions, cohort, kec = values(scope)
    return (sa.bindparam("regions", expanding=True), sa.bindparam("cohort") if cohort else None,
            sa.bindparam("kec") if kec else None)


def shape(scope: Any) -> tuple[bool, bool]:
    """Which of the cohort and kecamatan filters are set: part of a built statement's key."""
    _regions, cohort, kec = values(scope)
    return cohort is not None, kec is not None


def params(scope: Any) -> dict[str, Any]:
    regions, cohort, kec = values(scope)
    return {"regions": regions, "cohort": cohort, "kec": kec}


def enrolments(regions: Any, cohort: Any = None, kec: Any = None, *, by_progress_time: bool = False) -> list[Any]:
    """Active enrolments in these regions (a list, or a bound parameter), of the cohort and kecamatan (None:
    any).

    ``by_progress_time``: for a statement that reads the enrolments through ``ix_enrolments_stuck`` by their
    progress time (the first few in that order, or a month of them). With a kecamatan, SQLite would
    otherwise start from the kecamatan's outlets and look each one up in ``uq_enrolments_active_outlet``: at
    100,000 managers a kecamatan of 3,815 outlets, 3,815 lookups (the longest-stuck list: 6.8 ms instead of
    0.6). An expression cannot drive an index, so there the outlet is compared as ``outlet_id + 0``.
    PostgreSQL chooses the index walk by itself and keeps the plain column."""
    conds: list[Any] = [Enrolment.status == constant(EnrolmentStatus.ACTIVE), Enrolment.region_id.in_(regions)]
    if cohort is not None:
        conds.append(Enrolment.cohort_id == cohort)
    if kec is not None:
        outlet = Enrolment.outlet_id
        if by_progress_time and db.session.get_bind().dialect.name == "sqlite":
            outlet = outlet + constant(0)
        conds.append(outlet.in_(sa.select(Outlet.id).where(Outlet.kecamatan_id == kec)))
    return conds


def stuck(regions: Any, cohort: Any, kec: Any, cutoff: datetime | Any, *, by_progress_time: bool = False) -> list[Any]:
    """:func:`enrolments` at a stage and without progress since ``cutoff``."""
    return enrolments(regions, cohort, kec, by_progress_time=by_progress_time) + [
        Enrolment.current_stage.is_not(None), Enrolment.progress_changed_at < cutoff]


def summary(regions: Any, cohort: Any = None, kec: Any = None, table: Any = DashboardCount) -> list[Any]:
    """The summary rows of these regions, cohort and kecamatan (None: any), in ``table`` (:func:`totals`
    where no row per kecamatan is needed). Rows that carry no cohort (mentor coverage) are asked for with
    ``cohort=None``."""
    t = table
    conds: list[Any] = [t.region_id.in_(regions)]
    if kec is not None:
        conds.append(t.kecamatan_id == kec)
    if cohort is not None:
        conds.append(t.cohort_id == cohort)
    return conds


def summary_table(kec: Any) -> Any:
    """The summary rows a view reads when it needs no row per kecamatan (months, days, totals): per region
    (``dashboard_region_counts``, about a seventh of the rows for all of DKI) unless the scope is one
    kecamatan."""
    return DashboardRegionCount if kec is None else DashboardCount


def totals(regions: Any, cohort: Any = None, kec: Any = None) -> tuple[Any, list[Any]]:
    """(:func:`summary_table`, :func:`summary` in it): where a view that needs no row per kecamatan reads."""
    table = summary_table(kec)
    return table, summary(regions, cohort, kec, table)
