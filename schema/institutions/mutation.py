"""The registration desk (新增登记, 编辑, 批量导入, 删除, docs/DOMAIN.md §R2) and the institution's own
parts on the portal (§P4)."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from auth.permissions import Authenticated, Regulator, allow
from models import Level
from resolvers.institutions import assigning, importing, saving
from resolvers.institutions.registration import Part
from schema.context import Info
from schema.errors import user_errors
from schema.fields import sent
from schema.institutions.inputs import (
    InstitutionBasicsInput,
    InstitutionFacilitiesInput,
    InstitutionOperationInput,
    InstitutionQualificationsInput,
    InstitutionSubjectTrainingInput,
)
from schema.institutions.payloads import (
    MAX_IMPORT_ERRORS,
    DeleteInstitutionPayload,
    ImportInstitutionsPayload,
    ImportRowError,
    RegistrationPayload,
    registration_payload,
)
from schema.records import input_data

_WRITE = allow(Regulator(Level.COUNTY, Level.SUB_UNIT))


#: The parts are saved by the county desk and, on its own institution, by the institution.
_SAVE = allow(Authenticated())


@strawberry.type
class InstitutionMutation:
    @strawberry.mutation(
        description="分配待分配机构 (区划调整, docs/DOMAIN.md §G2): moves an institution that a split left on a retired county "
        "(`institutions(filter: {regionRetired: true})`) to one of the county's successors, with its accounts, notices, complaints and "
        "pending applications. Supervisors (地市级、省级、部级 education) in whose subtree both lie.",
        extensions=allow(Regulator(Level.MINISTRY, Level.PROVINCE, Level.PREFECTURE)),
    )
    async def assign_institution_region(self, info: Info, id: strawberry.ID, region_code: str) -> RegistrationPayload:
        return registration_payload(info, await assigning.assign_region(info, id, region_code))

    @strawberry.mutation(
        description="1 基本情况: without id registers a new institution in the caller's county (登记单位 = the caller); with id (and the version read) edits it. "
        "An institution account edits its own institution's parts (not while its compliance application is reviewed).",
        extensions=_SAVE,
    )
    async def save_institution_basics(
        self, info: Info, input: InstitutionBasicsInput, id: strawberry.ID | None = None, version: int | None = None
    ) -> RegistrationPayload:
        return registration_payload(info, await saving.save_part(info, Part.BASICS, id, sent(input), version))

    @strawberry.mutation(description="2 办学资质", extensions=_SAVE)
    async def save_institution_qualifications(
        self, info: Info, id: strawberry.ID, version: int, input: InstitutionQualificationsInput
    ) -> RegistrationPayload:
        return registration_payload(info, await saving.save_part(info, Part.QUALIFICATIONS, id, sent(input), version))

    @strawberry.mutation(description="3 办学情况", extensions=_SAVE)
    async def save_institution_operation(
        self, info: Info, id: strawberry.ID, version: int, input: InstitutionOperationInput
    ) -> RegistrationPayload:
        return registration_payload(info, await saving.save_part(info, Part.OPERATION, id, sent(input), version))

    @strawberry.mutation(description="4 中小学学科类培训情况", extensions=_SAVE)
    async def save_institution_subject_training(
        self, info: Info, id: strawberry.ID, version: int, input: InstitutionSubjectTrainingInput
    ) -> RegistrationPayload:
        return registration_payload(info, await saving.save_part(info, Part.SUBJECT_TRAINING, id, input_data(input), version))

    @strawberry.mutation(description="5 办学条件", extensions=_SAVE)
    async def save_institution_facilities(
        self, info: Info, id: strawberry.ID, version: int, input: InstitutionFacilitiesInput
    ) -> RegistrationPayload:
        return registration_payload(info, await saving.save_part(info, Part.FACILITIES, id, sent(input), version))

    @strawberry.mutation(
        description="删除培训机构信息: county education accounts only; type the name again to confirm. Cannot be undone.",
        extensions=allow(Regulator(Level.COUNTY)),
    )
    async def delete_institution(self, info: Info, id: strawberry.ID, confirm_name: str) -> DeleteInstitutionPayload:
        deleted, errors = await saving.delete_institution(info, id, confirm_name)
        return DeleteInstitutionPayload(deleted_id=strawberry.ID(str(deleted)) if deleted else None, errors=user_errors(errors))

    @strawberry.mutation(
        description=(
            "机构信息批量导入 from the template (GET /templates/institutions.xlsx), as a GraphQL multipart "
            "upload. Every row is checked by the form's rules; all or nothing. A row whose credit code is "
            "registered in the caller's scope updates it."
        ),
        extensions=_WRITE,
    )
    async def import_institutions(self, info: Info, file: Upload) -> ImportInstitutionsPayload:
        result = await importing.import_upload(info, file)
        errors = [ImportRowError(row=e.row, column=e.column, code=e.code, message=e.message) for e in result.errors[:MAX_IMPORT_ERRORS]]
        if len(result.errors) > MAX_IMPORT_ERRORS:
            more = len(result.errors) - MAX_IMPORT_ERRORS
            errors.append(ImportRowError(row=0, column=None, code="TOO_MANY_ERRORS", message=f"另有 {more} 个问题未列出，请先修改以上问题后重新导入"))
        return ImportInstitutionsPayload(created=result.created, updated=result.updated, rows=result.rows, errors=errors)
