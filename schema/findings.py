"""Findings (规则检查发现的问题, docs/DOMAIN.md §G4): a rule of the regulations that an institution's
data breaks, on the record it concerns."""

from __future__ import annotations

import strawberry

from resolvers.findings import RULES
from resolvers.findings import Finding as FindingRow
from schema.fields import node_id


@strawberry.type(description="规则检查发现的问题: a rule of the regulations that the institution's data breaks.")
class Finding:
    rule: str = strawberry.field(description="规则编号 (e.g. CLASS_END_TIME, LICENCE_EXPIRED)")
    severity: str = strawberry.field(description="VIOLATION 违规 (not compliant while open) or WARNING 提示")
    title: str = strawberry.field(description="规则")
    message: str = strawberry.field(description="问题说明")
    source: str = strawberry.field(description="依据")
    record_type: str = strawberry.field(description="涉及的记录类型: Institution, Site, TrainingClass, Material, InstitutionFunds")
    record_id: strawberry.ID
    record_name: str = strawberry.field(description="相关记录的名称")

    @classmethod
    def from_row(cls, row: FindingRow) -> Finding:
        return cls(
            rule=row.rule, severity=row.severity, title=RULES[row.rule].title, message=row.message, source=row.source, record_type=row.record_type,
            record_id=node_id(row.record_id), record_name=row.record_name,
        )

    @classmethod
    def from_json(cls, data: dict) -> Finding:
        rule = RULES.get(data["rule"])
        return cls(
            rule=data["rule"], severity=data.get("severity", "VIOLATION"), title=rule.title if rule else data["rule"], message=data["message"], source=data["source"],
            record_type=data["recordType"], record_id=strawberry.ID(data["recordId"]), record_name=data["recordName"],
        )
