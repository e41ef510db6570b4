"""certificates: issued certificates, serial counters per kind and year, bulk runs and their items

Revision ID: 120db367e476
Revises: 4812838c7cdc
Create Date: 2026-11-29 02:48:50.874176

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '120db367e476'
down_revision = '4812838c7cdc'
branch_labels = None
depends_on = None


def upgrade():
    # reviewed: timestamps are naive UTC (lms.db.UTCDateTime in the models); one active certificate per
    # (kind, holder, subject) through the partial unique index uq_certificates_active_subject
    op.create_table('certificate_counters',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'year', name=op.f('pk_certificate_counters'))
    )
    op.create_table('certificate_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.CheckConstraint('done >= 0 AND failed >= 0 AND done + failed <= total', name=op.f('ck_certificate_jobs_counts_valid')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_certificate_jobs_cohort_id_cohorts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_certificate_jobs_created_by_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_certificate_jobs_region_id_regions')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_certificate_jobs_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_jobs'))
    )
    with op.batch_alter_table('certificate_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_jobs_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_jobs_session_id'), ['session_id'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('design', sa.String(length=64), nullable=False),
    sa.Column('serial', sa.String(length=48), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('verification_code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('active', 'revoked', name='certificate_status', native_enum=False, length=24), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('holder_name', sa.String(length=200), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_key', sa.String(length=40), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=True),
    sa.Column('outlet_name', sa.String(length=200), nullable=False),
    sa.Column('outlet_code', sa.String(length=32), nullable=False),
    sa.Column('subject_title', sa.String(length=300), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('pdf_path', sa.String(length=200), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('pdf_size', sa.Integer(), nullable=True),
    sa.Column('rendered_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status <> 'revoked' OR revoked_at IS NOT NULL", name=op.f('ck_certificates_revoked_has_date')),
    sa.CheckConstraint('number > 0', name=op.f('ck_certificates_number_positive')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_certificates_cohort_id_cohorts')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_certificates_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['holder_id'], ['users.id'], name=op.f('fk_certificates_holder_id_users')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_certificates_issued_by_id_users')),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_certificates_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_certificates_region_id_regions')),
    sa.ForeignKeyConstraint(['replaces_id'], ['certificates.id'], name=op.f('fk_certificates_replaces_id_certificates')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_certificates_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_certificates_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('kind', 'year', 'number', name='uq_certificates_kind_year_number'),
    sa.UniqueConstraint('pdf_path', name=op.f('uq_certificates_pdf_path')),
    sa.UniqueConstraint('replaces_id', name=op.f('uq_certificates_replaces_id')),
    sa.UniqueConstraint('serial', name=op.f('uq_certificates_serial')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_certificates_verification_code'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_session_id'), ['session_id'], unique=False)
        batch_op.create_index('uq_certificates_active_subject', ['kind', 'holder_id', 'subject_key'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('certificate_job_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('holder_name', sa.String(length=200), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'done', 'failed', name='job_item_status', native_enum=False, length=24), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_job_items_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['holder_id'], ['users.id'], name=op.f('fk_certificate_job_items_holder_id_users')),
    sa.ForeignKeyConstraint(['job_id'], ['certificate_jobs.id'], name=op.f('fk_certificate_job_items_job_id_certificate_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_job_items')),
    sa.UniqueConstraint('job_id', 'holder_id', 'subject_id', name=op.f('uq_certificate_job_items_job_id_holder_id_subject_id'))
    )
    with op.batch_alter_table('certificate_job_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_job_items_job_id'), ['job_id'], unique=False)
        batch_op.create_index('ix_certificate_job_items_job_status', ['job_id', 'status'], unique=False)

    # ### end Alembic commands ###


def downgrade():
    # reviewed: timestamps are naive UTC (lms.db.UTCDateTime in the models); one active certificate per
    # (kind, holder, subject) through the partial unique index uq_certificates_active_subject
    with op.batch_alter_table('certificate_job_items', schema=None) as batch_op:
        batch_op.drop_index('ix_certificate_job_items_job_status')
        batch_op.drop_index(batch_op.f('ix_certificate_job_items_job_id'))

    op.drop_table('certificate_job_items')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_active_subject', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_certificates_session_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_region_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_kind'))
        batch_op.drop_index(batch_op.f('ix_certificates_issued_at'))
        batch_op.drop_index(batch_op.f('ix_certificates_holder_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_cohort_id'))

    op.drop_table('certificates')
    with op.batch_alter_table('certificate_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_jobs_session_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_jobs_cohort_id'))

    op.drop_table('certificate_jobs')
    op.drop_table('certificate_counters')
    # ### end Alembic commands ###
