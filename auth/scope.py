"""The one region-scope function.

``scope(viewer, Model)`` is the SQL condition that restricts ``Model``'s rows to what the
viewer may see. Every list, lookup by id, count, export and federation ``_entities``
lookup applies it, so a row out of scope reads exactly like a row that does not exist.

Rules (docs/DOMAIN.md §G1):

- Region subtree: a regulator sees rows whose region lies under its own region in the
  region tree (by the materialised ``path``, never by the digits of a code).
- Accounts: a regulator sees itself and the regulator accounts strictly below its level in
  its subtree; an education (教育) account sees every department's accounts there, another
  department only its own department's. Sub-units (区县下属单位) are below their county.
  An institution account sees itself alone; anonymous callers see no account.
- Institutions: a regulator sees the institutions in its subtree; a sub-unit only those
  it registered (登记单位). A department other than education sees only non-subject
  institutions with a training category under it (sports: 体育类, culture and tourism:
  文化艺术类, science and technology: 科技类). An institution account sees its own.
- Inspections (排查) and their ledgers, and what an institution keeps through the portal
  (documents, funds), and the findings of the rules on its records: those of the
  institutions the viewer sees.
- Urging notices (督办): education accounts from county level up, addressed to a county in
  their subtree (a county: its own).
- Complaints (投诉): education accounts from county level up, filed with a county in their
  subtree (the complainant's identity is masked for all but the handling county: that is the
  resolvers' part).
- Institution claims (认领, an institution account asking to manage an institution a county
  registered first): education accounts from county level up, the claims on the
  institutions they see; an institution account its own claims.
- Events (live updates, the feed): an event is in scope exactly when its record is (a
  complaint, an urging notice, an application, a claim, an inspection: the rules above).
- The audit trail: education accounts from county level up, the records of their subtree
  (deletion snapshots: the ministry and provinces only, which the resolvers enforce).
- An account still on its initial password sees itself alone until it changes it, and
  nothing else.
- Regions and their history (区划调整) are public reference data.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlalchemy.orm
from cachetools import TTLCache
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from auth.roles import is_education_county_and_up, is_under
from auth.viewer import Viewer
from models import (
    Account,
    AccountKind,
    Application,
    AuditRecord,
    Complaint,
    Course,
    Department,
    Document,
    Event,
    Inspection,
    Institution,
    InstitutionClaim,
    InstitutionFinding,
    InstitutionFunds,
    Kind,
    Level,
    Material,
    Region,
    RegionChange,
    Site,
    Staff,
    TrainingCategory,
    TrainingClass,
    UrgingNotice,
)
from models.events import RECORDS


def subtree_codes(region_path: str) -> sa.Select:
    """The codes of every region under (and including) the region with ``region_path``."""
    # Paths hold only digits and "/", so the prefix needs no LIKE escaping.
    return sa.select(Region.code).where(Region.path.like(region_path + "%"))


#: The codes of a region path's subtree, by (path, regions' version), kept a minute per
#: worker: a session's viewer reads them once (``auth.sessions``). The version names the
#: change sets applied (区划调整: a digest of their ids, read with the session), so codes kept
#: from before a change are never used after it, in any worker.
_SUBTREES: TTLCache = TTLCache(maxsize=4096, ttl=60)


def forget_subtrees() -> None:
    """Forget the kept subtrees: an app started in a process that ran another before it
    (the tests do) begins as a new worker does, whatever ran before it."""
    _SUBTREES.clear()


async def subtree_codes_of(db, region_path: str, version: object) -> tuple[str, ...]:
    """The codes of ``subtree_codes(region_path)`` while the regions are at ``version``,
    read once a minute per path."""
    key = (region_path, version)
    codes = _SUBTREES.get(key)
    if codes is None:
        codes = _SUBTREES[key] = tuple((await db.execute(subtree_codes(region_path).order_by(Region.code))).scalars())
    return codes


def in_subtree(column: ColumnElement, viewer: Viewer) -> ColumnElement[bool]:
    """``column`` (a region code) lies in the viewer's region subtree: ``= ANY`` of the codes
    when the viewer holds them (a session's viewer: one bound array, an index condition
    planned like any list), else the subquery by path."""
    if viewer.subtree is not None:
        return column == sa.any_(sa.literal(list(viewer.subtree), ARRAY(sa.String)))
    return column.in_(subtree_codes(viewer.region_path))


def subtree_of(code: str) -> sa.Select:
    """The codes of every region under (and including) the region ``code``."""
    top = sa.orm.aliased(Region)
    return sa.select(Region.code).where(top.code == code, Region.path.like(top.path + "%"))


def levels_below(level: Level) -> list[Level]:
    return [lv for lv in Level if lv.rank > level.rank]


def manages(viewer: Viewer | None) -> ColumnElement[bool]:
    """The accounts ``viewer`` manages: strictly below it, in its subtree, in its department
    (education manages every department)."""
    if viewer is None or not viewer.is_regulator or viewer.level is None or viewer.region_path is None:
        return sa.false()
    condition = sa.and_(
        Account.kind == AccountKind.REGULATOR,
        Account.level.in_(levels_below(viewer.level)),
        in_subtree(Account.region_code, viewer),
    )
    if viewer.department is not Department.EDUCATION:
        condition = sa.and_(condition, Account.department == viewer.department)
    return condition


#: The training categories each non-education department supervises.
DEPARTMENT_CATEGORIES = {
    Department.SPORTS: TrainingCategory.SPORTS,
    Department.CULTURE_TOURISM: TrainingCategory.ARTS,
    Department.SCIENCE_TECHNOLOGY: TrainingCategory.SCIENCE_TECHNOLOGY,
}


def _institutions(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_institution:
        return Institution.id == viewer.institution_id if viewer.institution_id else sa.false()
    if viewer.region_path is None:
        return sa.false()
    condition = in_subtree(Institution.region_code, viewer)
    if viewer.level is Level.SUB_UNIT:
        condition = sa.and_(condition, Institution.registering_unit_id == viewer.account_id)
    if viewer.department is not Department.EDUCATION:
        category = DEPARTMENT_CATEGORIES[viewer.department]
        condition = sa.and_(
            condition,
            Institution.kind == Kind.NON_SUBJECT,
            Institution.training_categories.contains([category.value]),
        )
    return condition


def sees_whole_subtree(viewer: Viewer | None) -> bool:
    """Whether ``scope(viewer, Institution)`` is exactly the institutions of the viewer's
    region subtree (an education regulator above the sub-units, with its password changed):
    then a count kept per region (the statistics' ``county_tally``) may stand for the scoped
    count of any region in that subtree."""
    return (
        is_education_county_and_up(viewer)
        and not viewer.must_change_password
        and viewer.region_path is not None
    )


#: Models owned by one institution (an ``institution_id`` column): the portal's data (staff,
#: sites, courses, classes, materials, documents, applications, ...). A row is in scope when
#: its institution is. List each such model here.
INSTITUTION_OWNED: tuple[type, ...] = (Staff, Site, Course, TrainingClass, Material, Application, Document, InstitutionFunds, InstitutionFinding)


def scope(viewer: Viewer | None, model: type) -> ColumnElement[bool]:
    """The SQL condition limiting ``model``'s rows to ``viewer``'s scope."""
    if model in (Region, RegionChange):
        return sa.true()
    if model is Account:
        if viewer is None:
            return sa.false()
        if viewer.must_change_password:
            # Until the initial password is changed, only the account itself is readable,
            # on every path (federation _entities has no field permissions).
            return Account.id == viewer.account_id
        return sa.or_(Account.id == viewer.account_id, manages(viewer))
    if viewer is None or viewer.must_change_password:
        return sa.false()
    if model is Institution:
        return _institutions(viewer)
    if model is Application and viewer.is_regulator:
        # The authority fixed at submission keeps its applications, whatever later
        # happens to the institution's kind, mode or categories.
        return sa.or_(
            Application.institution_id.in_(sa.select(Institution.id).where(_institutions(viewer))),
            sa.and_(
                Application.authority_region_code == viewer.region_code,
                Application.authority_department == viewer.department.value,
                Application.authority_level == viewer.level.value,
            ),
        )
    if model is Inspection or model in INSTITUTION_OWNED:
        return model.institution_id.in_(sa.select(Institution.id).where(_institutions(viewer)))
    if model in (UrgingNotice, Complaint):
        if not is_education_county_and_up(viewer):
            return sa.false()
        return in_subtree(model.county_code, viewer)
    if model is InstitutionClaim:
        if viewer.is_institution:
            return InstitutionClaim.account_id == viewer.account_id
        if not is_education_county_and_up(viewer):
            return sa.false()
        return InstitutionClaim.institution_id.in_(sa.select(Institution.id).where(_institutions(viewer)))
    if model is Event:
        return sa.or_(
            *(sa.and_(Event.type == kind, Event.record_id.in_(sa.select(record.id).where(scope(viewer, record)))) for kind, record in RECORDS.items())
        )
    if model is AuditRecord:
        if not is_education_county_and_up(viewer):
            return sa.false()
        return in_subtree(AuditRecord.region_code, viewer)
    raise TypeError(f"no scope rule for {model.__name__}")


def may_see_event(viewer: Viewer | None, region_path: str | None, institution_id: uuid.UUID | None, account_id: uuid.UUID | None) -> bool:
    """Whether an event of the region with ``region_path``, about ``institution_id`` or
    addressed to ``account_id``, can be in ``scope(viewer, Event)`` at all: a necessary
    condition, decided without the database, by which a worker passes over the subscribers an
    event cannot concern. Every record an event names lies in its region's subtree (an
    application's authority is its county or the province above it); an institution account
    sees only its own institution's records and its own claims. Whether the event is in scope
    is still ``scope``'s to say."""
    if viewer is None or viewer.must_change_password:
        return False
    if viewer.is_institution:
        return (viewer.institution_id is not None and institution_id == viewer.institution_id) or account_id == viewer.account_id
    return is_under(viewer, region_path)
