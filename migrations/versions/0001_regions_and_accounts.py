"""Regions (loaded from data/regions.csv) and accounts.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

import csv
from pathlib import Path


revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


REGIONS_CSV = Path(__file__).resolve().parents[2] / "data" / "regions.csv"


def _load_regions() -> None:
    """The national table under the root 000000; each row's path is its chain of codes."""
    with REGIONS_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    parent = {r["code"]: r["parent_code"] or "000000" for r in rows}

    def path(code: str) -> str:
        chain = [code]
        while chain[-1] != "000000":
            chain.append(parent[chain[-1]])
        return "/".join(reversed(chain)) + "/"

    region = sa.table(
        "region",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("level", sa.Integer),
        sa.column("parent_code", sa.String),
        sa.column("path", sa.String),
    )
    root = {"code": "000000", "name": "全国", "level": 0, "parent_code": None, "path": "000000/"}
    # Parents before children, so the foreign key holds row by row.
    rows.sort(key=lambda r: int(r["level"]))
    op.bulk_insert(
        region,
        [root]
        + [
            {"code": r["code"], "name": r["name"], "level": int(r["level"]),
             "parent_code": parent[r["code"]], "path": path(r["code"])}
            for r in rows
        ],
    )


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('username')
    )
    op.create_table('region',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('parent_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_region_parent_code'), 'region', ['parent_code'], unique=False)
    op.create_index('ix_region_path', 'region', ['path'], unique=False, postgresql_ops={'path': 'varchar_pattern_ops'})
    op.create_table('account',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sa.Enum('REGULATOR', 'INSTITUTION', name='accountkind', native_enum=False, length=24), nullable=False),
    sa.Column('level', sa.Enum('MINISTRY', 'PROVINCE', 'PREFECTURE', 'COUNTY', 'SUB_UNIT', name='level', native_enum=False, length=24), nullable=True),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('department', sa.Enum('EDUCATION', 'SPORTS', 'CULTURE_TOURISM', 'SCIENCE_TECHNOLOGY', name='department', native_enum=False, length=24), nullable=True),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('institution_id', sa.Uuid(), nullable=True),
    sa.Column('mobile', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['account.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_account_institution_id'), 'account', ['institution_id'], unique=False)
    op.create_index(op.f('ix_account_parent_id'), 'account', ['parent_id'], unique=False)
    op.create_index(op.f('ix_account_region_code'), 'account', ['region_code'], unique=False)
    op.create_index('ix_account_username_lower', 'account', [sa.literal_column('lower(username)')], unique=True)
    op.create_index(
        'uq_account_unit', 'account', ['region_code', 'department', 'level'], unique=True,
        postgresql_where=sa.text("kind = 'REGULATOR' AND level <> 'SUB_UNIT'"),
    )
    op.create_table('auth_session',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_auth_session_account_id'), 'auth_session', ['account_id'], unique=False)
    _load_regions()


def downgrade() -> None:
    op.drop_index(op.f('ix_auth_session_account_id'), table_name='auth_session')
    op.drop_table('auth_session')
    op.drop_index('uq_account_unit', table_name='account')
    op.drop_index('ix_account_username_lower', table_name='account')
    op.drop_index(op.f('ix_account_region_code'), table_name='account')
    op.drop_index(op.f('ix_account_parent_id'), table_name='account')
    op.drop_index(op.f('ix_account_institution_id'), table_name='account')
    op.drop_table('account')
    op.drop_index('ix_region_path', table_name='region', postgresql_ops={'path': 'varchar_pattern_ops'})
    op.drop_index(op.f('ix_region_parent_code'), table_name='region')
    op.drop_table('region')
    op.drop_table('login_throttle')
