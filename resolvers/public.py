"""The public service platform (服务平台): institution lookup (机构查询) and the black and
white lists (黑白名单), for parents and the public, without login.

Lookup: by part of the name within a region (a county, prefecture or province; required),
tolerant of typing slips through PostgreSQL's ``pg_trgm`` (word similarity against the GIN
trigram index on the name, which works on Chinese text under the database's ``C.UTF-8``
character classes), plus plain substring matches (the only ones for queries too short for
trigrams). A name is similar from a word similarity of 0.5; only when no name is that close
(a slip in a short query) from 0.3. Names share long endings (培训学校, 艺术培训中心), so at 0.3
a correct query also matched every name with the same ending: at national scale thousands
of them for one brand and type, 20 ms and more to rank, while the slips that need 0.3 are
exactly the queries that match nothing at 0.5. Ranked by relevance: the exact name, then
names starting with the query, then closeness (the query's bigrams, then its characters, that a name
holds), then word similarity, then whole-name similarity; ties by
name and id. When nothing matches, the forgiving stage also looks, for a short query, for
the query with one character wrong, missing or extra (a regular expression, ``one_slip_
pattern``): a short Chinese name has so few trigrams that one slip changes most of them
(育英陪训 shares none with 育英培训学校); the candidates come from an index of the names'
character bigrams (migration 0016), since one slip leaves a name some of the query's
adjacent pairs. Its matches rank first. In both stages, after the exact name and the names
starting with the query, the names holding more of the query's bigrams, then of its
characters, rank first (``closeness``), then trigram similarity. Pages of at most 20, at most 200 results deep (a lookup, not a way to copy the
registry).

What a parent reads of an institution (``PublicInstitution``) is what matters to choose
one: its standing (``resolvers.standing``: whether it is lawful and compliant, and why not),
its licence, its teachers (names and teacher certificate status; ID numbers never,
certificate numbers masked) and the names of its filed subject classes. Nothing else: no
contacts of staff, no funds, no inspection internals.

Lists (``resolvers.lists``): the public reads the current period and earlier ones, with what
changed since the previous period (by credit code), each entry with its institution's
standing today, and downloads a period as ``.xlsx``.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import BadUserInput
from core.ids import parse_id
from models import FilingStatus, Institution, Post, Region, Staff, StaffStatus, TrainingClass, in_force
from resolvers import standing, validation
from resolvers.pagination import Page
from resolvers.regions import unknown_region_message

MAX_PUBLIC_PAGE = 20
MAX_PUBLIC_DEPTH = 200


#: Word similarity (pg_trgm ``<%``) a name needs to be a candidate; the looser one when no
#: name reaches the first.
WORD_SIMILARITY = 0.5
LOOSE_WORD_SIMILARITY = 0.3
MAX_QUERY_LENGTH = 50
#: Queries this long are also looked for with one character wrong, missing or extra (the
#: forgiving stage): trigrams miss such slips in a short Chinese name, where one character
#: changes most of its few trigrams. Longer queries keep enough trigrams.
FORGIVING_LENGTHS = range(3, 13)


def _are(text: str) -> str:
    """``text`` as literal characters of a PostgreSQL regular expression (ARE)."""
    return "".join(c if c.isalnum() else "\\" + c for c in text)


def one_slip_pattern(query: str) -> str:
    """A regular expression that finds ``query`` in a name with one character wrong
    (``育英.训`` for 育英陪训), missing (``天河.育英`` for 天河育英, said of 天河区育英) or extra
    (``育英训`` for 育英陪训 typed for 育英训…)."""
    n = len(query)
    variants = [_are(query[:i]) + "." + _are(query[i + 1:]) for i in range(n)]
    variants += [_are(query[:i]) + "." + _are(query[i:]) for i in range(1, n)]
    if n >= 4:
        variants += [_are(query[:i] + query[i + 1:]) for i in range(n)]
    return "|".join(dict.fromkeys(variants))


def bigrams(text: str) -> list[str]:
    """The adjacent character pairs of ``text``, lower-cased, each once: what the SQL
    function ``name_bigrams`` (migration 0016) indexes of every name."""
    text = text.lower()
    return list(dict.fromkeys(text[i : i + 2] for i in range(len(text) - 1)))


def closeness(query: str, name: sa.ColumnElement) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """How close a name is to a short query, in the query's own characters: how many of
    its character bigrams the name holds, then how many of its characters. 天河育英: 天河区育英…
    holds 天河 and 育英, 天河区明德… only 天河; 睿帆程: 睿帆编程 holds 睿, 帆 and 程, 睿帆教育 two.
    The parts are bound parameters (``closeness_values``), so that the expression is the same
    for every query with as many bigrams and characters."""
    return _held(name, "pair", len(bigrams(query))), _held(name, "character", len(dict.fromkeys(query.lower())))


def _held(name: sa.ColumnElement, prefix: str, count: int) -> sa.ColumnElement:
    lowered = sa.func.lower(name)
    return sum(
        (sa.cast(sa.func.strpos(lowered, sa.bindparam(f"{prefix}{i}", type_=sa.String)) > 0, sa.Integer) for i in range(count)), sa.literal(0)
    )


def closeness_values(query: str) -> dict[str, str]:
    """The values of ``closeness``'s parameters for ``query``."""
    values = {f"pair{i}": part for i, part in enumerate(bigrams(query))}
    values.update({f"character{i}": part for i, part in enumerate(dict.fromkeys(query.lower()))})
    return values


def offset_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def offset_of(after: str | None, deepest: int = MAX_PUBLIC_DEPTH) -> int:
    if not after:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(after.encode()).decode().partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        raise BadUserInput("after 游标无效", field="after") from None
    if kind != "o" or not 0 <= offset <= deepest:
        raise BadUserInput("after 游标无效", field="after")
    return offset


def page_size(first: int | None) -> int:
    size = 10 if first is None else first
    if not 0 <= size <= MAX_PUBLIC_PAGE:
        raise BadUserInput(f"first 必须在 0 到 {MAX_PUBLIC_PAGE} 之间", field="first", max=MAX_PUBLIC_PAGE)
    return size


async def public_region(db: AsyncSession, code: str | None) -> Region:
    region = (await db.execute(sa.select(Region).where(Region.code == (code or "").strip()))).scalar_one_or_none() if code else None
    if region is None or region.level == 0:
        raise BadUserInput("请选择省、市或区县 (regionCode: a province, prefecture or county code)", field="regionCode")
    return region


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _region_codes(db: AsyncSession, code: str | None, day: date) -> list[str]:
    """The codes of the region ``code`` (in force on ``day``) and of every region under it,
    in one statement that also sets, for the transaction, the word-similarity threshold and
    custom plans.

    The search filters by these codes as a list, so that the planner sees how big the
    subtree is: through a subquery it guessed a handful of counties and checked every name
    of a province one by one (hundreds of milliseconds at national scale). And the best
    plan depends on the values: a region index for a two-character query (too short for
    trigrams), the trigram index for a longer one in a large region. A prepared statement
    turns generic after five runs on a connection, and the generic plan took the trigram
    index for a two-character query too: a full index scan, 300 ms instead of 10."""
    found = (
        await db.execute(
            sa.text(
                "SELECT set_config('pg_trgm.word_similarity_threshold', :threshold, true),"
                " set_config('plan_cache_mode', 'force_custom_plan', true), r.level, r.valid_from, r.valid_to,"
                " ARRAY(SELECT s.code FROM region s WHERE s.path LIKE r.path || '%') AS codes"
                " FROM region r WHERE r.code = :code"
            ),
            {"threshold": str(WORD_SIMILARITY), "code": (code or "").strip()},
        )
    ).first() if code else None
    if found is None or found.level == 0:
        raise BadUserInput("请选择省、市或区县 (regionCode: a province, prefecture or county code)", field="regionCode")
    if not in_force(found.valid_from, found.valid_to, day):
        raise BadUserInput(await unknown_region_message(db, code, day, "请选择省、市或区县 (regionCode: a province, prefecture or county code)"), field="regionCode")
    return list(found.codes)


@dataclass(frozen=True)
class _Shape:
    """What a search statement's form depends on (every value is bound per request)."""

    stage: str  # "first"; then "loose" (similarity 0.3) or "forgiving" (also one character off)
    length: int  # the query's length, 3 standing for 3 or more
    cased: bool
    pairs: int
    characters: int
    day: date


@dataclass(frozen=True)
class _Statements:
    page: sa.Select
    count: sa.Select


@functools.lru_cache(maxsize=512)
def _statements(shape: _Shape) -> _Statements:
    """The page statement (its rows, their standing and the total) and the count statement of
    a search of ``shape``, built once: building them took a few milliseconds a request."""
    q = sa.bindparam("query", type_=sa.String)
    pattern = sa.bindparam("pattern", type_=sa.String)
    # Without letters that have a case (Chinese names), LIKE finds the same names as ILIKE,
    # three times faster.
    contains = Institution.name.ilike(pattern, escape="\\") if shape.cased else Institution.name.like(pattern, escape="\\")
    name_pairs = sa.func.name_bigrams(Institution.name)
    if shape.length >= 3:
        matches = sa.or_(contains, q.op("<%")(Institution.name))
    elif shape.length == 2:
        # Shorter than a trigram, a query has no word similarity with anything: substrings
        # only, found through the names' bigrams (the index of migration 0016).
        matches = sa.and_(name_pairs.op("@>")(sa.bindparam("pairs", type_=ARRAY(sa.Text))), contains)
    else:
        matches = contains
    pairs_held, characters_held = _held(Institution.name, "pair", shape.pairs), _held(Institution.name, "character", shape.characters)
    similar = (
        pairs_held.desc(),
        characters_held.desc(),
        sa.func.word_similarity(q, Institution.name).desc(),
        sa.func.similarity(q, Institution.name).desc(),
        Institution.name,
        Institution.id,
    )
    ranking = (
        (Institution.name == q).desc(),
        Institution.name.like(sa.bindparam("prefix", type_=sa.String), escape="/").desc(),
        *similar,
    )
    in_region = Institution.region_code == sa.any_(sa.bindparam("codes", type_=ARRAY(sa.String)))
    if shape.stage == "first":
        where = sa.and_(in_region, matches)
    elif shape.stage == "forgiving":
        # One slip in four characters or more leaves a name the query's first or its last
        # bigram (one character touches two adjacent pairs at most): the bigram index finds
        # the candidates, the regular expression keeps those one slip away. (In three
        # characters, a slip in the middle leaves no pair: not found.)
        slipped = sa.and_(
            name_pairs.op("&&")(sa.bindparam("ends", type_=ARRAY(sa.Text))),
            Institution.name.op("~")(sa.bindparam("slip", type_=sa.String)),
        )
        where = sa.and_(in_region, sa.or_(slipped, q.op("<%")(Institution.name)))
        ranking = (slipped.desc(), *similar)
    else:
        where = sa.and_(in_region, q.op("<%")(Institution.name))
    # Ranked and counted on (region, name, id) alone, which the region index holds, so a
    # scan of a region reads no table rows; only the page's rows are read in full, with what
    # their standing is built from (``resolvers.standing.columns``).
    page = (
        sa.select(Institution.id, sa.func.count().over().label("total"))
        .where(where)
        .order_by(*ranking)
        .offset(sa.bindparam("offset", type_=sa.Integer))
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .subquery()
    )
    rows = (
        sa.select(Institution, page.c.total, Institution.id.label("id"), Institution.name.label("name"), *standing.columns(shape.day))
        .join(page, page.c.id == Institution.id)
        .outerjoin(*standing.TALLY_JOIN)
        .order_by(*ranking)
    )
    return _Statements(rows, sa.select(sa.func.count()).select_from(Institution).where(where))


async def search(
    sessionmaker, name: str, region_code: str, first: int | None, after: str | None, day: date
) -> tuple[Page, dict[uuid.UUID, standing.Standing]]:
    """Institutions of the region whose name matches ``name``, most relevant first, and the
    standing of each (``resolvers.standing``, on ``day``): the page, its rows' standing and
    the total in one statement, and one more at the looser similarity when nothing
    matched."""
    query = validation.text(name) or ""
    if not query:
        raise BadUserInput("请输入机构名称 (name)", field="name")
    if len(query) > MAX_QUERY_LENGTH:
        raise BadUserInput(f"机构名称不能超过 {MAX_QUERY_LENGTH} 个字", field="name")
    size = page_size(first)
    offset = offset_of(after)
    if offset + size > MAX_PUBLIC_DEPTH:
        size = max(MAX_PUBLIC_DEPTH - offset, 0)
    query_pairs = bigrams(query)
    shape = _Shape(
        "first", min(len(query), 3), query.lower() != query or query.upper() != query, len(query_pairs), len(dict.fromkeys(query.lower())), day
    )
    values: dict[str, Any] = {
        "query": query,
        "pattern": "%" + _escape_like(query) + "%",
        "prefix": query.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%",
        "pairs": query_pairs,
        "offset": offset,
        "limit": size + 1,
        **closeness_values(query),
    }
    async with sessionmaker() as db:
        values["codes"] = await _region_codes(db, region_code, day)

        async def matching(shape: _Shape) -> tuple[list, int]:
            statements = _statements(shape)
            found = (await db.execute(statements.page, values)).all()
            if found:
                return found, found[0].total
            # Past the last match, the window had no row to count on.
            return found, (await db.execute(statements.count, values)).scalar_one() if offset else 0

        found, total = await matching(shape)
        if total == 0 and len(query) >= 3:
            # The forgiving stage: the looser similarity, and for a short query one character
            # wrong, missing or extra; the closest first — a one-slip match, then the most
            # bigrams shared, then trigram similarity.
            await db.execute(sa.select(sa.func.set_config("pg_trgm.word_similarity_threshold", str(LOOSE_WORD_SIMILARITY), True)))
            if len(query) in FORGIVING_LENGTHS:
                values["ends"] = list(dict.fromkeys([query_pairs[0], query_pairs[-1]]))
                values["slip"] = one_slip_pattern(query)
                found, total = await matching(dataclasses.replace(shape, stage="forgiving"))
            else:
                found, total = await matching(dataclasses.replace(shape, stage="loose"))
    rows = [row.Institution for row in found]
    has_next = len(rows) > size and offset + size < MAX_PUBLIC_DEPTH
    rows = rows[:size]
    page = Page(
        rows=rows,
        cursors=[offset_cursor(offset + i + 1) for i in range(len(rows))],
        has_next_page=has_next,
        total_count=total,
    )
    return page, {row.id: standing.standing_of(row, day) for row in found[:size]}


async def get_public(sessionmaker, institution_id: Any) -> Institution | None:
    parsed = parse_id(institution_id)
    if parsed is None:
        return None
    async with sessionmaker() as db:
        return await db.get(Institution, parsed)


@dataclass(frozen=True)
class TeacherRow:
    """What the public reads of a teacher."""

    name: str
    teacher_certificate_number: str | None


@dataclass
class PublicFacts:
    teachers: list[TeacherRow]
    filed_classes: list[str]


async def public_facts(sessionmaker, ids: list[uuid.UUID]) -> list[PublicFacts]:
    """Teachers and filed classes of many institutions, in one statement."""
    facts = sa.union_all(
        sa.select(sa.literal("teacher").label("fact"), Staff.institution_id, Staff.name.label("name"),
                  Staff.teacher_certificate_number.label("detail"), Staff.id)
        .where(Staff.institution_id.in_(ids), Staff.status == StaffStatus.ACTIVE, Staff.post == Post.TEACHING),
        sa.select(sa.literal("class"), TrainingClass.institution_id, TrainingClass.name, sa.null(), TrainingClass.id)
        .where(TrainingClass.institution_id.in_(ids), TrainingClass.filing_status == FilingStatus.FILED),
    ).order_by("fact", "name", "id")
    teachers: dict[uuid.UUID, list[TeacherRow]] = defaultdict(list)
    classes: dict[uuid.UUID, list[str]] = defaultdict(list)
    async with sessionmaker() as db:
        for fact, institution_id, name, detail, _ in await db.execute(facts):
            if fact == "teacher":
                teachers[institution_id].append(TeacherRow(name, detail))
            else:
                classes[institution_id].append(name)
    return [PublicFacts(teachers[i], classes[i]) for i in ids]
