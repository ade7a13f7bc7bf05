"""The planned institution detail (``institution(id)``, DOMAIN.md §R2): the institution and,
level by level, the lists under it the planner knows — its sites (办学点/业务系统), their
courses, the courses' classes with their schedule and teachers — each level one statement
for every parent of the level, as the request's loaders read them (``resolvers.loaders``:
the same model, the same scope function ``auth.scope.scope`` of the viewer on every level,
the same order), compiled once per viewer and bound per request (``Statements.template``).

Covered: the institution's own columns and the fields of the list plan that read only them
(``overdue``, ``registrationProgress``, ``legalRepresentative``, ``contactPerson``, masked and
audited as there); a site's, a course's and a class's own fields; a teacher's fields but the
personal ones (ID number, phone, certificate number). Anything else under the institution
(its standing, counts, registering unit, findings, staff, any field added later) leaves the
document to normal execution. Regulators only: an institution's own account reads its
detail by normal execution (what it may see of its own staff is another rule).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from graphql import GraphQLSchema
from sqlalchemy.dialects.postgresql import ARRAY
from strawberry.utils.str_converters import to_snake_case

from auth.roles import sees_personal_data
from auth.scope import scope
from auth.viewer import Viewer
from core.ids import parse_id
from models import Course, Institution, Site, Staff, TrainingClass
from resolvers.planner.statements import Statements, fetch
from schema.planner.document import NotCovered, Selected, only, serializer
from schema.planner.institutions import DETAIL_NODE_FIELDS, Build, Column, _node, _object, _State

#: The bound parameter of a level's statement: the keys of its parents' rows.
KEYS = "keys"


@dataclass(frozen=True)
class _Kind:
    """A list the detail plans: its rows (``model``, matched by ``match`` against the parent
    rows' keys, in ``order``), the GraphQL type, the leaves read from a column of the same
    name (snake case), its own lists, and what is written otherwise."""

    type_name: str
    model: type
    match: str
    order: tuple[str, ...]
    columns: frozenset[str]
    lists: tuple[str, ...] = ()


SITE = _Kind("Site", Site, "institution_id", ("name", "id"), frozenset({"type", "name", "address", "teachingArea", "systemType", "url", "icpFiling", "version"}), ("courses",))
COURSE = _Kind("Course", Course, "site_id", ("name", "id"), frozenset({"name", "category", "subject", "grades", "classHours", "description", "version"}), ("classes",))
CLASS = _Kind(
    "TrainingClass", TrainingClass, "course_id", ("name", "id"),
    frozenset({
        "name", "startsOn", "endsOn", "capacity", "enrolled", "fee", "feeMonths", "feeClassHours", "lessonMinutes", "breakMinutes",
        "filingStatus", "version",
    }),
    ("teachers",),
)
#: A class's teachers: staff by id, in the class's order (an id out of scope or gone: left out).
TEACHER = _Kind(
    "Staff", Staff, "id", (),
    frozenset({"name", "gender", "post", "employment", "subjects", "yearsInEducation", "status", "joinedOn", "departedOn", "version", "updatedAt"}),
)
#: Each planned list by (parent type, field).
LISTS: dict[tuple[str, str], _Kind] = {
    ("Institution", "sites"): SITE, ("Site", "courses"): COURSE, ("Course", "classes"): CLASS, ("TrainingClass", "teachers"): TEACHER,
}
SESSION_FIELDS = frozenset({"__typename", "weekday", "start", "end"})


def _statement(viewer: Viewer, model: type, match: str, order: tuple[str, ...] = ()) -> sa.Select:
    """``model``'s rows in the viewer's scope whose ``match`` is one of the keys bound per
    request, in ``order``: the statement of the request's loader of the same rows
    (``InstitutionByIdLoader``, ``SitesByInstitutionLoader``, …)."""
    keys = sa.bindparam(KEYS, value=(), type_=ARRAY(sa.Uuid), required=False)
    stmt = sa.select(model).where(getattr(model, match) == sa.any_(keys), scope(viewer, model))
    return stmt.order_by(*(getattr(model, name) for name in order))


class _Level:
    """One list field of the document under its parent: its statement and how a row is written."""

    def __init__(self, schema: GraphQLSchema, kind: _Kind, selected: list[Selected]) -> None:
        self.kind = kind
        graphql_type = schema.type_map[kind.type_name]
        only(selected, {"__typename", "id", *kind.columns, *kind.lists, *(("schedule",) if kind is CLASS else ())})
        parts: dict[str, Build | Column] = {"id": Column("id", str)}
        for field in kind.columns:
            parts[field] = Column(to_snake_case(field), serializer(graphql_type, field))
        keyed: dict[str, Build] = {}
        self.children: list[_Level] = []
        for entry in selected:
            if entry.name in kind.lists:
                child = _Level(schema, LISTS[(kind.type_name, entry.name)], entry.children)
                self.children.append(child)
                keyed[entry.key] = child.values_of
            elif entry.name == "schedule":
                keyed[entry.key] = _schedule(schema, entry.children)
        self.build = _object(schema, kind.type_name, selected, parts, keyed)

    def keys_of(self, parents: list) -> list:
        """The keys this level's rows are matched by, from its parents' rows."""
        if self.kind is TEACHER:
            return list(dict.fromkeys(i for parent in parents for i in parent.teacher_ids))
        return [parent.id for parent in parents]

    async def load(self, connection: Any, statements: Statements, viewer: Viewer, parents: list, loaded: dict) -> None:
        """This level's rows for ``parents`` (none asked for none) and, under them, its own levels'."""
        keys = self.keys_of(parents)
        rows: list = []
        if keys:
            template = statements.template(("detail", self.kind.type_name, viewer), lambda: _statement(viewer, self.kind.model, self.kind.match, self.kind.order), (KEYS,))
            rows = await fetch(connection, template.bind(**{KEYS: keys}))
        grouped: dict[Any, list] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, self.kind.match)].append(row)
        loaded[id(self)] = grouped
        for child in self.children:
            await child.load(connection, statements, viewer, rows, loaded)

    def values_of(self, parent: Any, state: _Detail) -> list:
        grouped = state.loaded[id(self)]
        if self.kind is TEACHER:
            rows = [grouped[i][0] for i in parent.teacher_ids if i in grouped]
        else:
            rows = grouped.get(parent.id, ())
        return [self.build(row, state) for row in rows]


def _schedule(schema: GraphQLSchema, selected: list[Selected]) -> Build:
    only(selected, SESSION_FIELDS)
    session = schema.type_map["ClassSession"]
    weekday, start, end = serializer(session, "weekday"), serializer(session, "start"), serializer(session, "end")
    value = _object(schema, "ClassSession", selected, {
        "weekday": lambda s, state: weekday(s["weekday"]), "start": lambda s, state: start(s["start"]), "end": lambda s, state: end(s["end"]),
    })
    return lambda row, state: [value(s, state) for s in row.schedule]


class _Detail(_State):
    """The request's state, with the rows of each level."""

    __slots__ = ("loaded",)

    def __init__(self, context: Any, personal: bool) -> None:
        super().__init__(context, personal, None)
        self.loaded: dict[int, dict] = {}


class InstitutionDetail:
    """The plan of one ``institution(id)`` field of a document."""

    def __init__(self, schema: GraphQLSchema, root: Selected, statements: Statements) -> None:
        only(root.children, DETAIL_NODE_FIELDS | {"sites"})
        self.statements = statements
        sites = {entry.key: _Level(schema, SITE, entry.children) for entry in root.children if entry.name == "sites"}
        self.levels = list(sites.values())
        self.build = _node(schema, root.children, {key: level.values_of for key, level in sites.items()})

    async def run(self, context: Any, arguments: dict[str, Any], connection: Any) -> dict | None:
        viewer: Viewer = context.viewer
        institution_id = parse_id(arguments["id"])
        if institution_id is None:
            return None  # a malformed id reads as an unknown one, without a statement
        template = self.statements.template(("detail", "Institution", viewer), lambda: _statement(viewer, Institution, "id"), (KEYS,))
        rows = await fetch(connection, template.bind(**{KEYS: [institution_id]}))
        if not rows:
            return None
        state = _Detail(context, sees_personal_data(viewer))
        for level in self.levels:
            await level.load(connection, self.statements, viewer, rows, state.loaded)
        return self.build(rows[0], state)


def plan_institution(schema: GraphQLSchema, root: Selected, statements: Statements, viewer: Viewer | None) -> InstitutionDetail:
    if not root.children or viewer is None or not viewer.is_regulator:
        raise NotCovered(root.name)
    return InstitutionDetail(schema, root, statements)

