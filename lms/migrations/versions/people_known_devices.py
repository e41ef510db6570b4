"""people: known devices for sign-in throttling, and why an account was deactivated

``login_failures.device`` holds the known-device id of the browser that failed (NULL for an unknown
one), so a known device has its own failure count and passes the per-account lock;
``users.deactivated_at``/``deactivation_reason`` keep the required reason given when deactivating.

Revision ID: people_known_devices
Revises: notifications_outbox
Create Date: 2026-12-06 07:40:53.283061

"""
from alembic import op
import sqlalchemy as sa

import lms.db


# revision identifiers, used by Alembic.
revision = 'people_known_devices'
down_revision = 'notifications_outbox'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_login_failures_device_at', ['device', 'at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated_at', lms.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('deactivation_reason', sa.String(length=500), nullable=True))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deactivation_reason')
        batch_op.drop_column('deactivated_at')

    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failures_device_at')
        batch_op.drop_column('device')

