"""Applications and their review (合规申请、注销申请、办学许可申请、学科类培训班备案, docs/DOMAIN.md §P1.3),
decided by the authority of §P1.3.1.

An application names its institution: the graph's one edge back up to the institutions, closed
by name (``strawberry.lazy`` for the type, ``Node.named`` for the value) so that this module
imports nothing of them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from auth.permissions import Authenticated, InstitutionUser, Regulator, allow
from models import Application as ApplicationRow
from models import ApplicationStatus as ApplicationStatusEnum
from models import ApplicationType as ApplicationTypeEnum
from resolvers import applications
from resolvers.loaders import ClassByIdLoader, InstitutionByIdLoader, RegionByCodeLoader
from resolvers.pagination import head
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.fields import node_id, optional
from schema.filters import graphql_input, to_filter
from schema.findings import Finding
from schema.regions import Region
from schema.relay import Connection, Node
from schema.sites import TrainingClass

ApplicationType = strawberry.enum(
    ApplicationTypeEnum,
    name="ApplicationType",
    description="合规申请 COMPLIANCE, 注销申请 DEREGISTRATION, 办学许可申请 LICENCE, 学科类培训班备案 CLASS_FILING.",
)
ApplicationStatus = strawberry.enum(ApplicationStatusEnum, name="ApplicationStatus", description="待审核 PENDING, 通过 APPROVED, 不通过 REJECTED.")


@strawberry.type(description="申请 and its review (审核).")
class Application(Node):
    id: strawberry.ID
    type: ApplicationType
    status: ApplicationStatus
    statement: str | None = strawberry.field(description="申请说明")
    proof_document_id: strawberry.ID | None = strawberry.field(description="注销证明材料")
    submitted_at: dt.datetime
    decided_at: dt.datetime | None
    opinion: str | None = strawberry.field(description="审核意见")
    authority_department: str = strawberry.field(description="审核部门 (EDUCATION, SPORTS, CULTURE_TOURISM, SCIENCE_TECHNOLOGY)")
    authority_level: str = strawberry.field(description="审核层级 (COUNTY, PROVINCE)")
    row: strawberry.Private[ApplicationRow]

    @classmethod
    def from_row(cls, row: ApplicationRow) -> Application:
        return cls(
            id=node_id(row.id), type=ApplicationTypeEnum(row.type), status=ApplicationStatusEnum(row.status), statement=row.statement,
            proof_document_id=node_id(row.proof_document_id) if row.proof_document_id else None, submitted_at=row.submitted_at,
            decided_at=row.decided_at, opinion=row.opinion, authority_department=row.authority_department,
            authority_level=row.authority_level, row=row,
        )

    @strawberry.field(description="提交时的规则检查结果: the first `first` (at most 100)")
    def findings_at_submission(self, first: int | None = 100) -> list[Finding]:
        return [Finding.from_json(f) for f in head(self.row.findings_at_submission, first)]

    @strawberry.field(description="审核单位所在地区")
    async def authority_region(self, info: Info) -> Region:
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.row.authority_region_code))

    @strawberry.field(description="申请机构")
    async def institution(self, info: Info) -> Annotated["Institution", strawberry.lazy("schema.institutions.types")] | None:  # noqa: F821
        row = await InstitutionByIdLoader(info.context).load(self.row.institution_id)
        return Node.named("Institution").from_row(row, info.context.viewer) if row else None

    @strawberry.field(description="备案的班级 (CLASS_FILING)")
    async def training_class(self, info: Info) -> TrainingClass | None:
        row = await ClassByIdLoader(info.context).load(self.row.class_id) if self.row.class_id else None
        return TrainingClass.from_row(row) if row else None

    @strawberry.field(description="可由我审核: the caller is the reviewing authority and the application is pending")
    def reviewable(self, info: Info) -> bool:
        return self.row.status == ApplicationStatusEnum.PENDING and applications.is_authority(info.context.viewer, self.row)


@strawberry.type
class ApplicationCount:
    type: ApplicationType
    status: ApplicationStatus
    count: int = strawberry.field(description="数量")


@strawberry.input(description="A new application. DEREGISTRATION needs proofDocumentId and a statement; LICENCE a statement; CLASS_FILING a classId.")
class ApplicationInput:
    type: ApplicationType
    statement: str | None = optional("申请说明")
    class_id: strawberry.ID | None = optional("备案的班级 (CLASS_FILING)")
    proof_document_id: strawberry.ID | None = optional("注销证明材料 (DEREGISTRATION)")


@strawberry.input(description="审核决定. Approving a LICENCE application issues the licence: number, issuer, validity.")
class ReviewInput:
    approve: bool = strawberry.field(description="是否通过")
    opinion: str | None = optional("审核意见 *")
    licence_number: str | None = strawberry.field(default=None, description="办学许可证编号")
    licence_issuer: str | None = strawberry.field(default=None, description="发证机关")
    licence_valid_from: dt.date | None = strawberry.field(default=None, description="办学许可证有效期起")
    licence_valid_to: dt.date | None = strawberry.field(default=None, description="办学许可证有效期止")


ApplicationFilter = graphql_input(
    applications.ApplicationFilter, name="ApplicationFilter", description="申请列表的筛选条件 (the application list's filters; all optional, combined with AND)."
)


@strawberry.type
class ApplicationPayload:
    application: Application | None
    errors: list[UserError]


def _application_payload(result) -> ApplicationPayload:
    row, errors = result
    return ApplicationPayload(application=Application.from_row(row) if row else None, errors=user_errors(errors))


@strawberry.type
class ApplicationQuery:
    @strawberry.field(
        description="申请 in the caller's scope (an institution: its own), oldest first; forMyReview: those the caller decides.",
        extensions=allow(Authenticated()),
    )
    async def applications(
        self, info: Info, filter: ApplicationFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[Application]:
        f = to_filter(filter)
        page = await applications.list_applications(info, f, first, after)
        return Connection[Application].from_page(page, Application.from_row, after=after)

    @strawberry.field(description="申请数 by type and status, same filter and scope as applications.", extensions=allow(Regulator()))
    async def application_counts(self, info: Info, filter: ApplicationFilter | None = None) -> list[ApplicationCount]:
        f = to_filter(filter)
        return [
            ApplicationCount(type=ApplicationTypeEnum(t), status=ApplicationStatusEnum(s), count=n)
            for t, s, n in await applications.counts(info, f)
        ]


_OWN = allow(InstitutionUser())


@strawberry.type
class ApplicationMutation:
    @strawberry.mutation(
        description="提交申请 (合规申请 needs nothing missing: see myInstitution.home; 注销申请 a proof document; 备案 a subject class). "
        "It goes to the authority of docs/DOMAIN.md §P1.3.1; one pending application per type (per class for filings).",
        extensions=_OWN,
    )
    async def submit_application(self, info: Info, input: ApplicationInput) -> ApplicationPayload:
        new = applications.NewApplication(
            type=input.type, statement=input.statement, class_id=input.class_id, proof_document_id=input.proof_document_id
        )
        return _application_payload(await applications.submit(info, new))

    @strawberry.mutation(
        description="审核申请: approve or reject with an opinion; only the application's authority (others: FORBIDDEN; out of scope: NOT_FOUND).",
        extensions=allow(Regulator(applications.Level.COUNTY, applications.Level.PROVINCE)),
    )
    async def review_application(self, info: Info, id: strawberry.ID, input: ReviewInput) -> ApplicationPayload:
        decision = applications.Decision(**vars(input))
        return _application_payload(await applications.review(info, id, decision))
