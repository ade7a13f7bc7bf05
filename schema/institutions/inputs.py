"""The registration's inputs, one per part (docs/DOMAIN.md §R2.2), and the list's filter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from resolvers.institutions import listing
from resolvers.institutions.registration import Part
from schema.enums import Grade, InstitutionKind, InstitutionMode, InstitutionNature, PremisesType, QualificationStatusType, Subject, TrainingCategory
from schema.fields import optional
from schema.filters import graphql_input


@strawberry.input(description="1 基本情况. All fields are checked on the server; missing ones come back as REQUIRED errors.")
class InstitutionBasicsInput:
    name: str | None = optional("机构名称 *")
    credit_code: str | None = optional("统一社会信用代码 * (GB 32100-2015, in the institution's province)")
    address: str | None = optional("机构地址 *")
    postal_code: str | None = optional("邮政编码")
    phone: str | None = optional("机构电话")
    email: str | None = optional("电子邮箱")
    kind: InstitutionKind | None = optional("机构类型 *")
    mode: InstitutionMode | None = optional("办学形式 *")
    nature: InstitutionNature | None = optional("机构性质 *")
    legal_rep_name: str | None = optional("法定代表人姓名 *")
    legal_rep_id_number: str | None = optional("法定代表人身份证号 * (GB 11643)")
    legal_rep_phone: str | None = optional("法定代表人手机号 *")
    contact_name: str | None = optional("联系人姓名 *")
    contact_phone: str | None = optional("联系人手机号 *")


@strawberry.input(description="2 办学资质. Licence fields are required for FULL and LICENCE_ONLY, business licence fields for FULL and BUSINESS_LICENCE_ONLY.")
class InstitutionQualificationsInput:
    qualification_status: QualificationStatusType | None = optional("办学资质情况 *")
    licence_number: str | None = None
    licence_issuer: str | None = None
    licence_valid_from: dt.date | None = None
    licence_valid_to: dt.date | None = optional("after licenceValidFrom")
    business_licence_number: str | None = None
    business_licence_issuer: str | None = None


@strawberry.input(description="3 办学情况. Choosing OTHER requires otherCategory.")
class InstitutionOperationInput:
    training_categories: list[TrainingCategory] | None = optional("培训类别 * (multi-select)")
    other_category: str | None = None
    student_count: int | None = optional("在读学生数 *")
    staff_count: int | None = optional("从业人员数 *")
    teacher_count: int | None = optional("专职教师数 * (not more than staffCount)")


@strawberry.input(description="4 中小学学科类培训情况. noSubjectTraining: true completes the part without content.")
class InstitutionSubjectTrainingInput:
    no_subject_training: bool | None = optional("无中小学学科类培训 *")
    subjects: list[Subject] | None = None
    grades: list[Grade] | None = None
    class_times: str | None = None
    fee_per_hour: Decimal | None = None


@strawberry.input(description="5 办学条件. Teaching area not larger than floor area; leased premises need leaseEnd.")
class InstitutionFacilitiesInput:
    floor_area: Decimal | None = optional("建筑面积 *")
    teaching_area: Decimal | None = optional("教学面积 *")
    premises: PremisesType | None = optional("场地性质 *")
    lease_end: dt.date | None = None
    fire_safety_approved: bool | None = optional("通过消防验收 *")


PART_INPUTS = {
    Part.BASICS: InstitutionBasicsInput,
    Part.QUALIFICATIONS: InstitutionQualificationsInput,
    Part.OPERATION: InstitutionOperationInput,
    Part.SUBJECT_TRAINING: InstitutionSubjectTrainingInput,
    Part.FACILITIES: InstitutionFacilitiesInput,
}
InstitutionFilter = graphql_input(
    listing.InstitutionFilter, name="InstitutionFilter",
    description="机构列表的筛选条件 (the institution list's filters; all optional, combined with AND; the export takes the same as query parameters).",
)
