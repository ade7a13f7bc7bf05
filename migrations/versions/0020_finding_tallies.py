"""The findings counted per county, rule and severity (``county_finding_tally``, statistics'
``findings``), kept like the other county tallies: the triggers append each change's
difference to ``county_finding_delta`` (no row is shared, so writers to one county never wait
for each other) and ``tally_compact()`` folds them; ``tally_rebuild()`` and ``tally_check()``
cover them. Each row counts the findings and the institutions with at least one finding of
its rule and severity.

``resolvers.findings.refresh`` replaces an institution's findings with one DELETE and one
INSERT, so the triggers on ``institution_finding`` are statement triggers over the changed
rows (transition tables): per (institution, rule, severity) touched, the findings added and
whether the institution has one now and had one before. A finding counts for its
institution's region, looked up then; an institution that moves takes its findings along,
and one deleted takes them away before its findings go (BEFORE DELETE: the cascade's
statement then finds no institution and adds nothing).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0020'
down_revision: Union[str, Sequence[str], None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

KEY = ('region_code', 'rule', 'severity')
COUNTS = ('findings', 'institutions')
_NONE = '(SELECT NULL::uuid AS institution_id, NULL::varchar AS rule, NULL::varchar AS severity WHERE false)'


def _changes(old: str, new: str) -> str:
    """The differences of one statement: ``old`` and ``new`` are its transition tables (or
    ``_NONE``). Per (institution, rule, severity) touched: the findings added, and whether
    the institution has one now (the table after the statement) and had one before (now,
    less the new rows, plus the old)."""
    return f"""INSERT INTO county_finding_delta (region_code, rule, severity, findings, institutions)
    SELECT i.region_code, c.rule, c.severity, sum(c.added), sum((c.now > 0)::int - (c.now - c.added > 0)::int)
    FROM (
        SELECT x.institution_id, x.rule, x.severity, sum(x.n)::bigint AS added,
            (SELECT count(*) FROM institution_finding f
             WHERE f.institution_id = x.institution_id AND f.rule = x.rule AND f.severity = x.severity) AS now
        FROM (
            SELECT o.institution_id, o.rule, o.severity, -1 AS n FROM {old} o
            UNION ALL
            SELECT w.institution_id, w.rule, w.severity, 1 FROM {new} w
        ) x GROUP BY x.institution_id, x.rule, x.severity
    ) c JOIN institution i ON i.id = c.institution_id
    GROUP BY i.region_code, c.rule, c.severity
    HAVING sum(c.added) <> 0 OR sum((c.now > 0)::int - (c.now - c.added > 0)::int) <> 0;"""


def _moved(institution: str, region: str, sign: str) -> str:
    """An institution's findings added to (``sign`` 1) or taken from (-1) ``region``."""
    return f"""INSERT INTO county_finding_delta (region_code, rule, severity, findings, institutions)
        SELECT {region}, f.rule, f.severity, {sign} * count(*), {sign} FROM institution_finding f
        WHERE f.institution_id = {institution} GROUP BY f.rule, f.severity;"""


TRIGGERS = f"""
CREATE FUNCTION tally_findings_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_changes(_NONE, 'new_rows')}
    RETURN NULL;
END $$;
--
CREATE FUNCTION tally_findings_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_changes('old_rows', _NONE)}
    RETURN NULL;
END $$;
--
CREATE FUNCTION tally_findings_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_changes('old_rows', 'new_rows')}
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally_county_inserted AFTER INSERT ON institution_finding REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_findings_inserted();
--
CREATE TRIGGER tally_county_deleted AFTER DELETE ON institution_finding REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_findings_deleted();
--
CREATE TRIGGER tally_county_updated AFTER UPDATE ON institution_finding REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_findings_updated();
--
CREATE FUNCTION tally_findings_institution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {_moved('OLD.id', 'OLD.region_code', '-1')}
        RETURN OLD;
    END IF;
    IF OLD.region_code <> NEW.region_code THEN
        {_moved('NEW.id', 'OLD.region_code', '-1')}
        {_moved('NEW.id', 'NEW.region_code', '1')}
    END IF;
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally_findings AFTER UPDATE OF region_code ON institution FOR EACH ROW EXECUTE FUNCTION tally_findings_institution();
--
CREATE TRIGGER tally_findings_gone BEFORE DELETE ON institution FOR EACH ROW EXECUTE FUNCTION tally_findings_institution();
"""

_list = ', '.join
RECOUNT = """SELECT i.region_code, f.rule, f.severity, count(*)::bigint AS findings, count(DISTINCT f.institution_id)::bigint AS institutions
    FROM institution_finding f JOIN institution i ON i.id = f.institution_id GROUP BY i.region_code, f.rule, f.severity"""
KEPT = f"""SELECT {_list(KEY)}, sum(findings)::bigint AS findings, sum(institutions)::bigint AS institutions FROM (
        SELECT * FROM county_finding_tally UNION ALL SELECT * FROM county_finding_delta
    ) kept GROUP BY {_list(KEY)}"""
_on = ' AND '.join(f'k.{c} = f.{c}' for c in KEY)

FUNCTIONS = f"""
ALTER FUNCTION tally_compact() RENAME TO tally_compact_counts;
--
ALTER FUNCTION tally_rebuild() RENAME TO tally_rebuild_standing;
--
ALTER FUNCTION tally_check() RENAME TO tally_check_standing;
--
CREATE FUNCTION tally_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH moved AS (DELETE FROM county_finding_delta RETURNING *),
    summed AS (SELECT {_list(KEY)}, sum(findings)::bigint, sum(institutions)::bigint FROM moved GROUP BY {_list(KEY)}),
    folded AS (
        INSERT INTO county_finding_tally AS t ({_list(KEY + COUNTS)}) SELECT * FROM summed
        ON CONFLICT ({_list(KEY)}) DO UPDATE SET {_list(f'{c} = t.{c} + excluded.{c}' for c in COUNTS)}
        RETURNING 1
    )
    SELECT tally_compact_counts() + (SELECT count(*) FROM folded);
$$;
--
CREATE FUNCTION tally_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tally_rebuild_standing();
    TRUNCATE county_finding_tally, county_finding_delta;
    INSERT INTO county_finding_tally ({_list(KEY + COUNTS)}) {RECOUNT};
END $$;
--
CREATE FUNCTION tally_check() RETURNS TABLE (tally text, key text) LANGUAGE sql STABLE AS $$
    SELECT * FROM tally_check_standing()
    UNION ALL
    SELECT 'county_finding_tally', {" || ' ' || ".join(f'coalesce(f.{c}, k.{c})' for c in KEY)}
    FROM ({RECOUNT}) f FULL JOIN ({KEPT}) k ON {_on}
    WHERE ROW({_list(f'coalesce(f.{c}, 0)' for c in COUNTS)}) IS DISTINCT FROM ROW({_list(f'coalesce(k.{c}, 0)' for c in COUNTS)});
$$;
"""


def _run(sql: str) -> None:
    # One statement at a time (asyncpg prepares each).
    for statement in sql.split('\n--\n'):
        op.execute(statement)


def _counts() -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), server_default='0', nullable=False) for name in COUNTS]


def upgrade() -> None:
    op.create_table(
        'county_finding_tally',
        sa.Column('region_code', sa.String(length=6), nullable=False),
        sa.Column('rule', sa.String(length=40), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        *_counts(),
        sa.ForeignKeyConstraint(['region_code'], ['region.code']),
        sa.PrimaryKeyConstraint('region_code', 'rule', 'severity'),
    )
    op.create_table(
        'county_finding_delta',
        sa.Column('region_code', sa.String(length=6), nullable=False),
        sa.Column('rule', sa.String(length=40), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        *_counts(),
    )
    # The findings list and the institution list's filters by rule and severity.
    op.create_index('ix_institution_finding_rule', 'institution_finding', ['rule', 'severity', 'institution_id'], unique=False)
    _run(TRIGGERS)
    _run(FUNCTIONS)
    op.execute(f'INSERT INTO county_finding_tally ({_list(KEY + COUNTS)}) {RECOUNT}')


def downgrade() -> None:
    for name in ('tally_check', 'tally_rebuild', 'tally_compact'):
        op.execute(f'DROP FUNCTION {name}()')
    op.execute('ALTER FUNCTION tally_check_standing() RENAME TO tally_check')
    op.execute('ALTER FUNCTION tally_rebuild_standing() RENAME TO tally_rebuild')
    op.execute('ALTER FUNCTION tally_compact_counts() RENAME TO tally_compact')
    op.execute('DROP TRIGGER tally_findings_gone ON institution')
    op.execute('DROP TRIGGER tally_findings ON institution')
    op.execute('DROP FUNCTION tally_findings_institution()')
    for event in ('inserted', 'deleted', 'updated'):
        op.execute(f'DROP TRIGGER tally_county_{event} ON institution_finding')
        op.execute(f'DROP FUNCTION tally_findings_{event}()')
    op.drop_index('ix_institution_finding_rule', table_name='institution_finding')
    op.drop_table('county_finding_delta')
    op.drop_table('county_finding_tally')
