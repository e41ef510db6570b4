"""dashboard: ``dashboard_region_counts``, the summary rows added up per region; the recount's index

The views that cover whole regions read their months and days (certificates, completions, the months of
progress, last-visit days, due days) from one row per region instead of one per kecamatan. Filled here from
the per-kecamatan rows; kept by the summaries' recount from then on.

The recount reads a metric group's rows of some kecamatan: ``ix_dashboard_counts_kecamatan``
(kecamatan_id, metric) replaces ``ix_dashboard_counts_unit`` (region_id, kecamatan_id), which nothing reads
by its region.

Revision ID: dashboard_region_counts
Revises: dashboard_covering_index
Create Date: 2026-12-08 00:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'dashboard_region_counts'
down_revision = 'dashboard_covering_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dashboard_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_dashboard_counts_unit')
        batch_op.create_index('ix_dashboard_counts_kecamatan', ['kecamatan_id', 'metric'], unique=False)
    op.create_table(
        'dashboard_region_counts',
        sa.Column('metric', sa.String(length=16), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('metric', 'cohort_id', 'region_id', 'key', 'day',
                                name=op.f('pk_dashboard_region_counts')),
    )
    op.create_index('ix_dashboard_region_counts_metric_day', 'dashboard_region_counts',
                    ['metric', 'day', 'region_id', 'cohort_id', 'key', 'n'], unique=False)
    # (the same sums as lms.dashboard.summaries.rebuild_regions, written out: a migration keeps its own SQL)
    op.execute(
        "INSERT INTO dashboard_region_counts (metric, cohort_id, region_id, key, day, n) "
        "SELECT metric, cohort_id, region_id, key, day, SUM(n) FROM dashboard_counts "
        "WHERE metric NOT IN ('version', 'version_s') GROUP BY metric, cohort_id, region_id, key, day")


def downgrade():
    op.drop_index('ix_dashboard_region_counts_metric_day', table_name='dashboard_region_counts')
    op.drop_table('dashboard_region_counts')
    with op.batch_alter_table('dashboard_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_dashboard_counts_kecamatan')
        batch_op.create_index('ix_dashboard_counts_unit', ['region_id', 'kecamatan_id'], unique=False)
