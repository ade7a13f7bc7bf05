"""The standing of an institution (法律状态, docs/DOMAIN.md §G5), as every caller reads it: the
institution's graph, its home page, the public lookup and the lists (``resolvers.standing``)."""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers import standing
from schema.fields import node_id

StandingEffect = strawberry.enum(
    standing.Effect,
    name="StandingEffect",
    description="原因的效力: 不合法 NOT_LAWFUL (so not compliant either), 不合规 NOT_COMPLIANT, 提示 WARNING (changes nothing).",
)
StandingReasonCode = strawberry.enum(
    standing.ReasonCode,
    name="StandingReasonCode",
    description="法律状态的原因: " + "；".join(f"{code} {rule.title}" for code, rule in standing.REASONS.items()) + ".",
)


@strawberry.type(description="法律状态的一项原因: what it is, what it comes from and the record it concerns.")
class StandingReason:
    code: StandingReasonCode
    effect: StandingEffect = strawberry.field(description="效力")
    message: str = strawberry.field(description="说明")
    source: str = strawberry.field(description="依据 (the regulation)")
    record_type: str = strawberry.field(description="涉及的记录类型: Institution, Application, ListPeriod, or the record of a violation")
    record_id: strawberry.ID
    record_name: str = strawberry.field(description="涉及的记录名称")

    @classmethod
    def from_row(cls, row: standing.Reason) -> StandingReason:
        return cls(
            code=standing.ReasonCode(row.code), effect=row.effect, message=row.message, source=row.source,
            record_type=row.record_type, record_id=node_id(row.record_id), record_name=row.record_name,
        )


@strawberry.type(
    description=(
        "法律状态 as of today (Beijing): one verdict that every part of the platform shares, with its reasons. "
        "lawful: no NOT_LAWFUL reason; compliant (and whiteListEligible): lawful and no NOT_COMPLIANT reason."
    )
)
class Standing:
    licensed: bool = strawberry.field(description="持有今天有效的办学许可证")
    lawful: bool = strawberry.field(description="合法")
    compliant: bool = strawberry.field(description="合规: 合规申请已通过, lawful, and no open violation")
    white_list_eligible: bool = strawberry.field(description="可列入白名单 (compliant)")
    black_listed: bool = strawberry.field(description="列入当前一期黑名单 (of any region above it)")
    deregistered: bool = strawberry.field(description="已注销")
    licence_valid_to: dt.date | None = strawberry.field(description="有效的办学许可证的截止日期 (null: none valid today)")
    reasons: list[StandingReason] = strawberry.field(description="原因, in a fixed order (warnings included)")

    @classmethod
    def from_row(cls, row: standing.Standing) -> Standing:
        return cls(
            licensed=row.licensed, lawful=row.lawful, compliant=row.compliant, white_list_eligible=row.white_list_eligible,
            black_listed=row.black_listed, deregistered=row.deregistered, licence_valid_to=row.licence_valid_to,
            reasons=[StandingReason.from_row(r) for r in row.reasons],
        )
