"""The one GraphQL schema: an Apollo Federation 2 subgraph, composed of the domains' Query
and Mutation parts."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from schema.accounts import AccountMutation, AccountQuery, InstitutionAccount, RegulatorAccount
from schema.extensions import MaskUnexpectedErrors, QueryLimits, RefuseNulCharacters
from schema.audit import AuditQuery
from schema.complaints import ComplaintMutation, ComplaintQuery
from schema.documents import DocumentMutation
from schema.inspections import InspectionMutation, InspectionQuery
from schema.institutions import Institution, InstitutionMutation, InstitutionQuery
from schema.portal import PortalMutation, PortalQuery
from schema.portal_accounts import PortalAccountMutation, PortalAccountQuery
from schema.regions import RegionQuery


@strawberry.type
class Query(RegionQuery, AccountQuery, PortalAccountQuery, InstitutionQuery, InspectionQuery, ComplaintQuery, AuditQuery, PortalQuery):
    pass


@strawberry.type
class Mutation(
    AccountMutation, PortalAccountMutation, InstitutionMutation, InspectionMutation, ComplaintMutation, PortalMutation, DocumentMutation
):
    pass


schema = strawberry.federation.Schema(
    query=Query,
    mutation=Mutation,
    types=[RegulatorAccount, InstitutionAccount, Institution],
    extensions=[
        ParserCache,
        ValidationCache,
        RefuseNulCharacters,
        QueryLimits,
        MaskUnexpectedErrors,
    ],
)


def sdl() -> str:
    """The printed subgraph SDL, as committed in ``schema.graphql``."""
    return schema.as_str() + "\n"
