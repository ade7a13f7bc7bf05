"""The audit trail (审计记录), read by regulators in their scope. There are no mutations:
records cannot be changed or deleted through the API (nor, by a trigger, in the database)."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON

from auth.permissions import Regulator, allow
from models import AuditRecord as AuditRow
from models import Level
from resolvers import audit
from resolvers.loaders import RegionByCodeLoader
from schema.context import Info
from schema.filters import graphql_input, to_filter
from schema.regions import Region
from schema.relay import Connection


@strawberry.type(description="审计记录: who did what to which record, when, from where; personal data masked.")
class AuditRecord:
    id: strawberry.ID
    at: dt.datetime
    username: str = strawberry.field(description="操作账号 (anonymous for public submissions)")
    level: str | None
    department: str | None
    operation: str = strawberry.field(description="the mutation")
    record_type: str = strawberry.field(description="记录类型")
    record_id: strawberry.ID
    client_address: str | None
    changes: JSON | None = strawberry.field(description="修改内容（前值、后值；个人信息已脱敏） ({field: [old, new]}, personal data masked)")
    snapshot: JSON | None = strawberry.field(description="the deleted record (masked); the ministry and provinces only")
    region_code: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: AuditRow, viewer) -> AuditRecord:
        return cls(
            id=strawberry.ID(str(row.id)), at=row.at, username=row.username, level=row.level, department=row.department,
            operation=row.operation, record_type=row.record_type, record_id=strawberry.ID(str(row.record_id)),
            client_address=row.client_address, changes=row.changes,
            snapshot=row.snapshot if viewer.level in audit.SNAPSHOT_READERS else None,
            region_code=row.region_code,
        )

    @strawberry.field(description="The record's region")
    async def region(self, info: Info) -> Region:
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.region_code))


AuditFilter = graphql_input(
    audit.AuditFilter, name="AuditFilter", description="审计记录的筛选条件 (the audit trail's filters; all optional, combined with AND)."
)


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="操作日志 (the audit trail of the caller's subtree: education accounts, county level and up, oldest first).",
        extensions=allow(Regulator(Level.MINISTRY, Level.PROVINCE, Level.PREFECTURE, Level.COUNTY)),
    )
    async def audit_records(
        self, info: Info, filter: AuditFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[AuditRecord]:
        f = to_filter(filter)
        page = await audit.list_records(info, f, first, after)
        viewer = info.context.viewer
        return Connection[AuditRecord].from_page(page, lambda row: AuditRecord.from_row(row, viewer), after=after)
