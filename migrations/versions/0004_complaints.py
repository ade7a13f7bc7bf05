"""Complaints (网上投诉): filed by the public, handled by the county.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('complaint',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tracking_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('complainant_name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('complainant_mobile', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('target_type', sa.Enum('INSTITUTION', 'PUBLIC_SCHOOL', 'TEACHER', 'OTHER', name='targettype', native_enum=False, length=24), nullable=False),
    sa.Column('complaint_type', sa.Enum('ILLEGAL_OPERATION', 'ILLEGAL_ENROLMENT', 'OTHER', name='complainttype', native_enum=False, length=24), nullable=False),
    sa.Column('county_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('target_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=True),
    sa.Column('content', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('status', sa.Enum('SUBMITTED', 'ACCEPTED', 'REPLIED', 'REJECTED', name='complaintstatus', native_enum=False, length=24), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('client_bucket', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('submitted_by', sa.Uuid(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by', sa.Uuid(), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replied_by', sa.Uuid(), nullable=True),
    sa.Column('reply', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_by', sa.Uuid(), nullable=True),
    sa.Column('reject_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['accepted_by'], ['account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['county_code'], ['region.code'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rejected_by'], ['account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['replied_by'], ['account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submitted_by'], ['account.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracking_number')
    )
    op.create_index('ix_complaint_client_time', 'complaint', ['client_bucket', 'submitted_at'], unique=False)
    op.create_index(op.f('ix_complaint_county_code'), 'complaint', ['county_code'], unique=False)
    op.create_index('ix_complaint_mobile_time', 'complaint', ['complainant_mobile', 'submitted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_complaint_mobile_time', table_name='complaint')
    op.drop_index(op.f('ix_complaint_county_code'), table_name='complaint')
    op.drop_index('ix_complaint_client_time', table_name='complaint')
    op.drop_table('complaint')
