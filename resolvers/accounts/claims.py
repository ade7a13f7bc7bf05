"""Claims (机构认领): an institution account asking to manage an institution a county registered
first. The county education bureau of that institution confirms (binding the account) or
rejects it; one account manages one institution, so confirming one claim rejects the other
pending claims on it, and a claim on an institution that has an account is not confirmed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from auth.roles import is_county_bureau, is_education_county_and_up
from auth.scope import scope
from core.errors import ErrorCode, FieldError, Forbidden
from core.ids import parse_id
from models import Account, AccountKind, ClaimStatus, EventType, Institution, InstitutionClaim
from resolvers import audit, validation
from resolvers.accounts.institution_accounts import AUDITED_FIELDS
from resolvers.events import raise_event
from resolvers.pagination import Page, paginate


@dataclass
class ClaimView:
    """A claim with what its readers are shown of the institution and the applicant."""

    claim: InstitutionClaim
    institution_name: str
    credit_code: str
    applicant_name: str
    applicant_mobile: str | None
    applicant_email: str | None


async def claim_views(db: AsyncSession, claims: list[InstitutionClaim]) -> list[ClaimView]:
    if not claims:
        return []
    rows = (
        await db.execute(
            sa.select(InstitutionClaim.id, Institution.name, Institution.credit_code, Account.name, Account.mobile, Account.email)
            .join(Institution, Institution.id == InstitutionClaim.institution_id)
            .join(Account, Account.id == InstitutionClaim.account_id)
            .where(InstitutionClaim.id.in_([c.id for c in claims]))
        )
    ).all()
    found = {r[0]: r[1:] for r in rows}
    return [ClaimView(c, *found[c.id]) for c in claims]


async def list_claims(info, status: ClaimStatus | None, first: int | None, after: str | None) -> Page:
    """The claims on institutions in the caller's scope, oldest first."""
    ctx = info.context
    _check_claim_reader(ctx.viewer)
    condition = scope(ctx.viewer, InstitutionClaim)
    if status is not None:
        condition = sa.and_(condition, InstitutionClaim.status == ClaimStatus(getattr(status, "value", status)))
    async with ctx.sessionmaker() as db:
        page = await paginate(db, InstitutionClaim, condition, [InstitutionClaim.created_at, InstitutionClaim.id], first=first, after=after)
        page.rows = await claim_views(db, page.rows)
    return page


async def my_claim(info, account_id: uuid.UUID) -> ClaimView | None:
    """The latest claim of an account, as the caller may see it."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        claim = (
            await db.execute(
                sa.select(InstitutionClaim)
                .where(InstitutionClaim.account_id == account_id, scope(ctx.viewer, InstitutionClaim))
                .order_by(InstitutionClaim.created_at.desc(), InstitutionClaim.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        return (await claim_views(db, [claim]))[0] if claim else None


def _check_claim_reader(viewer) -> None:
    if not is_education_county_and_up(viewer):
        raise Forbidden("只有区县及以上教育部门可以查看机构认领申请 (education accounts from county level up)")


def _check_claim_decider(viewer) -> None:
    if not is_county_bureau(viewer):
        raise Forbidden("只有区县教育部门可以确认或驳回机构认领申请 (county education accounts only)")


async def _pending_claim(db: AsyncSession, viewer, claim_id: str) -> tuple[InstitutionClaim | None, FieldError | None]:
    parsed = parse_id(claim_id)
    claim = (
        await db.execute(
            sa.select(InstitutionClaim).where(InstitutionClaim.id == parsed, scope(viewer, InstitutionClaim)).with_for_update()
        )
    ).scalar_one_or_none() if parsed else None
    if claim is None:
        return None, FieldError("id", ErrorCode.NOT_FOUND, "认领申请不存在")
    if claim.status is not ClaimStatus.PENDING:
        return None, FieldError("id", ErrorCode.NOT_ALLOWED, "该认领申请已处理")
    return claim, None


def _decide(ctx, db: AsyncSession, claim: InstitutionClaim, status: ClaimStatus, reason: str | None, region_code: str, operation: str) -> None:
    before = audit.values_of(claim, ["status", "reason"])
    claim.status = status
    claim.reason = reason
    claim.decided_by = ctx.viewer.account_id
    claim.decided_at = ctx.now
    audit.record(db, ctx, operation, "InstitutionClaim", claim.id, region_code,
                 changed=audit.changes(before, audit.values_of(claim, ["status", "reason"])))


async def _raise_decided(db: AsyncSession, ctx, claim: InstitutionClaim, region_code: str) -> None:
    await raise_event(db, EventType.CLAIM_DECIDED, claim.id, region_code, ctx.now, institution_id=claim.institution_id, account_id=claim.account_id)


#: Why the other pending claims on an institution are rejected when one is confirmed.
OTHER_CLAIM_CONFIRMED = "该机构已确认由其他账号管理"


async def confirm_claim(info, claim_id: str) -> tuple[ClaimView | None, list[FieldError]]:
    """Bind the claiming account to the institution (the county of the institution)."""
    ctx = info.context
    _check_claim_decider(ctx.viewer)
    async with ctx.sessionmaker() as db:
        claim, problem = await _pending_claim(db, ctx.viewer, claim_id)
        if problem:
            return None, [problem]
        # The institution row's lock orders confirmations of claims on one institution.
        institution = (
            await db.execute(sa.select(Institution).where(Institution.id == claim.institution_id).with_for_update())
        ).scalar_one()
        bound = (
            await db.execute(
                sa.select(sa.exists().where(Account.kind == AccountKind.INSTITUTION, Account.institution_id == institution.id))
            )
        ).scalar()
        if bound:
            return None, [FieldError("id", ErrorCode.NOT_ALLOWED, "该机构已有机构账号，一个机构只能由一个账号管理")]
        account = (await db.execute(sa.select(Account).where(Account.id == claim.account_id).with_for_update())).scalar_one()
        before = audit.values_of(account, AUDITED_FIELDS)
        account.institution_id = institution.id
        account.region_code = institution.region_code
        account.updated_at = ctx.now
        _decide(ctx, db, claim, ClaimStatus.CONFIRMED, None, institution.region_code, "confirmInstitutionClaim")
        audit.record(db, ctx, "bindInstitutionAccount", "Account", account.id, account.region_code,
                     changed=audit.changes(before, audit.values_of(account, AUDITED_FIELDS)))
        others = (
            await db.execute(
                sa.select(InstitutionClaim)
                .where(InstitutionClaim.institution_id == institution.id, InstitutionClaim.status == ClaimStatus.PENDING, InstitutionClaim.id != claim.id)
                .with_for_update()
            )
        ).scalars().all()
        for other in others:
            _decide(ctx, db, other, ClaimStatus.REJECTED, OTHER_CLAIM_CONFIRMED, institution.region_code, "rejectInstitutionClaim")
        for decided in (claim, *others):
            await _raise_decided(db, ctx, decided, institution.region_code)
        await db.commit()
        return (await claim_views(db, [claim]))[0], []


async def reject_claim(info, claim_id: str, reason: str | None) -> tuple[ClaimView | None, list[FieldError]]:
    ctx = info.context
    _check_claim_decider(ctx.viewer)
    reason = validation.text(reason)
    errors = []
    if reason is None:
        errors.append(FieldError("reason", ErrorCode.REQUIRED, "请填写驳回理由"))
    elif len(reason) > 500:
        errors.append(FieldError("reason", ErrorCode.TOO_LONG, "驳回理由不能超过 500 字"))
    async with ctx.sessionmaker() as db:
        claim, problem = await _pending_claim(db, ctx.viewer, claim_id)
        if problem:
            return None, [problem]
        if errors:
            return None, errors
        region_code = (await db.execute(sa.select(Institution.region_code).where(Institution.id == claim.institution_id))).scalar_one()
        _decide(ctx, db, claim, ClaimStatus.REJECTED, reason, region_code, "rejectInstitutionClaim")
        await _raise_decided(db, ctx, claim, region_code)
        await db.commit()
        return (await claim_views(db, [claim]))[0], []
