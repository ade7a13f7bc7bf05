"""Versions of regulator accounts and inspections: an edit based on an older one is refused.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('account', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.add_column('inspection', sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    op.drop_column('inspection', 'version')
    op.drop_column('account', 'version')
