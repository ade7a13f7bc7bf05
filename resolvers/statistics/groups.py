"""The groups of a statistics view's rows: child regions, registering units, or the values of a
classification (kind, mode, nature, training category, supervising department)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.sql.elements import ColumnElement

from auth.scope import DEPARTMENT_CATEGORIES, scope
from auth.viewer import Viewer
from models import Account, AccountKind, Department, Institution, Kind, Level, Mode, Nature, Region, TrainingCategory, in_force
from resolvers.institutions.registration import CHOICES
from resolvers.regions import listed_on
from resolvers.statistics.views import DEPARTMENT_LABELS, NO_CATEGORY, OTHER_UNITS_KEY, SELF_KEY, Group, Grouping


def _enum_groups(choices: Iterable[tuple[str, str]]) -> list[Group]:
    return [Group(key, label) for key, label in choices]


async def view_groups(db, viewer: Viewer, region: Region, leaf: bool, grouping: Grouping, day: date) -> list[Group]:
    """The rows of a view, each with zeros until counted; child regions as listed on ``day``
    (``resolvers.regions.listed_on``: a retired one still holding records reads 已撤销)."""
    if grouping is Grouping.KIND:
        return _enum_groups(CHOICES[Kind].items())
    if grouping is Grouping.MODE:
        return _enum_groups(CHOICES[Mode].items())
    if grouping is Grouping.NATURE:
        return _enum_groups(CHOICES[Nature].items())
    if grouping is Grouping.TRAINING_CATEGORY:
        return _enum_groups([*CHOICES[TrainingCategory].items(), (NO_CATEGORY, "未填写培训类别")])
    if grouping is Grouping.DEPARTMENT:
        return _enum_groups((d.value, label) for d, label in DEPARTMENT_LABELS.items())
    if not leaf:
        children = (await db.execute(sa.select(Region).where(Region.parent_code == region.code, listed_on(day)).order_by(Region.code))).scalars()
        return [Group(r.code, r.name if in_force(r.valid_from, r.valid_to, day) else f"{r.name}（已撤销）", r) for r in children]
    # A lowest region: its registering units (登记单位), named when the viewer may see
    # their accounts (auth.scope, as regulatorAccount(id) does), the others as one row.
    if viewer.level is Level.SUB_UNIT:
        return [Group(str(viewer.account_id), (await db.get(Account, viewer.account_id)).name)]
    units = (
        await db.execute(
            sa.select(Account.id, Account.name, Account.level, scope(viewer, Account).label("visible"))
            .where(
                Account.kind == AccountKind.REGULATOR,
                Account.region_code == region.code,
                sa.or_(
                    Account.level == Level.SUB_UNIT,
                    sa.and_(Account.level == Level.COUNTY, Account.department == Department.EDUCATION),
                ),
            )
            .order_by(Account.level, Account.name, Account.id)
        )
    ).all()
    bureau = next((u.name for u in units if u.level is Level.COUNTY and u.visible), f"{region.name}（本级）")
    hidden = tuple(str(u.id) for u in units if u.level is Level.SUB_UNIT and not u.visible)
    return [
        Group(region.code, bureau, region),
        *(Group(str(u.id), u.name) for u in units if u.level is Level.SUB_UNIT and u.visible),
        *([Group(OTHER_UNITS_KEY, "其他登记单位", members=hidden)] if hidden else []),
        Group(SELF_KEY, "机构自主注册"),
    ]


def supervising_department() -> ColumnElement:
    """The supervising department (主管部门) of an institution: the department of its first
    non-subject category under one (auth.scope's order: the department that reviews its
    applications), otherwise education. One per institution, so the rows add up."""
    return sa.case(
        *(
            (sa.and_(Institution.kind == Kind.NON_SUBJECT, Institution.training_categories.contains([category.value])), department.value)
            for department, category in DEPARTMENT_CATEGORIES.items()
        ),
        else_=Department.EDUCATION.value,
    )
