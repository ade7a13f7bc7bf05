"""The institution names' character bigrams, indexed: the public lookup's forgiving stage
finds a short Chinese name with one character wrong or missing among the names that share
one of the query's adjacent character pairs (``resolvers/public.py``), through this index
rather than by reading every name of a province.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION name_bigrams(name text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT ARRAY(SELECT DISTINCT substr(lower(name), i, 2) FROM generate_series(1, char_length(name) - 1) AS i) $$
        """
    )
    op.execute("CREATE INDEX ix_institution_name_bigrams ON institution USING gin (name_bigrams(name))")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_institution_name_bigrams")
    op.execute("DROP FUNCTION IF EXISTS name_bigrams(text)")
