"""Health: ``GET /healthz`` says only that the process is up; ``GET /readyz`` is 200 when the
database answers ``SELECT 1`` within two seconds, otherwise 503 with ``Retry-After`` and the code
(``DATABASE_UNAVAILABLE``, or ``SERVICE_BUSY`` when no connection was free). ``/healthz``
never asks the database."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core import faults


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        async with asyncio.timeout(2):
            async with request.app.state.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        fault = faults.fault_of(error) or faults.DATABASE_UNAVAILABLE
        faults.log_refusal(fault.code, "readiness check", error)
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "error": {"code": fault.code, "message": fault.message}},
            status_code=503, headers={"Retry-After": str(fault.retry_after)},
        )
    return JSONResponse({"status": "ready", "database": "ok"})
