"""Reading institutions: the list (机构信息查询), one by id, the caller's own (本机构), deletions."""

from __future__ import annotations

import strawberry

from auth.permissions import Authenticated, InstitutionUser, Regulator, allow
from core.clock import today
from models import Level
from resolvers import audit
from resolvers.institutions import listing
from resolvers.loaders import InstitutionByIdLoader, StandingLoader
from resolvers.standing import standing_of
from schema.context import Info
from schema.filters import to_filter
from schema.institutions.inputs import InstitutionFilter
from schema.institutions.payloads import InstitutionDeletion
from schema.institutions.types import LIST_FIELDS, Institution, RegisteringUnit
from schema.relay import Connection, selected


@strawberry.type
class InstitutionQuery:
    @strawberry.field(
        description=(
            "校外培训机构登记列表 in the caller's scope, by name then id. Download the import template "
            "at GET /templates/institutions.xlsx and export the list (same filters as query "
            "parameters) at GET /exports/institutions.xlsx."
        ),
        extensions=allow(Regulator()),
    )
    async def institutions(
        self, info: Info, filter: InstitutionFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[Institution]:
        f = to_filter(filter)
        asked = selected(info)
        unit = "registeringUnit" in asked.node
        counts = "siteCount" in asked.node or "activeStaffCount" in asked.node
        details = not asked.node <= LIST_FIELDS
        standing = "standing" in asked.node
        page = await listing.list_institutions(
            info, f, first, after, unit=unit, counts=counts, total="totalCount" in asked.connection, details=details, standing=standing
        )
        viewer = info.context.viewer
        if standing:
            # The page read each standing with its rows: the nodes' loader has it.
            loader, day = StandingLoader(info.context), today(info.context.now)
            for row in page.rows:
                loader.prime(row.id, standing_of(row, day))

        def node(row) -> Institution:
            return Institution.from_row(
                row, viewer,
                counts=(row.site_count, row.active_staff_count) if counts else None,
                unit=RegisteringUnit(id=strawberry.ID(str(row.registering_unit_id)), name=row.unit_name, level=row.unit_level)
                if unit and row.registering_unit_id is not None else None,
                details=details,
            )

        return Connection[Institution].from_page(page, node, after=after)

    @strawberry.field(description="One institution, or null when it does not exist or is outside the caller's scope.", extensions=allow(Authenticated()))
    async def institution(self, info: Info, id: strawberry.ID) -> Institution | None:
        row = await InstitutionByIdLoader(info.context).load_id(id)
        return Institution.from_row(row, info.context.viewer) if row else None

    @strawberry.field(
        description="删除记录 (deleted institutions with their snapshots: the ministry and provinces, in their subtree).",
        extensions=allow(Regulator(Level.MINISTRY, Level.PROVINCE)),
    )
    async def institution_deletions(self, info: Info, first: int | None = 20, after: str | None = None) -> Connection[InstitutionDeletion]:
        page = await audit.list_records(info, audit.AuditFilter(operation="deleteInstitution"), first, after)
        return Connection[InstitutionDeletion].from_page(
            page,
            lambda r: InstitutionDeletion(
                id=strawberry.ID(str(r.id)),
                at=r.at,
                username=r.username,
                institution_id=strawberry.ID(str(r.record_id)),
                client_address=r.client_address,
                snapshot=r.snapshot,
                region_code=r.region_code,
            ),
            after=after,
        )

    @strawberry.field(description="本机构: the caller's own institution (institution accounts).", extensions=allow(InstitutionUser()))
    async def my_institution(self, info: Info) -> Institution | None:
        row = await InstitutionByIdLoader(info.context).load(info.context.viewer.institution_id)
        return Institution.from_row(row, info.context.viewer) if row else None
