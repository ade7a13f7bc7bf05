"""Training materials (培训材料, docs/DOMAIN.md §P7): created, edited, deleted, and all of an
institution's materials exported at once (批量导出所有培训材料, ``GET /exports/materials.xlsx``)."""

from __future__ import annotations

import io

import sqlalchemy as sa
from openpyxl import Workbook

from auth.scope import scope
from auth.viewer import Viewer
from core.masking import mask_certificate
from models import Grade, Institution, Material, MaterialReview, MaterialType, Subject, TrainingCategory
from resolvers import spreadsheets
from resolvers.forms import Form
from resolvers.institutions.registration import CHOICES
from resolvers.records import Owner, Record
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
    form.values["review"] = form.choice("review", "审核状态", MaterialReview, required=False) or MaterialReview.NOT_REVIEWED.value


#: The most materials one institution keeps (``resolvers.records.Record.most``).
MAX_MATERIALS = 200
MATERIAL = Record(Material, "培训材料", check_material, most=MAX_MATERIALS)
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
