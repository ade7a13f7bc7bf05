"""Inspections (排查), rectification ledgers (整改台账), urging notices (督办), and the
institution's inspection status kept beside it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('inspection',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('inspecting_unit', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('problems', postgresql.ARRAY(sa.String(length=32)), server_default='{}', nullable=False),
    sa.Column('other_problem', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('recorded_by', sa.Uuid(), nullable=False),
    sa.Column('acceptance_opinion', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('accepted_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by'], ['account.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['account.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_inspection_institution_id'), 'inspection', ['institution_id'], unique=False)
    op.create_table('urging_notice',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('sender_id', sa.Uuid(), nullable=False),
    sa.Column('county_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_by', sa.Uuid(), nullable=True),
    sa.Column('handling_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['county_code'], ['region.code'], ),
    sa.ForeignKeyConstraint(['handled_by'], ['account.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sender_id'], ['account.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_urging_notice_county_code'), 'urging_notice', ['county_code'], unique=False)
    op.create_index(op.f('ix_urging_notice_sender_id'), 'urging_notice', ['sender_id'], unique=False)
    op.create_table('rectification_item',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('inspection_id', sa.Uuid(), nullable=False),
    sa.Column('problem', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('measures', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('progress', sa.Enum('NOT_STARTED', 'IN_PROGRESS', 'DONE', name='itemprogress', native_enum=False, length=24), nullable=False),
    sa.Column('progress_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_rectification_item_inspection_id'), 'rectification_item', ['inspection_id'], unique=False)
    op.add_column('institution', sa.Column('inspection_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='NOT_INSPECTED'))
    op.add_column('institution', sa.Column('open_deadline', sa.Date(), nullable=True))
    op.create_index(op.f('ix_institution_inspection_status'), 'institution', ['inspection_status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_institution_inspection_status'), table_name='institution')
    op.drop_column('institution', 'open_deadline')
    op.drop_column('institution', 'inspection_status')
    op.drop_index(op.f('ix_rectification_item_inspection_id'), table_name='rectification_item')
    op.drop_table('rectification_item')
    op.drop_index(op.f('ix_urging_notice_sender_id'), table_name='urging_notice')
    op.drop_index(op.f('ix_urging_notice_county_code'), table_name='urging_notice')
    op.drop_table('urging_notice')
    op.drop_index(op.f('ix_inspection_institution_id'), table_name='inspection')
    op.drop_table('inspection')
