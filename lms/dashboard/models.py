"""Maintained summaries for the coordinator dashboard.

One narrow table of counts, kept equal to what a full recount of the source tables would
give (see :mod:`lms.dashboard.summaries`). Every dashboard view reads a few hundred of
these rows instead of scanning enrolments, visits or action items.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class DashboardCount(Base):
    """``n`` things of kind ``metric`` in one cohort (0 = any), region and kecamatan (0 = none).

    ``key`` is a sub-category (a stage key, a certificate kind) and ``day`` a WIB date
    ('YYYY-MM-DD') or month ('YYYY-MM'), both '' when not used. Metrics:

    * ``stage``: active enrolments by current stage (``key``; '_done' when all stages are done)
    * ``completed``: enrolments that completed the programme, by WIB month (``day``)
    * ``progress``: active enrolments with a current stage (``key``), by the WIB month of their last
      progress (``day``): the stuck counts read the months before the cut-off's from here
    * ``certified``: active programme-completion certificates
    * ``certs``: active certificates by kind (``key``) and WIB month of issue (``day``)
    * ``outlets`` / ``visited``: active outlets / those with at least one visit
    * ``visit``: active outlets by the WIB day of their last visit (``day``)
    * ``open`` / ``open_due``: open action items of active outlets / by due day (``day``)
    """

    __tablename__ = "dashboard_counts"

    metric: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    cohort_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    region_id: Mapped[int] = mapped_column(primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default="")
    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True, default="")
    n: Mapped[int] = mapped_column(default=0)

    #: the views read ranges of (metric, day) over many regions: every column in the index, so that they are
    #: read from it alone (an index-only scan) instead of a row fetch per entry
    __table_args__ = (sa.Index("ix_dashboard_counts_metric_day", "metric", "day", "region_id", "kecamatan_id",
                               "cohort_id", "key", "n"),
                      # a recount reads a group's rows of some kecamatan
                      sa.Index("ix_dashboard_counts_kecamatan", "kecamatan_id", "metric"))


class DashboardRegionCount(Base):
    """The ``dashboard_counts`` of a region added over its kecamatan (kecamatan 0 included): the same metrics,
    ``cohort_id``, ``key`` and ``day``, one row where the per-kecamatan table has one per kecamatan.

    Kept in the same transaction as those rows (:func:`lms.dashboard.summaries.recount` adds the difference a
    recount makes), so it is exactly as fresh. The views that cover whole regions (no kecamatan filter) read
    their months and days from here: at 100,000 managers about 800 rows instead of 5,800 for the admin's
    dashboard. The per-kecamatan columns (``stage``, ``certified``) and every kecamatan filter still read
    ``dashboard_counts``. The version rows are not added up here."""

    __tablename__ = "dashboard_region_counts"

    metric: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    cohort_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    region_id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default="")
    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True, default="")
    n: Mapped[int] = mapped_column(default=0)

    #: ranges of (metric, day) over some regions, read from the index alone (as ix_dashboard_counts_metric_day)
    __table_args__ = (sa.Index("ix_dashboard_region_counts_metric_day", "metric", "day", "region_id", "cohort_id",
                               "key", "n"),)
