"""The home page's rules (后台首页, docs/DOMAIN.md §P3): the rectification flags (营转非, 备案转审批) and
what stops a compliance application now (待补全事项): what the portal still lacks, and every
reason of the institution's standing (``resolvers.standing``) that keeps it from being
compliant besides the review itself — an expired or missing licence, a black list, open
violations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models import Course, Institution, InstitutionFunds, Kind, Mode, Nature, Site, Staff, StaffStatus
from resolvers.institutions.registration import PART_LABELS, SAVED_FLAG
from resolvers.rules import COMPULSORY_GRADES
from resolvers.standing import Effect, Standing


def needs_non_profit(institution: Institution) -> bool:
    """营转非: a subject institution (for compulsory-education students) still for-profit."""
    grades = set(institution.grades)
    return (
        institution.kind == Kind.SUBJECT
        and institution.nature == Nature.FOR_PROFIT
        and (not grades or bool(grades & COMPULSORY_GRADES))
    )


def needs_approval(institution: Institution, standing: Standing) -> bool:
    """备案转审批: an online subject institution without a licence valid today."""
    return institution.kind == Kind.SUBJECT and institution.mode == Mode.ONLINE and not standing.licensed


#: What the portal can lack before a compliance application, each at most once; with them
#: the codes of the standing's reasons that block it (``Standing.blocking``).
MISSING_CODES = ("REGISTRATION", "NON_PROFIT", "ONLINE_APPROVAL", "SITES", "COURSES", "STAFF", "FUNDS")


@dataclass
class Missing:
    code: str
    message: str


async def missing_items(db: AsyncSession, institution: Institution, standing: Standing) -> list[Missing]:
    """What stops a compliance application now (待补全事项)."""
    return (await missing_items_of(db, [institution], {institution.id: standing}))[institution.id]


async def missing_items_of(
    db: AsyncSession, institutions: list[Institution], standings: dict[uuid.UUID, Standing | None]
) -> dict[uuid.UUID, list[Missing]]:
    """``missing_items`` of many institutions (with their standings): two statements, whatever
    their number."""

    ids = [i.id for i in institutions]
    counts = {
        row.institution_id: row
        for row in await db.execute(
            sa.select(
                Institution.id.label("institution_id"),
                sa.select(sa.func.count()).select_from(Site).where(Site.institution_id == Institution.id).scalar_subquery().label("sites"),
                sa.select(sa.func.count()).select_from(Course).where(Course.institution_id == Institution.id).scalar_subquery().label("courses"),
                sa.select(sa.func.count())
                .select_from(Staff)
                .where(Staff.institution_id == Institution.id, Staff.status == StaffStatus.ACTIVE)
                .scalar_subquery()
                .label("staff"),
            ).where(Institution.id.in_(ids))
        )
    }
    funds = {f.institution_id: f for f in (await db.execute(sa.select(InstitutionFunds).where(InstitutionFunds.institution_id.in_(ids)))).scalars()}
    result: dict[uuid.UUID, list[Missing]] = {}
    for institution in institutions:
        missing: list[Missing] = []
        unsaved = [part for part, flag in SAVED_FLAG.items() if not getattr(institution, flag)]
        if unsaved:
            missing.append(Missing("REGISTRATION", "请补全机构信息：" + "、".join(PART_LABELS[p] for p in unsaved)))
        if needs_non_profit(institution):
            missing.append(Missing("NON_PROFIT", "请完成营转非（登记为非营利性机构）后更新机构性质"))
        standing = standings.get(institution.id)
        blocking = standing.blocking() if standing else []
        if standing and needs_approval(institution, standing):
            missing.append(Missing("ONLINE_APPROVAL", "请完成备案转审批（取得办学许可证）后更新办学资质"))
        missing += [Missing(r.code, r.message) for r in blocking if r.effect is Effect.NOT_LAWFUL]
        count = counts[institution.id]
        place = "业务系统" if institution.mode == Mode.ONLINE else "办学点"
        if not count.sites:
            missing.append(Missing("SITES", f"请添加{place}"))
        elif not count.courses:
            missing.append(Missing("COURSES", f"请在{place}下添加培训课程"))
        if not count.staff:
            missing.append(Missing("STAFF", "请添加在职从业人员"))
        supervision = funds.get(institution.id)
        if supervision is None or not (supervision.escrow_bank and supervision.supervised_account_number):
            missing.append(Missing("FUNDS", "请填写资金监管信息（存管银行、监管账户）"))
        missing += [Missing(r.code, r.message) for r in blocking if r.effect is not Effect.NOT_LAWFUL]
        result[institution.id] = missing
    return result
