"""Maintained counts for statistics (``models/statistics.py``): the per-institution tally, the
per-county tally and the per-county-and-day tally with their differences, the triggers that keep them, ``tally_compact()``,
``tally_rebuild()`` and ``tally_check()``; the tallies are filled from the existing rows.
Also what the statistics still read from rows, narrowed: complaints' handling time (a stored
column, indexed for handled complaints by county) and rectifying institutions by county and
deadline (逾期, which depends on the day).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# What each owned record adds to its institution's tally: column -> condition on the row ``r``.
SOURCES = {
    'inspection': {'inspections': 'true'},
    'application': {
        f'{kind.lower()}_{status.lower()}': f"r.type = '{kind}' AND r.status = '{status}'"
        for kind in ('COMPLIANCE', 'DEREGISTRATION', 'LICENCE', 'CLASS_FILING')
        for status in ('PENDING', 'APPROVED', 'REJECTED')
    },
    'training_class': {
        'classes_filed': "r.filing_status = 'FILED'",
        'classes_pending': "r.filing_status = 'PENDING'",
        'classes_unfiled': "r.filing_status IN ('NOT_FILED', 'REJECTED')",
    },
    'staff': {
        'staff_active': "r.status = 'ACTIVE'",
        'teachers': "r.status = 'ACTIVE' AND r.post = 'TEACHING'",
        'certified_teachers': "r.status = 'ACTIVE' AND r.post = 'TEACHING' AND coalesce(r.teacher_certificate_number, '') <> ''",
    },
}
# Whether a current period (the highest number of its region and kind) of a white or black
# list names the institution (``r``: an institution id).
LISTED = {
    f'{kind.lower()}_listed': (
        f"EXISTS (SELECT 1 FROM list_entry e JOIN list_period p ON p.id = e.period_id WHERE e.institution_id = r.id AND p.kind = '{kind}'"
        " AND p.number = (SELECT max(q.number) FROM list_period q WHERE q.region_code = p.region_code AND q.kind = p.kind))"
    )
    for kind in ('WHITE', 'BLACK')
}
INSTITUTION_TALLIES = [*(column for counters in SOURCES.values() for column in counters), *LISTED]
# What each complaint adds to its county.
COMPLAINTS = {
    'complaints': 'true',
    **{f'complaints_{status.lower()}': f"r.status = '{status}'" for status in ('SUBMITTED', 'ACCEPTED', 'REPLIED', 'REJECTED')},
    **{f'complaints_{kind.lower()}': f"r.complaint_type = '{kind}'" for kind in ('ILLEGAL_OPERATION', 'ILLEGAL_ENROLMENT', 'OTHER')},
}
# What an institution's own state adds to its county.
STATES = {
    'registered': 'true',
    'complete': 'r.qualifications_saved AND r.operation_saved AND r.subject_training_saved AND r.facilities_saved',
    'compliant': "r.review_status = 'APPROVED'",
    'deregistered': 'r.deregistered_at IS NOT NULL',
    'inspected': "r.inspection_status <> 'NOT_INSPECTED'",
    'with_problems': "r.inspection_status IN ('RECTIFYING', 'RECTIFIED')",
    'rectifying': "r.inspection_status = 'RECTIFYING'",
    'rectified': "r.inspection_status = 'RECTIFIED'",
}
COUNTY_TALLIES = [*STATES, *INSTITUTION_TALLIES, *COMPLAINTS]


def _one(condition: str, row: str) -> str:
    """1 where the condition holds for ``row`` (OLD, NEW or a table alias), else 0."""
    return f"coalesce(({condition.replace('r.', row + '.')})::int, 0)"


def _list(names) -> str:
    return ', '.join(names)


def _source_trigger(table: str, counters: dict[str, str]) -> str:
    """The trigger function keeping ``institution_tally`` for ``table``'s rows."""
    old = [_one(c, 'OLD') for c in counters.values()]
    new = [_one(c, 'NEW') for c in counters.values()]

    def update(signs_values: list[str], institution: str) -> str:
        sets = ', '.join(f'{name} = {name} + {value}' for name, value in zip(counters, signs_values, strict=True))
        return f'UPDATE institution_tally SET {sets} WHERE institution_id = {institution};'

    return f"""
CREATE FUNCTION tally_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.institution_id = NEW.institution_id THEN
        IF ROW({_list(old)}) IS NOT DISTINCT FROM ROW({_list(new)}) THEN
            RETURN NULL;
        END IF;
        {update([f'{n} - {o}' for n, o in zip(new, old, strict=True)], 'NEW.institution_id')}
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        {update([f'-{o}' for o in old], 'OLD.institution_id')}
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {update(new, 'NEW.institution_id')}
    END IF;
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION tally_{table}();
"""


def _delta(region: str, values: list[str]) -> str:
    return f'INSERT INTO county_tally_delta (region_code, {_list(COUNTY_TALLIES)}) VALUES ({region}, {_list(values)});'


def _county_differences(region: str, old: list[str], new: list[str]) -> str:
    """The trigger body that appends a row's change to its county's differences: ``old``
    and ``new`` are what the row adds to each column of ``COUNTY_TALLIES`` before and after
    the change, ``region`` the column naming its county. Nothing for a change that changes
    no count, nor for a row that adds nothing."""
    zeros = ['0'] * len(new)
    return f"""
    IF TG_OP = 'UPDATE' AND OLD.{region} = NEW.{region} THEN
        IF ROW({_list(old)}) IS NOT DISTINCT FROM ROW({_list(new)}) THEN
            RETURN NULL;
        END IF;
        {_delta(f'NEW.{region}', [n if o == '0' else f'{n} - {o}' for n, o in zip(new, old, strict=True)])}
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        {_delta(f'OLD.{region}', [o if o == '0' else f'-{o}' for o in old])}
    END IF;
    IF TG_OP <> 'DELETE' AND ROW({_list(new)}) IS DISTINCT FROM ROW({_list(zeros)}) THEN
        {_delta(f'NEW.{region}', new)}
    END IF;
    RETURN NULL;"""


ZERO_STATES = ['0'] * len(STATES)
ZERO_TALLIES = ['0'] * len(INSTITUTION_TALLIES)
ZERO_COMPLAINTS = ['0'] * len(COMPLAINTS)

# institution_tally -> county differences (its region is copied, so a deleted institution's
# counts still know their county).
TALLY_TO_COUNTY = f"""
CREATE FUNCTION tally_institution_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_county_differences(
    'region_code',
    ZERO_STATES + [f'OLD.{c}' for c in INSTITUTION_TALLIES] + ZERO_COMPLAINTS,
    ZERO_STATES + [f'NEW.{c}' for c in INSTITUTION_TALLIES] + ZERO_COMPLAINTS,
)}
END $$;
--
CREATE TRIGGER tally AFTER INSERT OR UPDATE OR DELETE ON institution_tally FOR EACH ROW EXECUTE FUNCTION tally_institution_tally();
"""

_old_states = [_one(c, 'OLD') for c in STATES.values()]
_new_states = [_one(c, 'NEW') for c in STATES.values()]
# institution -> its tally row (made with it, moved with it) and its state's county differences.
INSTITUTION = f"""
CREATE FUNCTION tally_institution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO institution_tally (institution_id, region_code) VALUES (NEW.id, NEW.region_code);
    ELSIF TG_OP = 'UPDATE' AND OLD.region_code <> NEW.region_code THEN
        UPDATE institution_tally SET region_code = NEW.region_code WHERE institution_id = NEW.id;
    END IF;
    {_county_differences('region_code', _old_states + ZERO_TALLIES + ZERO_COMPLAINTS, _new_states + ZERO_TALLIES + ZERO_COMPLAINTS)}
END $$;
--
CREATE TRIGGER tally AFTER INSERT OR UPDATE OR DELETE ON institution FOR EACH ROW EXECUTE FUNCTION tally_institution();
"""

_old_complaint = [_one(c, 'OLD') for c in COMPLAINTS.values()]
_new_complaint = [_one(c, 'NEW') for c in COMPLAINTS.values()]
ZERO_INSTITUTION = ZERO_STATES + ZERO_TALLIES
# complaint -> its county's differences.
COMPLAINT = f"""
CREATE FUNCTION tally_complaint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_county_differences('county_code', ZERO_INSTITUTION + _old_complaint, ZERO_INSTITUTION + _new_complaint)}
END $$;
--
CREATE TRIGGER tally AFTER INSERT OR UPDATE OR DELETE ON complaint FOR EACH ROW EXECUTE FUNCTION tally_complaint();
"""

# The lists: recount the listed flags of the institutions an entry or a period concerns (a new
# period supersedes its region's previous one of the kind: their institutions are recounted).
_listed_now = _list(f"({condition.replace('r.id', 'x.id')})::int AS {name}" for name, condition in LISTED.items())
_relist_kind = """PERFORM tally_relist(ARRAY(
            SELECT DISTINCT e.institution_id FROM list_entry e JOIN list_period p ON p.id = e.period_id
            WHERE p.region_code = {row}.region_code AND p.kind = {row}.kind
        ));"""
LISTS = f"""
CREATE FUNCTION tally_relist(ids uuid[]) RETURNS void LANGUAGE sql AS $$
    UPDATE institution_tally t SET ({_list(LISTED)}) = ({_list('x.' + c for c in LISTED)})
    FROM (SELECT x.id, {_listed_now} FROM unnest(ids) AS x(id)) x
    WHERE t.institution_id = x.id AND ROW({_list('t.' + c for c in LISTED)}) IS DISTINCT FROM ROW({_list('x.' + c for c in LISTED)});
$$;
--
CREATE FUNCTION tally_list_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM tally_relist(ARRAY[OLD.institution_id]);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM tally_relist(ARRAY[NEW.institution_id]);
    END IF;
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally AFTER INSERT OR UPDATE OR DELETE ON list_entry FOR EACH ROW EXECUTE FUNCTION tally_list_entry();
--
CREATE FUNCTION tally_list_period() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        {_relist_kind.format(row='OLD')}
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {_relist_kind.format(row='NEW')}
    END IF;
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally AFTER INSERT OR UPDATE OR DELETE ON list_period FOR EACH ROW EXECUTE FUNCTION tally_list_period();
"""

# The day counts of each county (Beijing days): registrations (created), inspections
# (inspected_on), complaints (submitted), approvals (decided). A record's county is its
# institution's region, looked up when the record changes; an institution that moves takes
# its days along, and one deleted takes them away before its records go (BEFORE DELETE: the
# records' own triggers then find no institution and add nothing).
DAYS = ['registrations', 'inspections', 'complaints', 'approvals']


def _day(ts: str) -> str:
    return f"(({ts}) AT TIME ZONE 'Asia/Shanghai')::date"


def _day_delta(column: str, select: str) -> str:
    """Append ``select`` (region, day, count) to the day differences of ``column``."""
    return f'INSERT INTO county_day_delta (region_code, day, {column}) {select};'


def _record_day_trigger(table: str, column: str, day: str, counted: str) -> str:
    """The day trigger of an institution's records (``r``): ``counted`` says whether a row
    counts, on ``day``, for its institution's region."""
    old_day, new_day = day.replace('r.', 'OLD.'), day.replace('r.', 'NEW.')
    old_counted, new_counted = counted.replace('r.', 'OLD.'), counted.replace('r.', 'NEW.')
    return f"""
CREATE FUNCTION tally_day_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.institution_id = NEW.institution_id
       AND ({old_counted}) IS NOT DISTINCT FROM ({new_counted}) AND {old_day} IS NOT DISTINCT FROM {new_day} THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND {old_counted} THEN
        {_day_delta(column, f'SELECT i.region_code, {old_day}, -1 FROM institution i WHERE i.id = OLD.institution_id')}
    END IF;
    IF TG_OP <> 'DELETE' AND {new_counted} THEN
        {_day_delta(column, f'SELECT i.region_code, {new_day}, 1 FROM institution i WHERE i.id = NEW.institution_id')}
    END IF;
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally_day AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION tally_day_{table}();
"""


APPROVED = "r.status = 'APPROVED' AND r.decided_at IS NOT NULL"
DAY_TRIGGERS = [
    _record_day_trigger('inspection', 'inspections', 'r.inspected_on', 'true'),
    _record_day_trigger('application', 'approvals', _day('r.decided_at'), APPROVED),
    f"""
CREATE FUNCTION tally_day_complaint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.county_code = NEW.county_code AND {_day('OLD.submitted_at')} = {_day('NEW.submitted_at')} THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        {_day_delta('complaints', f"SELECT OLD.county_code, {_day('OLD.submitted_at')}, -1")}
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {_day_delta('complaints', f"SELECT NEW.county_code, {_day('NEW.submitted_at')}, 1")}
    END IF;
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally_day AFTER INSERT OR UPDATE OR DELETE ON complaint FOR EACH ROW EXECUTE FUNCTION tally_day_complaint();
""",
    f"""
CREATE FUNCTION tally_day_records(institution uuid, region text, sign int) RETURNS void LANGUAGE sql AS $$
    {_day_delta('inspections', 'SELECT region, r.inspected_on, sign * count(*) FROM inspection r WHERE r.institution_id = institution GROUP BY 2')}
    {_day_delta('approvals', f"SELECT region, {_day('r.decided_at')}, sign * count(*) FROM application r WHERE r.institution_id = institution AND {APPROVED} GROUP BY 2")}
$$;
--
CREATE FUNCTION tally_day_institution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.region_code = NEW.region_code AND {_day('OLD.created_at')} = {_day('NEW.created_at')} THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        {_day_delta('registrations', f"SELECT OLD.region_code, {_day('OLD.created_at')}, -1")}
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.region_code <> NEW.region_code THEN
        PERFORM tally_day_records(NEW.id, OLD.region_code, -1);
        PERFORM tally_day_records(NEW.id, NEW.region_code, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tally_day_records(OLD.id, OLD.region_code, -1);
        RETURN OLD;
    END IF;
    {_day_delta('registrations', f"SELECT NEW.region_code, {_day('NEW.created_at')}, 1")}
    RETURN NULL;
END $$;
--
CREATE TRIGGER tally_day AFTER INSERT OR UPDATE ON institution FOR EACH ROW EXECUTE FUNCTION tally_day_institution();
--
CREATE TRIGGER tally_day_gone BEFORE DELETE ON institution FOR EACH ROW EXECUTE FUNCTION tally_day_institution();
""",
]
RECOUNT_DAYS = f"""SELECT region_code, day, {_list(f'sum({c})::bigint AS {c}' for c in DAYS)} FROM (
        SELECT r.region_code, {_day('r.created_at')} AS day, 1 AS registrations, 0 AS inspections, 0 AS complaints, 0 AS approvals FROM institution r
        UNION ALL
        SELECT i.region_code, r.inspected_on, 0, 1, 0, 0 FROM inspection r JOIN institution i ON i.id = r.institution_id
        UNION ALL
        SELECT r.county_code, {_day('r.submitted_at')}, 0, 0, 1, 0 FROM complaint r
        UNION ALL
        SELECT i.region_code, {_day('r.decided_at')}, 0, 0, 0, 1 FROM application r JOIN institution i ON i.id = r.institution_id WHERE {APPROVED}
    ) counted GROUP BY region_code, day"""
_day_sums = _list(f'sum({c})::bigint AS {c}' for c in DAYS)
KEPT_DAYS = f'SELECT region_code, day, {_day_sums} FROM (SELECT * FROM county_day_tally UNION ALL SELECT * FROM county_day_delta) kept GROUP BY region_code, day'

_sums = _list(f'sum({c})::bigint AS {c}' for c in COUNTY_TALLIES)
COMPACT = f"""
CREATE FUNCTION tally_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH moved AS (DELETE FROM county_tally_delta RETURNING *),
    summed AS (SELECT region_code, {_sums} FROM moved GROUP BY region_code),
    folded AS (
        INSERT INTO county_tally AS t (region_code, {_list(COUNTY_TALLIES)}) SELECT * FROM summed
        ON CONFLICT (region_code) DO UPDATE SET {_list(f'{c} = t.{c} + excluded.{c}' for c in COUNTY_TALLIES)}
        RETURNING 1
    ),
    moved_days AS (DELETE FROM county_day_delta RETURNING *),
    summed_days AS (SELECT region_code, day, {_day_sums} FROM moved_days GROUP BY region_code, day),
    folded_days AS (
        INSERT INTO county_day_tally AS t (region_code, day, {_list(DAYS)}) SELECT * FROM summed_days
        ON CONFLICT (region_code, day) DO UPDATE SET {_list(f'{c} = t.{c} + excluded.{c}' for c in DAYS)}
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM folded) + (SELECT count(*) FROM folded_days);
$$;
"""


def _recount_institutions() -> str:
    """Every institution's tally counted from the source tables."""
    joins, columns = [], []
    for table, counters in SOURCES.items():
        counts = _list(f'count(*) FILTER (WHERE {c}) AS {name}' for name, c in counters.items())
        joins.append(f'LEFT JOIN (SELECT r.institution_id, {counts} FROM {table} r GROUP BY r.institution_id) {table} ON {table}.institution_id = r.id')
        columns += [f'coalesce({table}.{name}, 0) AS {name}' for name in counters]
    columns += [f'({condition})::int AS {name}' for name, condition in LISTED.items()]
    return f"SELECT r.id AS institution_id, r.region_code, {_list(columns)} FROM institution r {' '.join(joins)}"


def _recount_counties(tallies: str) -> str:
    """Every county's tally counted from the institutions, ``tallies`` (their tallies) and
    the complaints."""
    zeros = lambda names: _list(f'0 AS {name}' for name in names)  # noqa: E731
    states = _list(f'count(*) FILTER (WHERE {c}) AS {name}' for name, c in STATES.items())
    sums = _list(f'sum(t.{c}) AS {c}' for c in INSTITUTION_TALLIES)
    complaints = _list(f'count(*) FILTER (WHERE {c}) AS {name}' for name, c in COMPLAINTS.items())
    return f"""SELECT region_code, {_sums} FROM (
        SELECT r.region_code, {states}, {sums}, {zeros(COMPLAINTS)}
        FROM institution r JOIN {tallies} t ON t.institution_id = r.id GROUP BY r.region_code
        UNION ALL
        SELECT r.county_code, {zeros(STATES)}, {zeros(INSTITUTION_TALLIES)}, {complaints} FROM complaint r GROUP BY r.county_code
    ) counted GROUP BY region_code"""


REBUILD = f"""
CREATE FUNCTION tally_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE institution_tally DISABLE TRIGGER tally;
    TRUNCATE institution_tally, county_tally, county_tally_delta, county_day_tally, county_day_delta;
    INSERT INTO institution_tally (institution_id, region_code, {_list(INSTITUTION_TALLIES)}) {_recount_institutions()};
    INSERT INTO county_tally (region_code, {_list(COUNTY_TALLIES)}) {_recount_counties('institution_tally')};
    INSERT INTO county_day_tally (region_code, day, {_list(DAYS)}) {RECOUNT_DAYS};
    ALTER TABLE institution_tally ENABLE TRIGGER tally;
END $$;
"""

_pending = f'SELECT region_code, {_sums} FROM (SELECT * FROM county_tally UNION ALL SELECT * FROM county_tally_delta) kept GROUP BY region_code'
CHECK = f"""
CREATE FUNCTION tally_check() RETURNS TABLE (tally text, key text) LANGUAGE sql STABLE AS $$
    WITH fresh AS ({_recount_institutions()})
    SELECT 'institution_tally', coalesce(f.institution_id, t.institution_id)::text
    FROM fresh f FULL JOIN institution_tally t ON t.institution_id = f.institution_id
    WHERE ROW(f.region_code, {_list('f.' + c for c in INSTITUTION_TALLIES)})
        IS DISTINCT FROM ROW(t.region_code, {_list('t.' + c for c in INSTITUTION_TALLIES)})
    UNION ALL
    SELECT 'county_tally', coalesce(f.region_code, k.region_code)
    FROM ({_recount_counties('fresh')}) f FULL JOIN ({_pending}) k ON k.region_code = f.region_code
    WHERE ROW({_list(f'coalesce(f.{c}, 0)' for c in COUNTY_TALLIES)}) IS DISTINCT FROM ROW({_list(f'coalesce(k.{c}, 0)' for c in COUNTY_TALLIES)})
    UNION ALL
    SELECT 'county_day_tally', coalesce(f.region_code, k.region_code) || ' ' || coalesce(f.day, k.day)
    FROM ({RECOUNT_DAYS}) f FULL JOIN ({KEPT_DAYS}) k ON k.region_code = f.region_code AND k.day = f.day
    WHERE ROW({_list(f'coalesce(f.{c}, 0)' for c in DAYS)}) IS DISTINCT FROM ROW({_list(f'coalesce(k.{c}, 0)' for c in DAYS)});
$$;
"""


def _counts(names) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), server_default='0', nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        'institution_tally',
        sa.Column('institution_id', sa.Uuid(), nullable=False),
        sa.Column('region_code', sa.String(length=6), nullable=False),
        *_counts(INSTITUTION_TALLIES),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('institution_id'),
    )
    op.create_table(
        'county_tally',
        sa.Column('region_code', sa.String(length=6), nullable=False),
        *_counts(COUNTY_TALLIES),
        sa.ForeignKeyConstraint(['region_code'], ['region.code']),
        sa.PrimaryKeyConstraint('region_code'),
    )
    op.create_table(
        'county_tally_delta',
        sa.Column('region_code', sa.String(length=6), nullable=False),
        *_counts(COUNTY_TALLIES),
    )
    op.create_table(
        'county_day_tally',
        sa.Column('region_code', sa.String(length=6), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        *_counts(DAYS),
        sa.ForeignKeyConstraint(['region_code'], ['region.code']),
        sa.PrimaryKeyConstraint('region_code', 'day'),
    )
    op.create_index('ix_county_day_tally_day', 'county_day_tally', ['day'], unique=False)
    op.create_table(
        'county_day_delta',
        sa.Column('region_code', sa.String(length=6), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        *_counts(DAYS),
    )
    op.add_column('complaint', sa.Column(
        'handling_hours', sa.Float(),
        sa.Computed('extract(epoch from coalesce(replied_at, rejected_at) - submitted_at) / 3600', persisted=True), nullable=True,
    ))
    op.create_index(
        'ix_complaint_handled', 'complaint', ['county_code'], unique=False, postgresql_include=['handling_hours'],
        postgresql_where=sa.text("status = 'REPLIED' OR status = 'REJECTED'"),
    )
    op.create_index(
        'ix_institution_rectifying', 'institution', ['region_code', 'open_deadline'], unique=False,
        postgresql_where=sa.text("inspection_status = 'RECTIFYING'"),
    )
    for sql in (*(_source_trigger(table, counters) for table, counters in SOURCES.items()), TALLY_TO_COUNTY, INSTITUTION, COMPLAINT, LISTS, *DAY_TRIGGERS, COMPACT, REBUILD, CHECK):
        # One statement at a time (asyncpg prepares each).
        for statement in sql.split('\n--\n'):
            op.execute(statement)
    op.execute('SELECT tally_rebuild()')


def downgrade() -> None:
    for table in (*SOURCES, 'institution_tally', 'institution', 'complaint', 'list_entry', 'list_period'):
        op.execute(f'DROP TRIGGER tally ON {table}')
        op.execute(f'DROP FUNCTION tally_{table}()')
    op.execute('DROP TRIGGER tally_day_gone ON institution')
    for table in ('inspection', 'application', 'complaint', 'institution'):
        op.execute(f'DROP TRIGGER tally_day ON {table}')
        op.execute(f'DROP FUNCTION tally_day_{table}()')
    for function in ('tally_compact()', 'tally_rebuild()', 'tally_check()', 'tally_relist(uuid[])', 'tally_day_records(uuid, text, int)'):
        op.execute(f'DROP FUNCTION {function}')
    op.drop_index('ix_institution_rectifying', table_name='institution')
    op.drop_index('ix_complaint_handled', table_name='complaint')
    op.drop_column('complaint', 'handling_hours')
    op.drop_table('county_day_delta')
    op.drop_table('county_day_tally')
    op.drop_table('county_tally_delta')
    op.drop_table('county_tally')
    op.drop_table('institution_tally')
