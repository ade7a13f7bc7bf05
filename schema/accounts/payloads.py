"""What the accounts' mutations answer."""

from __future__ import annotations

import strawberry

from schema.accounts.types import AccountInterface, InstitutionAccount, InstitutionClaim, InstitutionClaimStatus, RegulatorAccount
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.institutions.types import Institution


@strawberry.type
class LoginPayload:
    token: str = strawberry.field(
        description="会话令牌 (session token: send it as `Authorization: Bearer <token>`; it is also set as an HttpOnly cookie)"
    )
    account: AccountInterface
    idle_timeout_seconds: int = strawberry.field(description="闲置多少秒后自动退出 (The session ends after this long without a request.)")


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


def regulator_payload(result) -> RegulatorAccountPayload:
    row, errors = result
    return RegulatorAccountPayload(account=RegulatorAccount.from_row(row) if row else None, errors=user_errors(errors))


@strawberry.type
class RequestVerificationCodePayload:
    accepted: bool = strawberry.field(
        description=(
            "请求已受理. For RESET_PASSWORD the answer is the same whether or not an account has this mobile "
            "or e-mail; the code is sent only when one does."
        )
    )
    expires_in_seconds: int | None = strawberry.field(description="验证码有效期 (600)")
    resend_after_seconds: int | None = strawberry.field(description="再次获取前须等待的秒数 (60)")
    errors: list[UserError]


@strawberry.type
class RegisterInstitutionAccountPayload:
    account: InstitutionAccount | None = strawberry.field(description="The new account: log in with the mobile and the password.")
    claim_status: InstitutionClaimStatus | None = strawberry.field(
        description=(
            "认领状态. null: the institution was new and is bound to the account. PENDING: a county had registered this "
            "credit code; the account is bound once that county confirms (until then portal operations answer "
            "INSTITUTION_PENDING) and the institution's data is left as the county registered it."
        )
    )
    errors: list[UserError] = strawberry.field(description="Field names of the institution's part: institution.<field>.")


@strawberry.type
class ResetPasswordPayload:
    ok: bool = strawberry.field(description="是否已重设")
    errors: list[UserError]


@strawberry.type
class UpdateMyProfilePayload:
    account: InstitutionAccount | None
    institution: Institution | None
    errors: list[UserError]


@strawberry.type
class InstitutionClaimPayload:
    claim: InstitutionClaim | None
    errors: list[UserError]


def claim_payload(info: Info, result) -> InstitutionClaimPayload:
    view, errors = result
    return InstitutionClaimPayload(claim=InstitutionClaim.from_view(view, info.context.viewer) if view else None, errors=user_errors(errors))
