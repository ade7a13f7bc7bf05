"""Accounts as the graph shows them: the ``Account`` interface, regulators (管理用户), institution
accounts (培训机构用户) and their claims (机构认领)."""

from __future__ import annotations

import datetime as dt
from datetime import datetime

import strawberry

from auth.roles import sees_personal_data
from auth.viewer import Viewer
from core.masking import mask_email, mask_phone
from models import Account as AccountRow
from models import AccountKind, ClaimStatus, CodePurpose
from resolvers.accounts import claims
from resolvers.loaders import AccountByIdLoader, InstitutionByIdLoader, RegionByCodeLoader
from schema.context import Info
from schema.enums import Department, RegulatorLevel
from schema.institutions.types import Institution, RegistrationProgress
from schema.regions import Region
from schema.relay import Node


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
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.region_code))

    @strawberry.field(description="所属区县账号 (sub-units only; null when outside the viewer's scope)")
    async def parent(self, info: Info) -> RegulatorAccount | None:
        if self.parent_id is None:
            return None
        row = await AccountByIdLoader(info.context).load(self.parent_id)
        return RegulatorAccount.from_row(row) if row else None

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> RegulatorAccount | None:
        row = await AccountByIdLoader(info.context).load_id(id)
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
    async def institution(self, info: Info) -> Institution | None:
        if self.institution_id is None:
            return None
        row = await InstitutionByIdLoader(info.context).load(self.institution_id)
        return Institution.from_row(row, info.context.viewer) if row else None

    @strawberry.field(
        description=(
            "待完善的机构信息 (registration's progress): before 完善机构信息 (completeInstitutionRegistration) nothing is saved and "
            "every part is missing; then the institution's own progress; null while a claim waits for the county."
        )
    )
    async def registration_progress(self, info: Info) -> RegistrationProgress | None:
        if self.institution_id is not None:
            row = await InstitutionByIdLoader(info.context).load(self.institution_id)
            return RegistrationProgress.from_row(row) if row else None
        claim = await claims.my_claim(info, self.row_id)
        return None if claim and claim.claim.status == ClaimStatus.PENDING else RegistrationProgress.nothing_saved()

    @strawberry.field(
        description="机构认领申请: the latest claim of an institution a county registered first (PENDING until the county confirms), or null."
    )
    async def claim(self, info: Info) -> InstitutionClaim | None:

        view = await claims.my_claim(info, self.row_id)
        return InstitutionClaim.from_view(view, info.context.viewer) if view else None


def account_from_row(row: AccountRow) -> RegulatorAccount | InstitutionAccount:
    if row.kind is AccountKind.REGULATOR:
        return RegulatorAccount.from_row(row)
    return InstitutionAccount.from_row(row)


VerificationPurpose = strawberry.enum(
    CodePurpose,
    name="VerificationPurpose",
    description=(
        "验证码用途: 注册 REGISTER, 忘记密码 RESET_PASSWORD, 更换手机号 CHANGE_MOBILE and 添加或更换电子邮箱 CHANGE_EMAIL "
        "(both for logged-in institution accounts, the code sent to the new mobile or e-mail)."
    ),
)
InstitutionClaimStatus = strawberry.enum(
    ClaimStatus,
    name="InstitutionClaimStatus",
    description="认领状态: 待区县确认 PENDING, 已确认绑定 CONFIRMED, 已驳回 REJECTED.",
)


@strawberry.type(
    description=(
        "机构认领申请: an account registered with the credit code of an institution a county had registered "
        "before; the county of that institution confirms (binding the account) or rejects it."
    )
)
class InstitutionClaim:
    id: strawberry.ID
    status: InstitutionClaimStatus
    institution_name: str = strawberry.field(description="所认领机构的名称")
    credit_code: str = strawberry.field(description="统一社会信用代码")
    applicant_name: str = strawberry.field(description="申请人姓名")
    applicant_mobile: str | None = strawberry.field(description="申请人手机号 (masked unless the viewer is the county desk or the applicant)")
    applicant_email: str | None = strawberry.field(description="申请人电子邮箱 (masked like the mobile)")
    created_at: dt.datetime = strawberry.field(description="申请时间")
    decided_at: dt.datetime | None = strawberry.field(description="处理时间")
    reason: str | None = strawberry.field(description="驳回理由")
    institution_id: strawberry.Private[object]

    @classmethod
    def from_view(cls, view: claims.ClaimView, viewer: Viewer | None) -> InstitutionClaim:
        claim = view.claim
        personal = sees_personal_data(viewer) or (viewer is not None and viewer.account_id == claim.account_id)
        mobile, email = view.applicant_mobile, view.applicant_email
        return cls(
            id=strawberry.ID(str(claim.id)),
            status=ClaimStatus(claim.status),
            institution_name=view.institution_name,
            credit_code=view.credit_code,
            applicant_name=view.applicant_name,
            applicant_mobile=mobile if personal or mobile is None else mask_phone(mobile),
            applicant_email=email if personal or email is None else mask_email(email),
            created_at=claim.created_at,
            decided_at=claim.decided_at,
            reason=claim.reason,
            institution_id=claim.institution_id,
        )

    @strawberry.field(description="所认领的机构, for the regulators who see it (null for the applicant until confirmed).")
    async def institution(self, info: Info) -> Institution | None:
        row = await InstitutionByIdLoader(info.context).load(self.institution_id)
        return Institution.from_row(row, info.context.viewer) if row else None
