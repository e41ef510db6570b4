"""sessions: the certificate design a session gives (or none) and the back-dated flag

``training_sessions.certificate_kind`` names the design (certificates/<design>/metadata.yaml
``kind``) whose certificate the session's attendees earn; NULL means the session gives no
certificate. Until now the rule was implicit (every design whose ``session_stages`` allowed the
session's step), so existing sessions on the training step (the only step the shipped Bimtek
design allows) get ``bimtek``; sessions on other steps gave no certificate and keep none.

``training_sessions.backdated`` marks a session recorded after it took place.

Revision ID: sessions_certificate_backdated
Revises: 86d7192f1553
Create Date: 2026-12-06 07:30:35

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'sessions_certificate_backdated'
down_revision = '86d7192f1553'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificate_kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('backdated', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE training_sessions SET certificate_kind = 'bimtek' WHERE stage_key = 'pelatihan'")


def downgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_column('backdated')
        batch_op.drop_column('certificate_kind')
