"""The institution's home page (后台首页, docs/DOMAIN.md §P3)."""

from __future__ import annotations

import strawberry

from resolvers.institutions import home as rules
from resolvers.loaders import FindingsByInstitutionLoader, MissingItemsLoader, StandingLoader
from resolvers.standing import Effect
from schema.context import Info
from schema.enums import ReviewStatus
from schema.standing import Standing, StandingReason


@strawberry.type(description="待补全事项: what stops a compliance application now.")
class MissingItem:
    code: str = strawberry.field(
        description=", ".join(rules.MISSING_CODES) + ", or the code of a reason of the standing that blocks it (StandingReasonCode)"
    )
    message: str


@strawberry.type(description="后台首页: review status, standing, rectification flags and what is missing before a compliance application.")
class PortalHome:
    review_status: ReviewStatus = strawberry.field(description="审核状态 (the latest compliance application; the standing says whether it still holds)")
    deregistered: bool = strawberry.field(description="已注销 (read-only)")
    needs_non_profit_conversion: bool = strawberry.field(description="营转非: a subject institution still for-profit")
    needs_online_approval: bool = strawberry.field(description="备案转审批: an online subject institution without a licence valid today")
    missing: list[MissingItem] = strawberry.field(description="合规申请前须补全的事项 (every blocking reason)")
    can_apply_for_compliance: bool = strawberry.field(description="可提交合规申请")
    findings_count: int = strawberry.field(description="发现的问题数")
    standing: Standing = strawberry.field(description="法律状态")
    warnings: list[StandingReason] = strawberry.field(description="提示: the standing's warnings (a licence ending within 90 days)")


async def portal_home(info: Info, row) -> PortalHome:
    """The home page of an institution the viewer sees (batched over a list by loaders)."""
    standing = await StandingLoader(info.context).load(row.id)
    findings = await FindingsByInstitutionLoader(info.context).load(row.id)
    missing = await MissingItemsLoader(info.context).load(row.id)
    shown = Standing.from_row(standing)
    return PortalHome(
        review_status=ReviewStatus(row.review_status),
        deregistered=row.deregistered_at is not None,
        needs_non_profit_conversion=rules.needs_non_profit(row),
        needs_online_approval=rules.needs_approval(row, standing),
        missing=[MissingItem(code=m.code, message=m.message) for m in missing],
        can_apply_for_compliance=not missing and row.review_status not in ("PENDING", "APPROVED"),
        findings_count=len(findings),
        standing=shown,
        warnings=[r for r, reason in zip(shown.reasons, standing.reasons, strict=True) if reason.effect is Effect.WARNING],
    )
