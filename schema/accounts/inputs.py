"""The accounts' inputs."""

from __future__ import annotations

import strawberry

from resolvers.accounts import regulators
from schema.enums import Department, RegulatorLevel
from schema.filters import graphql_input
from schema.institutions.inputs import InstitutionBasicsInput

RegulatorAccountFilter = graphql_input(
    regulators.AccountFilter, name="RegulatorAccountFilter", description="账号列表的筛选条件 (the account list's filters; all optional, combined with AND)."
)


@strawberry.input(description="新增账号. The password is the initial one (123456), to be changed at first login.")
class CreateRegulatorAccountInput:
    username: str = strawberry.field(description="登录名")
    name: str = strawberry.field(description="单位名称")
    level: RegulatorLevel = strawberry.field(description="Strictly below the caller's level.")
    region_code: str | None = strawberry.field(
        default=None, description="所属行政区划代码 (in the caller's subtree and of the level's kind; omitted for SUB_UNIT)"
    )
    department: Department | None = strawberry.field(
        default=None, description="Omitted for SUB_UNIT (its county's). Non-education callers: their own."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="所属区县账号 (SUB_UNIT only: the county account; a county caller may omit it, itself)"
    )
    mobile: str | None = strawberry.field(default=None, description="手机号")
    email: str | None = strawberry.field(default=None, description="电子邮箱")
    enabled: bool = strawberry.field(default=True, description="可暂时禁用: create disabled.")


@strawberry.input(description="修改账号信息: omitted fields stay; an empty mobile or email clears it.")
class UpdateRegulatorAccountInput:
    name: str | None = strawberry.field(default=None, description="单位名称")
    mobile: str | None = None
    email: str | None = None


@strawberry.input(
    description=(
        "机构注册 (docs/DOMAIN.md §P2.1). Step a, 填写基本信息: mobile, code and password activate the account. "
        "Step b, 完善机构信息: name, countyCode and institution, sent here too or afterwards with completeInstitutionRegistration."
    )
)
class RegisterInstitutionAccountInput:
    mobile: str = strawberry.field(description="手机号 *: the login name")
    code: str = strawberry.field(description="验证码 * (requestVerificationCode, purpose REGISTER)")
    password: str = strawberry.field(description="密码 *")
    name: str | None = strawberry.field(default=None, description="机构管理人员姓名 (账户信息; step b)")
    email: str | None = strawberry.field(default=None, description="电子邮箱 (optional; also recovers the password)")
    county_code: str | None = strawberry.field(default=None, description="机构所在区县 (step b): the lowest-level region; the credit code must be of its province")
    institution: InstitutionBasicsInput | None = strawberry.field(default=None, description="机构信息、法定代表人信息、联系人信息 (step b)")


@strawberry.input(description="完善机构信息 (docs/DOMAIN.md §P2.1 b): the account holder, the county and the institution's basic situation.")
class CompleteInstitutionRegistrationInput:
    name: str | None = strawberry.field(default=None, description="机构管理人员姓名 * (账户信息; may be left out when given at step a)")
    county_code: str = strawberry.field(description="机构所在区县 *: the lowest-level region; the credit code must be of its province")
    institution: InstitutionBasicsInput = strawberry.field(description="机构信息、法定代表人信息、联系人信息 (1 基本情况, the county desk's rules)")


@strawberry.input(description="个人信息: omitted fields stay; an empty institution phone or postal code clears it.")
class UpdateMyProfileInput:
    name: str | None = strawberry.field(default=None, description="姓名")
    mobile: str | None = strawberry.field(default=None, description="手机号: a new one needs mobileCode")
    mobile_code: str | None = strawberry.field(
        default=None, description="验证码 sent to the new mobile (requestVerificationCode, purpose CHANGE_MOBILE)"
    )
    email: str | None = strawberry.field(default=None, description="电子邮箱: a new one needs emailCode; an empty one removes it")
    email_code: str | None = strawberry.field(
        default=None, description="验证码 sent to the new e-mail (requestVerificationCode, purpose CHANGE_EMAIL)"
    )
    institution_phone: str | None = strawberry.field(default=None, description="机构联系电话")
    postal_code: str | None = strawberry.field(default=None, description="邮编")
    address: str | None = strawberry.field(default=None, description="机构联系地址")
    institution_version: int | None = strawberry.field(
        default=None, description="机构信息的版本号: the institution's version read: required when phone, postal code or address change (CONFLICT when older)"
    )
