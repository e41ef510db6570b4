"""dashboard: ``ix_dashboard_counts_metric_day`` holds every column the views read

The views read ranges of (metric, day) over many regions (visit days for mentor coverage, the months
of progress for the stuck counts): with every column in the index they are read from it alone.

Revision ID: dashboard_covering_index
Revises: dashboard_progress_months
Create Date: 2026-12-07 01:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'dashboard_covering_index'
down_revision = 'dashboard_progress_months'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dashboard_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_dashboard_counts_metric_day')
        batch_op.create_index('ix_dashboard_counts_metric_day',
                              ['metric', 'day', 'region_id', 'kecamatan_id', 'cohort_id', 'key', 'n'], unique=False)


def downgrade():
    with op.batch_alter_table('dashboard_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_dashboard_counts_metric_day')
        batch_op.create_index('ix_dashboard_counts_metric_day', ['metric', 'day'], unique=False)
