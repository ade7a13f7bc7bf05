"""Applications and their review (合规申请, 注销申请, 办学许可申请, 学科类培训班备案).

The institution submits; the authority of docs/DOMAIN.md §P1.3.1 reviews:

- an online subject institution (线上学科类): the provincial education department;
- an offline subject institution (线下学科类): the county education bureau;
- a non-subject institution (非学科类): the county department of its training category
  (体育类 → sports, 文化艺术类 → culture and tourism, 科技类 → science and technology; an
  institution with several such categories goes to the first of them in that order; with
  none of them, to the county education bureau);
- a subject class's filing (学科类培训班备案): the county education bureau, for every mode
  (docs/DOMAIN.md §G3: "filed with the county").

No application is left without a reviewer (``reviewer``): when the county has no enabled
account of the category's department (体育, 文化旅游, 科技), the application goes to the
county education bureau, which supervises every institution of its county; when the
authority is education and has no enabled account, or neither has one, the submission is
refused with a message naming the authority.

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

A compliance application is accepted only when nothing is missing (``missing_items``, every
item refused at once): registration complete, the 营转非 and 备案转审批 flags cleared, a site
or business system with a course, active staff, the funds' supervision, and no reason of the
standing (``resolvers.standing``) that keeps the institution from being compliant — a
licence expired, not yet valid or missing, no business registration, a black list, an open
violation. A class filing needs a lawful institution (every reason refused at once); a
licence application one without a licence valid today, or with one ending within the
standing's warning days (a renewal). An approval is a decision in the history: the standing
says whether the institution is compliant now. What the data showed at submission is kept
on the application for the reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.scope import scope
from auth.sessions import end_sessions
from auth.viewer import Viewer
from core.clock import today
from core.errors import ErrorCode, FieldError, Forbidden
from core.ids import parse_id
from models import (
    Account,
    AccountKind,
    Application,
    ApplicationStatus,
    ApplicationType,
    Department,
    Document,
    DocumentCategory,
    EventType,
    FilingStatus,
    Institution,
    Kind,
    Level,
    Mode,
    QualificationStatus,
    Region,
    TrainingCategory,
    TrainingClass,
)
from resolvers import audit, findings, validation
from resolvers.events import raise_event
from resolvers.filters import RecordId, condition, criterion
from resolvers.forms import Form, raw
from resolvers.institutions.home import missing_items
from resolvers.institutions.saving import province_of, region_path
from resolvers.pagination import Page, paginate
from resolvers.records import Refused, not_found, owner_of
from resolvers.standing import Effect, standings

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
DEPARTMENT_NAMES = {
    Department.EDUCATION: "教育部门",
    Department.SPORTS: "体育部门",
    Department.CULTURE_TOURISM: "文化和旅游部门",
    Department.SCIENCE_TECHNOLOGY: "科技部门",
}


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


async def _staffed(db: AsyncSession, who: Authority) -> bool:
    """Whether the authority has an enabled account."""
    return bool(
        (
            await db.execute(
                sa.select(
                    sa.exists().where(
                        Account.kind == AccountKind.REGULATOR, Account.enabled, Account.region_code == who.region_code,
                        Account.department == who.department, Account.level == who.level,
                    )
                )
            )
        ).scalar()
    )


async def reviewer(db: AsyncSession, institution: Institution, path: str, kind: ApplicationType) -> Authority:
    """The authority that will review: ``authority``'s, or, when the county has no enabled
    account of the category's department, the county education bureau; ``Refused`` naming
    the authority when it has no enabled account either."""
    who = authority(institution, path, kind)
    if await _staffed(db, who):
        return who
    if who.department is not Department.EDUCATION:
        bureau = Authority(who.region_code, Department.EDUCATION, Level.COUNTY)
        if await _staffed(db, bureau):
            return bureau
    name = (await db.execute(sa.select(Region.name).where(Region.code == who.region_code))).scalar_one()
    raise Refused(
        FieldError(
            "type", ErrorCode.NOT_ALLOWED,
            f"{name}{DEPARTMENT_NAMES[who.department]}尚未开通审核账号，暂不能受理{TYPE_LABELS[kind]}，请联系当地教育部门 (no reviewing account)",
        )
    )


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
            form = Form({"statement": new.statement}, today=today(ctx.now))
            statement = form.text("statement", "申请说明", 2000, required=kind in (ApplicationType.DEREGISTRATION, ApplicationType.LICENCE), lines=True)
            if form.errors:
                raise Refused(*form.errors)
            standing = (await standings(db, [institution.id], today(ctx.now)))[institution.id]
            found = [*standing.licence_findings, *(await findings.stored(db, [institution.id]))[institution.id]]
            training_class = None
            if kind is ApplicationType.COMPLIANCE:
                if institution.review_status == ApplicationStatus.APPROVED:
                    raise Refused(FieldError("type", ErrorCode.NOT_ALLOWED, "机构已通过合规审核"))
                if missing := await missing_items(db, institution, standing):
                    raise Refused(*(FieldError("type", ErrorCode.NOT_ALLOWED, m.message) for m in missing))
            elif kind is ApplicationType.LICENCE:
                if standing.licensed and "LICENCE_EXPIRING" not in standing.codes:
                    raise Refused(FieldError("type", ErrorCode.NOT_ALLOWED, "机构已有有效的办学许可证"))
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
                if unlawful := [r for r in standing.reasons if r.effect is Effect.NOT_LAWFUL]:
                    raise Refused(*(FieldError("type", ErrorCode.NOT_ALLOWED, f"机构不合法，不能申请备案：{r.message}") for r in unlawful))
                found = [f for f in found if f.record_id == training_class.id]
                training_class.filing_status = FilingStatus.PENDING
                training_class.version += 1
                training_class.updated_at = ctx.now
                await findings.refresh(db, [institution.id])
            who = await reviewer(db, institution, await region_path(db, institution.region_code), kind)
            application = Application(
                institution_id=institution.id,
                type=kind,
                class_id=training_class.id if training_class else None,
                proof_document_id=parse_id(new.proof_document_id) if kind is ApplicationType.DEREGISTRATION else None,
                statement=statement,
                findings_at_submission=[f.as_json() for f in found],
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
                await raise_event(db, EventType.APPLICATION_SUBMITTED, application.id, institution.region_code, ctx.now, institution_id=institution.id)
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
            form = Form(vars(decision), today=today(ctx.now))
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
            await findings.refresh(db, [institution.id])
            audit.record(db, ctx, "reviewApplication", "Application", application.id, institution.region_code, changed=changed)
            await raise_event(db, EventType.APPLICATION_DECIDED, application.id, institution.region_code, ctx.now, institution_id=institution.id)
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
            await end_sessions(db, account.id, disabled=True)
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


def _mine(viewer: Viewer | None) -> sa.ColumnElement[bool]:
    """The applications the viewer decides: it is their authority."""
    if viewer is None or not viewer.is_regulator:
        return sa.false()
    return sa.and_(
        Application.authority_region_code == viewer.region_code,
        Application.authority_department == viewer.department.value,
        Application.authority_level == viewer.level.value,
    )


def _institution(value: str) -> sa.ColumnElement[bool]:
    parsed = parse_id(value)
    return Application.institution_id == parsed if parsed else sa.false()


@dataclass
class ApplicationFilter:
    """The application list's filter (and its counts'): every criterion optional, with AND."""

    status: ApplicationStatus | None = criterion("审核状态", lambda v, c: Application.status == v.value)
    type: ApplicationType | None = criterion("申请类型", lambda v, c: Application.type == v.value)
    institution_id: RecordId | None = criterion("申请机构", lambda v, c: _institution(v), max_length=36)
    for_my_review: bool | None = criterion(
        "true: 仅由我审核的申请 (待我审核: only those the caller decides)", lambda v, c: _mine(c["viewer"]) if v else sa.not_(_mine(c["viewer"]))
    )


def _condition(viewer: Viewer | None, f: ApplicationFilter | None) -> sa.ColumnElement[bool]:
    return sa.and_(scope(viewer, Application), condition(f, viewer=viewer))


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

