"""An institution's funds (资金管理, docs/DOMAIN.md §P5): fee information, supervision information
and the basic account; account numbers masked above the county desk."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import strawberry

from auth.permissions import InstitutionUser, allow
from auth.roles import sees_institution_personal_data
from auth.viewer import Viewer
from core.masking import mask_account_number
from models import ChargingMethod as ChargingMethodEnum
from models import InstitutionFunds as FundsRow
from resolvers import funds
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.fields import sent
from schema.findings import ON_RECORD, Finding, findings_on

ChargingMethod = strawberry.enum(
    ChargingMethodEnum,
    name="ChargingMethod",
    description="收费方式: 按课时 BY_CLASS_HOUR, 按期（按课程）BY_TERM, 按月 BY_MONTH, 其他 OTHER (see feeStandard).",
)


@strawberry.type(
    description=(
        "资金管理: 收费信息, 监管信息, 基本账户 (合同: the institution's documents of category CONTRACT). "
        "Account numbers are shown in full to the institution and the county desk, masked (last four digits) to others."
    )
)
class InstitutionFunds:
    charging_method: ChargingMethod | None = strawberry.field(description="收费信息: 收费方式")
    fee_standard: str | None = strawberry.field(description="收费信息: 收费标准")
    max_months_per_payment: int | None = strawberry.field(
        description="收费信息: 单次收费最长周期（月）, as declared (the rule allows at most 3)"
    )
    max_class_hours_per_payment: int | None = strawberry.field(
        description="收费信息: 单次收费最多课时, as declared (the rule allows at most 60)"
    )
    refund_policy: str | None = strawberry.field(description="收费信息: 退费办法")
    escrow_bank: str | None = strawberry.field(description="监管信息: 存管银行")
    supervised_account_number: str | None = strawberry.field(description="监管信息: 监管账户账号")
    risk_reserve: Decimal | None = strawberry.field(description="监管信息: 风险保证金（元）")
    basic_account_bank: str | None = strawberry.field(description="基本账户: 开户银行")
    basic_account_name: str | None = strawberry.field(description="基本账户: 户名")
    basic_account_number: str | None = strawberry.field(description="基本账户: 账号")
    version: int = strawberry.field(description="版本号: send it back when saving; an older one is refused (CONFLICT)")
    updated_at: dt.datetime
    institution_key: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: FundsRow, viewer: Viewer | None) -> InstitutionFunds:
        values = {key: getattr(row, key) for key in funds.FIELDS}
        if not sees_institution_personal_data(viewer, row.institution_id):
            for key in funds.ACCOUNT_NUMBERS:
                values[key] = values[key] and mask_account_number(values[key])
        if values["charging_method"] is not None:
            values["charging_method"] = ChargingMethodEnum(values["charging_method"])
        return cls(**values, version=row.version, updated_at=row.updated_at, institution_key=row.institution_id)

    @strawberry.field(description=ON_RECORD)
    async def findings(self, info: Info) -> list[Finding]:
        # The funds' record is the institution's own id: told apart by its type.
        return await findings_on(info, self.institution_key, self.institution_key, "InstitutionFunds")


@strawberry.input(
    description=(
        "资金管理. A save changes the fields sent (null clears one) and keeps those left out, so each tab saves on its own. "
        "Declared periods beyond the rule (3 months, 60 class hours) are stored as declared."
    )
)
class InstitutionFundsInput:
    charging_method: ChargingMethod | None = strawberry.field(default=strawberry.UNSET, description="收费方式")
    fee_standard: str | None = strawberry.field(default=strawberry.UNSET, description="收费标准 (at most 500)")
    max_months_per_payment: int | None = strawberry.field(default=strawberry.UNSET, description="每次收费最多覆盖月数 (1–120)")
    max_class_hours_per_payment: int | None = strawberry.field(default=strawberry.UNSET, description="每次收费最多覆盖课时 (1–10000)")
    refund_policy: str | None = strawberry.field(default=strawberry.UNSET, description="退费办法 (at most 2000)")
    escrow_bank: str | None = strawberry.field(default=strawberry.UNSET, description="资金监管银行")
    supervised_account_number: str | None = strawberry.field(default=strawberry.UNSET, description="监管账户账号 (8–32 digits (spaces and hyphens dropped))")
    risk_reserve: Decimal | None = strawberry.field(default=strawberry.UNSET, description="风险保证金（元） (元, not negative, at most two decimals)")
    basic_account_bank: str | None = strawberry.field(default=strawberry.UNSET, description="基本账户开户银行")
    basic_account_name: str | None = strawberry.field(default=strawberry.UNSET, description="基本账户户名")
    basic_account_number: str | None = strawberry.field(default=strawberry.UNSET, description="基本账户账号 (8–32 digits (spaces and hyphens dropped))")


@strawberry.type
class InstitutionFundsPayload:
    funds: InstitutionFunds | None
    errors: list[UserError]


_OWN = allow(InstitutionUser())


@strawberry.type
class FundsMutation:
    @strawberry.mutation(
        description=(
            "保存资金信息 of the caller's institution. The first save creates them (version null); later saves send "
            "the version read (an older one: CONFLICT). Institution accounts only."
        ),
        extensions=_OWN,
    )
    async def save_institution_funds(
        self, info: Info, input: InstitutionFundsInput, version: int | None = None
    ) -> InstitutionFundsPayload:
        row, errors = await funds.save_funds(info, version, sent(input))
        return InstitutionFundsPayload(
            funds=InstitutionFunds.from_row(row, info.context.viewer) if row else None, errors=user_errors(errors)
        )
