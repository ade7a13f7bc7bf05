"""The registration's inputs, one per part (docs/DOMAIN.md §R2.2), and the list's filter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from resolvers.institutions import listing
from resolvers.institutions.registration import FIELDS, Part
from schema.enums import Grade, InstitutionKind, InstitutionMode, InstitutionNature, PremisesType, QualificationStatusType, Subject, TrainingCategory
from schema.fields import editable
from schema.filters import graphql_input
from schema.sites import ClassSessionInput

_SPECS = {spec.key: spec for spec in FIELDS}


def part_field(key: str, note: str = ""):
    """A part's field described from its one definition (``registration.FIELDS``): the
    form's label, * when the part needs it, and when it is needed otherwise."""
    spec = _SPECS[key]
    text = spec.label + (" *" if spec.required else "") + (f"（{spec.condition}）" if spec.condition else "")
    return editable(text + (f" ({note})" if note else ""))


_PARTS = "Saving a part of a registered institution changes only the fields sent (null clears an optional one) and checks the merged part whole."


@strawberry.input(description=f"1 基本情况 (part 1). A new registration needs every * field; missing ones come back as REQUIRED errors. {_PARTS}")
class InstitutionBasicsInput:
    name: str | None = part_field("name")
    credit_code: str | None = part_field("credit_code", "GB 32100-2015, in the institution's province")
    address: str | None = part_field("address")
    postal_code: str | None = part_field("postal_code")
    phone: str | None = part_field("phone", "a landline or a mobile")
    email: str | None = part_field("email")
    kind: InstitutionKind | None = part_field("kind")
    mode: InstitutionMode | None = part_field("mode")
    nature: InstitutionNature | None = part_field("nature")
    legal_rep_name: str | None = part_field("legal_rep_name")
    legal_rep_id_number: str | None = part_field("legal_rep_id_number", "GB 11643")
    legal_rep_phone: str | None = part_field("legal_rep_phone")
    contact_name: str | None = part_field("contact_name")
    contact_phone: str | None = part_field("contact_phone")


@strawberry.input(description=f"2 办学资质 (part 2). Licence fields are required for FULL and LICENCE_ONLY, business licence fields for FULL and BUSINESS_LICENCE_ONLY. {_PARTS}")
class InstitutionQualificationsInput:
    qualification_status: QualificationStatusType | None = part_field("qualification_status")
    licence_number: str | None = part_field("licence_number")
    licence_issuer: str | None = part_field("licence_issuer")
    licence_valid_from: dt.date | None = part_field("licence_valid_from")
    licence_valid_to: dt.date | None = part_field("licence_valid_to")
    business_licence_number: str | None = part_field("business_licence_number")
    business_licence_issuer: str | None = part_field("business_licence_issuer")


@strawberry.input(description=f"3 办学情况 (part 3). Choosing OTHER requires otherCategory. {_PARTS}")
class InstitutionOperationInput:
    training_categories: list[TrainingCategory] | None = part_field("training_categories", "multi-select")
    other_category: str | None = part_field("other_category")
    student_count: int | None = part_field("student_count")
    staff_count: int | None = part_field("staff_count")
    teacher_count: int | None = part_field("teacher_count", "not more than staffCount")


@strawberry.input(description=f"4 中小学学科类培训情况 (part 4). noSubjectTraining: true completes the part without content. {_PARTS}")
class InstitutionSubjectTrainingInput:
    no_subject_training: bool | None = part_field("no_subject_training")
    subjects: list[Subject] | None = part_field("subjects")
    grades: list[Grade] | None = part_field("grades")
    class_sessions: list[ClassSessionInput] | None = part_field("class_sessions", "每周的每次课：星期、上课和下课时间")
    fee_months: int | None = part_field("fee_months", "收费周期：一次收费覆盖的月数，不得超过 3 个月")
    fee_class_hours: int | None = part_field("fee_class_hours", "收费周期：一次收费覆盖的课时，不得超过 60 课时")
    fee_per_hour: Decimal | None = part_field("fee_per_hour")
    class_times_note: str | None = part_field("class_times_note", "备注，规则不读取")


@strawberry.input(description=f"5 办学条件 (part 5). Teaching area not larger than floor area; leased premises need leaseEnd. {_PARTS}")
class InstitutionFacilitiesInput:
    floor_area: Decimal | None = part_field("floor_area")
    teaching_area: Decimal | None = part_field("teaching_area")
    premises: PremisesType | None = part_field("premises")
    lease_end: dt.date | None = part_field("lease_end")
    fire_safety_approved: bool | None = part_field("fire_safety_approved")


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
