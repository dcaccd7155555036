"""`/healthz` and `/api/v1/openapi.json`."""

from __future__ import annotations

from aiohttp import web

from .answers import json_response
from .endpoints import Endpoint
from .keys import HEALTH, OPENAPI
from .middleware import error_response

_OK = b'{"status": "ok"}'


async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability, for load balancers."""
    if not await request.app[HEALTH].healthy():
        return error_response(503, "database_unavailable", "the database is unreachable")
    return web.Response(body=_OK, content_type="application/json")


async def openapi_document(request: web.Request) -> web.Response:
    """This API's OpenAPI 3.1 document."""
    return json_response(request.app[OPENAPI])


# fmt: off
ENDPOINTS = (
    Endpoint("GET", "/healthz", healthz, "health", "Health check", "meta", auth=False,
             responses={200: "Health"}, errors=(503,)),
    Endpoint("GET", "/api/v1/openapi.json", openapi_document, "openapi",
             "This OpenAPI document", "meta", auth=False, responses={200: "OpenApiDocument"}),
)
# fmt: on
