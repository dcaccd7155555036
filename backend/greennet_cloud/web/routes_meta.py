"""`/healthz` and `/api/v1/openapi.json`."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..db.engine import reading
from .endpoints import Endpoint
from .keys import ENGINE, OPENAPI
from .middleware import error_response

_LOGGER = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability, for load balancers."""
    try:
        async with reading(request.app[ENGINE]).connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as err:
        _LOGGER.warning("health check: database unreachable: %s", err)
        return error_response(503, "database_unavailable", "the database is unreachable")
    return web.json_response({"status": "ok"})


async def openapi_document(request: web.Request) -> web.Response:
    """This API's OpenAPI 3.1 document."""
    return web.json_response(request.app[OPENAPI])


# fmt: off
ENDPOINTS = (
    Endpoint("GET", "/healthz", healthz, "health", "Health check", "meta", auth=False,
             responses={200: "Health"}, errors=(503,)),
    Endpoint("GET", "/api/v1/openapi.json", openapi_document, "openapi",
             "This OpenAPI document", "meta", auth=False, responses={200: "OpenApiDocument"}),
)
# fmt: on
