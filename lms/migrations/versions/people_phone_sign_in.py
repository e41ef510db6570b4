"""people without e-mail: users.email nullable, a phone number unique among active accounts,
and one-time sign-in codes sent to a phone

``users.email`` stays unique (NULLs do not clash); staff still need one (a rule in the service).
``ix_users_phone`` serves the look-up by number; that a number belongs to one active account is a
rule of the services (form, import, CLI, phone change), and a number shared by several active
accounts (old data) signs nobody in.
``sign_in_codes`` holds a row per code request (also for unknown numbers, without a code) for
the limits; the code itself only as an HMAC.

Revision ID: people_phone_sign_in
Revises: feedback_tests
Create Date: 2026-12-06 09:10:00

"""
from alembic import op
import sqlalchemy as sa

import lms.db


# revision identifiers, used by Alembic.
revision = 'people_phone_sign_in'
down_revision = 'feedback_tests'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)
    op.create_index('ix_users_phone', 'users', ['phone'], unique=False)

    op.create_table(
        'sign_in_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=True),
        sa.Column('ip', sa.String(length=45), nullable=False),
        sa.Column('device', sa.String(length=32), nullable=True),
        sa.Column('created_at', lms.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', lms.db.UTCDateTime(), nullable=False),
        sa.Column('used_at', lms.db.UTCDateTime(), nullable=True),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_codes_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_codes')),
    )
    with op.batch_alter_table('sign_in_codes', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_codes_phone_at', ['phone', 'created_at'], unique=False)
        batch_op.create_index('ix_sign_in_codes_ip_at', ['ip', 'created_at'], unique=False)
        batch_op.create_index('ix_sign_in_codes_device_at', ['device', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_codes_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sign_in_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_codes_user_id'))
        batch_op.drop_index('ix_sign_in_codes_device_at')
        batch_op.drop_index('ix_sign_in_codes_ip_at')
        batch_op.drop_index('ix_sign_in_codes_phone_at')
    op.drop_table('sign_in_codes')
    op.drop_index('ix_users_phone', table_name='users')
    # accounts without an e-mail cannot survive the downgrade: they are given a placeholder
    op.execute("UPDATE users SET email = 'no-email-' || id || '@invalid' WHERE email IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
