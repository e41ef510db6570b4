"""dashboard: the ``progress`` summary rows (active enrolments by stage and WIB month of their last progress)

The dashboard's stuck counts read the whole months before the cut-off from these rows instead of
counting every stuck enrolment. The schema does not change: this fills the new rows from the
enrolments, as ``lms.dashboard.summaries`` keeps them from now on (its recount test compares them
with a full rebuild).

Revision ID: dashboard_progress_months
Revises: signed_credentials
Create Date: 2026-12-07 00:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'dashboard_progress_months'
down_revision = 'signed_credentials'
branch_labels = None
depends_on = None

#: the month of a UTC time in WIB (UTC+7), clamped to the last month Python can show, as the summaries write it
_MONTH = {
    "sqlite": "coalesce(strftime('%Y-%m', e.progress_changed_at, '+7 hours'), '9999-12')",
    "postgresql": "to_char(least(e.progress_changed_at + interval '7 hours', timestamp '9999-12-31 23:59:59'), 'YYYY-MM')",
}


def upgrade():
    month = _MONTH[op.get_bind().dialect.name]
    op.execute("DELETE FROM dashboard_counts WHERE metric = 'progress'")
    op.execute(
        "INSERT INTO dashboard_counts (metric, cohort_id, region_id, kecamatan_id, key, day, n) "
        f"SELECT 'progress', e.cohort_id, o.region_id, o.kecamatan_id, e.current_stage, {month}, count(*) "
        "FROM enrolments e JOIN outlets o ON o.id = e.outlet_id "
        "WHERE e.status = 'active' AND e.current_stage IS NOT NULL "
        f"GROUP BY e.cohort_id, o.region_id, o.kecamatan_id, e.current_stage, {month}")


def downgrade():
    op.execute("DELETE FROM dashboard_counts WHERE metric = 'progress'")
