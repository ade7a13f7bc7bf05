"""Training materials (培训材料, docs/DOMAIN.md §P7); the export is ``GET /exports/materials.xlsx``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry

from auth.permissions import InstitutionUser, Regulator, allow
from auth.roles import sees_institution_personal_data
from core.masking import mask_certificate
from models import Material as MaterialRow
from models import MaterialReview as MaterialReviewEnum
from models import MaterialType as MaterialTypeEnum
from resolvers import materials, records
from schema.context import Info
from schema.enums import Grade, Subject, TrainingCategory
from schema.errors import UserError, user_errors
from schema.fields import editable, node_id
from schema.findings import ON_RECORD, Finding, findings_on
from schema.records import DeletePayload, deleted_payload, input_data
from schema.relay import Node

MaterialType = strawberry.enum(
    MaterialTypeEnum, name="MaterialType", description="材料类型: 教材 TEXTBOOK, 讲义 HANDOUT, 练习册 EXERCISES, 音视频 AUDIOVISUAL, 其他 OTHER."
)
MaterialReview = strawberry.enum(
    MaterialReviewEnum, name="MaterialReview",
    description="材料审核: 未审核, 审核通过, 审核未通过 — set by the regulator that reviews the institution (reviewMaterial), never by the institution.",
)


@strawberry.type(description="培训材料")
class Material(Node):
    id: strawberry.ID
    name: str = strawberry.field(description="材料名称")
    category: TrainingCategory
    subject: Subject | None = strawberry.field(description="学科")
    grades: list[Grade]
    type: MaterialType
    author: str = strawberry.field(description="编写人员")
    publisher: str | None = strawberry.field(description="出版单位")
    edition: str | None = strawberry.field(description="版次")
    author_years_in_education: int = strawberry.field(description="编写人员从事教育工作年限")
    author_has_teacher_certificate: bool = strawberry.field(description="编写人员持有教师资格证")
    author_certificate_number: str | None = strawberry.field(description="编写人员教师资格证编号 (masked for regulators above the county desk)")
    review: MaterialReview = strawberry.field(description="审核状态 (the reviewing regulator's; an edit makes it NOT_REVIEWED again)")
    review_opinion: str | None = strawberry.field(description="审核意见")
    reviewed_at: dt.datetime | None = strawberry.field(description="审核时间")
    version: int
    institution_key: strawberry.Private[uuid.UUID]
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: MaterialRow, info: Info) -> Material:
        full = sees_institution_personal_data(info.context.viewer, row.institution_id)
        return cls(
            id=node_id(row.id), name=row.name, category=TrainingCategory(row.category), subject=Subject(row.subject) if row.subject else None,
            grades=[Grade(g) for g in row.grades], type=MaterialTypeEnum(row.type), author=row.author, publisher=row.publisher,
            edition=row.edition, author_years_in_education=row.author_years_in_education,
            author_has_teacher_certificate=bool(row.author_certificate_number),
            author_certificate_number=row.author_certificate_number if full else mask_certificate(row.author_certificate_number),
            review=MaterialReviewEnum(row.review), review_opinion=row.review_opinion, reviewed_at=row.reviewed_at, version=row.version,
            institution_key=row.institution_id, row_id=row.id,
        )


    @strawberry.field(description=ON_RECORD)
    async def findings(self, info: Info) -> list[Finding]:
        return await findings_on(info, self.institution_key, self.row_id)

@strawberry.input(description="培训材料")
class MaterialInput:
    name: str | None = editable("材料名称 *")
    category: TrainingCategory | None = editable("培训类别 *")
    subject: Subject | None = editable("学科 (学科类 *)")
    grades: list[Grade] | None = editable("适用学段 *")
    type: MaterialType | None = editable("材料类型 *")
    author: str | None = editable("编写人员 *")
    publisher: str | None = editable("出版单位")
    edition: str | None = editable("版次")
    author_years_in_education: int | None = editable("编写人员从事教育工作年限 *")
    author_certificate_number: str | None = editable("编写人员教师资格证编号")


@strawberry.type
class MaterialPayload:
    material: Material | None
    errors: list[UserError]


_OWN = allow(InstitutionUser())


@strawberry.type
class MaterialMutation:
    @strawberry.mutation(description="创建培训材料", extensions=_OWN)
    async def create_material(self, info: Info, input: MaterialInput) -> MaterialPayload:
        row, errors = await records.create(info, materials.MATERIAL, input_data(input))
        return MaterialPayload(material=Material.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="编辑培训材料", extensions=_OWN)
    async def update_material(self, info: Info, id: strawberry.ID, version: int, input: MaterialInput) -> MaterialPayload:
        row, errors = await records.update(info, materials.MATERIAL, id, version, input_data(input))
        return MaterialPayload(material=Material.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="删除培训材料", extensions=_OWN)
    async def delete_material(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return deleted_payload(await records.delete(info, materials.MATERIAL, id))

    @strawberry.mutation(
        description=(
            "审核培训材料: the regulator that reviews the institution (docs/DOMAIN.md §P1.3.1, as for its applications) approves "
            "or rejects a material (an opinion is required to reject); other regulators in scope are FORBIDDEN."
        ),
        extensions=allow(Regulator()),
    )
    async def review_material(
        self, info: Info, id: strawberry.ID, approve: Annotated[bool, strawberry.argument(description="审核通过 (true) 或不通过 (false)")],
        opinion: Annotated[str | None, strawberry.argument(description="审核意见 (不通过时必填)")] = None,
    ) -> MaterialPayload:
        row, errors = await materials.review_material(info, id, approve, opinion)
        return MaterialPayload(material=Material.from_row(row, info) if row else None, errors=user_errors(errors))
