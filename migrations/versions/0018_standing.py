"""The standing of institutions (法律状态, docs/DOMAIN.md §G5; ``resolvers.standing``): the findings of
the rules on each institution's records as last checked (``institution_finding``), what the
standing reads besides the institution's row kept on ``institution_tally`` by triggers (its
open violations; the part of compliance that does not depend on the day, with the dates of
a licence held, so that the compliant institutions of a region are counted from one partial
index), ``tally_rebuild()`` and ``tally_check()`` covering them; a note on a list period
(why it was published: a white list revised when a black list named some of its
institutions); who reviewed a training material.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The part of compliance an institution's own row gives, whatever the day (``r``: the row).
# It is ``resolvers.standing``'s definition without the day: compliance approved, not
# deregistered, business registration (营业执照/登记证书) held, and a licence held with its
# number, issuer and dates — or, without one, not a subject institution (which needs one).
# Compliant on a day: this, no open violation, not black-listed, and a licence held valid
# that day.
HELD = "coalesce(r.qualification_status, '') IN ('FULL', 'LICENCE_ONLY')"
BASIS = f"""coalesce(
    r.review_status = 'APPROVED' AND r.deregistered_at IS NULL
    AND coalesce(r.qualification_status, '') IN ('FULL', 'BUSINESS_LICENCE_ONLY')
    AND CASE WHEN {HELD}
        THEN r.licence_number IS NOT NULL AND r.licence_issuer IS NOT NULL AND r.licence_valid_from IS NOT NULL AND r.licence_valid_to IS NOT NULL
        ELSE r.kind <> 'SUBJECT' END,
    false)"""
STANDING = ('standing_basis', 'licence_valid_from', 'licence_valid_to')
# What each of them is for the row ``r``.
STANDING_OF = (BASIS, f'CASE WHEN {HELD} THEN r.licence_valid_from END', f'CASE WHEN {HELD} THEN r.licence_valid_to END')
# The columns of an institution they depend on.
INPUTS = (
    'review_status', 'deregistered_at', 'qualification_status', 'kind', 'licence_number', 'licence_issuer',
    'licence_valid_from', 'licence_valid_to',
)


def _of(row: str) -> str:
    return ', '.join(s.replace('r.', row + '.') for s in STANDING_OF)


TRIGGERS = f"""
CREATE FUNCTION tally_standing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND ROW({', '.join('OLD.' + c for c in INPUTS)}) IS NOT DISTINCT FROM ROW({', '.join('NEW.' + c for c in INPUTS)}) THEN
        RETURN NULL;
    END IF;
    UPDATE institution_tally SET ({', '.join(STANDING)}) = ({_of('NEW')})
    WHERE institution_id = NEW.id AND ROW({', '.join(STANDING)}) IS DISTINCT FROM ROW({_of('NEW')});
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally_standing AFTER INSERT OR UPDATE ON institution FOR EACH ROW EXECUTE FUNCTION tally_standing();
--
CREATE FUNCTION tally_finding() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.severity = 'VIOLATION' THEN
        UPDATE institution_tally SET violations = violations - 1 WHERE institution_id = OLD.institution_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.severity = 'VIOLATION' THEN
        UPDATE institution_tally SET violations = violations + 1 WHERE institution_id = NEW.institution_id;
    END IF;
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally AFTER INSERT OR UPDATE OR DELETE ON institution_finding FOR EACH ROW EXECUTE FUNCTION tally_finding();
"""

# Every institution's standing columns, recounted from the institutions and their findings.
RECOUNT = f"""SELECT r.id AS institution_id, coalesce(f.n, 0) AS violations, {', '.join(f'{s} AS {c}' for s, c in zip(STANDING_OF, STANDING))}
    FROM institution r
    LEFT JOIN (SELECT institution_id, count(*) AS n FROM institution_finding WHERE severity = 'VIOLATION' GROUP BY institution_id) f
    ON f.institution_id = r.id"""
COLUMNS = ('violations', *STANDING)
REBUILD = f"""
ALTER FUNCTION tally_rebuild() RENAME TO tally_rebuild_counts;
--
ALTER FUNCTION tally_check() RENAME TO tally_check_counts;
--
CREATE FUNCTION tally_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tally_rebuild_counts();
    ALTER TABLE institution_tally DISABLE TRIGGER tally;
    UPDATE institution_tally t SET ({', '.join(COLUMNS)}) = ({', '.join('s.' + c for c in COLUMNS)})
    FROM ({RECOUNT}) s WHERE t.institution_id = s.institution_id;
    ALTER TABLE institution_tally ENABLE TRIGGER tally;
END $$;
--
CREATE FUNCTION tally_check() RETURNS TABLE (tally text, key text) LANGUAGE sql STABLE AS $$
    SELECT * FROM tally_check_counts()
    UNION ALL
    SELECT 'institution_tally', coalesce(s.institution_id, t.institution_id)::text
    FROM ({RECOUNT}) s FULL JOIN institution_tally t ON t.institution_id = s.institution_id
    WHERE ROW({', '.join('s.' + c for c in COLUMNS)}) IS DISTINCT FROM ROW({', '.join('t.' + c for c in COLUMNS)});
$$;
"""


def _run(sql: str) -> None:
    # One statement at a time (asyncpg prepares each).
    for statement in sql.split('\n--\n'):
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        'institution_finding',
        sa.Column('institution_id', sa.Uuid(), nullable=False),
        sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('rule', sa.String(length=40), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=False),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('record_type', sa.String(length=40), nullable=False),
        sa.Column('record_id', sa.Uuid(), nullable=False),
        sa.Column('record_name', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('institution_id', 'position'),
    )
    op.add_column('institution_tally', sa.Column('violations', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('institution_tally', sa.Column('standing_basis', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('institution_tally', sa.Column('licence_valid_from', sa.Date(), nullable=True))
    op.add_column('institution_tally', sa.Column('licence_valid_to', sa.Date(), nullable=True))
    op.add_column('list_period', sa.Column('note', sa.String(length=300), nullable=True))
    op.add_column('material', sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('material', sa.Column('reviewed_by', sa.Uuid(), nullable=True))
    op.add_column('material', sa.Column('review_opinion', sa.String(length=500), nullable=True))
    op.create_foreign_key('material_reviewed_by_fkey', 'material', 'account', ['reviewed_by'], ['id'], ondelete='SET NULL')
    _run(TRIGGERS)
    _run(REBUILD)
    # The findings are checked in Python (``python server.py tallies --rebuild`` checks every
    # institution's records and recounts); here the standing columns of the rows there are.
    op.execute(f"""UPDATE institution_tally t SET ({', '.join(COLUMNS)}) = ({', '.join('s.' + c for c in COLUMNS)})
        FROM ({RECOUNT}) s WHERE t.institution_id = s.institution_id""")
    op.create_index(
        'ix_institution_tally_compliant', 'institution_tally', ['region_code'], unique=False,
        postgresql_include=['licence_valid_from', 'licence_valid_to'],
        postgresql_where=sa.text('standing_basis AND black_listed = 0 AND violations = 0'),
    )


def downgrade() -> None:
    op.drop_index('ix_institution_tally_compliant', table_name='institution_tally')
    op.execute('DROP FUNCTION tally_check()')
    op.execute('DROP FUNCTION tally_rebuild()')
    op.execute('ALTER FUNCTION tally_check_counts() RENAME TO tally_check')
    op.execute('ALTER FUNCTION tally_rebuild_counts() RENAME TO tally_rebuild')
    op.execute('DROP TRIGGER tally ON institution_finding')
    op.execute('DROP FUNCTION tally_finding()')
    op.execute('DROP TRIGGER tally_standing ON institution')
    op.execute('DROP FUNCTION tally_standing()')
    op.drop_constraint('material_reviewed_by_fkey', 'material', type_='foreignkey')
    for column in ('review_opinion', 'reviewed_by', 'reviewed_at'):
        op.drop_column('material', column)
    op.drop_column('list_period', 'note')
    for column in ('licence_valid_to', 'licence_valid_from', 'standing_basis', 'violations'):
        op.drop_column('institution_tally', column)
    op.drop_table('institution_finding')
