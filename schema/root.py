"""The GraphQL schema: an Apollo Federation 2 subgraph, composed of the domains' Query and
Mutation parts, and its public part.

``public_schema`` holds what anyone may call without logging in: the regions, institution
lookup and the black and white lists, the complaint form and its progress, and the account
forms (login, verification codes, institution registration, password reset). It is a
role-scoped view of the same graph: the same types and resolvers, only the public root
fields. A caller without a valid session is always served from it (``web.graphql.GraphQLApp``):
its introspection and SDL show the public part alone, and a document that does not validate
there is refused as UNAUTHENTICATED, whatever the full schema knows.

Every type and field of the public part carries ``@tag(name: "public")`` in the full
subgraph's SDL (derived from ``public_schema`` itself, so the two cannot drift apart): a
contract variant of the supergraph that includes the tag ``public`` is the public API.
"""

from __future__ import annotations

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Tag
from strawberry.utils.inspect import get_func_args

from core.errors import BadUserInput
from schema.accounts.mutation import AccountMutation, AccountPublicMutation, PortalAccountMutation, PortalAccountPublicMutation
from schema.accounts.query import AccountPublicQuery, AccountQuery, PortalAccountQuery
from schema.accounts.types import InstitutionAccount, RegulatorAccount
from schema.applications import ApplicationMutation, ApplicationQuery
from schema.audit import AuditQuery
from schema.complaints import ComplaintMutation, ComplaintPublicMutation, ComplaintPublicQuery, ComplaintQuery
from schema.descriptions import describe
from schema.documents import DocumentMutation
from schema.events import EventQuery, Subscription
from schema.extensions import MaskUnexpectedErrors, RecordPersonalReads, RefuseNulCharacters, SubscriptionsOnSockets, log_errors
from schema.findings import FindingQuery
from schema.funds import FundsMutation
from schema.inspections import InspectionMutation, InspectionQuery
from schema.institutions.mutation import InstitutionMutation
from schema.institutions.query import InstitutionQuery
from schema.institutions.types import Institution
from schema.limits import QueryLimits, introspection_budget
from schema.lists import ListMutation, ListQuery
from schema.materials import MaterialMutation
from schema.node import NodeQuery
from schema.planner import Planner
from schema.public import PublicQuery
from schema.regions import RegionQuery
from schema.request_errors import VALIDATION_FAILED, in_chinese
from schema.sites import SiteMutation
from schema.staff import StaffMutation
from schema.statistics import StatisticsQuery
from schema.tracing import extensions as tracing_extensions

PUBLIC_TAG = "public"


@strawberry.type
class Query(
    RegionQuery, PublicQuery, ListQuery, ComplaintQuery, AccountQuery, PortalAccountQuery, InstitutionQuery, InspectionQuery, AuditQuery,
    ApplicationQuery, NodeQuery, StatisticsQuery, EventQuery, FindingQuery,
):
    pass


@strawberry.type
class Mutation(
    AccountMutation, PortalAccountMutation, ComplaintMutation, InstitutionMutation, InspectionMutation, StaffMutation, SiteMutation,
    MaterialMutation, ApplicationMutation, DocumentMutation, FundsMutation, ListMutation,
):
    pass


@strawberry.type(name="Query")
class PublicRootQuery(RegionQuery, PublicQuery, ListQuery, ComplaintPublicQuery, AccountPublicQuery):
    pass


@strawberry.type(name="Mutation")
class PublicRootMutation(AccountPublicMutation, PortalAccountPublicMutation, ComplaintPublicMutation):
    pass


class FederationSchema(strawberry.federation.Schema):
    """A Federation 2 subgraph schema whose ``_entities`` answers a representation it cannot
    resolve with BAD_USER_INPUT at its place (null there, the others resolved): not an
    object; no ``__typename``, or one that is not an entity of this schema (the public part
    knows fewer: a private type reads exactly like an unknown one); keys other than the
    entity's (``resolve_reference``'s arguments), or keys that are not strings. Its request
    errors (syntax, validation, variables) read in Chinese, with a code
    (``schema.request_errors``); its errors are logged by kind
    (``schema.extensions.log_errors``): expected ones as one line, unexpected ones with
    their traceback."""

    def process_errors(self, errors, execution_context=None) -> None:
        for error in errors:
            in_chinese(error)
        outside = getattr(getattr(execution_context, "context", None), "outside_public_part", False)
        log_errors(
            errors, lambda error: super(FederationSchema, self).process_errors([error], execution_context), answered_as="UNAUTHENTICATED" if outside else None
        )

    def entities_resolver(self, info: strawberry.Info, representations: list[FederationAny]) -> list:
        entity = self._schema.type_map.get("_Entity")
        entities = {t.name for t in entity.types} if entity is not None else set()
        results = []
        for index, representation in enumerate(representations):
            typename = representation.get("__typename") if isinstance(representation, dict) else None
            if typename not in entities:
                results.append(BadUserInput(f"未知的实体类型 (unknown entity type) at representations[{index}]", field="representations"))
                continue
            resolve_reference = self.schema_converter.type_map[typename].definition.origin.resolve_reference
            keys = [name for name in get_func_args(resolve_reference) if name not in ("cls", "info")]
            given = {k: v for k, v in representation.items() if k != "__typename"}
            if set(given) != set(keys) or not all(isinstance(v, str) for v in given.values()):
                results.append(BadUserInput(f"{typename} 的实体表示应只含键 {', '.join(keys)} (a representation of {typename} has the keys {', '.join(keys)}, as strings) at representations[{index}]", field="representations"))
                continue
            try:
                results.append(resolve_reference(info=info, **given))
            except Exception as error:  # noqa: BLE001 - reported at its place, masked like any resolver's
                results.append(error)
        return results


class PublicPart(SchemaExtension):
    """On the public schema: a document that does not validate there (it names the rest of
    the graph, or nothing at all) marks the request, which ``server`` answers with
    ``refusal_outside_public_part``. The query limits' refusals (with a code of their own)
    are not validation errors; a validation error has no code yet or, validated before and
    cached, the one ``schema.request_errors`` gave it."""

    def on_validate(self):
        yield
        errors, context = self.execution_context.pre_execution_errors, self.execution_context.context
        if errors and context is not None and all((e.extensions or {}).get("code") in (None, VALIDATION_FAILED) for e in errors):
            context.outside_public_part = True


def refusal_outside_public_part(first: GraphQLError, reason: str | None) -> GraphQLError:
    """For a caller without a session, one UNAUTHENTICATED error for a document the public
    schema refused: its first validation problem (which names public fields only) and
    ``reason`` (why a token was not honoured) or "log in first". An operation of the full
    schema and one of no schema are refused alike, so the answer tells nothing about the
    rest of the graph."""
    hint = reason or "请先登录 (log in first: without a session only the public part of the API answers)"
    return GraphQLError(f"{first.message} {hint}", nodes=first.nodes, source=first.source, positions=first.positions, extensions={"code": "UNAUTHENTICATED"})


class CachedValidation(ValidationCache):
    """Strawberry's validation cache, skipped when the document was refused before it (the
    query limits run first: an oversized document is never validated)."""

    def on_validate(self):
        if self.execution_context.pre_execution_errors is not None:
            yield
            return
        yield from super().on_validate()


def _extensions(*own) -> list:
    return [ParserCache, QueryLimits, CachedValidation, *own, RefuseNulCharacters, MaskUnexpectedErrors, RecordPersonalReads, *tracing_extensions()]


public_schema = FederationSchema(
    query=PublicRootQuery, mutation=PublicRootMutation, types=[RegulatorAccount, InstitutionAccount], extensions=_extensions(PublicPart)
)

#: Fields of shared types that lead from the public part into the rest of the graph: left out
#: of the public schema (a login's account is shown without its institution there).
PRIVATE_FIELDS = {"InstitutionAccount": {"institution", "claim"}}


#: A login answers with either kind of account.
LOGIN_TYPES = ("RegulatorAccount", "InstitutionAccount")


def _reachable(roots, skip: set[str]) -> set[str]:
    """The names of the types reachable from ``roots`` through fields, arguments, interfaces
    and union members, not following the fields named in ``skip``."""
    seen: set[str] = set()
    todo = [r for r in roots if r is not None]
    while todo:
        named = get_named_type(todo.pop())
        if named.name in seen:
            continue
        seen.add(named.name)
        for name, field in getattr(named, "fields", {}).items():
            if name in skip:
                continue
            todo.append(field.type)
            todo.extend(arg.type for arg in getattr(field, "args", {}).values())
        todo.extend(getattr(named, "interfaces", ()))
        if isinstance(named, GraphQLUnionType):
            todo.extend(named.types)
    return seen


def _prune(strawberry_schema, cut: dict[str, set[str]]) -> None:
    """Rebuild the public schema's GraphQL schema without ``cut``'s fields, so that the types
    only they reached are gone from it (and from its introspection) too."""
    graphql_schema = strawberry_schema._schema
    for type_name, fields in cut.items():
        graphql_type = graphql_schema.type_map[type_name]
        for field in fields:
            del graphql_type.fields[field]
    # Federation's entity union names every entity of the whole graph: keep those the public
    # part reaches without it, so that ``_entities`` leads nowhere else.
    entities = graphql_schema.type_map.get("_Entity")
    if isinstance(entities, GraphQLUnionType):
        reached = _reachable([graphql_schema.query_type, graphql_schema.mutation_type, *(graphql_schema.type_map[n] for n in LOGIN_TYPES)], skip={"_entities"})
        entities.types = tuple(t for t in entities.types if t.name in reached)  # a cached property: set once here
    pruned = GraphQLSchema(
        query=graphql_schema.query_type,
        mutation=graphql_schema.mutation_type,
        types=[graphql_schema.type_map[name] for name in LOGIN_TYPES],
        directives=graphql_schema.directives,
        extensions=graphql_schema.extensions,
    )
    pruned._strawberry_schema = strawberry_schema  # type: ignore[attr-defined]
    strawberry_schema._schema = pruned


_prune(public_schema, PRIVATE_FIELDS)


def _tag_public_part() -> None:
    """Add ``@tag(name: "public")`` to every type and field of the public schema, on the
    definitions the full schema is built from."""
    roots = {"Query": Query.__strawberry_definition__, "Mutation": Mutation.__strawberry_definition__}
    converter = public_schema.schema_converter
    names = public_schema.config.name_converter
    for name, graphql_type in public_schema._schema.type_map.items():
        if name.startswith("_") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        concrete = converter.type_map.get(name)
        definition = roots.get(name) or (concrete.definition if concrete else None)
        if definition is None:
            continue
        tag = Tag(name=PUBLIC_TAG)
        if isinstance(graphql_type, GraphQLEnumType):
            definition.directives = (*definition.directives, tag)
            continue
        if not isinstance(graphql_type, GraphQLObjectType | GraphQLInputObjectType | GraphQLInterfaceType):
            continue
        if name not in roots:
            definition.directives = [*(definition.directives or []), tag]
        for field in definition.fields:
            tagged = any(isinstance(d, Tag) for d in field.directives)
            if names.get_graphql_name(field) in graphql_type.fields and not tagged:
                field.directives = [*field.directives, Tag(name=PUBLIC_TAG)]


_tag_public_part()

schema = FederationSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[RegulatorAccount, InstitutionAccount, Institution],
    extensions=_extensions(SubscriptionsOnSockets),
)


#: The planned read path of the full schema (schema.planner); the public part has no field it plans.
planner = Planner(schema)

# The Chinese descriptions every domain shares (schema/descriptions.py); then what the query
# limits know of each schema (its introspection's bounds and budget), measured once here
# rather than by the first request.
for _schema in (public_schema, schema):
    describe(_schema._schema)
    introspection_budget(_schema._schema)


def sdl() -> str:
    """The printed subgraph SDL, as committed in ``schema.graphql``."""
    return schema.as_str() + "\n"


def public_sdl() -> str:
    """The public part's SDL (what an anonymous caller's introspection shows)."""
    return public_schema.as_str() + "\n"
