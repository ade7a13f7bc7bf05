"""Institution portal accounts: verification codes, the outbox, institution claims;
self-registered institutions have no registering unit.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_CHANNEL = sa.Enum('MOBILE', 'EMAIL', name='channel', native_enum=False, length=24)


def upgrade() -> None:
    op.create_table('verification_code',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('channel', _CHANNEL, nullable=False),
    sa.Column('destination', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('purpose', sa.Enum('REGISTER', 'RESET_PASSWORD', 'CHANGE_MOBILE', name='codepurpose', native_enum=False, length=24), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_verification_code_client_time', 'verification_code', ['client_address', 'created_at'], unique=False)
    op.create_index('ix_verification_code_destination_time', 'verification_code', ['destination', 'created_at'], unique=False)
    op.create_table('outbox',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('channel', _CHANNEL, nullable=False),
    sa.Column('destination', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_outbox_destination'), 'outbox', ['destination'], unique=False)
    op.create_table('institution_claim',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'CONFIRMED', 'REJECTED', name='claimstatus', native_enum=False, length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_institution_claim_account_id'), 'institution_claim', ['account_id'], unique=False)
    op.create_index(op.f('ix_institution_claim_institution_id'), 'institution_claim', ['institution_id'], unique=False)
    op.create_index('ix_institution_claim_status_time', 'institution_claim', ['status', 'created_at', 'id'], unique=False)
    op.create_index('uq_institution_claim_pending', 'institution_claim', ['account_id'], unique=True, postgresql_where=sa.text("status = 'PENDING'"))
    # Institution accounts log in and recover their password by mobile or e-mail: each
    # names one account. One account manages one institution.
    op.create_index(
        'uq_account_institution_mobile', 'account', [sa.literal_column('lower(mobile)')], unique=True,
        postgresql_where=sa.text("kind = 'INSTITUTION'"),
    )
    op.create_index(
        'uq_account_institution_email', 'account', [sa.literal_column('lower(email)')], unique=True,
        postgresql_where=sa.text("kind = 'INSTITUTION'"),
    )
    op.create_index(
        'uq_account_institution', 'account', ['institution_id'], unique=True,
        postgresql_where=sa.text("kind = 'INSTITUTION' AND institution_id IS NOT NULL"),
    )
    # 机构自主注册: an institution registered by its own account has no registering unit.
    op.alter_column('institution', 'registering_unit_id', existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    # Fails while self-registered institutions exist: they have no registering unit to restore.
    op.alter_column('institution', 'registering_unit_id', existing_type=sa.Uuid(), nullable=False)
    op.drop_index('uq_account_institution', table_name='account')
    op.drop_index('uq_account_institution_email', table_name='account')
    op.drop_index('uq_account_institution_mobile', table_name='account')
    op.drop_index('uq_institution_claim_pending', table_name='institution_claim')
    op.drop_index('ix_institution_claim_status_time', table_name='institution_claim')
    op.drop_index(op.f('ix_institution_claim_institution_id'), table_name='institution_claim')
    op.drop_index(op.f('ix_institution_claim_account_id'), table_name='institution_claim')
    op.drop_table('institution_claim')
    op.drop_index(op.f('ix_outbox_destination'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_verification_code_destination_time', table_name='verification_code')
    op.drop_index('ix_verification_code_client_time', table_name='verification_code')
    op.drop_table('verification_code')
