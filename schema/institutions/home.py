"""The institution's home page (后台首页, docs/DOMAIN.md §P3)."""

from __future__ import annotations

import strawberry

from resolvers.institutions import home as rules
from resolvers.loaders import FindingsByInstitutionLoader, MissingItemsLoader
from schema.context import Info
from schema.enums import ReviewStatus


@strawberry.type(description="待补全事项: what stops a compliance application now.")
class MissingItem:
    code: str = strawberry.field(description=", ".join(rules.MISSING_CODES))
    message: str


@strawberry.type(description="后台首页: review status, rectification flags and what is missing before a compliance application.")
class PortalHome:
    review_status: ReviewStatus = strawberry.field(description="审核状态")
    deregistered: bool = strawberry.field(description="已注销 (read-only)")
    needs_non_profit_conversion: bool = strawberry.field(description="营转非: a subject institution still for-profit")
    needs_online_approval: bool = strawberry.field(description="备案转审批: an online subject institution without a licence")
    missing: list[MissingItem] = strawberry.field(description="合规申请前须补全的事项")
    can_apply_for_compliance: bool = strawberry.field(description="可提交合规申请")
    findings_count: int = strawberry.field(description="发现的问题数")


async def portal_home(info: Info, row) -> PortalHome:
    """The home page of an institution the viewer sees (batched over a list by loaders)."""
    findings = await FindingsByInstitutionLoader(info.context).load(row.id)
    missing = await MissingItemsLoader(info.context).load(row.id)
    return PortalHome(
        review_status=ReviewStatus(row.review_status),
        deregistered=row.deregistered_at is not None,
        needs_non_profit_conversion=rules.needs_non_profit(row),
        needs_online_approval=rules.needs_approval(row),
        missing=[MissingItem(code=m.code, message=m.message) for m in missing],
        can_apply_for_compliance=not missing and row.review_status not in ("PENDING", "APPROVED"),
        findings_count=len(findings),
    )
