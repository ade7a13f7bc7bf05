"""待分配机构 (区划调整, docs/regions.md): a split whose change set named no successor for an
institution leaves it on the retired county (the institution list's filter ``regionRetired``
shows them); a supervisor above it assigns it to one of the county's successors, which moves
it and what follows it exactly as a change set does (``resolvers.regions.applying.Mover``)."""

from __future__ import annotations

import sqlalchemy as sa

from auth.roles import assigns_region_review, is_under
from auth.scope import scope
from core.clock import today
from core.errors import ErrorCode, FieldError, Forbidden
from core.ids import parse_id
from models import Institution, Region, RegionSuccessor, in_force
from resolvers.regions import find_region
from resolvers.regions.applying import Mover

OPERATION = "assignInstitutionRegion"


async def assign_region(info, institution_id: str, region_code: str) -> tuple[Institution | None, list[FieldError]]:
    """Move an institution of a retired county to one of the county's successors."""
    ctx = info.context
    viewer = ctx.viewer
    if not assigns_region_review(viewer):
        raise Forbidden("只有地市级及以上教育部门可以分配区划调整后的待分配机构 (supervisors only)")
    day = today(ctx.now)
    async with ctx.sessionmaker() as db:
        parsed = parse_id(institution_id)
        found = (
            await db.execute(
                sa.select(Institution.id, Institution.region_code, Region.valid_from, Region.valid_to)
                .join(Region, Region.code == Institution.region_code)
                .where(Institution.id == parsed, scope(viewer, Institution))
                .with_for_update(of=Institution)
            )
        ).first() if parsed else None
        if found is None:
            return None, [FieldError("id", ErrorCode.NOT_FOUND, "培训机构不存在")]
        if in_force(found.valid_from, found.valid_to, day):
            return None, [FieldError("id", ErrorCode.NOT_ALLOWED, "该机构所在区划现行有效，无需分配 (its region is in force)")]
        successors = set((await db.execute(sa.select(RegionSuccessor.successor_code).where(RegionSuccessor.code == found.region_code))).scalars())
        target, lowest = await find_region(db, region_code, day)
        if target is None or target.code not in successors or not lowest:
            named = "、".join(sorted(successors))
            return None, [FieldError("regionCode", ErrorCode.INVALID, f"请选择 {found.region_code} 的继任区划之一：{named}")]
        if not is_under(viewer, target.path):
            return None, [FieldError("regionCode", ErrorCode.OUT_OF_SCOPE, "只能分配到本辖区内的区划")]

        def move(session) -> None:
            mover = Mover(session.connection(), ctx.now, viewer, OPERATION, ctx.client_address)
            mover.move_institutions(found.region_code, target.code, [found.id], {})
            mover.flush()

        await db.run_sync(move)
        await db.commit()
        return (await db.execute(sa.select(Institution).where(Institution.id == found.id).execution_options(populate_existing=True))).scalar_one(), []
