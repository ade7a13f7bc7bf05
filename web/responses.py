"""What the plain HTTP endpoints (downloads, exports, templates) share: JSON errors with a
code, and the viewer of a request with the same answers as the API (401 without a valid
session, 403 on the initial password or for a caller who may not)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from auth.sessions import request_viewer
from auth.viewer import Viewer


def json_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def endpoint_viewer(request: Request, *, regulators_only: bool = False) -> Viewer | JSONResponse:
    """The signed-in viewer of ``request``, or the error response to answer instead."""
    viewer, reason = await request_viewer(request, request.app.state.settings.clock())
    if viewer is None:
        return json_error(401, "UNAUTHENTICATED", reason or "请先登录")
    if viewer.must_change_password:
        return json_error(403, "PASSWORD_CHANGE_REQUIRED", "当前为初始密码，请先修改密码")
    if regulators_only and not viewer.is_regulator:
        return json_error(403, "FORBIDDEN", "无权下载")
    return viewer
