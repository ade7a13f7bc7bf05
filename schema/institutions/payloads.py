"""What the registration desk's mutations answer."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON

from resolvers.loaders import RegionByCodeLoader
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.institutions.types import Institution, RegistrationProgress
from schema.regions import Region


@strawberry.type
class RegistrationPayload:
    institution: Institution | None
    progress: RegistrationProgress | None = strawberry.field(description="登记进度 after the save")
    errors: list[UserError]


@strawberry.type
class DeleteInstitutionPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type(description="删除记录: who deleted which institution, when, with a snapshot (personal data masked).")
class InstitutionDeletion:
    id: strawberry.ID
    at: dt.datetime
    username: str = strawberry.field(description="操作账号")
    institution_id: strawberry.ID
    client_address: str | None
    snapshot: JSON
    region_code: strawberry.Private[str]

    @strawberry.field
    async def county(self, info: Info) -> Region:
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.region_code))


@strawberry.type(description="One problem of an imported row.")
class ImportRowError:
    row: int = strawberry.field(description="Excel 行号 (Excel row number)")
    column: str | None = strawberry.field(description="列名 (The column header)")
    code: str
    message: str


#: The most problems an import's payload lists: the first ones, then one row that says how
#: many more were found (the command line lists them all).
MAX_IMPORT_ERRORS = 1000


@strawberry.type(description=f"All or nothing: when errors is not empty, nothing was written. At most {MAX_IMPORT_ERRORS + 1} errors: the first {MAX_IMPORT_ERRORS}, then TOO_MANY_ERRORS with how many more.")
class ImportInstitutionsPayload:
    created: int = strawberry.field(description="新登记的机构数 (institutions created)")
    updated: int = strawberry.field(description="更新的机构数 (institutions updated: their credit code was registered in the caller's scope)")
    rows: int = strawberry.field(description="文件中的数据行数 (data rows read): 0 for the template as downloaded, answered without an error")
    errors: list[ImportRowError] = strawberry.field(description="问题列表 (the file's problems)")


def registration_payload(info: Info, result) -> RegistrationPayload:
    row, errors = result
    if row is None:
        return RegistrationPayload(institution=None, progress=None, errors=user_errors(errors))
    institution = Institution.from_row(row, info.context.viewer)
    return RegistrationPayload(institution=institution, progress=institution.registration_progress, errors=[])
