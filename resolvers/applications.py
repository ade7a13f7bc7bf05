"""Applications and their review (合规申请, 注销申请, 办学许可申请, 学科类培训班备案).

The institution submits; the authority named in DOMAIN.md (seed 001, 1.3.1) reviews:

- an online subject institution (线上学科类): the provincial education department;
- an offline subject institution (线下学科类): the county education bureau;
- a non-subject institution (非学科类): the county department of its training category
  (体育类 → sports, 文化艺术类 → culture and tourism, 科技类 → science and technology; an
  institution with several such categories goes to the first of them in that order; with
  none of them, to the county education bureau);
- a subject class's filing (学科类培训班备案): the county education bureau, for every mode
  (DOMAIN.md: "filed with the county").

The authority (region, department, level) is fixed on the application when it is
submitted, so later changes of the institution do not move a pending application. Only that
authority may decide; other regulators in scope read it. A decision carries an opinion
(审核意见), which the institution reads.

Effects of an approval: a compliance application makes the institution's review status
APPROVED (合规); a licence application writes the licence the authority issues (number,
issuer, validity) into the institution's qualifications; a class filing makes the class
FILED (a rejected filing: REJECTED, and it may be filed again after changes); a
deregistration (注销) makes the institution read-only and disables its accounts, ending
their sessions.

A compliance application is accepted only when nothing is missing (``missing_items``):
registration complete, the 营转非 and 备案转审批 flags cleared, a site or business system with
a course, active staff, and no open finding of the rules. What the data showed at
submission is kept on the application for the reviewer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.scope import scope
from auth.sessions import end_sessions
from auth.viewer import Viewer
from models import (
    Account,
    AccountKind,
    Application,
    ApplicationStatus,
    ApplicationType,
    Course,
    Department,
    Document,
    DocumentCategory,
    FilingStatus,
    Institution,
    InstitutionFunds,
    Kind,
    Level,
    Mode,
    Nature,
    QualificationStatus,
    Site,
    Staff,
    StaffStatus,
    TrainingCategory,
    TrainingClass,
)
from resolvers import audit, validation
from resolvers.findings import COMPULSORY_GRADES, Finding, findings_for
from resolvers.forms import Form, raw
from resolvers.institutions import _region_path, parse_id, province_of
from resolvers.pagination import Page, paginate
from resolvers.portal import Refused, not_found, owner_of
from resolvers.registration import SAVED_FLAG, FieldError
from schema.errors import ErrorCode, Forbidden

TYPE_LABELS = {
    ApplicationType.COMPLIANCE: "合规申请",
    ApplicationType.DEREGISTRATION: "注销申请",
    ApplicationType.LICENCE: "办学许可申请",
    ApplicationType.CLASS_FILING: "学科类培训班备案",
}
#: Non-subject categories and the county department that supervises them, in this order.
CATEGORY_DEPARTMENTS = (
    (TrainingCategory.SPORTS, Department.SPORTS),
    (TrainingCategory.ARTS, Department.CULTURE_TOURISM),
    (TrainingCategory.SCIENCE_TECHNOLOGY, Department.SCIENCE_TECHNOLOGY),
)
LICENSED = (QualificationStatus.FULL.value, QualificationStatus.LICENCE_ONLY.value)


@dataclass(frozen=True)
class Authority:
    region_code: str
    department: Department
    level: Level


def authority(institution: Institution, region_path: str, kind: ApplicationType) -> Authority:
    if kind is not ApplicationType.CLASS_FILING and institution.kind == Kind.SUBJECT and institution.mode == Mode.ONLINE:
        return Authority(province_of(region_path), Department.EDUCATION, Level.PROVINCE)
    department = Department.EDUCATION
    if institution.kind == Kind.NON_SUBJECT:
        department = next((d for c, d in CATEGORY_DEPARTMENTS if c.value in institution.training_categories), Department.EDUCATION)
    return Authority(institution.region_code, department, Level.COUNTY)


def is_authority(viewer: Viewer | None, application: Application) -> bool:
    return (
        viewer is not None
        and viewer.is_regulator
        and viewer.region_code == application.authority_region_code
        and viewer.department is not None
        and viewer.department.value == application.authority_department
        and viewer.level is not None
        and viewer.level.value == application.authority_level
    )


# --- the home page's flags and what is missing ------------------------------------------


def needs_non_profit(institution: Institution) -> bool:
    """营转非: a subject institution (for compulsory-education students) still for-profit."""
    grades = set(institution.grades)
    return (
        institution.kind == Kind.SUBJECT
        and institution.nature == Nature.FOR_PROFIT
        and (not grades or bool(grades & COMPULSORY_GRADES))
    )


def needs_approval(institution: Institution) -> bool:
    """备案转审批: an online subject institution that is only filed, without a licence."""
    return institution.kind == Kind.SUBJECT and institution.mode == Mode.ONLINE and institution.qualification_status not in LICENSED


#: What can be missing before a compliance application, each at most once.
MISSING_CODES = ("REGISTRATION", "NON_PROFIT", "ONLINE_APPROVAL", "LICENCE", "SITES", "COURSES", "STAFF", "FUNDS", "FINDINGS")


@dataclass
class Missing:
    code: str
    message: str


async def missing_items(db: AsyncSession, institution: Institution, findings: list[Finding]) -> list[Missing]:
    """What stops a compliance application now (待补全事项)."""
    return (await missing_items_of(db, [institution], {institution.id: findings}))[institution.id]


async def missing_items_of(
    db: AsyncSession, institutions: list[Institution], findings: dict[uuid.UUID, list[Finding]]
) -> dict[uuid.UUID, list[Missing]]:
    """``missing_items`` of many institutions: two statements, whatever their number."""
    from resolvers.registration import PART_LABELS

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
        if needs_approval(institution):
            missing.append(Missing("ONLINE_APPROVAL", "请完成备案转审批（取得办学许可证）后更新办学资质"))
        elif institution.kind == Kind.SUBJECT and institution.qualifications_saved and institution.qualification_status not in LICENSED:
            missing.append(Missing("LICENCE", "学科类机构须取得办学许可证"))
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
        if found := findings.get(institution.id):
            missing.append(Missing("FINDINGS", f"请先整改 {len(found)} 项不符合规定的问题"))
        result[institution.id] = missing
    return result


# --- submitting -----------------------------------------------------------------------


@dataclass
class NewApplication:
    type: ApplicationType
    statement: str | None = None
    class_id: str | None = None
    proof_document_id: str | None = None


async def submit(info, new: NewApplication) -> tuple[Application | None, list[FieldError]]:
    ctx = info.context
    kind = ApplicationType(raw(new.type))
    try:
        async with ctx.sessionmaker() as db:
            owner = await owner_of(db, ctx.viewer)
            institution = owner.institution
            form = Form({"statement": new.statement}, today=ctx.now.date())
            statement = form.text("statement", "申请说明", 2000, required=kind in (ApplicationType.DEREGISTRATION, ApplicationType.LICENCE), lines=True)
            if form.errors:
                raise Refused(*form.errors)
            findings = (await findings_for(db, [institution.id]))[institution.id]
            training_class = None
            if kind is ApplicationType.COMPLIANCE:
                if institution.review_status == ApplicationStatus.APPROVED:
                    raise Refused(FieldError("type", ErrorCode.NOT_ALLOWED, "机构已通过合规审核"))
                if missing := await missing_items(db, institution, findings):
                    raise Refused(*(FieldError("type", ErrorCode.NOT_ALLOWED, m.message) for m in missing))
            elif kind is ApplicationType.LICENCE:
                if institution.qualification_status in LICENSED:
                    raise Refused(FieldError("type", ErrorCode.NOT_ALLOWED, "机构已有办学许可证"))
            elif kind is ApplicationType.DEREGISTRATION:
                await _check_proof(db, institution, new.proof_document_id)
            elif kind is ApplicationType.CLASS_FILING:
                class_id = parse_id(new.class_id)
                training_class = (
                    await db.execute(
                        sa.select(TrainingClass)
                        .where(TrainingClass.id == class_id, TrainingClass.institution_id == institution.id)
                        .with_for_update()
                    )
                ).scalar_one_or_none() if class_id else None
                if training_class is None:
                    raise not_found("班级", "classId")
                if training_class.filing_status not in (FilingStatus.NOT_FILED, FilingStatus.REJECTED):
                    raise Refused(FieldError("classId", ErrorCode.NOT_ALLOWED, "只有未备案或备案未通过的学科类班级可以申请备案"))
                findings = [f for f in findings if f.record_id == training_class.id]
                training_class.filing_status = FilingStatus.PENDING
                training_class.version += 1
                training_class.updated_at = ctx.now
            who = authority(institution, await _region_path(db, institution.region_code), kind)
            application = Application(
                institution_id=institution.id,
                type=kind,
                class_id=training_class.id if training_class else None,
                proof_document_id=parse_id(new.proof_document_id) if kind is ApplicationType.DEREGISTRATION else None,
                statement=statement,
                findings_at_submission=[f.as_json() for f in findings],
                authority_region_code=who.region_code,
                authority_department=who.department.value,
                authority_level=who.level.value,
                submitted_at=ctx.now,
                submitted_by=ctx.viewer.account_id,
            )
            db.add(application)
            if kind is ApplicationType.COMPLIANCE:
                institution.review_status = ApplicationStatus.PENDING.value
            try:
                await db.flush()
                audit.record(
                    db, ctx, "submitApplication", "Application", application.id, institution.region_code,
                    changed={"type": [None, kind.value], "status": [None, ApplicationStatus.PENDING.value]},
                )
                await db.commit()
            except IntegrityError:
                await db.rollback()
                raise Refused(FieldError("type", ErrorCode.NOT_ALLOWED, f"已有待审核的{TYPE_LABELS[kind]}，请等待审核结果")) from None
            return application, []
    except Refused as refused:
        return None, refused.errors


async def _check_proof(db: AsyncSession, institution: Institution, proof_id: str | None) -> None:
    """注销证明: a document of the institution's own, uploaded as DEREGISTRATION_PROOF."""
    if not validation.text(proof_id):
        raise Refused(FieldError("proofDocumentId", ErrorCode.REQUIRED, "请上传注销证明材料"))
    parsed = parse_id(proof_id)
    category = (
        await db.execute(sa.select(Document.category).where(Document.id == parsed, Document.institution_id == institution.id))
    ).scalar_one_or_none() if parsed else None
    if category is None:
        raise Refused(FieldError("proofDocumentId", ErrorCode.NOT_FOUND, "注销证明材料不存在"))
    if category != DocumentCategory.DEREGISTRATION_PROOF:
        raise Refused(FieldError("proofDocumentId", ErrorCode.INVALID, "请选择类别为“注销证明”的材料"))


# --- reviewing ------------------------------------------------------------------------


@dataclass
class Decision:
    approve: bool
    opinion: str | None
    licence_number: str | None = None
    licence_issuer: str | None = None
    licence_valid_from: date | None = None
    licence_valid_to: date | None = None


async def review(info, application_id: Any, decision: Decision) -> tuple[Application | None, list[FieldError]]:
    ctx = info.context
    viewer = ctx.viewer
    try:
        async with ctx.sessionmaker() as db:
            parsed = parse_id(application_id)
            application = (
                await db.execute(sa.select(Application).where(Application.id == parsed, scope(viewer, Application)).with_for_update())
            ).scalar_one_or_none() if parsed else None
            if application is None:
                raise not_found("申请")
            if not is_authority(viewer, application):
                raise Forbidden("该申请不由本单位审核 (only the reviewing authority may decide this application)")
            if application.status != ApplicationStatus.PENDING:
                raise Refused(FieldError("id", ErrorCode.NOT_ALLOWED, "该申请已审核"))
            form = Form(vars(decision), today=ctx.now.date())
            form.text("opinion", "审核意见", 2000, lines=True)
            institution = (
                await db.execute(sa.select(Institution).where(Institution.id == application.institution_id).with_for_update())
            ).scalar_one()
            if institution.deregistered_at is not None:
                raise Refused(FieldError("id", ErrorCode.NOT_ALLOWED, "机构已注销"))
            if application.type == ApplicationType.LICENCE and decision.approve:
                form.text("licence_number", "办学许可证编号", 50)
                form.text("licence_issuer", "发证机关", 100)
                start = form.day("licence_valid_from", "有效期起")
                end = form.day("licence_valid_to", "有效期止")
                if start and end and end <= start:
                    form.error("licence_valid_to", ErrorCode.INVALID, "有效期止应晚于有效期起")
            if form.errors:
                raise Refused(*form.errors)
            status = ApplicationStatus.APPROVED if decision.approve else ApplicationStatus.REJECTED
            application.status = status
            application.opinion = form.values["opinion"]
            application.decided_at = ctx.now
            application.decided_by = viewer.account_id
            changed: dict[str, list] = {"status": [ApplicationStatus.PENDING.value, status.value], "opinion": [None, application.opinion]}
            await _apply(db, ctx, application, institution, form.values, changed)
            audit.record(db, ctx, "reviewApplication", "Application", application.id, institution.region_code, changed=changed)
            await db.commit()
            return application, []
    except Refused as refused:
        return None, refused.errors


async def _apply(db: AsyncSession, ctx, application: Application, institution: Institution, values: dict, changed: dict) -> None:
    approved = application.status == ApplicationStatus.APPROVED
    kind = ApplicationType(application.type)
    before = audit.values_of(institution)
    if kind is ApplicationType.COMPLIANCE:
        institution.review_status = application.status
    elif kind is ApplicationType.CLASS_FILING:
        training_class = (await db.execute(sa.select(TrainingClass).where(TrainingClass.id == application.class_id).with_for_update())).scalar_one()
        training_class.filing_status = FilingStatus.FILED if approved else FilingStatus.REJECTED
        training_class.version += 1
        training_class.updated_at = ctx.now
        changed["class.filingStatus"] = [FilingStatus.PENDING.value, training_class.filing_status.value]
    elif kind is ApplicationType.LICENCE and approved:
        for key in ("licence_number", "licence_issuer", "licence_valid_from", "licence_valid_to"):
            setattr(institution, key, values[key])
        institution.qualification_status = (
            QualificationStatus.FULL.value
            if institution.qualification_status in (QualificationStatus.FULL.value, QualificationStatus.BUSINESS_LICENCE_ONLY.value)
            else QualificationStatus.LICENCE_ONLY.value
        )
        institution.qualifications_saved = True
    elif kind is ApplicationType.DEREGISTRATION and approved:
        institution.deregistered_at = ctx.now
        accounts = (
            await db.execute(
                sa.select(Account).where(Account.kind == AccountKind.INSTITUTION, Account.institution_id == institution.id).with_for_update()
            )
        ).scalars().all()
        for account in accounts:
            account.enabled = False
            account.updated_at = ctx.now
            await end_sessions(db, account.id)
        # Nothing else of a deregistered institution is pending any more.
        others = (
            await db.execute(
                sa.select(Application)
                .where(Application.institution_id == institution.id, Application.status == ApplicationStatus.PENDING, Application.id != application.id)
                .with_for_update()
            )
        ).scalars().all()
        for other in others:
            other.status, other.decided_at, other.opinion = ApplicationStatus.REJECTED, ctx.now, "机构已注销，申请终止"
            if other.type == ApplicationType.CLASS_FILING:
                await db.execute(sa.update(TrainingClass).where(TrainingClass.id == other.class_id).values(filing_status=FilingStatus.NOT_FILED))
        if others:
            changed["closedApplications"] = [None, [str(o.id) for o in others]]
    institution_changes = audit.changes(before, audit.values_of(institution))
    if institution_changes:
        institution.version += 1
        institution.updated_at = ctx.now
        changed.update({f"institution.{k}": v for k, v in institution_changes.items()})


# --- reading --------------------------------------------------------------------------


@dataclass
class ApplicationFilter:
    status: Any = None
    type: Any = None
    institution_id: str | None = None
    #: Only the applications the caller decides (待我审核).
    for_my_review: bool | None = None


def _condition(viewer: Viewer | None, f: ApplicationFilter | None) -> sa.ColumnElement[bool]:
    conditions = [scope(viewer, Application)]
    if f is not None:
        if f.status is not None:
            conditions.append(Application.status == raw(f.status))
        if f.type is not None:
            conditions.append(Application.type == raw(f.type))
        if f.institution_id is not None:
            parsed = parse_id(f.institution_id)
            conditions.append(Application.institution_id == parsed if parsed else sa.false())
        if f.for_my_review is not None:
            mine = (
                sa.and_(
                    Application.authority_region_code == viewer.region_code,
                    Application.authority_department == viewer.department.value,
                    Application.authority_level == viewer.level.value,
                )
                if viewer is not None and viewer.is_regulator
                else sa.false()
            )
            conditions.append(mine if f.for_my_review else sa.not_(mine))
    return sa.and_(*conditions)


async def list_applications(info, f: ApplicationFilter | None, first: int | None, after: str | None) -> Page:
    ctx = info.context
    async with ctx.sessionmaker() as db:
        return await paginate(db, Application, _condition(ctx.viewer, f), [Application.seq], first=first, after=after)


async def counts(info, f: ApplicationFilter | None) -> list[tuple[str, str, int]]:
    """(type, status, count) of the applications matching the filter, in scope."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        rows = await db.execute(
            sa.select(Application.type, Application.status, sa.func.count())
            .where(_condition(ctx.viewer, f))
            .group_by(Application.type, Application.status)
            .order_by(Application.type, Application.status)
        )
        return [(raw(t), raw(s), n) for t, s, n in rows]

