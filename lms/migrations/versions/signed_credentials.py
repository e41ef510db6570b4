"""certificates: branding as data, credential status and the signed Open Badges credential; session organisers

``certificate_brandings`` holds versions of a design's branding (logos, signatories with their
signature images, stamp); ``certificates.branding_id`` names the version a certificate was issued
with. ``certificates.status_index`` is its bit in the published Bitstring Status List and
``certificates.credential_json`` its signed Open Badges 3.0 credential. ``training_sessions.organisers``
lists the co-hosting agencies printed on its certificates (NULL: its speakers' agencies).

Revision ID: signed_credentials
Revises: api_webhooks
Create Date: 2026-12-06 14:30:00

"""
from alembic import op
import sqlalchemy as sa

from lms.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'signed_credentials'
down_revision = 'api_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'certificate_brandings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('design', sa.String(length=64), nullable=False),
        sa.Column('logo_left_key', sa.String(length=200), nullable=True),
        sa.Column('logo_right_key', sa.String(length=200), nullable=True),
        sa.Column('stamp_key', sa.String(length=200), nullable=True),
        sa.Column('signatories', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_certificate_brandings_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_brandings')),
    )
    with op.batch_alter_table('certificate_brandings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_brandings_design'), ['design'], unique=False)
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('branding_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('status_index', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credential_json', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_certificates_branding_id_certificate_brandings'),
                                    'certificate_brandings', ['branding_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_certificates_status_index'), ['status_index'])
        batch_op.create_index('ix_certificates_pdf_sha256', ['pdf_sha256'], unique=False)
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisers', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_column('organisers')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_certificates_pdf_sha256')
        batch_op.drop_constraint(batch_op.f('uq_certificates_status_index'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_certificates_branding_id_certificate_brandings'), type_='foreignkey')
        batch_op.drop_column('credential_json')
        batch_op.drop_column('status_index')
        batch_op.drop_column('branding_id')
    with op.batch_alter_table('certificate_brandings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_brandings_design'))
    op.drop_table('certificate_brandings')
