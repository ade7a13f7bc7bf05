"""Accounts (账号): login, the viewer, passwords, and regulator account management
(区县下属单位管理 and the same down every level)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.passwords import STRENGTH_RULE
from auth.permissions import MANAGERS, LoggedIn, Regulator, allow
from models import Account as AccountRow
from models import AccountKind
from models import Department as DepartmentEnum
from models import Level as LevelEnum
from resolvers import accounts as resolve
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.regions import Region
from schema.relay import Connection, Node

if TYPE_CHECKING:
    from schema.institutions import Institution
    from schema.portal_accounts import InstitutionClaim

RegulatorLevel = strawberry.enum(
    LevelEnum,
    name="RegulatorLevel",
    description="管理用户级别: 部级 MINISTRY, 省级 PROVINCE, 地市级 PREFECTURE, 区县级 COUNTY, 区县下属单位 SUB_UNIT.",
)
Department = strawberry.enum(
    DepartmentEnum,
    name="Department",
    description="主管部门: 教育 EDUCATION, 体育 SPORTS, 文化旅游 CULTURE_TOURISM, 科技 SCIENCE_TECHNOLOGY.",
)


@strawberry.interface(name="Account", description="账号: a regulator (管理用户) or an institution (培训机构用户).")
class AccountInterface:
    id: strawberry.ID
    username: str = strawberry.field(description="登录名")
    name: str = strawberry.field(description="名称 (unit or person)")
    must_change_password: bool = strawberry.field(
        description="仍为初始密码: only changePassword and logout work until it is changed."
    )


def _account_fields(row: AccountRow) -> dict:
    """The ``Account`` interface's fields of a row."""
    return {
        "id": strawberry.ID(str(row.id)),
        "username": row.username,
        "name": row.name,
        "must_change_password": row.must_change_password,
    }


@strawberry.federation.type(keys=["id"], description="管理用户: one per region node and department, or a county's sub-unit (下属单位).")
class RegulatorAccount(AccountInterface, Node):
    level: RegulatorLevel = strawberry.field(description="级别")
    department: Department = strawberry.field(description="主管部门")
    enabled: bool = strawberry.field(description="启用状态")
    mobile: str | None = strawberry.field(description="联系电话")
    email: str | None = strawberry.field(description="电子邮箱")
    version: int = strawberry.field(description="版本号: send it back with updateRegulatorAccount; an older one is refused (CONFLICT)")
    created_at: datetime
    updated_at: datetime
    region_code: strawberry.Private[str]
    parent_id: strawberry.Private[object]

    @classmethod
    def from_row(cls, row: AccountRow) -> RegulatorAccount:
        return cls(
            **_account_fields(row),
            level=row.level,
            department=row.department,
            enabled=row.enabled,
            mobile=row.mobile,
            email=row.email,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            region_code=row.region_code,
            parent_id=row.parent_id,
        )

    @strawberry.field(description="所在行政区划")
    async def region(self, info: Info) -> Region:
        return Region.from_row(await info.context.loaders.region.load(self.region_code))

    @strawberry.field(description="所属区县账号 (sub-units only; null when outside the viewer's scope)")
    async def parent(self, info: Info) -> RegulatorAccount | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.account.load(self.parent_id)
        return RegulatorAccount.from_row(row) if row else None

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> RegulatorAccount | None:
        row = await resolve.get_account(info, id)
        return cls.from_row(row) if row and row.kind is AccountKind.REGULATOR else None


@strawberry.type(
    description=(
        "培训机构用户: manages one institution through the portal. Logs in with its login name "
        "or its mobile number (a self-registered account's login name is its mobile)."
    )
)
class InstitutionAccount(AccountInterface, Node):
    mobile: str | None = strawberry.field(description="手机号: login, and codes for a forgotten password")
    email: str | None = strawberry.field(description="电子邮箱: codes for a forgotten password")
    institution_id: strawberry.Private[object]
    row_id: strawberry.Private[object]

    @classmethod
    def from_row(cls, row: AccountRow) -> InstitutionAccount:
        return cls(
            **_account_fields(row),
            mobile=row.mobile,
            email=row.email,
            institution_id=row.institution_id,
            row_id=row.id,
        )

    @strawberry.field(
        description="所管理的培训机构: null while a claim waits for the county (see claim), or for callers who may not see it."
    )
    async def institution(self, info: Info) -> Annotated["Institution", strawberry.lazy("schema.institutions")] | None:
        from schema.institutions import Institution

        if self.institution_id is None:
            return None
        row = await info.context.loaders.institution.load(self.institution_id)
        return Institution.from_row(row, info.context.viewer) if row else None

    @strawberry.field(
        description="机构认领申请: the latest claim of an institution a county registered first (PENDING until the county confirms), or null."
    )
    async def claim(self, info: Info) -> Annotated["InstitutionClaim", strawberry.lazy("schema.portal_accounts")] | None:
        from resolvers import portal_accounts
        from schema.portal_accounts import InstitutionClaim

        view = await portal_accounts.my_claim(info, self.row_id)
        return InstitutionClaim.from_view(view, info.context.viewer) if view else None


def account_from_row(row: AccountRow) -> RegulatorAccount | InstitutionAccount:
    if row.kind is AccountKind.REGULATOR:
        return RegulatorAccount.from_row(row)
    return InstitutionAccount.from_row(row)


@strawberry.type
class LoginPayload:
    token: str = strawberry.field(
        description="Session token: send it as `Authorization: Bearer <token>`; it is also set as an HttpOnly cookie."
    )
    account: AccountInterface
    idle_timeout_seconds: int = strawberry.field(description="The session ends after this long without a request.")


@strawberry.type
class ChangePasswordPayload:
    account: AccountInterface | None
    errors: list[UserError]


@strawberry.type
class RegulatorAccountPayload:
    account: RegulatorAccount | None
    errors: list[UserError]


@strawberry.type
class DeleteRegulatorAccountPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.input(description="Filters of the account list; all optional, combined with AND.")
class RegulatorAccountFilter:
    level: RegulatorLevel | None = None
    department: Department | None = None
    region_code: str | None = strawberry.field(default=None, description="Accounts at or under this region.")
    enabled: bool | None = None
    search: str | None = strawberry.field(default=None, description="Part of the name or login name.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Sub-units of this county account.")


@strawberry.input(description="新增账号. The password is the initial one (123456), to be changed at first login.")
class CreateRegulatorAccountInput:
    username: str = strawberry.field(description="登录名")
    name: str = strawberry.field(description="单位名称")
    level: RegulatorLevel = strawberry.field(description="Strictly below the caller's level.")
    region_code: str | None = strawberry.field(
        default=None, description="In the caller's subtree and of the level's kind; omitted for SUB_UNIT."
    )
    department: Department | None = strawberry.field(
        default=None, description="Omitted for SUB_UNIT (its county's). Non-education callers: their own."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="SUB_UNIT only: the county account; a county caller may omit it (itself)."
    )
    mobile: str | None = None
    email: str | None = None
    enabled: bool = strawberry.field(default=True, description="可暂时禁用: create disabled.")


@strawberry.input(description="修改账号信息: omitted fields stay; an empty mobile or email clears it.")
class UpdateRegulatorAccountInput:
    name: str | None = None
    mobile: str | None = None
    email: str | None = None


@strawberry.type(description="The public part: 当前账号 (null without a session).")
class AccountPublicQuery:
    @strawberry.field(description="The caller's account, or null when anonymous.")
    async def me(self, info: Info) -> AccountInterface | None:
        row = await resolve.me(info)
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
        f = None
        if filter is not None:
            f = resolve.AccountFilter(
                level=filter.level,
                department=filter.department,
                region_code=filter.region_code,
                enabled=filter.enabled,
                search=filter.search,
                parent_id=filter.parent_id,
            )
        page = await resolve.list_accounts(info, f, first, after)
        return Connection[RegulatorAccount].from_page(page, RegulatorAccount.from_row, after=after)

    @strawberry.field(
        description="One regulator account by id, or null when it does not exist or is outside the caller's scope.",
        extensions=allow(Regulator()),
    )
    async def regulator_account(self, info: Info, id: strawberry.ID) -> RegulatorAccount | None:
        row = await resolve.get_account(info, id)
        return RegulatorAccount.from_row(row) if row and row.kind is AccountKind.REGULATOR else None


def _payload(result) -> RegulatorAccountPayload:
    row, errors = result
    return RegulatorAccountPayload(account=RegulatorAccount.from_row(row) if row else None, errors=user_errors(errors))


@strawberry.type(description="The public part: 登录.")
class AccountPublicMutation:
    @strawberry.mutation(
        description=(
            "登录 by login name or, for an institution account, its mobile number. Failures are GraphQL errors: "
            "INVALID_CREDENTIALS; LOGIN_THROTTLED and ACCOUNT_LOCKED after repeated failures for one username or "
            "number (with extensions.retryAfterSeconds); ACCOUNT_DISABLED."
        )
    )
    async def login(self, info: Info, username: str, password: str) -> LoginPayload:
        token, row = await resolve.login(info, username, password)
        return LoginPayload(
            token=token,
            account=account_from_row(row),
            idle_timeout_seconds=int(info.context.settings.session_idle_timeout.total_seconds()),
        )


@strawberry.type
class AccountMutation(AccountPublicMutation):
    @strawberry.mutation(description="退出登录: ends this session.", extensions=allow(LoggedIn()))
    async def logout(self, info: Info) -> bool:
        return await resolve.logout(info)

    @strawberry.mutation(
        description=f"修改密码: the current password first; the new one differs from it. Rule: {STRENGTH_RULE}. Ends the account's other sessions.",
        extensions=allow(LoggedIn()),
    )
    async def change_password(self, info: Info, current_password: str, new_password: str) -> ChangePasswordPayload:
        row, errors = await resolve.change_password(info, current_password, new_password)
        return ChangePasswordPayload(account=account_from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="新增下级账号 (county: 新增下属单位).", extensions=allow(Regulator(*MANAGERS)))
    async def create_regulator_account(self, info: Info, input: CreateRegulatorAccountInput) -> RegulatorAccountPayload:
        return _payload(
            await resolve.create_account(
                info,
                resolve.NewAccount(
                    username=input.username,
                    name=input.name,
                    level=input.level,
                    region_code=input.region_code,
                    department=input.department,
                    parent_id=input.parent_id,
                    mobile=input.mobile,
                    email=input.email,
                    enabled=input.enabled,
                ),
            )
        )

    @strawberry.mutation(description="修改下级账号信息.", extensions=allow(Regulator(*MANAGERS)))
    async def update_regulator_account(
        self, info: Info, id: strawberry.ID, version: int, input: UpdateRegulatorAccountInput
    ) -> RegulatorAccountPayload:
        return _payload(await resolve.update_account(info, id, version, input.name, input.mobile, input.email))

    @strawberry.mutation(description="启用/禁用下级账号; disabling ends its sessions.", extensions=allow(Regulator(*MANAGERS)))
    async def set_regulator_account_enabled(self, info: Info, id: strawberry.ID, enabled: bool) -> RegulatorAccountPayload:
        return _payload(await resolve.set_enabled(info, id, enabled))

    @strawberry.mutation(
        description="重置密码: back to the initial password 123456, which must be changed at the next login.",
        extensions=allow(Regulator(*MANAGERS)),
    )
    async def reset_regulator_account_password(self, info: Info, id: strawberry.ID) -> RegulatorAccountPayload:
        return _payload(await resolve.reset_password(info, id))

    @strawberry.mutation(description="删除下级账号.", extensions=allow(Regulator(*MANAGERS)))
    async def delete_regulator_account(self, info: Info, id: strawberry.ID) -> DeleteRegulatorAccountPayload:
        deleted, errors = await resolve.delete_account(info, id)
        return DeleteRegulatorAccountPayload(
            deleted_id=strawberry.ID(str(deleted)) if deleted else None, errors=user_errors(errors)
        )
