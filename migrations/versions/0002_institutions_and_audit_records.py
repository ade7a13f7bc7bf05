"""Institutions (five-part registration) and audit records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('audit_record',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('operation', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    op.create_index(op.f('ix_audit_record_account_id'), 'audit_record', ['account_id'], unique=False)
    op.create_index(op.f('ix_audit_record_operation'), 'audit_record', ['operation'], unique=False)
    op.create_index(op.f('ix_audit_record_region_code'), 'audit_record', ['region_code'], unique=False)
    # The trail is append-only, whoever connects: updates and deletes are refused.
    op.execute(
        """
        CREATE FUNCTION audit_record_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'audit records cannot be changed or deleted';
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record
          FOR EACH ROW EXECUTE FUNCTION audit_record_is_append_only()
        """
    )
    op.create_table('institution',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('credit_code', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('postal_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('kind', sa.Enum('SUBJECT', 'NON_SUBJECT', name='kind', native_enum=False, length=24), nullable=False),
    sa.Column('mode', sa.Enum('ONLINE', 'OFFLINE', name='mode', native_enum=False, length=24), nullable=False),
    sa.Column('nature', sa.Enum('FOR_PROFIT', 'NON_PROFIT', name='nature', native_enum=False, length=24), nullable=False),
    sa.Column('legal_rep_name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('legal_rep_id_number', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('legal_rep_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('registering_unit_id', sa.Uuid(), nullable=False),
    sa.Column('qualification_status', sa.Enum('FULL', 'BUSINESS_LICENCE_ONLY', 'LICENCE_ONLY', 'NONE', name='qualificationstatus', native_enum=False, length=24), nullable=True),
    sa.Column('licence_number', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('licence_issuer', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('licence_valid_from', sa.Date(), nullable=True),
    sa.Column('licence_valid_to', sa.Date(), nullable=True),
    sa.Column('business_licence_number', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('business_licence_issuer', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('training_categories', postgresql.ARRAY(sa.String(length=24)), server_default='{}', nullable=False),
    sa.Column('other_category', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('student_count', sa.Integer(), nullable=True),
    sa.Column('staff_count', sa.Integer(), nullable=True),
    sa.Column('teacher_count', sa.Integer(), nullable=True),
    sa.Column('no_subject_training', sa.Boolean(), nullable=True),
    sa.Column('subjects', postgresql.ARRAY(sa.String(length=24)), server_default='{}', nullable=False),
    sa.Column('grades', postgresql.ARRAY(sa.String(length=24)), server_default='{}', nullable=False),
    sa.Column('class_times', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('fee_per_hour', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('floor_area', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('teaching_area', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('premises', sa.Enum('OWNED', 'LEASED', name='premises', native_enum=False, length=24), nullable=True),
    sa.Column('lease_end', sa.Date(), nullable=True),
    sa.Column('fire_safety_approved', sa.Boolean(), nullable=True),
    sa.Column('qualifications_saved', sa.Boolean(), nullable=False),
    sa.Column('operation_saved', sa.Boolean(), nullable=False),
    sa.Column('subject_training_saved', sa.Boolean(), nullable=False),
    sa.Column('facilities_saved', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.ForeignKeyConstraint(['registering_unit_id'], ['account.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credit_code')
    )
    op.create_index('ix_institution_name_id', 'institution', ['name', 'id'], unique=False)
    op.create_index('ix_institution_region_name', 'institution', ['region_code', 'name', 'id'], unique=False)
    op.create_index(op.f('ix_institution_registering_unit_id'), 'institution', ['registering_unit_id'], unique=False)
    # Name search by substring: a trigram index where the server has pg_trgm (the embedded
    # server does); without it the search still works, by scanning.
    op.execute(
        """
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE INDEX ix_institution_name_trgm ON institution USING gin (name gin_trgm_ops);
          END IF;
        END $$;
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_institution_name_trgm")
    op.drop_index(op.f('ix_institution_registering_unit_id'), table_name='institution')
    op.drop_index('ix_institution_region_name', table_name='institution')
    op.drop_index('ix_institution_name_id', table_name='institution')
    op.drop_table('institution')
    op.execute("DROP TRIGGER audit_record_append_only ON audit_record")
    op.execute("DROP FUNCTION audit_record_is_append_only()")
    op.drop_index(op.f('ix_audit_record_region_code'), table_name='audit_record')
    op.drop_index(op.f('ix_audit_record_operation'), table_name='audit_record')
    op.drop_index(op.f('ix_audit_record_account_id'), table_name='audit_record')
    op.drop_table('audit_record')
