"""The accounts' mutations: login and passwords (docs/DOMAIN.md §R1, §P2), regulator accounts down the
tree (§R2.7), institution accounts' registration, codes, profile and claims (§P2)."""

from __future__ import annotations

import strawberry

from auth.passwords import STRENGTH_RULE
from auth.permissions import MANAGERS, InstitutionAccountHolder, InstitutionUser, LoggedIn, Regulator, allow
from models import ClaimStatus, Level
from resolvers.accounts import claims, codes, institution_accounts, login, regulators
from schema.accounts.inputs import (
    CompleteInstitutionRegistrationInput,
    CreateRegulatorAccountInput,
    RegisterInstitutionAccountInput,
    UpdateMyProfileInput,
    UpdateRegulatorAccountInput,
)
from schema.accounts.payloads import (
    ChangePasswordPayload,
    DeleteRegulatorAccountPayload,
    InstitutionClaimPayload,
    LoginPayload,
    RegisterInstitutionAccountPayload,
    RegulatorAccountPayload,
    RequestVerificationCodePayload,
    ResetPasswordPayload,
    UpdateMyProfilePayload,
    claim_payload,
    regulator_payload,
)
from schema.accounts.types import InstitutionAccount, VerificationPurpose, account_from_row
from schema.context import Info
from schema.errors import user_errors
from schema.fields import sent
from schema.institutions.types import Institution


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
        token, row = await login.login(info, username, password)
        return LoginPayload(
            token=token,
            account=account_from_row(row),
            idle_timeout_seconds=int(info.context.settings.session_idle_timeout.total_seconds()),
        )


@strawberry.type
class AccountMutation(AccountPublicMutation):
    @strawberry.mutation(description="退出登录: ends this session.", extensions=allow(LoggedIn()))
    async def logout(self, info: Info) -> bool:
        return await login.logout(info)

    @strawberry.mutation(
        description=f"修改密码: the current password first; the new one differs from it. Rule: {STRENGTH_RULE}. Ends the account's other sessions.",
        extensions=allow(LoggedIn()),
    )
    async def change_password(self, info: Info, current_password: str, new_password: str) -> ChangePasswordPayload:
        row, errors = await login.change_password(info, current_password, new_password)
        return ChangePasswordPayload(account=account_from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="新增下级账号 (county: 新增下属单位).", extensions=allow(Regulator(*MANAGERS)))
    async def create_regulator_account(self, info: Info, input: CreateRegulatorAccountInput) -> RegulatorAccountPayload:
        return regulator_payload(
            await regulators.create_account(
                info,
                regulators.NewAccount(
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
        return regulator_payload(await regulators.update_account(info, id, version, input.name, input.mobile, input.email))

    @strawberry.mutation(description="启用/禁用下级账号; disabling ends its sessions.", extensions=allow(Regulator(*MANAGERS)))
    async def set_regulator_account_enabled(self, info: Info, id: strawberry.ID, enabled: bool) -> RegulatorAccountPayload:
        return regulator_payload(await regulators.set_enabled(info, id, enabled))

    @strawberry.mutation(
        description="重置密码: back to the initial password 123456, which must be changed at the next login.",
        extensions=allow(Regulator(*MANAGERS)),
    )
    async def reset_regulator_account_password(self, info: Info, id: strawberry.ID) -> RegulatorAccountPayload:
        return regulator_payload(await regulators.reset_password(info, id))

    @strawberry.mutation(description="删除下级账号.", extensions=allow(Regulator(*MANAGERS)))
    async def delete_regulator_account(self, info: Info, id: strawberry.ID) -> DeleteRegulatorAccountPayload:
        deleted, errors = await regulators.delete_account(info, id)
        return DeleteRegulatorAccountPayload(
            deleted_id=strawberry.ID(str(deleted)) if deleted else None, errors=user_errors(errors)
        )


@strawberry.type(description="The public part: 获取验证码, 机构注册, 忘记密码.")
class PortalAccountPublicMutation:
    @strawberry.mutation(
        description=(
            "获取验证码 by SMS (mobile) or, to recover a password, by e-mail: give one of the two. Good for 10 "
            "minutes, once, 5 wrong tries. At most one per minute and 5 an hour per number or address, 20 an hour "
            "per client address: over a limit a GraphQL error RATE_LIMITED with extensions.retryAfterSeconds."
        )
    )
    async def request_verification_code(
        self, info: Info, purpose: VerificationPurpose, mobile: str | None = None, email: str | None = None
    ) -> RequestVerificationCodePayload:
        ttl, errors = await codes.request_code(info, codes.CodeRequest(purpose=purpose, mobile=mobile, email=email))
        if errors:
            return RequestVerificationCodePayload(accepted=False, expires_in_seconds=None, resend_after_seconds=None, errors=user_errors(errors))
        return RequestVerificationCodePayload(
            accepted=True,
            expires_in_seconds=int(ttl.total_seconds()),
            resend_after_seconds=int(codes.RESEND_AFTER.total_seconds()),
            errors=[],
        )

    @strawberry.mutation(
        description=(
            "机构注册 with a REGISTER code sent to the mobile. The login name is the mobile. A credit code nobody "
            "registered creates the institution (机构自主注册); one a county registered creates a pending claim."
        )
    )
    async def register_institution_account(
        self, info: Info, input: RegisterInstitutionAccountInput
    ) -> RegisterInstitutionAccountPayload:
        institution = sent(input.institution) if input.institution is not None else None
        row, claim, errors = await institution_accounts.register(
            info,
            institution_accounts.NewInstitutionAccount(
                mobile=input.mobile,
                code=input.code,
                password=input.password,
                name=input.name,
                email=input.email,
                county_code=input.county_code,
                institution=institution,
            ),
        )
        return RegisterInstitutionAccountPayload(
            account=InstitutionAccount.from_row(row) if row else None,
            claim_status=ClaimStatus(claim.status) if claim else None,
            errors=user_errors(errors),
        )

    @strawberry.mutation(
        description=(
            "忘记密码: a RESET_PASSWORD code sent to the account's mobile or e-mail, and the new password. Ends every "
            "session of the account and clears its failed logins. A wrong, used or dead code is INVALID_CODE, an "
            "expired one CODE_EXPIRED."
        )
    )
    async def reset_password(self, info: Info, mobile_or_email: str, code: str, new_password: str) -> ResetPasswordPayload:
        errors = await institution_accounts.reset_password(info, mobile_or_email, code, new_password)
        return ResetPasswordPayload(ok=not errors, errors=user_errors(errors))


@strawberry.type
class PortalAccountMutation(PortalAccountPublicMutation):
    @strawberry.mutation(
        description=(
            "完善机构信息 (注册 step b): an activated institution account without an institution gives its name, county and "
            "the institution's basic situation. A credit code nobody registered creates the institution, bound to the account "
            "(claimStatus null; then save parts 2–5 one by one); one a county registered makes a PENDING claim."
        ),
        extensions=allow(InstitutionAccountHolder()),
    )
    async def complete_institution_registration(
        self, info: Info, input: CompleteInstitutionRegistrationInput
    ) -> RegisterInstitutionAccountPayload:
        row, claim, errors = await institution_accounts.complete_institution(info, input.name, input.county_code, sent(input.institution))
        return RegisterInstitutionAccountPayload(
            account=InstitutionAccount.from_row(row) if row else None,
            claim_status=ClaimStatus(claim.status) if claim else None,
            errors=user_errors(errors),
        )

    @strawberry.mutation(
        description="个人信息: the account holder's name, mobile and e-mail (each new one with a code sent to it), the institution's phone, postal code and address.",
        extensions=allow(InstitutionUser()),
    )
    async def update_my_profile(self, info: Info, input: UpdateMyProfileInput) -> UpdateMyProfilePayload:
        account, institution, errors = await institution_accounts.update_profile(info, institution_accounts.ProfileChanges(**vars(input)))
        return UpdateMyProfilePayload(
            account=InstitutionAccount.from_row(account) if account else None,
            institution=Institution.from_row(institution, info.context.viewer) if institution else None,
            errors=user_errors(errors),
        )

    @strawberry.mutation(
        description=(
            "确认认领: binds the account to the institution (county education bureau of the institution). One account "
            "per institution: NOT_ALLOWED when it has one; the other pending claims on it are rejected."
        ),
        extensions=allow(Regulator(Level.COUNTY)),
    )
    async def confirm_institution_claim(self, info: Info, id: strawberry.ID) -> InstitutionClaimPayload:
        return claim_payload(info, await claims.confirm_claim(info, id))

    @strawberry.mutation(description="驳回认领 with a reason (county education bureau of the institution).", extensions=allow(Regulator(Level.COUNTY)))
    async def reject_institution_claim(self, info: Info, id: strawberry.ID, reason: str) -> InstitutionClaimPayload:
        return claim_payload(info, await claims.reject_claim(info, id, reason))
