"""Findings (规则检查发现的问题, docs/DOMAIN.md §G4): a rule of the regulations that an institution's
data breaks, on the record it concerns; the regulators' list of them (问题清单,
``resolvers.finding_list``)."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from auth.permissions import Regulator, allow
from resolvers import finding_list
from resolvers.findings import RULES
from resolvers.findings import Finding as FindingRow
from resolvers.loaders import FindingsByInstitutionLoader, InstitutionByIdLoader
from schema import enums  # noqa: F401 - FindingRule and FindingSeverity, which the filter's input names
from schema.context import Info
from schema.fields import node_id
from schema.filters import graphql_input, to_filter
from schema.relay import Connection, Node


@strawberry.type(description="规则检查发现的问题: a rule of the regulations that the institution's data breaks.")
class Finding:
    rule: str = strawberry.field(description="规则编号 (e.g. CLASS_END_TIME, LICENCE_EXPIRED)")
    severity: str = strawberry.field(description="VIOLATION 违规 (not compliant while open) or WARNING 提示 (FindingSeverity's values)")
    title: str = strawberry.field(description="规则")
    message: str = strawberry.field(description="问题说明")
    source: str = strawberry.field(description="依据")
    record_type: str = strawberry.field(
        description="涉及的记录类型: Institution (登记的各部分), Site (办学点), TrainingClass (班级), Material (培训材料), InstitutionFunds (资金管理), Document (机构资料)"
    )
    record_id: strawberry.ID
    record_name: str = strawberry.field(description="相关记录的名称 (登记信息: 所属部分, e.g. 5 办学条件)")
    related_ids: list[strawberry.ID] = strawberry.field(
        description="同一问题还涉及的记录 (e.g. 办学点生均面积不足时该时段的班级, 班级的授课教师); the finding shows on each of them too"
    )

    @classmethod
    def from_row(cls, row: FindingRow) -> Finding:
        return cls(
            rule=row.rule, severity=row.severity, title=RULES[row.rule].title, message=row.message, source=row.source, record_type=row.record_type,
            record_id=node_id(row.record_id), record_name=row.record_name, related_ids=[node_id(r) for r in row.related],
        )

    @classmethod
    def from_json(cls, data: dict) -> Finding:
        rule = RULES.get(data["rule"])
        return cls(
            rule=data["rule"], severity=data.get("severity", "VIOLATION"), title=rule.title if rule else data["rule"], message=data["message"], source=data["source"],
            record_type=data["recordType"], record_id=strawberry.ID(data["recordId"]), record_name=data["recordName"],
            related_ids=[strawberry.ID(r) for r in data.get("relatedIds", [])],
        )


async def findings_on(info: Info, institution_id: uuid.UUID, record_id: uuid.UUID, record_type: str | None = None) -> list[Finding]:
    """The findings that concern one record of an institution (its own, or naming it as
    related), from the institution's findings (one statement per page of institutions)."""
    found = await FindingsByInstitutionLoader(info.context).load(institution_id)
    return [Finding.from_row(f) for f in found if f.concerns(record_id) and record_type in (None, f.record_type)]


#: The description of every record's ``findings``.
ON_RECORD = "规则检查发现的问题 on this record (docs/DOMAIN.md §G4): those it is the record of and those naming it as related; each also on the institution's findings"


@strawberry.type(description="规则检查发现的问题 with its institution (the findings list, 问题清单).")
class ListedFinding(Finding):
    institution_id: strawberry.ID = strawberry.field(description="培训机构 id")
    institution_name: str = strawberry.field(description="机构名称")
    region_code: str = strawberry.field(description="机构所在区划代码")
    region_name: str = strawberry.field(description="机构所在区划")

    @strawberry.field(description="培训机构 (in the caller's scope, as every finding listed is)")
    async def institution(self, info: Info) -> Annotated["Institution", strawberry.lazy("schema.institutions.types")] | None:  # noqa: F821
        row = await InstitutionByIdLoader(info.context).load_id(self.institution_id)
        return Node.named("Institution").from_row(row, info.context.viewer) if row else None

    @classmethod
    def from_listed(cls, row) -> ListedFinding:
        return cls(
            rule=row.rule, severity=row.severity, title=RULES[row.rule].title if row.rule in RULES else row.rule, message=row.message,
            source=row.source, record_type=row.record_type, record_id=node_id(row.record_id), record_name=row.record_name,
            related_ids=[node_id(r) for r in row.related_ids or ()], institution_id=node_id(row.institution_id), institution_name=row.institution_name, region_code=row.region_code,
            region_name=row.region_name,
        )


FindingFilter = graphql_input(
    finding_list.FindingFilter, name="FindingFilter",
    description="问题清单的筛选条件 (every criterion optional, combined with AND; the export GET /exports/findings.xlsx takes the same as query parameters).",
)


@strawberry.type
class FindingQuery:
    @strawberry.field(
        description=(
            "问题清单: the findings of the rules (docs/DOMAIN.md §G4) kept on the records of the institutions in the caller's "
            "scope, by institution then in the order the rules found them; regulators only (an institution reads its own on "
            "`myInstitution { findings }` and its home). The licence's rules (LICENCE_*) are not listed: they follow from the "
            "standing (the institution list's `licensed` and `standingReason` filters). Export: GET /exports/findings.xlsx."
        ),
        extensions=allow(Regulator()),
    )
    async def findings(
        self, info: Info, filter: FindingFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[ListedFinding]:
        page = await finding_list.list_findings(info, to_filter(filter), first, after)
        return Connection[ListedFinding].from_page(page, ListedFinding.from_listed, after=after)
