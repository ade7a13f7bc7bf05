"""Institution accounts (培训机构用户, seed 001 §2): verification codes, registration (注册),
claims confirmed by the county (认领), forgotten passwords (忘记密码) and personal
information (个人信息)."""

from __future__ import annotations

import datetime as dt

import strawberry

from auth.permissions import InstitutionUser, Regulator, allow
from auth.viewer import Viewer
from messaging import masked_destination
from models import Channel, ClaimStatus, CodePurpose, Level
from resolvers import portal_accounts as resolve
from resolvers.institutions import mask_phone, sees_personal_data
from schema.accounts import InstitutionAccount
from schema.context import Info
from schema.errors import UserError
from schema.institutions import Institution, InstitutionBasicsInput, user_errors
from schema.relay import Connection

VerificationPurpose = strawberry.enum(
    CodePurpose,
    name="VerificationPurpose",
    description="验证码用途: 注册 REGISTER, 忘记密码 RESET_PASSWORD, 更换手机号 CHANGE_MOBILE (logged-in institution accounts).",
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
    def from_view(cls, view: resolve.ClaimView, viewer: Viewer | None) -> InstitutionClaim:
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
            applicant_email=email if personal or email is None else masked_destination(Channel.EMAIL, email),
            created_at=claim.created_at,
            decided_at=claim.decided_at,
            reason=claim.reason,
            institution_id=claim.institution_id,
        )

    @strawberry.field(description="所认领的机构, for the regulators who see it (null for the applicant until confirmed).")
    async def institution(self, info: Info) -> Institution | None:
        row = await info.context.loaders.institution.load(self.institution_id)
        return Institution.from_row(row, info.context.viewer) if row else None


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


@strawberry.input(description="机构注册: the account, then the institution's basic situation (1 基本情况, the county desk's rules).")
class RegisterInstitutionAccountInput:
    mobile: str = strawberry.field(description="手机号: the login name")
    code: str = strawberry.field(description="验证码 (requestVerificationCode, purpose REGISTER)")
    password: str = strawberry.field(description="密码")
    name: str = strawberry.field(description="机构管理人员姓名")
    email: str | None = strawberry.field(default=None, description="电子邮箱 (optional; also recovers the password)")
    county_code: str = strawberry.field(description="机构所在区县: the lowest-level region; the credit code must be of its province")
    institution: InstitutionBasicsInput = strawberry.field(description="机构信息、法定代表人信息、联系人信息")


@strawberry.type
class RegisterInstitutionAccountPayload:
    account: InstitutionAccount | None = strawberry.field(description="The new account: log in with the mobile and the password.")
    claim_status: InstitutionClaimStatus | None = strawberry.field(
        description=(
            "null: the institution was new and is bound to the account. PENDING: a county had registered this "
            "credit code; the account is bound once that county confirms (until then portal operations answer "
            "INSTITUTION_PENDING) and the institution's data is left as the county registered it."
        )
    )
    errors: list[UserError] = strawberry.field(description="Field names of the institution's part: institution.<field>.")


@strawberry.type
class ResetPasswordPayload:
    ok: bool
    errors: list[UserError]


@strawberry.input(description="个人信息: omitted fields stay; an empty institution phone or postal code clears it.")
class UpdateMyProfileInput:
    name: str | None = strawberry.field(default=None, description="姓名")
    mobile: str | None = strawberry.field(default=None, description="手机号: a new one needs mobileCode")
    mobile_code: str | None = strawberry.field(
        default=None, description="验证码 sent to the new mobile (requestVerificationCode, purpose CHANGE_MOBILE)"
    )
    institution_phone: str | None = strawberry.field(default=None, description="机构联系电话")
    postal_code: str | None = strawberry.field(default=None, description="邮编")
    address: str | None = strawberry.field(default=None, description="机构联系地址")
    institution_version: int | None = strawberry.field(
        default=None, description="The institution's version read: required when phone, postal code or address change (CONFLICT when older)"
    )


@strawberry.type
class UpdateMyProfilePayload:
    account: InstitutionAccount | None
    institution: Institution | None
    errors: list[UserError]


@strawberry.type
class InstitutionClaimPayload:
    claim: InstitutionClaim | None
    errors: list[UserError]


def _claim_payload(info: Info, result) -> InstitutionClaimPayload:
    view, errors = result
    return InstitutionClaimPayload(claim=InstitutionClaim.from_view(view, info.context.viewer) if view else None, errors=user_errors(errors))


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
        page = await resolve.list_claims(info, status, first, after)
        viewer = info.context.viewer
        return Connection[InstitutionClaim].from_page(page, lambda view: InstitutionClaim.from_view(view, viewer), after=after)


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
        ttl, errors = await resolve.request_code(info, resolve.CodeRequest(purpose=purpose, mobile=mobile, email=email))
        if errors:
            return RequestVerificationCodePayload(accepted=False, expires_in_seconds=None, resend_after_seconds=None, errors=user_errors(errors))
        return RequestVerificationCodePayload(
            accepted=True,
            expires_in_seconds=int(ttl.total_seconds()),
            resend_after_seconds=int(resolve.RESEND_AFTER.total_seconds()),
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
        institution = {key: getattr(input.institution, key) for key in vars(input.institution)}
        row, claim, errors = await resolve.register(
            info,
            resolve.NewInstitutionAccount(
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
        errors = await resolve.reset_password(info, mobile_or_email, code, new_password)
        return ResetPasswordPayload(ok=not errors, errors=user_errors(errors))


@strawberry.type
class PortalAccountMutation(PortalAccountPublicMutation):
    @strawberry.mutation(
        description="个人信息: the account holder's name and mobile, the institution's phone, postal code and address.",
        extensions=allow(InstitutionUser()),
    )
    async def update_my_profile(self, info: Info, input: UpdateMyProfileInput) -> UpdateMyProfilePayload:
        account, institution, errors = await resolve.update_profile(info, resolve.ProfileChanges(**vars(input)))
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
        return _claim_payload(info, await resolve.confirm_claim(info, id))

    @strawberry.mutation(description="驳回认领 with a reason (county education bureau of the institution).", extensions=allow(Regulator(Level.COUNTY)))
    async def reject_institution_claim(self, info: Info, id: strawberry.ID, reason: str) -> InstitutionClaimPayload:
        return _claim_payload(info, await resolve.reject_claim(info, id, reason))
