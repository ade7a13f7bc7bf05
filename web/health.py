"""Health: ``GET /healthz`` says only that the process is up; ``GET /readyz`` is 200 when the
database answers ``SELECT 1`` within two seconds, 503 otherwise."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    import sqlalchemy as sa

    try:
        async with asyncio.timeout(2):
            async with request.app.state.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        logging.getLogger("xwpx").warning("readiness check failed", exc_info=True)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok"})
