"""The findings of a statistics view (``findings`` of each row): per rule and severity, the
findings kept on the records of the group's institutions and the institutions with one, in
one more statement, read only when asked for.

Like the other counters: a view by child region that ``counting.by_county`` sums from the
county tallies sums ``county_finding_tally`` (a few rows per county and rule, with the
differences not folded yet); every other view counts the findings of each institution in
scope placed in its group (``counting._placement``). The total comes from the same rows,
under ``GROUPING SETS`` (the training categories: the total's own key)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from models import Institution, InstitutionFinding, county_finding_tally
from models.statistics import tally_rows
from resolvers.findings import LICENCE_RULES, RULES
from resolvers.statistics.views import TOTAL_KEY


@dataclass(frozen=True)
class RuleCount:
    rule: str
    severity: str
    findings: int
    institutions: int


#: The most (rule, severity) a row lists: every rule at either severity (a rule since retired,
#: or whose severity changed, is counted while findings of it are kept).
MAX_RULE_COUNTS = 2 * len(RULES)

#: Keyed by (rule, severity): (findings, institutions).
Counts = dict[tuple[str, str], tuple[int, int]]


def _grouped(key: sa.ColumnElement, rule: sa.ColumnElement, severity: sa.ColumnElement, total_in_key: bool) -> tuple[sa.ColumnElement, list]:
    if total_in_key:
        return sa.case((key == TOTAL_KEY, 1), else_=0), [key, rule, severity]
    return sa.func.grouping(key), [sa.func.grouping_sets(sa.tuple_(key, rule, severity), sa.tuple_(rule, severity))]


def county_statement(below: sa.Subquery) -> sa.Select:
    """Summed from the county tallies of the regions ``below`` (``counting._below``), under
    the child each is in: rows (is_total, g, rule, severity, findings, institutions), is_total 1 for the total."""
    kept = tally_rows(county_finding_tally)
    total, group_by = _grouped(below.c.child, kept.c.rule, kept.c.severity, False)
    return (
        sa.select(
            total.label("is_total"), below.c.child.label("g"), kept.c.rule, kept.c.severity,
            sa.func.sum(kept.c.findings).label("findings"), sa.func.sum(kept.c.institutions).label("institutions"),
        )
        .select_from(sa.join(kept, below, below.c.code == kept.c.region_code))
        .group_by(*group_by)
    )


def rows_statement(key: sa.ColumnElement, source, where: sa.ColumnElement[bool], *, total_in_key: bool) -> sa.Select:
    """Counted from the findings of the institutions of ``source`` meeting ``where``, each
    under its ``key`` (a view's placement, ``counting._placement``): the same rows."""
    inst = sa.select(Institution.id.label("id"), sa.type_coerce(key, sa.String()).label("g")).select_from(source).where(where).cte("inst")
    total, group_by = _grouped(inst.c.g, InstitutionFinding.rule, InstitutionFinding.severity, total_in_key)
    return (
        sa.select(
            total.label("is_total"), inst.c.g, InstitutionFinding.rule, InstitutionFinding.severity,
            sa.func.count().label("findings"), sa.func.count(sa.distinct(InstitutionFinding.institution_id)).label("institutions"),
        )
        .select_from(sa.join(inst, InstitutionFinding, InstitutionFinding.institution_id == inst.c.id))
        .group_by(*group_by)
    )


def by_group(rows) -> dict[str, Counts]:
    """The counted rows by group key (``TOTAL_KEY`` for the total)."""
    found: dict[str, Counts] = {}
    for row in rows:
        if row.findings:
            found.setdefault(TOTAL_KEY if row.is_total else row.g, {})[(row.rule, row.severity)] = (int(row.findings), int(row.institutions))
    return found


def summed(counts: list[Counts]) -> Counts:
    """Groups counted together (the registering units the viewer may not see, as one row)."""
    total: Counts = {}
    for c in counts:
        for key, (findings, institutions) in c.items():
            before = total.get(key, (0, 0))
            total[key] = (before[0] + findings, before[1] + institutions)
    return total


def listed(counts: Counts) -> list[RuleCount]:
    """Every kept rule with its severity, zeros included, in the rules' order; then any other
    (rule, severity) counted (a rule since retired)."""
    known = [(rule.id, rule.severity.value) for rule in RULES.values() if rule.id not in LICENCE_RULES]
    extra = sorted(set(counts) - set(known))
    return [RuleCount(rule, severity, *counts.get((rule, severity), (0, 0))) for rule, severity in (known + extra)[:MAX_RULE_COUNTS]]
