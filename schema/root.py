"""The GraphQL schema: an Apollo Federation 2 subgraph, composed of the domains' Query and
Mutation parts, and its public part.

``public_schema`` holds what anyone may call without logging in: the regions, institution
lookup and the black and white lists, the complaint form and its progress, and the account
forms (login, verification codes, institution registration, password reset). It is a
role-scoped view of the same graph: the same types and resolvers, only the public root
fields. A caller without a session is served from it (``server.GraphQLApp``), so its
introspection shows the public part alone.

Every type and field of the public part carries ``@tag(name: "public")`` in the full
subgraph's SDL (derived from ``public_schema`` itself, so the two cannot drift apart): a
contract variant of the supergraph that includes the tag ``public`` is the public API.
"""

from __future__ import annotations

import functools

import strawberry
from graphql import GraphQLError, parse, validate
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.federation.schema_directives import Tag

from schema.accounts import (
    AccountMutation,
    AccountPublicMutation,
    AccountPublicQuery,
    AccountQuery,
    InstitutionAccount,
    RegulatorAccount,
)
from schema.audit import AuditQuery
from schema.complaints import ComplaintMutation, ComplaintPublicMutation, ComplaintPublicQuery, ComplaintQuery
from schema.documents import DocumentMutation
from schema.extensions import BUDGETS, MaskUnexpectedErrors, QueryLimits, RecordPersonalReads, RefuseNulCharacters, log_errors
from schema.inspections import InspectionMutation, InspectionQuery
from schema.institutions import Institution, InstitutionMutation, InstitutionQuery
from schema.node import NodeQuery
from schema.portal import PortalMutation, PortalQuery
from schema.portal_accounts import PortalAccountMutation, PortalAccountPublicMutation, PortalAccountQuery
from schema.public import ListMutation, PublicQuery
from schema.regions import RegionQuery
from schema.statistics import StatisticsQuery

PUBLIC_TAG = "public"


@strawberry.type
class Query(
    RegionQuery, PublicQuery, ComplaintQuery, AccountQuery, PortalAccountQuery, InstitutionQuery, InspectionQuery, AuditQuery, PortalQuery, NodeQuery,
    StatisticsQuery,
):
    pass


@strawberry.type
class Mutation(
    AccountMutation, PortalAccountMutation, ComplaintMutation, InstitutionMutation, InspectionMutation, PortalMutation,
    DocumentMutation, ListMutation,
):
    pass


@strawberry.type(name="Query")
class PublicRootQuery(RegionQuery, PublicQuery, ComplaintPublicQuery, AccountPublicQuery):
    pass


@strawberry.type(name="Mutation")
class PublicRootMutation(AccountPublicMutation, PortalAccountPublicMutation, ComplaintPublicMutation):
    pass


class Schema(strawberry.federation.Schema):
    """A federation schema whose errors are logged by kind (``schema.extensions.log_errors``):
    expected ones as one line, unexpected ones with their traceback."""

    def process_errors(self, errors, execution_context=None) -> None:
        log_errors(errors, lambda error: super(Schema, self).process_errors([error], execution_context))


def _extensions() -> list:
    import tracing

    return [ParserCache, ValidationCache, RefuseNulCharacters, QueryLimits, MaskUnexpectedErrors, RecordPersonalReads, *tracing.extensions()]


public_schema = Schema(
    query=PublicRootQuery, mutation=PublicRootMutation, types=[RegulatorAccount, InstitutionAccount], extensions=_extensions()
)

#: Fields of shared types that lead from the public part into the rest of the graph: left out
#: of the public schema (a login's account is shown without its institution there).
PRIVATE_FIELDS = {"InstitutionAccount": {"institution", "claim"}}


def _prune(strawberry_schema, cut: dict[str, set[str]]) -> None:
    """Rebuild the public schema's GraphQL schema without ``cut``'s fields, so that the types
    only they reached are gone from it (and from its introspection) too."""
    graphql_schema = strawberry_schema._schema
    for type_name, fields in cut.items():
        graphql_type = graphql_schema.type_map[type_name]
        for field in fields:
            del graphql_type.fields[field]
    pruned = GraphQLSchema(
        query=graphql_schema.query_type,
        mutation=graphql_schema.mutation_type,
        # A login answers with either kind of account.
        types=[graphql_schema.type_map["RegulatorAccount"], graphql_schema.type_map["InstitutionAccount"]],
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

schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[RegulatorAccount, InstitutionAccount, Institution],
    extensions=_extensions(),
)


@functools.lru_cache(maxsize=1024)
def _needs_login(query: str) -> bool:
    try:
        document = parse(query, max_tokens=BUDGETS["anonymous"].tokens)
    except GraphQLError:
        return False  # the public schema's run reports it (syntax error, or too many tokens)
    if not validate(public_schema._schema, document):
        return False
    return not validate(schema._schema, document)


def needs_login(query: str) -> bool:
    """Whether an operation is valid on the full schema but not on the public one: for a
    caller without a session, that means "log in first"."""
    return len(query) <= 20_000 and _needs_login(query)


def sdl() -> str:
    """The printed subgraph SDL, as committed in ``schema.graphql``."""
    return schema.as_str() + "\n"


def public_sdl() -> str:
    """The public part's SDL (what an anonymous caller's introspection shows)."""
    return public_schema.as_str() + "\n"
