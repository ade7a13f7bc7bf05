"""The planned institution list (``institutions(filter, first, after)``): what each field of
the connection and of its nodes reads from the page's one statement
(``resolvers.institutions.listing.list_statement``, the statement the resolver runs) and how
it is written, for the fields listed here; a node field not listed here (a nested list, the
county, anything added later) leaves the document to normal execution.

The standing (法律状态) is the resolver's too: the page's statement selects
``resolvers.standing.columns`` with its rows and each node's standing is
``resolvers.standing.standing_of`` of its row, the one derivation normal execution primes
its loader with; the plan only writes it.

Scope, masks and the audit of personal data are the resolver's: the statement's condition is
``auth.scope.scope`` of the viewer; ID numbers and phones are masked by ``core.masking`` for
every viewer but the county desk (``auth.roles.sees_personal_data``: a plan serves regulators
only, for whom ``sees_institution_personal_data`` is the same rule), whose unmasked reads of
ID numbers are noted for the audit trail exactly as ``LegalRepresentative.id_number`` notes
them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from operator import attrgetter
from typing import Any, NamedTuple

from graphql import GraphQLSchema

from auth.roles import sees_personal_data
from auth.viewer import Viewer
from core.clock import today
from core.masking import mask_id_number, mask_phone
from models import Level
from resolvers.filters import given
from resolvers.institutions.listing import ORDER, is_overdue, list_statement
from resolvers.pagination import page_of, page_size
from resolvers.planner.statements import Statements, fetch
from resolvers.standing import standing_of
from schema.context import note_personal_read
from schema.filters import to_filter
from schema.institutions.types import LIST_FIELDS, SAVED_FLAG_COLUMNS, RegistrationProgress
from schema.planner.document import NotCovered, Selected, only, serializer

#: Node fields read from the row's own columns (``LIST_COLUMNS``, or every column).
_COLUMNS = {
    "name": "name", "creditCode": "credit_code", "address": "address", "postalCode": "postal_code", "phone": "phone", "email": "email",
    "kind": "kind", "mode": "mode", "nature": "nature", "version": "version", "createdAt": "created_at", "updatedAt": "updated_at",
    "inspectionStatus": "inspection_status", "reviewStatus": "review_status", "deregisteredAt": "deregistered_at",
}
#: The institution's own columns each node field reads besides ``id`` and ``name`` (the
#: order's, always read), when the page reads ``LIST_COLUMNS`` alone: the page's statement
#: selects these and no other (``list_statement``'s ``own``). A field not named here reads no
#: other column of the institution's (its counts, unit, standing are columns of their own).
_READS: dict[str, tuple[str, ...]] = {
    **{field: (column,) for field, column in _COLUMNS.items()},
    "overdue": ("inspection_status", "open_deadline"),
    "registrationProgress": SAVED_FLAG_COLUMNS,
    "registeringUnit": ("registering_unit_id",),
}
NODE_FIELDS = frozenset({
    "__typename", "id", *_COLUMNS, "overdue", "registrationProgress", "registeringUnit", "siteCount", "activeStaffCount",
    "legalRepresentative", "contactPerson", "standing",
})
#: The node fields that read only the institution's own row (an institution's detail plans these).
DETAIL_NODE_FIELDS = frozenset({"__typename", "id", *_COLUMNS, "overdue", "registrationProgress", "legalRepresentative", "contactPerson"})
CONNECTION_FIELDS = frozenset({"__typename", "totalCount", "edges", "pageInfo"})
EDGE_FIELDS = frozenset({"__typename", "cursor", "node"})
PAGE_INFO_FIELDS = frozenset({"__typename", "hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})
PROGRESS_FIELDS = frozenset({"__typename", "savedParts", "missingParts", "complete"})
UNIT_FIELDS = frozenset({"__typename", "id", "name", "level"})
REPRESENTATIVE_FIELDS = frozenset({"__typename", "name", "idNumber", "phone"})
CONTACT_FIELDS = frozenset({"__typename", "name", "phone"})
STANDING_FIELDS = frozenset({
    "__typename", "licensed", "lawful", "compliant", "whiteListEligible", "blackListed", "deregistered", "licenceValidTo", "reasons",
})
REASON_FIELDS = frozenset({"__typename", "code", "effect", "message", "source", "recordType", "recordId", "recordName"})

#: What a node's value is made of: (row, the request's state) -> JSON value.
Build = Callable[[Any, "_State"], Any]


class _State:
    """What one answer's building needs besides a row."""

    __slots__ = ("after", "context", "day", "personal")

    def __init__(self, context: Any, personal: bool, after: str | None) -> None:
        self.context = context
        self.day = today(context.now)
        self.personal = personal
        self.after = after


class Column:
    """A part read from one column of the row (a Python name) and written by ``write`` (None:
    as it is): the object's function reads it in place, without a call of its own."""

    __slots__ = ("column", "write")

    def __init__(self, column: str, write: Callable[[Any], Any] | None = None) -> None:
        if not column.isidentifier():
            raise ValueError(f"not a column name: {column!r}")
        self.column = column
        self.write = write


def _object(
    schema: GraphQLSchema, type_name: str, selected: list[Selected], parts: dict[str, Build | Column], keyed: dict[str, Build] | None = None
) -> Callable[[Any, _State], dict]:
    """An object of ``type_name`` from ``keyed`` (by response key: the fields with a
    selection of their own) and ``parts`` (by field name), in the document's order.

    Compiled once per plan: a function whose body is the object's dict display, one entry
    per response key in the document's order — ``__typename`` a constant, a ``Column`` its
    writer applied to the row's attribute, any other part called with the row and the
    request's state — so that writing a row is one call, not one per field through a loop.
    Response keys are GraphQL names (letters, digits, underscores: validated with the
    document) and columns Python names, so the source holds nothing else."""
    keyed = keyed or {}
    namespace: dict[str, Any] = {}
    entries = []
    for n, s in enumerate(selected):
        if not s.key.isidentifier():
            raise NotCovered(s.key)
        if s.name == "__typename":
            entries.append(f"{s.key!r}: {type_name!r}")
            continue
        part = keyed[s.key] if s.key in keyed else parts[s.name]
        if isinstance(part, Column) and part.write is None:
            entries.append(f"{s.key!r}: row.{part.column}")
        elif isinstance(part, Column):
            namespace[f"w{n}"] = part.write
            entries.append(f"{s.key!r}: w{n}(row.{part.column})")
        else:
            namespace[f"p{n}"] = part
            entries.append(f"{s.key!r}: p{n}(row, state)")
    exec(f"def build(row, state):\n    return {{{', '.join(entries)}}}\n", namespace)  # noqa: S102 - the source is made of names only (above)
    return namespace["build"]


def _node(schema: GraphQLSchema, selected: list[Selected], lists: dict[str, Build] | None = None) -> Build:
    """An institution from its row; ``lists``: the values of fields planned elsewhere, by response key."""
    institution = schema.type_map["Institution"]
    parts: dict[str, Build | Column] = {"id": Column("id", str)}
    for field, column in _COLUMNS.items():
        parts[field] = Column(column, serializer(institution, field))
    parts["overdue"] = lambda row, state: is_overdue(row.inspection_status, row.open_deadline, state.day)
    parts["siteCount"] = Column("site_count")
    parts["activeStaffCount"] = Column("active_staff_count")
    objects = {
        "registrationProgress": _progress, "registeringUnit": _unit, "legalRepresentative": _representative, "contactPerson": _contact,
        "standing": _standing,
    }
    keyed = {entry.key: objects[entry.name](schema, entry.children) for entry in selected if entry.name in objects}
    return _object(schema, "Institution", selected, parts, {**keyed, **(lists or {})})


def _progress(schema: GraphQLSchema, selected: list[Selected]) -> Build:
    only(selected, PROGRESS_FIELDS)
    progress = schema.type_map["RegistrationProgress"]
    saved, missing = serializer(progress, "savedParts"), serializer(progress, "missingParts")
    values = _object(schema, "RegistrationProgress", selected, {
        "savedParts": Column("saved_parts"), "missingParts": Column("missing_parts"), "complete": Column("complete"),
    })
    # Written once per combination of saved parts (at most 16), as tuples: JSON arrays that
    # no later step can change in an answer that shares them.
    written: dict[tuple, _Progress] = {}
    saved_flags = attrgetter(*SAVED_FLAG_COLUMNS)

    def build(row: Any, state: _State) -> dict:
        flags = saved_flags(row)
        found = written.get(flags)
        if found is None:
            progress = RegistrationProgress.from_row(row)
            found = written[flags] = _Progress(tuple(saved(progress.saved_parts)), tuple(missing(progress.missing_parts)), progress.complete)
        return values(found, state)

    return build


class _Progress(NamedTuple):
    saved_parts: tuple
    missing_parts: tuple
    complete: bool


def _unit(schema: GraphQLSchema, selected: list[Selected]) -> Build:
    only(selected, UNIT_FIELDS)
    level = serializer(schema.type_map["RegisteringUnit"], "level")
    values = _object(schema, "RegisteringUnit", selected, {
        "id": Column("registering_unit_id", str),
        "name": Column("unit_name"),
        "level": lambda row, state: level(Level(row.unit_level)),
    })
    return lambda row, state: None if row.registering_unit_id is None else values(row, state)


def _representative(schema: GraphQLSchema, selected: list[Selected]) -> Build:
    only(selected, REPRESENTATIVE_FIELDS)

    def id_number(row: Any, state: _State) -> str:
        if not state.personal:
            return mask_id_number(row.legal_rep_id_number)
        note_personal_read(state, ("Institution", uuid.UUID(str(row.id)), row.region_code, None), "legalRepresentative.idNumber")
        return row.legal_rep_id_number

    return _object(schema, "LegalRepresentative", selected, {
        "name": Column("legal_rep_name"),
        "idNumber": id_number,
        "phone": lambda row, state: row.legal_rep_phone if state.personal else mask_phone(row.legal_rep_phone),
    })


def _contact(schema: GraphQLSchema, selected: list[Selected]) -> Build:
    only(selected, CONTACT_FIELDS)
    return _object(schema, "ContactPerson", selected, {
        "name": Column("contact_name"),
        "phone": lambda row, state: row.contact_phone if state.personal else mask_phone(row.contact_phone),
    })


def _standing(schema: GraphQLSchema, selected: list[Selected]) -> Build:
    only(selected, STANDING_FIELDS)
    valid_to = serializer(schema.type_map["Standing"], "licenceValidTo")
    keyed = {entry.key: _reasons(schema, entry.children) for entry in selected if entry.name == "reasons"}
    values = _object(schema, "Standing", selected, {
        "licensed": Column("licensed"),
        "lawful": Column("lawful"),
        "compliant": Column("compliant"),
        "whiteListEligible": Column("white_list_eligible"),
        "blackListed": Column("black_listed"),
        "deregistered": Column("deregistered"),
        "licenceValidTo": Column("licence_valid_to", valid_to),
    }, keyed)
    return lambda row, state: values(standing_of(row, state.day), state)


def _reasons(schema: GraphQLSchema, selected: list[Selected]) -> Callable[[Any, _State], list]:
    only(selected, REASON_FIELDS)
    reason = schema.type_map["StandingReason"]
    code, effect = serializer(reason, "code"), serializer(reason, "effect")
    value = _object(schema, "StandingReason", selected, {
        "code": Column("code", code),
        "effect": Column("effect", effect),
        "message": Column("message"),
        "source": Column("source"),
        "recordType": Column("record_type"),
        "recordId": Column("record_id", str),
        "recordName": Column("record_name"),
    })
    return lambda standing, state: [value(r, state) for r in standing.reasons]


class InstitutionList:
    """The plan of one ``institutions`` field of a document."""

    def __init__(self, schema: GraphQLSchema, root: Selected, statements: Statements) -> None:
        only(root.children, CONNECTION_FIELDS)
        self.root = root
        self.statements = statements
        connection: set[str] = set()
        node: set[str] = set()
        edges: list[Selected] = []
        page_info: list[Selected] = []
        for entry in root.children:
            connection.add(entry.name)
            if entry.name == "edges":
                only(entry.children, EDGE_FIELDS)
                edges.append(entry)
                for edge_field in entry.children:
                    if edge_field.name == "node":
                        only(edge_field.children, NODE_FIELDS)
                        node.update(edge_field.child_names())
            elif entry.name == "pageInfo":
                only(entry.children, PAGE_INFO_FIELDS)
                page_info.append(entry)
        # Cursors are encoded only when the document shows one.
        self.cursors = any(e.name == "cursor" for entry in edges for e in entry.children) or any(
            e.name in ("startCursor", "endCursor") for entry in page_info for e in entry.children
        )
        # What the resolver reads for the same selection (schema.institutions.query).
        self.unit = "registeringUnit" in node
        self.counts = "siteCount" in node or "activeStaffCount" in node
        self.details = not node <= LIST_FIELDS
        self.total = "totalCount" in connection
        self.standing = "standing" in node
        # Without the form's details, the columns the node's fields read (_READS) and no more.
        self.own = None if self.details else tuple(sorted({column for name in node for column in _READS.get(name, ())}))
        self.shape = (self.unit, self.counts, self.details, self.total, self.standing, self.own)
        self.build = self._connection(schema, root.children)

    def _connection(self, schema: GraphQLSchema, selected: list[Selected]) -> Callable:
        keyed: dict[str, Callable] = {}
        for entry in selected:
            if entry.name == "edges":
                keyed[entry.key] = self._edges(schema, entry.children)
            elif entry.name == "pageInfo":
                keyed[entry.key] = _object(schema, "PageInfo", entry.children, {
                    "hasNextPage": lambda page, state: page.has_next_page,
                    "hasPreviousPage": lambda page, state: state.after is not None,
                    "startCursor": lambda page, state: page.cursors[0] if page.cursors else None,
                    "endCursor": lambda page, state: page.cursors[-1] if page.cursors else None,
                })
        return _object(schema, "InstitutionConnection", selected, {"totalCount": lambda page, state: page.total_count}, keyed)

    @staticmethod
    def _edges(schema: GraphQLSchema, selected: list[Selected]) -> Callable:
        keyed: dict[str, Build] = {}
        for entry in selected:
            if entry.name == "node":
                node = _node(schema, entry.children)
                keyed[entry.key] = lambda pair, state, node=node: node(pair[0], state)
        edge = _object(schema, "InstitutionEdge", selected, {"cursor": lambda pair, state: pair[1]}, keyed)
        return lambda page, state: [edge(pair, state) for pair in zip(page.rows, page.cursors, strict=True)]

    async def run(self, context: Any, arguments: dict[str, Any], connection: Any) -> dict:
        """The connection's answer: the arguments as the resolver takes them, the same
        statement, the same page."""
        viewer: Viewer = context.viewer
        f = to_filter(arguments.get("filter"))
        first, after = arguments.get("first", 20), arguments.get("after")
        size = page_size(first)
        state = _State(context, sees_personal_data(viewer), after)
        key = (self.shape, viewer, tuple(given(f).items()), size, after, state.day)
        built: list = []

        def build(part: int):
            if not built:
                built.extend(list_statement(
                    viewer, f, size, after, state.day,
                    unit=self.unit, counts=self.counts, total=self.total, details=self.details, standing=self.standing, own=self.own,
                ))
            return built[part]

        literals = context.settings.planned_literals
        rows = await fetch(connection, self.statements.get((*key, "page"), lambda: build(0), literals=literals))
        total = 0
        if self.total:
            total = rows[0].total_count if rows else (await fetch(connection, self.statements.get((*key, "total"), lambda: build(1), literals=literals)))[0][0]
        return self.build(page_of(rows, ORDER, size, total, cursors=self.cursors), state)


def plan_institutions(schema: GraphQLSchema, root: Selected, statements: Statements, viewer: Viewer | None) -> InstitutionList:
    if not root.children:
        raise NotCovered(root.name)
    return InstitutionList(schema, root, statements)
