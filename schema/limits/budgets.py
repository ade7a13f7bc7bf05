"""What each caller may ask for (budgets), the limits of inputs, and the bounds of the lists:
how many items a list can hold, which the cost walk multiplies by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from models import ApplicationStatus, ApplicationType, TrainingCategory
from resolvers import documents, lists, materials, public, regions, sites, staff, standing
from resolvers.accounts import regulators
from resolvers.inspections import ledgers
from resolvers.institutions import home
from resolvers.pagination import MAX_PAGE_SIZE
from resolvers.regions import changes
from resolvers.statistics import findings as finding_counts
from resolvers.statistics import views
from schema.institutions.payloads import MAX_IMPORT_ERRORS
from schema.node import MAX_NODES


@dataclass(frozen=True)
class Budget:
    depth: int
    aliases: int
    tokens: int
    cost: int
    #: ``_entities`` representations per request.
    representations: int


#: Budgets by caller. Each lets the examples (docs/examples/) of that caller pass (the portal's
#: home page with the whole site → course → class → teacher tree; a county's overdue
#: ledgers); ``tests/test_examples.py`` runs them all.
BUDGETS = {
    "anonymous": Budget(depth=8, aliases=10, tokens=1_000, cost=2_000, representations=100),
    "institution": Budget(depth=10, aliases=20, tokens=2_000, cost=15_000, representations=100),
    "regulator": Budget(depth=12, aliases=40, tokens=5_000, cost=30_000, representations=500),
}


#: Strings: the default limit of any string in the arguments, that of a filter's fields, and
#: those of named arguments and input fields ("Type.field(argument)", "Input.field").
MAX_STRING = 10_000


FILTER_STRING = 100


STRING_LIMITS = {
    # Keys of a federation representation (ids, codes).
    "Query._entities(representations)": 100,
}


#: Lists in the arguments (ids, items, entries…), and the nesting of a JSON value
#: (``_Any``, ``JSON``) in them; the request body's nesting is checked before it is parsed
#: (``server.GraphQLApp``).
MAX_LIST_ITEMS = 1_000


MAX_JSON_DEPTH = 32


def caller(viewer: Any) -> str:
    if viewer is None:
        return "anonymous"
    return "regulator" if viewer.is_regulator else "institution"


@dataclass(frozen=True)
class Bound:
    """The most items a list field answers per object it is selected on: ``most``, or the
    value of its ``argument`` (a page size ``first``, capped at ``most``, or as many as the
    items of a list argument). With an ``owner``, the items under one object of that type
    number at most ``total`` together; ``owned`` items keep counting against their owner
    (an institution's sites' courses' classes), references (a class's teachers, a type's
    interfaces) do not."""

    most: int
    argument: str | None = None
    owner: str | None = None
    total: int | None = None
    owned: bool = True


#: Findings of one class (``resolvers.rules.check_class``): end time, two online lesson
#: rules, fee period, name, unfiled enrolment, one per teacher without a certificate, and
#: its site's area in a time slot it shares (``check_site``).
CLASS_FINDINGS = 7 + sites.MAX_TEACHERS


#: Errors of a mutation's payload: at most one per input field (the largest forms have
#: about 30); a ledger's three per item; a black list's two per entry.
USER_ERRORS = 50


PAGE = Bound(MAX_PAGE_SIZE, argument="first")


BOUNDS: dict[str, Bound] = {
    "Query.regions": Bound(regions.MAX_CHILDREN),
    "Region.children": Bound(regions.MAX_CHILDREN),
    "Region.successors": Bound(changes.MAX_LINKS),
    "Region.predecessors": Bound(changes.MAX_LINKS),
    "Region.history": Bound(changes.MAX_HISTORY),
    "Query.rectificationByRegion": Bound(regions.MAX_CHILDREN),
    "Query.applicationCounts": Bound(len(ApplicationType) * len(ApplicationStatus)),
    "Query.nodes": Bound(MAX_NODES, argument="ids"),
    # As many as the representations, which the caller's budget caps (checked with the inputs).
    "Query._entities": Bound(0, argument="representations"),
    "Query.publicInstitutions": Bound(public.MAX_PUBLIC_PAGE, argument="first"),
    "Query.listPeriods": Bound(public.MAX_PUBLIC_PAGE, argument="first"),
    "Statistics.rows": Bound(max(regions.MAX_CHILDREN, regulators.MAX_SUB_UNITS + 3, len(TrainingCategory) + 1)),
    "StatisticsSeries.months": Bound(views.MAX_MONTHS),
    "StatisticsRow.findings": Bound(finding_counts.MAX_RULE_COUNTS),
    "Institution.sites": Bound(sites.MAX_SITES),
    "Site.courses": Bound(sites.MAX_COURSES, owner="Institution", total=sites.MAX_COURSES),
    "Course.classes": Bound(sites.MAX_CLASSES, owner="Institution", total=sites.MAX_CLASSES),
    "TrainingClass.schedule": Bound(sites.MAX_SESSIONS),
    "SubjectTraining.classSessions": Bound(sites.MAX_SESSIONS),
    "TrainingClass.teachers": Bound(sites.MAX_TEACHERS, owned=False),
    "Institution.staff": Bound(staff.MAX_STAFF),
    "Institution.materials": Bound(materials.MAX_MATERIALS),
    "Institution.documents": Bound(documents.MAX_DOCUMENTS),
    "Institution.inspections": PAGE,
    "Institution.applications": PAGE,
    "Institution.findings": PAGE,
    "Application.findingsAtSubmission": PAGE,
    "TrainingClassPayload.findings": Bound(CLASS_FINDINGS),
    # The findings on a record (resolvers.rules): a class's; a site's area; a teacher's
    # certificate, once per class taught (at most a class's teachers for each class of the
    # institution, all staff together); a material's two author rules; a contract's model
    # text; the funds' fee period.
    "TrainingClass.findings": Bound(CLASS_FINDINGS),
    "Site.findings": Bound(1),
    "Staff.findings": Bound(sites.MAX_CLASSES, owner="Institution", total=sites.MAX_CLASSES * sites.MAX_TEACHERS),
    "Material.findings": Bound(2),
    "InstitutionDocument.findings": Bound(1),
    "InstitutionFunds.findings": Bound(1),
    "Inspection.items": Bound(ledgers.MAX_ITEMS),
    "PortalHome.missing": Bound(len(home.MISSING_CODES) + len(standing.REASONS)),
    "PortalHome.warnings": Bound(len(standing.REASONS)),
    "LeftOut.byReason": Bound(len(standing.REASONS)),
    "LeftOut.institutions": Bound(lists.MAX_LEFT_OUT),
    "LeftOutInstitution.reasons": Bound(len(standing.REASONS)),
    "PublishListPayload.revised": Bound(lists.MAX_REVISED),
    "Standing.reasons": Bound(len(standing.REASONS)),
    "PublicInstitution.teachers": PAGE,
    "ListChanges.added": PAGE,
    "ListChanges.removed": PAGE,
    "InspectionPayload.errors": Bound(3 * ledgers.MAX_ITEMS + 10),
    "PublishListPayload.errors": Bound(2 * lists.MAX_BLACK_ENTRIES + 5),
    "ImportInstitutionsPayload.errors": Bound(MAX_IMPORT_ERRORS + 1),
}


#: Lists of these items, wherever they are (mutation payloads).
BOUNDS_BY_ITEM = {"UserError": Bound(USER_ERRORS)}


def bound_of(parent: str, field: str, item: str) -> Bound | None:
    """The bound of a list field, or None when it has none (a list of scalars, or one the
    walk pages itself: a connection's ``edges``)."""
    return BOUNDS.get(f"{parent}.{field}") or BOUNDS_BY_ITEM.get(item)


def limit_error(code: str, message: str, limit: int, actual: int, **extensions: Any) -> GraphQLError:
    return GraphQLError(
        f"{message}（上限 {limit}，本次 {actual}）", extensions={"code": code, "limit": limit, "actual": actual, **extensions}
    )
