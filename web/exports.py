"""Downloads of workbooks (xlsx): the import template, the institution list, the findings list,
an institution's training materials and statistics, each in the caller's scope. The workbooks
themselves are the domains' (``resolvers.institutions.template``/``exporting``,
``resolvers.finding_list``, ``resolvers.materials``, ``resolvers.statistics.exporting``); here
are the routes, their query parameters and answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from auth.roles import sees_institution_personal_data, sees_personal_data
from auth.viewer import Viewer
from core.clock import today
from core.errors import ApiError
from core.ids import parse_id
from resolvers import filters, finding_list, materials
from resolvers.institutions.exporting import export_workbook, record_export
from resolvers.institutions.listing import InstitutionFilter
from resolvers.institutions.template import template_bytes
from resolvers.statistics.counting import statistics
from resolvers.statistics.exporting import series_workbook, statistics_workbook
from resolvers.statistics.series import series
from resolvers.statistics.views import Grouping, StatisticsFilter
from web.responses import endpoint_viewer, json_error

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{name}"}


async def _regulator(request: Request) -> Viewer | JSONResponse:
    return await endpoint_viewer(request, regulators_only=True)


def query_choice(params, name: str, enum) -> Any:
    """A query parameter naming a member of ``enum`` (absent: None)."""
    value = params.get(name)
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        raise ApiError(f"{name}: unknown value {value!r}", "BAD_USER_INPUT") from None


def _date(params, name: str, *, required: bool = False) -> date | None:
    value = params.get(name)
    if value is None:
        if required:
            raise ApiError(f"{name} is required (YYYY-MM-DD)", "BAD_USER_INPUT")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(f"{name} must be a date (YYYY-MM-DD)", "BAD_USER_INPUT") from None


async def institutions_template(request: Request) -> Response:
    """GET /templates/institutions.xlsx: the import template, for a logged-in regulator."""
    viewer = await _regulator(request)
    if isinstance(viewer, Response):
        return viewer
    return Response(template_bytes(), media_type=XLSX, headers=_attachment("institutions-template.xlsx"))


async def institutions_export(request: Request) -> Response:
    """GET /exports/institutions.xlsx?name=…&regionCode=…: the list in the caller's scope."""
    viewer = await _regulator(request)
    if isinstance(viewer, Response):
        return viewer
    state = request.app.state
    now = state.settings.clock()
    try:
        f = filters.from_query(InstitutionFilter, request.query_params)
    except ApiError as e:
        return json_error(400, "BAD_USER_INPUT", e.message)
    output = await export_workbook(state.sessionmaker, viewer, f, today(now))
    if sees_personal_data(viewer):
        client = request.client.host if request.client else None
        await record_export(state.sessionmaker, viewer, now, client, dict(request.query_params))
    return StreamingResponse(_streamed(output), media_type=XLSX, headers=_attachment(f"institutions-{now:%Y%m%d-%H%M%S}.xlsx"))


def _streamed(output) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := output.read(64 * 1024):
                yield chunk
        finally:
            output.close()

    return chunks()


async def findings_export(request: Request) -> Response:
    """GET /exports/findings.xlsx?rules=…&severity=…: the findings list (问题清单) in the caller's scope."""
    viewer = await _regulator(request)
    if isinstance(viewer, Response):
        return viewer
    state = request.app.state
    try:
        f = filters.from_query(finding_list.FindingFilter, request.query_params)
    except ApiError as e:
        return json_error(400, "BAD_USER_INPUT", e.message)
    output = await finding_list.export_workbook(state.sessionmaker, viewer, f)
    now = state.settings.clock()
    return StreamingResponse(_streamed(output), media_type=XLSX, headers=_attachment(f"findings-{now:%Y%m%d-%H%M%S}.xlsx"))


async def materials_export(request: Request) -> Response:
    """GET /exports/materials.xlsx (a regulator: ?institutionId=…): 批量导出所有培训材料."""
    viewer = await endpoint_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    if viewer.is_institution:
        institution_id = viewer.institution_id
    else:
        institution_id = parse_id(request.query_params.get("institutionId", ""))
        if institution_id is None:
            return json_error(400, "BAD_USER_INPUT", "请用 institutionId 参数指明培训机构")
    found = await materials.materials_of(request.app.state.sessionmaker, viewer, institution_id)
    if found is None:
        return json_error(404, "NOT_FOUND", "培训机构不存在")
    institution, rows = found
    now = request.app.state.settings.clock()
    body = materials.workbook(
        institution, rows, full=sees_institution_personal_data(viewer, institution.id), taken_at=now.strftime("%Y-%m-%d %H:%M")
    )
    return Response(body, media_type=XLSX, headers=_attachment(f"materials-{now:%Y%m%d-%H%M%S}.xlsx"))


async def statistics_export(request: Request) -> Response:
    """GET /exports/statistics.xlsx?regionCode=…&groupBy=…: a statistics view, or with
    ``series=1&from=…&to=…`` the monthly series, in the caller's scope."""
    viewer = await _regulator(request)
    if isinstance(viewer, Response):
        return viewer
    params = request.query_params
    sessionmaker = request.app.state.read_sessionmaker
    now = request.app.state.settings.clock()
    region_code = params.get("regionCode")
    try:
        if params.get("series") == "1":
            found = await series(
                sessionmaker, viewer, now, region_code, _date(params, "from", required=True), _date(params, "to", required=True)
            )
            body, name = series_workbook(found), f"statistics-series-{found.region.code}"
        else:
            f = filters.from_query(StatisticsFilter, params)
            grouping = query_choice(params, "groupBy", Grouping) or Grouping.REGION
            result = await statistics(sessionmaker, viewer, now, region_code, grouping, f)
            body, name = statistics_workbook(result), f"statistics-{result.region.code}"
    except ApiError as e:
        return json_error(400, "BAD_USER_INPUT", e.message)
    return Response(body, media_type=XLSX, headers=_attachment(f"{name}-{now:%Y%m%d-%H%M%S}.xlsx"))
