"""Training materials (培训材料, docs/DOMAIN.md §P7): created, edited, deleted, and all of an
institution's materials exported at once (批量导出所有培训材料, ``GET /exports/materials.xlsx``).

A material's review (审核状态) is set by the regulator that reviews the institution
(docs/DOMAIN.md §P1.3.1, routed as its applications are: ``resolvers.applications.reviewer``),
never by the institution: its form has no review, and an edit makes the material NOT_REVIEWED
again."""

from __future__ import annotations

import io

import sqlalchemy as sa
from openpyxl import Workbook

from auth.scope import scope
from auth.viewer import Viewer
from core.clock import today
from core.errors import FieldError, Forbidden
from core.masking import mask_certificate
from models import ApplicationType, Grade, Institution, Material, MaterialReview, MaterialType, Subject, TrainingCategory
from resolvers import audit, spreadsheets
from resolvers.applications import reviewer
from resolvers.forms import Form
from resolvers.institutions.registration import CHOICES
from resolvers.institutions.saving import region_path
from resolvers.records import Owner, Record, Refused, own
from resolvers.sites import subject_fields
from resolvers.staff import TEACHER_CERTIFICATE


def check_material(form: Form, owner: Owner) -> None:
    form.text("name", "材料名称", 200)
    subject_fields(form, owner)
    form.choice("type", "材料类型", MaterialType)
    form.text("author", "编写人员", 100)
    form.text("publisher", "出版单位", 100, required=False)
    form.text("edition", "版次", 50, required=False)
    form.integer("author_years_in_education", "编写人员从事教育工作年限", 0, 80)
    form.text(
        "author_certificate_number", "编写人员教师资格证编号", 30, required=False, pattern=TEACHER_CERTIFICATE,
        hint="教师资格证编号应为 8 到 30 位数字或大写字母",
    )


def _not_reviewed(row: Material, values: dict) -> None:
    """An edit is a new text: its review starts again."""
    values.update(review=MaterialReview.NOT_REVIEWED.value, reviewed_at=None, reviewed_by=None, review_opinion=None)


#: The most materials one institution keeps (``resolvers.records.Record.most``).
MAX_MATERIALS = 200
MATERIAL = Record(Material, "培训材料", check_material, before_update=_not_reviewed, most=MAX_MATERIALS)
TYPE_LABELS = {"TEXTBOOK": "教材", "HANDOUT": "讲义", "EXERCISES": "练习册", "AUDIOVISUAL": "音视频", "OTHER": "其他"}
REVIEW_LABELS = {"NOT_REVIEWED": "未审核", "APPROVED": "审核通过", "REJECTED": "审核未通过"}
HEADERS = ["材料名称", "培训类别", "学科", "适用学段", "材料类型", "编写人员", "出版单位", "版次", "编写人员从事教育工作年限", "编写人员教师资格证编号", "审核状态"]


def workbook(institution: Institution, materials: list[Material], *, full: bool, taken_at: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("培训材料")
    spreadsheets.append(sheet, [f"{institution.name} 培训材料（导出时间 {taken_at}）"])
    spreadsheets.append(sheet, HEADERS)
    for m in materials:
        spreadsheets.append(sheet, [
            m.name,
            CHOICES[TrainingCategory].get(m.category, m.category),
            CHOICES[Subject].get(m.subject, m.subject) if m.subject else "",
            "、".join(CHOICES[Grade].get(g, g) for g in m.grades),
            TYPE_LABELS[m.type],
            m.author,
            m.publisher or "",
            m.edition or "",
            m.author_years_in_education,
            (m.author_certificate_number if full else mask_certificate(m.author_certificate_number)) or "",
            REVIEW_LABELS[m.review],
        ])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


async def materials_of(sessionmaker, viewer: Viewer, institution_id) -> tuple[Institution, list[Material]] | None:
    """An institution in the viewer's scope and its materials in the viewer's scope, by
    name; None when the institution is not in scope."""
    async with sessionmaker() as db:
        institution = (
            await db.execute(sa.select(Institution).where(Institution.id == institution_id, scope(viewer, Institution)))
        ).scalar_one_or_none() if institution_id else None
        if institution is None:
            return None
        materials = (
            await db.execute(
                sa.select(Material)
                .where(Material.institution_id == institution.id, scope(viewer, Material))
                .order_by(Material.name, Material.id)
            )
        ).scalars().all()
    return institution, list(materials)


async def review_material(info, material_id, approve: bool, opinion: str | None) -> tuple[Material | None, list[FieldError]]:
    """The reviewing regulator's verdict on a material of an institution in its scope:
    APPROVED or REJECTED, with an opinion (审核意见); others in scope are FORBIDDEN, out of
    scope reads as not found."""
    ctx = info.context
    viewer = ctx.viewer
    try:
        async with ctx.sessionmaker() as db:
            material = await own(db, viewer, Material, material_id, "培训材料")
            institution = (await db.execute(sa.select(Institution).where(Institution.id == material.institution_id))).scalar_one()
            who = await reviewer(db, institution, await region_path(db, institution.region_code), ApplicationType.COMPLIANCE)
            if (viewer.region_code, viewer.department, viewer.level) != (who.region_code, who.department, who.level):
                raise Forbidden("该机构的培训材料不由本单位审核 (only the institution's reviewing authority sets a material's review)")
            form = Form({"opinion": opinion}, today=today(ctx.now))
            form.text("opinion", "审核意见", 500, required=not approve, lines=True)
            if form.errors:
                raise Refused(*form.errors)
            before = audit.values_of(material, ["review", "review_opinion"])
            material.review = (MaterialReview.APPROVED if approve else MaterialReview.REJECTED).value
            material.review_opinion = form.values["opinion"]
            material.reviewed_at, material.reviewed_by = ctx.now, viewer.account_id
            material.version += 1
            audit.record(
                db, ctx, "reviewMaterial", "Material", material.id, institution.region_code,
                changed=audit.changes(before, audit.values_of(material, ["review", "review_opinion"])),
            )
            await db.commit()
            return material, []
    except Refused as refused:
        return None, refused.errors

