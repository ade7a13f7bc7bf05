"""File downloads: an institution's documents (``GET /files/{id}``, for the institution itself
and the regulators whose scope holds it) and the published black and white lists
(``GET /public/lists/{id}.xlsx``, no login)."""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from auth.ratelimit import public_wait
from resolvers import documents, lists
from web.exports import XLSX
from web.responses import endpoint_viewer, json_error

log = logging.getLogger("xwpx")


def content_disposition(file_name: str) -> str:
    """``attachment`` with the name twice: plain ASCII for old clients, and RFC 5987
    ``filename*`` (UTF-8, percent-encoded) that keeps a Chinese name."""
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\%;' else "_" for ch in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


async def document_download(request: Request) -> Response:
    """GET /files/{document_id}: the file, for the institution itself and the regulators
    whose scope holds it. Unknown and out of scope answer the same 404."""
    state = request.app.state
    viewer = await endpoint_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    document = await documents.in_scope(state.sessionmaker, viewer, request.path_params["document_id"])
    if document is None:
        return json_error(404, "NOT_FOUND", "文件不存在")
    try:
        chunks = await state.storage.open(document.storage_key)
    except FileNotFoundError:
        log.error("document %s: stored file %s is missing", document.id, document.storage_key)
        return json_error(500, "FILE_UNAVAILABLE", "文件暂时无法读取")
    return StreamingResponse(
        chunks,
        media_type=document.content_type,
        headers={
            "Content-Disposition": content_disposition(document.file_name),
            "Content-Length": str(document.size),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


async def list_download(request: Request) -> Response:
    """GET /public/lists/{period_id}.xlsx: one period, no login (public traffic: the public
    rate and pool; a fault of the database is answered by ``web.middleware.AnswerFaults``)."""
    wait = await public_wait(request)
    if wait is not None:
        response = json_error(429, "RATE_LIMITED", "请求过于频繁，请稍后再试 (too many requests from this address)")
        response.headers["retry-after"] = str(wait)
        return response
    found = await lists.list_workbook(request.app.state.public_sessionmaker, request.path_params.get("period_id", ""))
    if found is None:
        return json_error(404, "NOT_FOUND", "名单不存在")
    body, name = found
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})
