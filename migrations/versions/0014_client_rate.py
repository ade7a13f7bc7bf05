"""The rate of requests without a session per client address, shared by every worker
(``auth.ratelimit``): an UNLOGGED table, one row per address.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'client_rate',
        sa.Column('bucket', sa.String(length=64), nullable=False),
        sa.Column('tat', sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint('bucket'),
        prefixes=['UNLOGGED'],
    )


def downgrade() -> None:
    op.drop_table('client_rate')
