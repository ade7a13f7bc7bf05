"""Reading accounts: the caller's own (``me``, public), regulator accounts in scope, claims."""

from __future__ import annotations

import strawberry

from auth.permissions import Regulator, allow
from models import AccountKind, Level
from resolvers.accounts import claims, regulators
from resolvers.loaders import AccountByIdLoader
from schema.accounts.inputs import RegulatorAccountFilter
from schema.accounts.types import AccountInterface, InstitutionClaim, InstitutionClaimStatus, RegulatorAccount, account_from_row
from schema.context import Info
from schema.filters import to_filter
from schema.relay import Connection


@strawberry.type(description="The public part: 当前账号 (null without a session).")
class AccountPublicQuery:
    @strawberry.field(description="当前登录的账号 (null without a session) (The caller's account, or null when anonymous.)")
    async def me(self, info: Info) -> AccountInterface | None:
        viewer = info.context.viewer
        row = await AccountByIdLoader(info.context).load(viewer.account_id) if viewer is not None else None
        return account_from_row(row) if row else None


@strawberry.type
class AccountQuery(AccountPublicQuery):
    @strawberry.field(
        description="Regulator accounts in the caller's scope: itself and the accounts below it (单位列表).",
        extensions=allow(Regulator()),
    )
    async def regulator_accounts(
        self,
        info: Info,
        filter: RegulatorAccountFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[RegulatorAccount]:
        page = await regulators.list_accounts(info, to_filter(filter), first, after)
        return Connection[RegulatorAccount].from_page(page, RegulatorAccount.from_row, after=after)

    @strawberry.field(
        description="管理用户账号 (one regulator account by id, or null when it does not exist or is outside the caller's scope).",
        extensions=allow(Regulator()),
    )
    async def regulator_account(self, info: Info, id: strawberry.ID) -> RegulatorAccount | None:
        row = await AccountByIdLoader(info.context).load_id(id)
        return RegulatorAccount.from_row(row) if row and row.kind is AccountKind.REGULATOR else None


@strawberry.type
class PortalAccountQuery:
    @strawberry.field(
        description=(
            "机构认领申请 on the institutions in the caller's scope, oldest first: the county education bureau "
            "confirms or rejects them; prefectures, provinces and the ministry (education) read them."
        ),
        extensions=allow(Regulator(Level.MINISTRY, Level.PROVINCE, Level.PREFECTURE, Level.COUNTY)),
    )
    async def institution_claims(
        self, info: Info, status: InstitutionClaimStatus | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[InstitutionClaim]:
        page = await claims.list_claims(info, status, first, after)
        viewer = info.context.viewer
        return Connection[InstitutionClaim].from_page(page, lambda view: InstitutionClaim.from_view(view, viewer), after=after)
