"""Institution documents (办学许可证, 机构证照, 党建情况, 其他资料, 合同, 注销证明) with their
files in the configured storage, and institution funds (收费信息, 监管信息, 基本账户).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('document',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('category', sa.Enum('LICENCE', 'CERTIFICATE', 'PARTY_BUILDING', 'OTHER', 'CONTRACT', 'DEREGISTRATION_PROOF', name='documentcategory', native_enum=False, length=24), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('follows_model_text', sa.Boolean(), nullable=True),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('uploaded_by', sa.Uuid(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by'], ['account.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('storage_key')
    )
    op.create_index('ix_document_institution_uploaded', 'document', ['institution_id', 'uploaded_at'], unique=False)
    op.create_table('institution_funds',
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('charging_method', sa.Enum('BY_CLASS_HOUR', 'BY_TERM', 'BY_MONTH', 'OTHER', name='chargingmethod', native_enum=False, length=24), nullable=True),
    sa.Column('fee_standard', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('max_months_per_payment', sa.Integer(), nullable=True),
    sa.Column('max_class_hours_per_payment', sa.Integer(), nullable=True),
    sa.Column('refund_policy', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('escrow_bank', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('supervised_account_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('risk_reserve', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('basic_account_bank', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('basic_account_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('basic_account_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['account.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('institution_id')
    )


def downgrade() -> None:
    op.drop_table('institution_funds')
    op.drop_index('ix_document_institution_uploaded', table_name='document')
    op.drop_table('document')
