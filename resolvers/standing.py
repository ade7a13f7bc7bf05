"""The standing of institutions (法律状态, docs/DOMAIN.md §G5): one verdict with its reasons, the
only place that says whether an institution is licensed, lawful, compliant, white-list
eligible or black-listed. The public lookup, the home page, the compliance check, list
publication, the institution list's filters and export, and the statistics all read it.

It is derived, on a day (today in Beijing, ``core.clock.today``), from the institution's
row — its licence (held, number, issuer, valid from/to), its business licence or
non-enterprise registration (the qualification status), the latest review of its
compliance application (``review_status``), deregistration — and from what its tally
keeps (``models.statistics.institution_tally``): whether a current black list of any
region names it, and how many open violations its records have (``resolvers.findings``,
kept in ``models.findings``). Each **reason** is a condition in SQL (``conditions``); the
facts are made of them, so a fact and its reasons cannot disagree:

- ``licensed``: a licence held (证照齐全 or 有证无照) with its number, issuer and dates, valid today;
- ``lawful``: no reason of effect ``NOT_LAWFUL`` — not deregistered, not black-listed, the
  qualifications saved, business registration held, and a licence valid today where one is
  held or needed (subject training needs one);
- ``compliant`` (and ``whiteListEligible``): lawful, the compliance application approved,
  and no open violation (the reasons of effect ``NOT_COMPLIANT``);
- warnings (``LICENCE_EXPIRING``: within ``LICENCE_WARNING_DAYS``) change no fact.

``facts(day)`` gives the SQL of the facts for any statement over ``Institution`` (filters,
list publication); ``columns(day)`` what a statement selects to build each institution's
``Standing`` with its reasons (``standing_of``), in the same statement as its rows (a list
page) or in one of its own for any set of institutions (``standings``). Migration 0018 keeps
the part of compliance that does not depend on the day on the tally, so that statistics
count a region's compliant institutions from one index (``compliant_by_region``).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.asyncio import AsyncSession

from models import Application, ApplicationType, Institution, InstitutionFinding, ListEntry, ListKind, ListPeriod, Severity, institution_tally
from models.lists import is_current
from resolvers.rules import RULES, Finding, finding

#: A licence that ends within this many days (its last day included) is a warning (提示).
LICENCE_WARNING_DAYS = 90


class Effect(StrEnum):
    NOT_LAWFUL = "NOT_LAWFUL"  # 不合法 (and so not compliant)
    NOT_COMPLIANT = "NOT_COMPLIANT"  # 合法但不合规
    WARNING = "WARNING"  # 提示: changes no fact


@dataclass(frozen=True)
class ReasonRule:
    code: str
    effect: Effect
    title: str
    source: str


_LICENCE_LAW = "《中华人民共和国民办教育促进法》；国办发〔2018〕80号"
_MANUAL = "《全国校外教育培训监管与服务综合平台培训机构使用操作手册》（合规申请）"

#: Every reason, in the order they are listed.
_RULES = (
        ReasonRule("DEREGISTERED", Effect.NOT_LAWFUL, "机构已注销", "《中华人民共和国民办教育促进法》（终止与注销登记）"),
        ReasonRule("BLACK_LISTED", Effect.NOT_LAWFUL, "列入黑名单", "国办发〔2018〕80号（黑白名单制度）"),
        ReasonRule("QUALIFICATIONS_MISSING", Effect.NOT_LAWFUL, "尚未填写办学资质", "国办发〔2018〕80号（审批登记）"),
        ReasonRule("BUSINESS_LICENCE_MISSING", Effect.NOT_LAWFUL, "未取得营业执照或民办非企业单位登记证书", "国办发〔2018〕80号（审批登记）"),
        ReasonRule("LICENCE_MISSING", Effect.NOT_LAWFUL, "学科类培训须取得办学许可证", _LICENCE_LAW),
        ReasonRule("LICENCE_INCOMPLETE", Effect.NOT_LAWFUL, "办学许可证信息不完整（编号、发证机关、有效期）", _LICENCE_LAW),
        ReasonRule("LICENCE_NOT_YET_VALID", Effect.NOT_LAWFUL, "办学许可证尚未生效", _LICENCE_LAW),
        ReasonRule("LICENCE_EXPIRED", Effect.NOT_LAWFUL, "办学许可证已过期", _LICENCE_LAW),
        ReasonRule("VIOLATIONS", Effect.NOT_COMPLIANT, "存在未整改的违规问题", "校外培训相关规定（详见规则检查发现的问题）"),
        ReasonRule("COMPLIANCE_NOT_SUBMITTED", Effect.NOT_COMPLIANT, "尚未提交合规申请", _MANUAL),
        ReasonRule("COMPLIANCE_PENDING", Effect.NOT_COMPLIANT, "合规申请审核中", _MANUAL),
        ReasonRule("COMPLIANCE_REJECTED", Effect.NOT_COMPLIANT, "合规申请未通过", _MANUAL),
        ReasonRule("LICENCE_EXPIRING", Effect.WARNING, f"办学许可证将在 {LICENCE_WARNING_DAYS} 天内到期", "国办发〔2018〕80号"),
)
REASONS = {rule.code: rule for rule in _RULES}
#: The reasons' codes (the API's ``StandingReasonCode``).
ReasonCode = StrEnum("ReasonCode", [(rule.code, rule.code) for rule in _RULES])
#: The reasons that say the licence is not valid (so not ``licensed``).
LICENCE_INVALID = ("LICENCE_INCOMPLETE", "LICENCE_NOT_YET_VALID", "LICENCE_EXPIRED")
HELD_STATUSES = ("FULL", "LICENCE_ONLY")
BUSINESS_STATUSES = ("FULL", "BUSINESS_LICENCE_ONLY")


# --- the SQL ------------------------------------------------------------------------------


def _tally(column: str) -> sa.ColumnElement[Any]:
    """The institution's tally value (correlated to ``Institution``)."""
    return sa.func.coalesce(
        sa.select(institution_tally.c[column]).where(institution_tally.c.institution_id == Institution.id).scalar_subquery(), 0
    )


def _yes(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.func.coalesce(condition, sa.false())


#: The SQL is built once per day (and per tally columns) and shared by every statement of
#: that day: building it is most of the standing's cost on a list page. Callers never change it.
_per_day = functools.lru_cache(maxsize=16)


@_per_day
def conditions(
    day: date | sa.ColumnElement[Any], black_listed: sa.ColumnElement[Any] | None = None, violations: sa.ColumnElement[Any] | None = None
) -> dict[str, sa.ColumnElement[bool]]:
    """The condition of each reason (never NULL) for an ``Institution`` row on ``day`` (a date
    or a bound parameter); ``black_listed`` and ``violations`` are the tally's values, from
    a join, or correlated subqueries when omitted."""
    today = day if isinstance(day, sa.ColumnElement) else sa.literal(day, sa.Date)
    black_listed = _tally("black_listed") if black_listed is None else black_listed
    violations = _tally("violations") if violations is None else violations
    status = sa.func.coalesce(Institution.qualification_status, "")
    held = status.in_(HELD_STATUSES)
    complete = sa.and_(
        Institution.licence_number.is_not(None), Institution.licence_issuer.is_not(None),
        Institution.licence_valid_from.is_not(None), Institution.licence_valid_to.is_not(None),
    )
    valid = sa.and_(held, complete)
    return {
        "DEREGISTERED": Institution.deregistered_at.is_not(None),
        "BLACK_LISTED": _yes(black_listed > 0),
        "QUALIFICATIONS_MISSING": Institution.qualification_status.is_(None),
        "BUSINESS_LICENCE_MISSING": status.in_(("LICENCE_ONLY", "NONE")),
        "LICENCE_MISSING": sa.and_(Institution.kind == "SUBJECT", status.in_(("BUSINESS_LICENCE_ONLY", "NONE"))),
        "LICENCE_INCOMPLETE": sa.and_(held, sa.not_(complete)),
        "LICENCE_NOT_YET_VALID": _yes(sa.and_(valid, Institution.licence_valid_from > today)),
        "LICENCE_EXPIRED": _yes(sa.and_(valid, Institution.licence_valid_to < today)),
        "VIOLATIONS": _yes(violations > 0),
        "COMPLIANCE_NOT_SUBMITTED": Institution.review_status == "NOT_SUBMITTED",
        "COMPLIANCE_PENDING": Institution.review_status == "PENDING",
        "COMPLIANCE_REJECTED": Institution.review_status == "REJECTED",
        "LICENCE_EXPIRING": _yes(
            sa.and_(valid, Institution.licence_valid_from <= today, Institution.licence_valid_to >= today,
                    Institution.licence_valid_to <= today + sa.literal(timedelta(days=LICENCE_WARNING_DAYS)))
        ),
    }


@dataclass(frozen=True)
class Facts:
    """The SQL of each fact (never NULL), made of the reasons' conditions."""

    licensed: sa.ColumnElement[bool]
    lawful: sa.ColumnElement[bool]
    compliant: sa.ColumnElement[bool]
    black_listed: sa.ColumnElement[bool]
    deregistered: sa.ColumnElement[bool]
    reasons: dict[str, sa.ColumnElement[bool]]

    @property
    def white_list_eligible(self) -> sa.ColumnElement[bool]:
        return self.compliant


@_per_day
def facts(day: date | sa.ColumnElement[Any], black_listed: sa.ColumnElement[Any] | None = None, violations: sa.ColumnElement[Any] | None = None) -> Facts:
    found = conditions(day, black_listed, violations)

    def none_of(effects: tuple[Effect, ...]) -> sa.ColumnElement[bool]:
        return sa.not_(sa.or_(*(c for code, c in found.items() if REASONS[code].effect in effects)))

    held = sa.func.coalesce(Institution.qualification_status, "").in_(HELD_STATUSES)
    return Facts(
        licensed=sa.and_(held, *(sa.not_(found[code]) for code in LICENCE_INVALID)),
        lawful=none_of((Effect.NOT_LAWFUL,)),
        compliant=none_of((Effect.NOT_LAWFUL, Effect.NOT_COMPLIANT)),
        black_listed=found["BLACK_LISTED"],
        deregistered=found["DEREGISTERED"],
        reasons=found,
    )


def licence_expiring_within(day: date, days: int) -> sa.ColumnElement[bool]:
    """Licensed today, and the licence's last day within ``days`` days (0: today)."""
    return sa.and_(facts(day).licensed, Institution.licence_valid_to <= day + timedelta(days=days))


def reason_codes(found: dict[str, sa.ColumnElement[bool]]) -> sa.ColumnElement[Any]:
    """The codes of the reasons that hold, in their order, as a text array."""
    cases = [sa.case((condition, sa.literal(code)), else_=sa.null()) for code, condition in found.items()]
    return sa.func.array_remove(array(cases, type_=sa.String), sa.null(), type_=ARRAY(sa.String))


#: The tally row of the institution, joined (``outer_joins``) by the statements that select ``columns``.
TALLY_JOIN = (institution_tally, institution_tally.c.institution_id == Institution.id)


@_per_day
def columns(day: date) -> tuple[sa.ColumnElement[Any], ...]:
    """What a statement over ``Institution`` (outer-joined to ``TALLY_JOIN``) selects so that
    ``standing_of`` builds each row's standing with its reasons: the reasons' codes, the
    licence, the current black list that names it, its open violations and its latest
    compliance application. The details are read only for the rows whose reasons need them."""
    found = conditions(day, institution_tally.c.black_listed, institution_tally.c.violations)
    held = sa.func.coalesce(Institution.qualification_status, "").in_(HELD_STATUSES)
    current = sa.orm.aliased(ListPeriod)
    black = (
        sa.select(sa.func.json_build_array(current.id, current.title, ListEntry.reason))
        .select_from(ListEntry)
        .join(current, current.id == ListEntry.period_id)
        .where(ListEntry.institution_id == Institution.id, is_current(current, ListKind.BLACK))
        .order_by(current.published_at.desc(), current.id)
        .limit(1)
        .scalar_subquery()
    )
    violation = (
        sa.select(
            sa.func.json_build_array(
                sa.func.count(), sa.func.min(InstitutionFinding.position),
                sa.func.array_agg(sa.func.distinct(InstitutionFinding.rule)),
            )
        )
        .where(InstitutionFinding.institution_id == Institution.id, InstitutionFinding.severity == Severity.VIOLATION.value)
        .scalar_subquery()
    )
    first_violation = (
        sa.select(sa.func.json_build_array(InstitutionFinding.record_type, InstitutionFinding.record_id, InstitutionFinding.record_name))
        .where(InstitutionFinding.institution_id == Institution.id, InstitutionFinding.severity == Severity.VIOLATION.value)
        .order_by(InstitutionFinding.position)
        .limit(1)
        .scalar_subquery()
    )
    compliance = (
        sa.select(Application.id)
        .where(Application.institution_id == Institution.id, Application.type == ApplicationType.COMPLIANCE)
        .order_by(Application.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        reason_codes(found).label("standing_codes"),
        sa.and_(held, *(sa.not_(found[code]) for code in LICENCE_INVALID)).label("standing_licensed"),
        Institution.licence_number.label("standing_licence_number"),
        Institution.licence_valid_from.label("standing_licence_from"),
        Institution.licence_valid_to.label("standing_licence_to"),
        sa.case((found["BLACK_LISTED"], black), else_=sa.null()).label("standing_black"),
        sa.case((found["VIOLATIONS"], violation), else_=sa.null()).label("standing_violations"),
        sa.case((found["VIOLATIONS"], first_violation), else_=sa.null()).label("standing_first_violation"),
        sa.case(
            (Institution.review_status.in_(("PENDING", "REJECTED", "APPROVED")), compliance), else_=sa.null()
        ).label("standing_compliance"),
    )


def compliant_by_region(day: sa.ColumnElement[Any]) -> sa.Select:
    """(region_code, n): the compliant institutions of each lowest region on ``day``, from the
    tally's partial index of the institutions compliant whatever the day (migration 0018)
    and their licences' dates — the same facts as ``facts(day).compliant``, which tests hold
    it to."""
    t = institution_tally.c
    return (
        sa.select(t.region_code, sa.func.count().label("n"))
        .where(
            t.standing_basis, t.black_listed == 0, t.violations == 0,
            sa.or_(t.licence_valid_to.is_(None), sa.and_(t.licence_valid_from <= day, t.licence_valid_to >= day)),
        )
        .group_by(t.region_code)
    )


# --- the verdict --------------------------------------------------------------------------


class Reason(NamedTuple):
    """One reason of a standing (a tuple: a list page builds a few hundred of them)."""

    code: str
    effect: Effect
    message: str
    source: str
    record_type: str
    record_id: uuid.UUID
    record_name: str


@dataclass(slots=True)
class Standing:
    institution_id: uuid.UUID
    licensed: bool
    lawful: bool
    compliant: bool
    black_listed: bool
    deregistered: bool
    licence_valid_to: date | None
    #: The reason the current black list gives (None when not black-listed).
    black_list_reason: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    institution_name: str = ""

    @property
    def licence_findings(self) -> list[Finding]:
        """The rules of the licence that hold (findings derived from the standing's reasons)."""
        return [
            finding(_LICENCE_FINDINGS[r.code], r.message, "Institution", self.institution_id, self.institution_name)
            for r in self.reasons if r.code in _LICENCE_FINDINGS
        ]

    @property
    def white_list_eligible(self) -> bool:
        return self.compliant

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def blocking(self) -> list[Reason]:
        """The reasons that stop the institution from being compliant (not the review itself)."""
        return [r for r in self.reasons if r.effect is Effect.NOT_LAWFUL or r.code == "VIOLATIONS"]


def _message(code: str, row: Any, day: date) -> str:
    title = REASONS[code].title
    number, start, end = row.standing_licence_number, row.standing_licence_from, row.standing_licence_to
    if code == "LICENCE_EXPIRED":
        return f"办学许可证（{number}）已于 {end:%Y-%m-%d} 过期"
    if code == "LICENCE_NOT_YET_VALID":
        return f"办学许可证（{number}）自 {start:%Y-%m-%d} 起生效"
    if code == "LICENCE_EXPIRING":
        return f"办学许可证（{number}）将于 {end:%Y-%m-%d} 到期（还有 {(end - day).days} 天），请及时办理延续"
    if code == "BLACK_LISTED":
        _, period_title, reason = row.standing_black
        return f"列入{period_title}" + (f"：{reason}" if reason else "")
    if code == "VIOLATIONS":
        count, _, rules = row.standing_violations
        return f"有 {count} 项违规问题尚未整改（{'、'.join(RULES[r].title for r in sorted(rules) if r in RULES)}）"
    return title


def _record(code: str, row: Any) -> tuple[str, uuid.UUID, str]:
    if code == "BLACK_LISTED":
        period_id, period_title, _ = row.standing_black
        return "ListPeriod", uuid.UUID(period_id), period_title
    if code == "VIOLATIONS" and row.standing_first_violation:
        record_type, record_id, record_name = row.standing_first_violation
        return record_type, uuid.UUID(record_id), record_name
    if code.startswith("COMPLIANCE_") and row.standing_compliance is not None:
        return "Application", row.standing_compliance, "合规申请"
    if code.startswith("LICENCE_") and row.standing_licence_number:
        return "Institution", row.id, f"办学许可证 {row.standing_licence_number}"
    return "Institution", row.id, row.name


def _source(code: str, row: Any) -> str:
    if code == "VIOLATIONS":
        _, _, rules = row.standing_violations
        return "；".join(dict.fromkeys(RULES[r].source for r in sorted(rules) if r in RULES)) or REASONS[code].source
    return REASONS[code].source


#: The licence's findings (``resolvers.rules.LICENCE_RULES``) and the reasons they come from.
_LICENCE_FINDINGS = {"LICENCE_MISSING": "LICENCE_REQUIRED", "LICENCE_EXPIRED": "LICENCE_EXPIRED", "LICENCE_EXPIRING": "LICENCE_EXPIRING"}


#: The reasons whose message is their title, whose source is their rule's and whose record is
#: the institution itself (``_message``, ``_source``, ``_record`` give nothing else for them:
#: a compliance application not submitted has no application selected), built without them.
_PLAIN = frozenset({"DEREGISTERED", "QUALIFICATIONS_MISSING", "BUSINESS_LICENCE_MISSING", "COMPLIANCE_NOT_SUBMITTED"})


def _reason(code: str, row: Any, day: date) -> Reason:
    rule = REASONS[code]
    if code in _PLAIN:
        return Reason(code, rule.effect, rule.title, rule.source, "Institution", row.id, row.name)
    record_type, record_id, record_name = _record(code, row)
    return Reason(code, rule.effect, _message(code, row, day), _source(code, row), record_type, record_id, record_name)


def standing_of(row: Any, day: date) -> Standing:
    """The standing of a row selected with ``columns(day)`` (and the institution's id and name)."""
    codes = row.standing_codes
    licensed = bool(row.standing_licensed)
    valid_to = row.standing_licence_to if licensed else None
    if not codes:
        return Standing(row.id, licensed, True, True, False, False, valid_to)
    reasons = [_reason(code, row, day) for code in codes]
    effects = {r.effect for r in reasons}
    black_listed = "BLACK_LISTED" in codes
    return Standing(
        institution_id=row.id,
        licensed=licensed,
        lawful=Effect.NOT_LAWFUL not in effects,
        compliant=Effect.NOT_LAWFUL not in effects and Effect.NOT_COMPLIANT not in effects,
        black_listed=black_listed,
        deregistered="DEREGISTERED" in codes,
        licence_valid_to=valid_to,
        black_list_reason=row.standing_black[2] if black_listed else None,
        reasons=reasons,
        institution_name=row.name,
    )


async def standings(db: AsyncSession, ids: Sequence[uuid.UUID], day: date, where: sa.ColumnElement[bool] | None = None) -> dict[uuid.UUID, Standing]:
    """The standing of each institution of ``ids`` (that ``where`` admits), in one statement."""
    if not ids:
        return {}
    target, on = TALLY_JOIN
    stmt = (
        sa.select(Institution.id, Institution.name, *columns(day))
        .outerjoin(target, on)
        .where(Institution.id.in_(list(ids)), where if where is not None else sa.true())
    )
    return {row.id: standing_of(row, day) for row in await db.execute(stmt)}


def criterion_where(fact: Callable[[Facts], sa.ColumnElement[bool]]) -> Callable[[bool, dict], sa.ColumnElement[bool]]:
    """A list filter's condition on one fact (true or false), as of the list's day."""
    return lambda wanted, context: fact(facts(context["today"])) if wanted else sa.not_(fact(facts(context["today"])))

