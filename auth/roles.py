"""Role rules: who a viewer is for the rules of docs/DOMAIN.md §G1, each defined once.

``auth.scope`` says which rows a viewer may see; these predicates say what a viewer is (the
county desk, the county bureau, a supervisor, education from county level up) and whether a
region lies under it. Resolvers, the schema and the HTTP routes ask these, never the levels
and departments themselves, so a rule cannot drift between features.
"""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.sql.elements import ColumnElement

from auth.viewer import Viewer
from models import Department, Level, Region, valid_on

#: The county desk's levels: the county and its sub-units register and inspect (§R2).
DESK_LEVELS = (Level.COUNTY, Level.SUB_UNIT)
#: The levels that supervise counties: they count, follow and urge (§R3).
SUPERVISOR_LEVELS = (Level.MINISTRY, Level.PROVINCE, Level.PREFECTURE)
#: The levels from the county up: they manage accounts below them, publish lists and read
#: complaints, notices, claims and the audit trail of their subtree.
COUNTY_AND_UP = (Level.MINISTRY, Level.PROVINCE, Level.PREFECTURE, Level.COUNTY)


def _education(viewer: Viewer | None) -> bool:
    # An account whose region is retired (区划调整: no region path) holds no role.
    return viewer is not None and viewer.is_regulator and viewer.department is Department.EDUCATION and viewer.region_path is not None


def is_county_desk(viewer: Viewer | None) -> bool:
    """The county education bureau or one of its sub-units (区县登记): who registers,
    inspects and keeps an institution's record, and so reads its personal data in full."""
    return _education(viewer) and viewer.level in DESK_LEVELS


def is_county_bureau(viewer: Viewer | None) -> bool:
    """The county education bureau itself (区县教育局): deletes institutions, handles
    complaints and urging notices, decides claims."""
    return _education(viewer) and viewer.level is Level.COUNTY


def is_supervisor(viewer: Viewer | None) -> bool:
    """An education account of a prefecture, province or the ministry (督导)."""
    return _education(viewer) and viewer.level in SUPERVISOR_LEVELS


def assigns_region_review(viewer: Viewer | None) -> bool:
    """Who assigns the institutions a split (区划调整) left on a retired county to one of its
    successors: the supervisors above it (§R3), in their subtree."""
    return is_supervisor(viewer)


def is_education_county_and_up(viewer: Viewer | None) -> bool:
    """An education account from county level up (not a sub-unit): reads complaints,
    urging notices, claims and the audit trail of its subtree; publishes lists."""
    return _education(viewer) and viewer.level in COUNTY_AND_UP


def sees_personal_data(viewer: Viewer | None) -> bool:
    """ID numbers and personal mobiles on an institution's record: in full for the county
    desk that keeps it; masked (``core.masking``) for every other viewer."""
    return is_county_desk(viewer)


def sees_institution_personal_data(viewer: Viewer | None, institution_id: uuid.UUID | None) -> bool:
    """Personal data the institution keeps itself (its staff's ID numbers and phones,
    teacher certificates, bank account numbers): in full for the institution itself and the
    county desk; masked for everyone else."""
    if viewer is not None and viewer.is_institution:
        return institution_id is not None and viewer.institution_id == institution_id
    return sees_personal_data(viewer)


def handles_complaints_of(viewer: Viewer | None, county_code: str) -> bool:
    """The handling county of a complaint: the county education bureau it is filed with
    (the only viewer that reads the complainant's identity)."""
    return is_county_bureau(viewer) and viewer.region_code == county_code


def is_under(viewer: Viewer | None, region_path: str | None) -> bool:
    """Whether the region with ``region_path`` lies in the viewer's subtree (itself included)."""
    return (
        viewer is not None
        and viewer.region_path is not None
        and region_path is not None
        and region_path.startswith(viewer.region_path)
    )


def is_lowest_region(day: date) -> ColumnElement[bool]:
    """Regions that institutions, complaints and county accounts belong to: a county, or a
    prefecture without counties (东莞 441900) — a region of level 2 or 3 with no children
    in force on ``day``."""
    child = sa.orm.aliased(Region)
    return sa.and_(Region.level >= 2, ~sa.exists().where(child.parent_code == Region.code, valid_on(day, child)))
