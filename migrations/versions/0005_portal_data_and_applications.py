"""The institution portal's data (staff, sites and business systems, courses, classes,
materials) and applications with their review; an institution's review status and
deregistration.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('material',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('grades', postgresql.ARRAY(sa.String(length=24)), server_default='{}', nullable=False),
    sa.Column('type', sa.Enum('TEXTBOOK', 'HANDOUT', 'EXERCISES', 'AUDIOVISUAL', 'OTHER', name='materialtype', native_enum=False, length=24), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('publisher', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('edition', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('author_years_in_education', sa.Integer(), nullable=False),
    sa.Column('author_certificate_number', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('review', sa.Enum('NOT_REVIEWED', 'APPROVED', 'REJECTED', name='materialreview', native_enum=False, length=24), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_material_institution_id'), 'material', ['institution_id'], unique=False)
    op.create_index('ix_material_institution_name', 'material', ['institution_id', 'name', 'id'], unique=False)
    op.create_table('site',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.Enum('SITE', 'BUSINESS_SYSTEM', name='sitetype', native_enum=False, length=24), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('teaching_area', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('system_type', sa.Enum('APP', 'WEBSITE', 'MINI_PROGRAM', 'OTHER', name='systemtype', native_enum=False, length=24), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('icp_filing', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_site_institution_id'), 'site', ['institution_id'], unique=False)
    op.create_table('staff',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('gender', sa.Enum('MALE', 'FEMALE', name='gender', native_enum=False, length=24), nullable=False),
    sa.Column('id_number', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('post', sa.Enum('TEACHING', 'RESEARCH', 'MANAGEMENT', 'OTHER', name='post', native_enum=False, length=24), nullable=False),
    sa.Column('employment', sa.Enum('FULL_TIME', 'PART_TIME', name='employment', native_enum=False, length=24), nullable=False),
    sa.Column('subjects', postgresql.ARRAY(sa.String(length=24)), server_default='{}', nullable=False),
    sa.Column('teacher_certificate_number', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('years_in_education', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('ACTIVE', 'DEPARTED', name='staffstatus', native_enum=False, length=24), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('departed_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'id_number', name='uq_staff_institution_id_number')
    )
    op.create_index(op.f('ix_staff_institution_id'), 'staff', ['institution_id'], unique=False)
    op.create_index('ix_staff_institution_status_name', 'staff', ['institution_id', 'status', 'name', 'id'], unique=False)
    op.create_table('course',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('site_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('grades', postgresql.ARRAY(sa.String(length=24)), server_default='{}', nullable=False),
    sa.Column('class_hours', sa.Integer(), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_course_institution_id'), 'course', ['institution_id'], unique=False)
    op.create_index(op.f('ix_course_site_id'), 'course', ['site_id'], unique=False)
    op.create_table('training_class',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('course_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('schedule', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('enrolled', sa.Integer(), nullable=False),
    sa.Column('fee', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('fee_months', sa.Integer(), nullable=True),
    sa.Column('fee_class_hours', sa.Integer(), nullable=True),
    sa.Column('lesson_minutes', sa.Integer(), nullable=True),
    sa.Column('break_minutes', sa.Integer(), nullable=True),
    sa.Column('teacher_ids', postgresql.ARRAY(sa.Uuid()), server_default='{}', nullable=False),
    sa.Column('filing_status', sa.Enum('NOT_REQUIRED', 'NOT_FILED', 'PENDING', 'FILED', 'REJECTED', name='filingstatus', native_enum=False, length=24), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_training_class_course_id'), 'training_class', ['course_id'], unique=False)
    op.create_index(op.f('ix_training_class_institution_id'), 'training_class', ['institution_id'], unique=False)
    op.create_table('application',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.Enum('COMPLIANCE', 'DEREGISTRATION', 'LICENCE', 'CLASS_FILING', name='applicationtype', native_enum=False, length=24), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'APPROVED', 'REJECTED', name='applicationstatus', native_enum=False, length=24), nullable=False),
    sa.Column('class_id', sa.Uuid(), nullable=True),
    sa.Column('proof_document_id', sa.Uuid(), nullable=True),
    sa.Column('statement', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('findings_at_submission', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('authority_region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('authority_department', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('authority_level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('opinion', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['authority_region_code'], ['region.code'], ),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submitted_by'], ['account.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    op.create_index('ix_application_authority', 'application', ['authority_region_code', 'authority_department', 'status'], unique=False)
    op.create_index(op.f('ix_application_institution_id'), 'application', ['institution_id'], unique=False)
    op.create_index('uq_application_pending', 'application', ['institution_id', 'type', sa.literal_column("coalesce(class_id, '00000000-0000-0000-0000-000000000000'::uuid)")], unique=True, postgresql_where=sa.text("status = 'PENDING'"))
    op.add_column('institution', sa.Column('review_status', sqlmodel.sql.sqltypes.AutoString(length=16), server_default='NOT_SUBMITTED', nullable=False))
    op.add_column('institution', sa.Column('deregistered_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_institution_review_status'), 'institution', ['review_status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_institution_review_status'), table_name='institution')
    op.drop_column('institution', 'deregistered_at')
    op.drop_column('institution', 'review_status')
    op.drop_index('uq_application_pending', table_name='application', postgresql_where=sa.text("status = 'PENDING'"))
    op.drop_index(op.f('ix_application_institution_id'), table_name='application')
    op.drop_index('ix_application_authority', table_name='application')
    op.drop_table('application')
    op.drop_index(op.f('ix_training_class_institution_id'), table_name='training_class')
    op.drop_index(op.f('ix_training_class_course_id'), table_name='training_class')
    op.drop_table('training_class')
    op.drop_index(op.f('ix_course_site_id'), table_name='course')
    op.drop_index(op.f('ix_course_institution_id'), table_name='course')
    op.drop_table('course')
    op.drop_index('ix_staff_institution_status_name', table_name='staff')
    op.drop_index(op.f('ix_staff_institution_id'), table_name='staff')
    op.drop_table('staff')
    op.drop_index(op.f('ix_site_institution_id'), table_name='site')
    op.drop_table('site')
    op.drop_index('ix_material_institution_name', table_name='material')
    op.drop_index(op.f('ix_material_institution_id'), table_name='material')
    op.drop_table('material')
