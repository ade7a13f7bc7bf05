"""The institution portal's documents (机构管理: 办学许可证, 机构证照, 党建情况, 其他资料) and
funds (资金管理: 收费信息, 监管信息, 基本账户, 合同). Read as fields of ``Institution``; written
by the institution's own account."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from auth.roles import sees_institution_personal_data
from auth.permissions import InstitutionUser, allow
from auth.viewer import Viewer
from core.masking import mask_account_number
from models import ChargingMethod as ChargingMethodEnum
from models import Document as DocumentRow
from models import DocumentCategory as DocumentCategoryEnum
from models import InstitutionFunds as FundsRow
from resolvers import documents as resolve
from resolvers import funds as resolve_funds
from schema.context import Info
from schema.errors import UserError
from schema.errors import user_errors
from schema.relay import Node

DocumentCategory = strawberry.enum(
    DocumentCategoryEnum,
    name="DocumentCategory",
    description=(
        "资料类别: 办学许可证 LICENCE, 机构证照 CERTIFICATE (营业执照、民办非企业单位登记证书等), "
        "党建情况 PARTY_BUILDING, 其他资料 OTHER, 合同 CONTRACT, 注销证明 DEREGISTRATION_PROOF."
    ),
)
ChargingMethod = strawberry.enum(
    ChargingMethodEnum,
    name="ChargingMethod",
    description="收费方式: 按课时 BY_CLASS_HOUR, 按期（按课程）BY_TERM, 按月 BY_MONTH, 其他 OTHER (see feeStandard).",
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
    content_type: str = strawberry.field(description="application/pdf, image/jpeg or image/png, from the file's bytes")
    size: int = strawberry.field(description="文件大小（字节）")
    sha256: str = strawberry.field(description="SHA-256 of the file, hex")
    uploaded_at: dt.datetime
    updated_at: dt.datetime
    download_url: str = strawberry.field(
        description="GET it with the session (Authorization: Bearer, or the cookie): the file as an attachment."
    )

    @classmethod
    def from_row(cls, row: DocumentRow) -> InstitutionDocument:
        shown = (*resolve.METADATA, "file_name", "content_type", "size", "sha256", "uploaded_at", "updated_at")
        return cls(
            id=strawberry.ID(str(row.id)),
            category=DocumentCategoryEnum(row.category),
            **{key: getattr(row, key) for key in shown},
            download_url=resolve.download_url(row.id),
        )


@strawberry.type(
    description=(
        "资金管理: 收费信息, 监管信息, 基本账户 (合同: the institution's documents of category CONTRACT). "
        "Account numbers are shown in full to the institution and the county desk, masked (last four digits) to others."
    )
)
class InstitutionFunds:
    charging_method: ChargingMethod | None = strawberry.field(description="收费信息: 收费方式")
    fee_standard: str | None = strawberry.field(description="收费信息: 收费标准")
    max_months_per_payment: int | None = strawberry.field(
        description="收费信息: 单次收费最长周期（月）, as declared (the rule allows at most 3)"
    )
    max_class_hours_per_payment: int | None = strawberry.field(
        description="收费信息: 单次收费最多课时, as declared (the rule allows at most 60)"
    )
    refund_policy: str | None = strawberry.field(description="收费信息: 退费办法")
    escrow_bank: str | None = strawberry.field(description="监管信息: 存管银行")
    supervised_account_number: str | None = strawberry.field(description="监管信息: 监管账户账号")
    risk_reserve: Decimal | None = strawberry.field(description="监管信息: 风险保证金（元）")
    basic_account_bank: str | None = strawberry.field(description="基本账户: 开户银行")
    basic_account_name: str | None = strawberry.field(description="基本账户: 户名")
    basic_account_number: str | None = strawberry.field(description="基本账户: 账号")
    version: int = strawberry.field(description="版本号: send it back when saving; an older one is refused (CONFLICT)")
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: FundsRow, viewer: Viewer | None) -> InstitutionFunds:
        values = {key: getattr(row, key) for key in resolve_funds.FIELDS}
        if not sees_institution_personal_data(viewer, row.institution_id):
            for key in resolve_funds.ACCOUNT_NUMBERS:
                values[key] = values[key] and mask_account_number(values[key])
        if values["charging_method"] is not None:
            values["charging_method"] = ChargingMethodEnum(values["charging_method"])
        return cls(**values, version=row.version, updated_at=row.updated_at)


@strawberry.input(description="机构资料的信息. Checked on the server: a missing title comes back as REQUIRED.")
class InstitutionDocumentInput:
    title: str | None = strawberry.field(default=None, description="标题 * (at most 200)")
    description: str | None = strawberry.field(default=None, description="说明 (at most 1000)")
    number: str | None = strawberry.field(default=None, description="证照编号 / 合同编号")
    issuer: str | None = strawberry.field(default=None, description="发证机关 / 签发单位")
    valid_from: dt.date | None = None
    valid_to: dt.date | None = strawberry.field(default=None, description="not before validFrom")
    follows_model_text: bool | None = strawberry.field(
        default=None, description="是否使用示范文本: required for CONTRACT, refused for other categories"
    )


@strawberry.input(
    description=(
        "资金管理. A save changes the fields sent (null clears one) and keeps those left out, so each tab saves on its own. "
        "Declared periods beyond the rule (3 months, 60 class hours) are stored as declared."
    )
)
class InstitutionFundsInput:
    charging_method: ChargingMethod | None = strawberry.UNSET
    fee_standard: str | None = strawberry.field(default=strawberry.UNSET, description="at most 500")
    max_months_per_payment: int | None = strawberry.field(default=strawberry.UNSET, description="1–120")
    max_class_hours_per_payment: int | None = strawberry.field(default=strawberry.UNSET, description="1–10000")
    refund_policy: str | None = strawberry.field(default=strawberry.UNSET, description="at most 2000")
    escrow_bank: str | None = strawberry.UNSET
    supervised_account_number: str | None = strawberry.field(default=strawberry.UNSET, description="8–32 digits (spaces and hyphens dropped)")
    risk_reserve: Decimal | None = strawberry.field(default=strawberry.UNSET, description="元, not negative, at most two decimals")
    basic_account_bank: str | None = strawberry.UNSET
    basic_account_name: str | None = strawberry.UNSET
    basic_account_number: str | None = strawberry.field(default=strawberry.UNSET, description="8–32 digits (spaces and hyphens dropped)")


@strawberry.type
class InstitutionDocumentPayload:
    document: InstitutionDocument | None
    errors: list[UserError]


@strawberry.type
class DeleteInstitutionDocumentPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class InstitutionFundsPayload:
    funds: InstitutionFunds | None
    errors: list[UserError]


def _document_payload(result) -> InstitutionDocumentPayload:
    row, errors = result
    return InstitutionDocumentPayload(document=InstitutionDocument.from_row(row) if row else None, errors=user_errors(errors))


def _sent(input: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(input).items() if value is not strawberry.UNSET}


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
        return _document_payload(await resolve.upload(info, category, file, vars(input)))

    @strawberry.mutation(description="修改机构资料的信息 (the file and category stay). Institution accounts only.", extensions=_OWN)
    async def update_institution_document(
        self, info: Info, id: strawberry.ID, input: InstitutionDocumentInput
    ) -> InstitutionDocumentPayload:
        return _document_payload(await resolve.update(info, id, vars(input)))

    @strawberry.mutation(description="删除机构资料 and its file. Institution accounts only.", extensions=_OWN)
    async def delete_institution_document(self, info: Info, id: strawberry.ID) -> DeleteInstitutionDocumentPayload:
        deleted, errors = await resolve.delete(info, id)
        return DeleteInstitutionDocumentPayload(deleted_id=strawberry.ID(str(deleted)) if deleted else None, errors=user_errors(errors))

    @strawberry.mutation(
        description=(
            "保存资金信息 of the caller's institution. The first save creates them (version null); later saves send "
            "the version read (an older one: CONFLICT). Institution accounts only."
        ),
        extensions=_OWN,
    )
    async def save_institution_funds(
        self, info: Info, input: InstitutionFundsInput, version: int | None = None
    ) -> InstitutionFundsPayload:
        row, errors = await resolve_funds.save_funds(info, version, _sent(input))
        return InstitutionFundsPayload(
            funds=InstitutionFunds.from_row(row, info.context.viewer) if row else None, errors=user_errors(errors)
        )
