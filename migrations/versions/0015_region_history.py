"""Regions with history (区划调整, docs/regions.md): when each region took effect and was
retired, its successors, the change sets applied and each change they made; then the first
change set, data/region-changes/2026-01-25-chongqing-liangjiang.json, applied like
``python server.py regions apply`` does (the same code, one transaction with the schema).

A database loaded from the table that already had that change in it (500157 present, 500105
and 500112 absent) gets the two old districts back as retired regions and the new one
adopted, so every database ends alike. A downgrade drops the history; the regions and the
records moved stay as they are.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
import csv
from pathlib import Path
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from core.clock import utcnow
from resolvers.regions.applying import Operator, apply_file


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DATA = Path(__file__).resolve().parents[2] / "data"
CHONGQING = DATA / "region-changes" / "2026-01-25-chongqing-liangjiang.json"
OLD_CODES = ("500105", "500112")


def _restore_old_districts(conn) -> None:
    """The old districts of the base table, for a table loaded without them."""
    with (DATA / "regions.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["code"] in OLD_CODES]
    for r in rows:
        parent_path = conn.execute(sa.text("SELECT path FROM region WHERE code = :c"), {"c": r["parent_code"]}).scalar_one()
        conn.execute(
            sa.text("INSERT INTO region (code, name, level, parent_code, path) VALUES (:code, :name, :level, :parent, :path)"),
            {"code": r["code"], "name": r["name"], "level": int(r["level"]), "parent": r["parent_code"], "path": parent_path + r["code"] + "/"},
        )


def upgrade() -> None:
    op.add_column('region', sa.Column('valid_from', sa.Date(), nullable=True))
    op.add_column('region', sa.Column('valid_to', sa.Date(), nullable=True))
    op.alter_column('region', 'path', type_=sa.String(length=200), existing_nullable=False)
    op.create_table(
        'region_successor',
        sa.Column('code', sa.String(length=6), nullable=False),
        sa.Column('successor_code', sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(['code'], ['region.code']),
        sa.ForeignKeyConstraint(['successor_code'], ['region.code']),
        sa.PrimaryKeyConstraint('code', 'successor_code'),
    )
    op.create_index('ix_region_successor_successor_code', 'region_successor', ['successor_code'], unique=False)
    op.create_table(
        'region_change_set',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('effective', sa.Date(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('applied_by', sa.String(length=64), nullable=False),
        sa.Column('content', JSONB(), nullable=False),
        sa.Column('moved', JSONB(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'region_change',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('seq', sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column('change_set_id', sa.Uuid(), nullable=False),
        sa.Column('region_code', sa.String(length=6), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('effective', sa.Date(), nullable=False),
        sa.Column('details', JSONB(), nullable=False),
        sa.ForeignKeyConstraint(['change_set_id'], ['region_change_set.id']),
        sa.ForeignKeyConstraint(['region_code'], ['region.code']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('seq'),
    )
    op.create_index('ix_region_change_region', 'region_change', ['region_code', 'seq'], unique=False)

    conn = op.get_bind()
    present = set(conn.execute(sa.text("SELECT code FROM region WHERE code IN ('500105', '500112', '500157')")).scalars())
    if not present:
        return  # a table without 重庆's districts: nothing to apply
    adopt = "500157" in present and not present & set(OLD_CODES)
    if adopt:
        _restore_old_districts(conn)
    # The change is law since its day: applied whatever this machine's clock says.
    apply_file(conn, CHONGQING.read_bytes(), utcnow(), Operator("migration 0015"), adopt=adopt, check_day=False)


def downgrade() -> None:
    op.drop_index('ix_region_change_region', table_name='region_change')
    op.drop_table('region_change')
    op.drop_table('region_change_set')
    op.drop_index('ix_region_successor_successor_code', table_name='region_successor')
    op.drop_table('region_successor')
    op.alter_column('region', 'path', type_=sa.String(length=64), existing_nullable=False)
    op.drop_column('region', 'valid_to')
    op.drop_column('region', 'valid_from')
