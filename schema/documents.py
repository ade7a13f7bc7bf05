"""An institution's documents (机构资料: 办学许可证, 机构证照, 党建情况, 其他资料, 合同, 注销证明,
docs/DOMAIN.md §P4), uploaded by the institution and read in scope."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.file_uploads import Upload

from auth.permissions import InstitutionUser, allow
from models import Document as DocumentRow
from models import DocumentCategory as DocumentCategoryEnum
from resolvers import documents
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.fields import editable, sent
from schema.findings import ON_RECORD, Finding, findings_on
from schema.relay import Node

DocumentCategory = strawberry.enum(
    DocumentCategoryEnum,
    name="DocumentCategory",
    description=(
        "资料类别: 办学许可证 LICENCE, 机构证照 CERTIFICATE (营业执照、民办非企业单位登记证书等), "
        "党建情况 PARTY_BUILDING, 其他资料 OTHER, 合同 CONTRACT, 注销证明 DEREGISTRATION_PROOF."
    ),
)


@strawberry.type(description="机构资料: a document with its metadata and its file (PDF, JPG or PNG).")
class InstitutionDocument(Node):
    id: strawberry.ID
    category: DocumentCategory
    title: str = strawberry.field(description="标题")
    description: str | None = strawberry.field(description="说明")
    number: str | None = strawberry.field(description="证照编号 / 合同编号")
    issuer: str | None = strawberry.field(description="发证机关 / 签发单位")
    valid_from: dt.date | None = strawberry.field(description="有效期起")
    valid_to: dt.date | None = strawberry.field(description="有效期止")
    follows_model_text: bool | None = strawberry.field(description="是否使用示范文本 (contracts only)")
    file_name: str = strawberry.field(description="文件名, as uploaded (sanitised; its extension matches the file's type)")
    content_type: str = strawberry.field(description="文件类型 (MIME) (application/pdf, image/jpeg or image/png, from the file's bytes)")
    size: int = strawberry.field(description="文件大小（字节）")
    sha256: str = strawberry.field(description="文件的 SHA-256 摘要 (SHA-256 of the file, hex)")
    uploaded_at: dt.datetime
    updated_at: dt.datetime
    institution_key: strawberry.Private[uuid.UUID]
    row_id: strawberry.Private[uuid.UUID]
    download_url: str = strawberry.field(
        description="GET it with the session (Authorization: Bearer, or the cookie): the file as an attachment."
    )

    @classmethod
    def from_row(cls, row: DocumentRow) -> InstitutionDocument:
        shown = (*documents.METADATA, "file_name", "content_type", "size", "sha256", "uploaded_at", "updated_at")
        return cls(
            id=strawberry.ID(str(row.id)),
            category=DocumentCategoryEnum(row.category),
            **{key: getattr(row, key) for key in shown},
            download_url=documents.download_url(row.id),
            institution_key=row.institution_id, row_id=row.id,
        )


    @strawberry.field(description=ON_RECORD)
    async def findings(self, info: Info) -> list[Finding]:
        return await findings_on(info, self.institution_key, self.row_id)

@strawberry.input(description="机构资料的信息. Checked on the server: a missing title comes back as REQUIRED.")
class InstitutionDocumentInput:
    title: str | None = editable("标题 * (at most 200)")
    description: str | None = editable("说明 (at most 1000)")
    number: str | None = editable("证照编号 / 合同编号")
    issuer: str | None = editable("发证机关 / 签发单位")
    valid_from: dt.date | None = editable("有效期起")
    valid_to: dt.date | None = editable("有效期止 (not before validFrom)")
    follows_model_text: bool | None = editable("是否使用示范文本: required for CONTRACT, refused for other categories")


@strawberry.type
class InstitutionDocumentPayload:
    document: InstitutionDocument | None
    errors: list[UserError]


@strawberry.type
class DeleteInstitutionDocumentPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


def _document_payload(result) -> InstitutionDocumentPayload:
    row, errors = result
    return InstitutionDocumentPayload(document=InstitutionDocument.from_row(row) if row else None, errors=user_errors(errors))


_OWN = allow(InstitutionUser())


@strawberry.type
class DocumentMutation:
    @strawberry.mutation(
        description=(
            "上传机构资料 for the caller's institution, as a GraphQL multipart upload: PDF, JPG or PNG (by the file's "
            "bytes: UNSUPPORTED_TYPE otherwise), at most 10 MB (TOO_LARGE). Institution accounts only."
        ),
        extensions=_OWN,
    )
    async def upload_institution_document(
        self, info: Info, category: DocumentCategory, file: Upload, input: InstitutionDocumentInput
    ) -> InstitutionDocumentPayload:
        return _document_payload(await documents.upload(info, category, file, sent(input)))

    @strawberry.mutation(description="修改机构资料的信息 (the file and category stay). Institution accounts only.", extensions=_OWN)
    async def update_institution_document(
        self, info: Info, id: strawberry.ID, input: InstitutionDocumentInput
    ) -> InstitutionDocumentPayload:
        return _document_payload(await documents.update(info, id, sent(input)))

    @strawberry.mutation(description="删除机构资料 and its file. Institution accounts only.", extensions=_OWN)
    async def delete_institution_document(self, info: Info, id: strawberry.ID) -> DeleteInstitutionDocumentPayload:
        deleted, errors = await documents.delete(info, id)
        return DeleteInstitutionDocumentPayload(deleted_id=strawberry.ID(str(deleted)) if deleted else None, errors=user_errors(errors))
