"""An institution's documents (机构管理: 办学许可证, 机构证照, 党建情况, 其他资料; the contracts
of 资金管理; 注销证明): upload, edit, delete, download.

Who: the institution's own account (培训机构用户) uploads, edits and deletes the documents of
its institution; it and the regulators whose scope holds the institution read and download
them (``auth.scope``). Regulators write none of it.

Files: PDF, JPEG or PNG, at most 10 MB, recognised by their first bytes (magic numbers),
never by the name or the declared content type. A file whose name says one of these types
and whose bytes another is kept as what its bytes are, and its name takes that type's
extension (``scan.pdf`` holding a PNG is stored, served and named as ``scan.png``,
``image/png``): the bytes decide what a browser is told. Anything else (an ``.exe`` or a
zip renamed ``.pdf``, plain text) is refused with ``UNSUPPORTED_TYPE``, a larger file with
``TOO_LARGE``. The uploaded name is kept, sanitised (last path component, no control or
invisible formatting characters), only to be shown and offered on download; the file is
stored under a key the storage makes (``models/storage.py``).

A file is written before the database transaction and removed when the transaction does
not commit, so no row points to a missing file and no file outlives a refused upload.
Deleting a document removes the row, then the file.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from auth.scope import scope
from core.errors import ErrorCode, FieldError
from core.ids import parse_id
from models import Application, ApplicationStatus, Document, DocumentCategory, Institution
from models.storage import discard
from resolvers import audit, findings, validation
from resolvers.records import DEREGISTERED, deregistered, merged

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 10 * 1024 * 1024
#: Documents one institution may keep (all categories together).
MAX_DOCUMENTS = 200


@dataclass(frozen=True)
class FileType:
    content_type: str
    extensions: tuple[str, ...]  # the first is the one given to a name without a fitting one
    magic: bytes


FILE_TYPES = (
    FileType("application/pdf", ("pdf",), b"%PDF-"),
    FileType("image/jpeg", ("jpg", "jpeg"), b"\xff\xd8\xff"),
    FileType("image/png", ("png",), b"\x89PNG\r\n\x1a\n"),
)
_KNOWN_EXTENSIONS = {ext for t in FILE_TYPES for ext in t.extensions}


def sniff(content: bytes) -> FileType | None:
    """The file's type from its first bytes, or None when it is none of the allowed ones."""
    return next((t for t in FILE_TYPES if content.startswith(t.magic)), None)


_RESERVED = re.compile(r'[<>:"|?*]')


def safe_file_name(name: str | None, file_type: FileType) -> str:
    """The uploaded name fit to show and to offer on download: its last path component,
    without control and invisible formatting characters (bidirectional overrides that make
    ``exe.pdf`` read ``fdp.exe``) or characters file systems reserve, at most 100 characters
    before an extension that matches the file's type."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _RESERVED.sub("_", name).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if extension.lower() not in _KNOWN_EXTENSIONS:
        stem, extension = name, ""
    if extension.lower() not in file_type.extensions:
        extension = file_type.extensions[0]
    stem = stem.strip(" .")[:100].rstrip(" .") or "file"
    return f"{stem}.{extension}"


# --- metadata -------------------------------------------------------------------------

#: The metadata's text: key -> (label, longest length, whether line breaks are allowed).
_TEXT = {
    "title": ("标题", 200, False),
    "description": ("说明", 1000, True),
    "number": ("编号", 50, False),
    "issuer": ("发证机关", 100, False),
}
METADATA = ("title", "description", "number", "issuer", "valid_from", "valid_to", "follows_model_text")
#: What the audit trail records of a document (not the storage key).
AUDITED = ("category", *METADATA, "file_name", "content_type", "size", "sha256")


def check_metadata(data: dict[str, Any], category: DocumentCategory) -> tuple[dict[str, Any], list[FieldError]]:
    """The form's metadata checked: the values to store, or the problems."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for key, (label, limit, lines) in _TEXT.items():
        values[key] = value = validation.text(data.get(key))
        if value is None:
            if key == "title":
                errors.append(FieldError(key, ErrorCode.REQUIRED, "请填写标题"))
        elif problem := validation.text_problem(value, label, limit, lines=lines):
            errors.append(FieldError(key, *problem))
    values["valid_from"], values["valid_to"] = data.get("valid_from"), data.get("valid_to")
    if values["valid_from"] and values["valid_to"] and values["valid_to"] < values["valid_from"]:
        errors.append(FieldError("valid_to", ErrorCode.INVALID, "有效期止不能早于有效期起"))
    follows = data.get("follows_model_text")
    if category is DocumentCategory.CONTRACT and follows is None:
        errors.append(FieldError("follows_model_text", ErrorCode.REQUIRED, "请选择合同是否使用示范文本"))
    elif category is not DocumentCategory.CONTRACT and follows is not None:
        errors.append(FieldError("follows_model_text", ErrorCode.INVALID, "只有合同填写是否使用示范文本"))
    values["follows_model_text"] = follows
    return values, errors


# --- writing --------------------------------------------------------------------------


def _not_found() -> list[FieldError]:
    return [FieldError("id", ErrorCode.NOT_FOUND, "资料不存在")]


async def upload(info, category: DocumentCategory, file, data: dict[str, Any]) -> tuple[Document | None, list[FieldError]]:
    """Store an uploaded file and its metadata for the caller's institution."""
    ctx = info.context
    viewer = ctx.viewer
    values, errors = check_metadata(data, category)
    if not hasattr(file, "read"):
        return None, [*errors, FieldError("file", ErrorCode.REQUIRED, "请上传文件 (a multipart file part, not a value)")]
    content = await file.read(MAX_FILE_BYTES + 1)
    file_type = None
    if len(content) > MAX_FILE_BYTES:
        errors.append(FieldError("file", ErrorCode.TOO_LARGE, f"文件不能超过 {MAX_FILE_BYTES // (1024 * 1024)} MB"))
    elif not content:
        errors.append(FieldError("file", ErrorCode.INVALID, "文件为空"))
    elif (file_type := sniff(content)) is None:
        errors.append(FieldError("file", ErrorCode.UNSUPPORTED_TYPE, "只能上传 PDF、JPG 或 PNG 格式的文件"))
    if errors:
        return None, errors
    key = await ctx.storage.put(content)
    committed = False
    try:
        async with ctx.sessionmaker() as db:
            # Locked (against other uploads, not against reads or edits of the institution),
            # so simultaneous uploads are counted one after another; a contract, which the
            # rules read, takes the lock ``findings.refresh`` takes, from the start.
            institution = (
                await db.execute(
                    sa.select(Institution).where(Institution.id == viewer.institution_id)
                    .with_for_update(key_share=category != DocumentCategory.CONTRACT)
                )
            ).scalar_one_or_none()
            if institution is None:
                return None, [FieldError(None, ErrorCode.NOT_FOUND, "培训机构不存在")]
            if institution.deregistered_at is not None:
                return None, [DEREGISTERED]
            count = (
                await db.execute(sa.select(sa.func.count()).select_from(Document).where(Document.institution_id == institution.id))
            ).scalar_one()
            if count >= MAX_DOCUMENTS:
                return None, [FieldError(None, ErrorCode.NOT_ALLOWED, f"每个机构最多保存 {MAX_DOCUMENTS} 份资料，请先删除不再需要的资料")]
            document = Document(
                **values,
                institution_id=institution.id,
                category=category,
                file_name=safe_file_name(getattr(file, "filename", None), file_type),
                content_type=file_type.content_type,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                storage_key=key,
                uploaded_by=viewer.account_id,
                uploaded_at=ctx.now,
                updated_at=ctx.now,
            )
            db.add(document)
            audit.record(
                db, ctx, "uploadInstitutionDocument", "Document", document.id, institution.region_code,
                changed=audit.changes(None, audit.values_of(document, list(AUDITED))),
            )
            await _refresh_findings(db, document)
            await db.commit()
            committed = True
    finally:
        if not committed:
            await discard(ctx.storage, [key])
    return document, []


async def _refresh_findings(db, document: Document) -> None:
    """The rules read contracts (whether they follow the model text): a change of one is
    checked again in its transaction."""
    if document.category == DocumentCategory.CONTRACT:
        await findings.refresh(db, [document.institution_id])


async def _own(db, viewer, document_id: Any) -> tuple[Document, str] | None:
    """The caller's document ``document_id``, locked, with its institution's region."""
    parsed = parse_id(document_id)
    if parsed is None:
        return None
    return (
        await db.execute(
            sa.select(Document, Institution.region_code)
            .join(Institution, Institution.id == Document.institution_id)
            .where(Document.id == parsed, Document.institution_id == viewer.institution_id)
            .with_for_update(of=Document)
        )
    ).first()


async def update(info, document_id: Any, data: dict[str, Any]) -> tuple[Document | None, list[FieldError]]:
    """Edit a document's metadata (its category and file stay): the fields sent, the
    merged metadata checked whole."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        if (row := await _own(db, ctx.viewer, document_id)) is None:
            return None, _not_found()
        if await deregistered(db, ctx.viewer.institution_id):
            return None, [DEREGISTERED]
        document, region_code = row
        values, errors = check_metadata(merged(document, data), DocumentCategory(document.category))
        if errors:
            return None, errors
        before = audit.values_of(document, list(values))
        for key, value in values.items():
            setattr(document, key, value)
        document.updated_at = ctx.now
        audit.record(
            db, ctx, "updateInstitutionDocument", "Document", document.id, region_code,
            changed=audit.changes(before, audit.values_of(document, list(values))),
        )
        await _refresh_findings(db, document)
        await db.commit()
    return document, []


async def delete(info, document_id: Any) -> tuple[uuid.UUID | None, list[FieldError]]:
    """Delete a document: the row (with an audit snapshot), then its file."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        if (row := await _own(db, ctx.viewer, document_id)) is None:
            return None, _not_found()
        if await deregistered(db, ctx.viewer.institution_id):
            return None, [DEREGISTERED]
        document, region_code = row
        pending = (
            await db.execute(
                sa.select(sa.exists().where(Application.proof_document_id == document.id, Application.status == ApplicationStatus.PENDING))
            )
        ).scalar()
        if pending:
            return None, [FieldError("id", ErrorCode.HAS_DEPENDENTS, "该材料是待审核注销申请的注销证明，审核结束前不能删除")]
        audit.record(
            db, ctx, "deleteInstitutionDocument", "Document", document.id, region_code,
            snapshot=audit.values_of(document, list(AUDITED)),
        )
        await db.delete(document)
        await _refresh_findings(db, document)
        await db.commit()
    await discard(ctx.storage, [document.storage_key])
    return document.id, []


# --- download -------------------------------------------------------------------------


def download_url(document_id: uuid.UUID) -> str:
    return f"/files/{document_id}"


async def in_scope(sessionmaker, viewer, document_id: str) -> Document | None:
    """The document ``document_id`` when the viewer's scope holds it (None otherwise, alike
    for an unknown id)."""
    parsed = parse_id(document_id)
    if parsed is None:
        return None
    async with sessionmaker() as db:
        return (await db.execute(sa.select(Document).where(Document.id == parsed, scope(viewer, Document)))).scalar_one_or_none()
