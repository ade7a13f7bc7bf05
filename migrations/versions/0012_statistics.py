"""Indexes for statistics: a covering index of the institution columns that statistics count,
so that a region's institutions are read by an index-only scan, and complaints by county and
submission time (date ranges and the monthly series).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STATISTICS_COLUMNS = [
    'id', 'registering_unit_id', 'kind', 'mode', 'nature', 'training_categories', 'inspection_status', 'open_deadline',
    'review_status', 'deregistered_at', 'qualifications_saved', 'operation_saved', 'subject_training_saved',
    'facilities_saved', 'created_at',
]


def upgrade() -> None:
    op.create_index('ix_institution_statistics', 'institution', ['region_code'], unique=False, postgresql_include=STATISTICS_COLUMNS)
    op.create_index(
        'ix_complaint_county_submitted', 'complaint', ['county_code', 'submitted_at'], unique=False,
        postgresql_include=['status', 'complaint_type', 'replied_at', 'rejected_at'],
    )


def downgrade() -> None:
    op.drop_index('ix_complaint_county_submitted', table_name='complaint')
    op.drop_index('ix_institution_statistics', table_name='institution')
