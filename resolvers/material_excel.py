"""批量导出所有培训材料 (seed 001 §7): ``GET /exports/materials.xlsx``.

An institution account downloads its own materials; a regulator names the institution
(``?institutionId=``) and gets them when the institution is in its scope (otherwise 404,
exactly like an unknown id). Certificate numbers are masked as in the API.
"""

from __future__ import annotations

import io

import sqlalchemy as sa
from openpyxl import Workbook
from starlette.requests import Request
from starlette.responses import Response

from auth.scope import scope
from models import Grade, Institution, Material, Subject, TrainingCategory
from resolvers import spreadsheets
from resolvers.endpoints import endpoint_viewer, json_error
from resolvers.institution_excel import XLSX
from resolvers.institutions import parse_id
from resolvers.portal import mask_certificate, sees_staff_personal_data
from resolvers.registration import CHOICES

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


async def export_endpoint(request: Request) -> Response:
    viewer = await endpoint_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    if viewer.is_institution:
        institution_id = viewer.institution_id
    else:
        institution_id = parse_id(request.query_params.get("institutionId", ""))
        if institution_id is None:
            return json_error(400, "BAD_USER_INPUT", "请用 institutionId 参数指明培训机构")
    async with request.app.state.sessionmaker() as db:
        institution = (
            await db.execute(sa.select(Institution).where(Institution.id == institution_id, scope(viewer, Institution)))
        ).scalar_one_or_none() if institution_id else None
        if institution is None:
            return json_error(404, "NOT_FOUND", "培训机构不存在")
        materials = (
            await db.execute(
                sa.select(Material)
                .where(Material.institution_id == institution.id, scope(viewer, Material))
                .order_by(Material.name, Material.id)
            )
        ).scalars().all()
    now = request.app.state.settings.clock()
    body = workbook(institution, list(materials), full=sees_staff_personal_data(viewer, institution.id), taken_at=now.strftime("%Y-%m-%d %H:%M"))
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''materials-{now:%Y%m%d-%H%M%S}.xlsx"})
