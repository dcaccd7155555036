"""The endpoint table: one `Endpoint` per route feeds both the router and the OpenAPI doc,
so the two cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..errors import NotFound, Unauthenticated
from ..services.base import Principal
from .keys import ACCOUNTS, PRINCIPAL

type RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PATH_PARAM = re.compile(r"\{(\w+)\}")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True)
class Parameter:
    """A query or header parameter: its name, JSON Schema and description."""

    name: str
    schema: Mapping[str, Any]
    description: str
    required: bool = False
    where: str = "query"  # or "header"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A route and what the OpenAPI document says about it.

    `auth` puts the bearer-token check in front of the handler. An endpoint that
    authenticates its caller some other way (a link token, a device signature) keeps
    `auth=False` and names its OpenAPI security scheme in `security`.
    """

    method: str
    path: str
    handler: RouteHandler
    operation_id: str
    summary: str
    tag: str
    auth: bool = True
    request: str | None = None  # component schema name of the JSON body
    responses: Mapping[int, str | None] = field(default_factory=dict)  # status → schema
    errors: tuple[int, ...] = ()  # error statuses beyond those implied below
    parameters: tuple[Parameter, ...] = ()
    security: str | None = None  # a scheme other than bearerAuth (auth=False)
    produces: str = "application/json"  # media type of the success answers

    @property
    def path_params(self) -> list[str]:
        """Names of the `{placeholders}` in the path."""
        return _PATH_PARAM.findall(self.path)

    def error_statuses(self) -> list[int]:
        """Every error status this endpoint may answer with (503: the database is gone)."""
        implied: set[int] = {*self.errors, 503}
        if self.auth or self.security:
            implied.add(401)
        if self.parameters:
            implied.add(400)
        if self.request:
            implied.update({400, 413, 415})
        if self.path_params:
            implied.add(404)
        return sorted(implied)


def principal_of(request: web.Request) -> Principal:
    """The authenticated caller of an `auth=True` endpoint."""
    principal = request.get(PRINCIPAL)
    if not isinstance(principal, Principal):
        raise Unauthenticated("authentication required", "unauthenticated")
    return principal


def bearer_token(request: web.Request) -> str:
    """The token of an `Authorization: Bearer` header, or `Unauthenticated`."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer access token is required", "unauthenticated")
    return token.strip()


def _checked_ids(handler: RouteHandler) -> RouteHandler:
    """404 for path ids that cannot exist, before any query sees them (NULs, junk)."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        for name, value in request.match_info.items():
            if not _UUID.fullmatch(value) and not (name == "user_id" and value == "me"):
                raise NotFound(f"no such {name.removesuffix('_id')}", "not_found")
        return await handler(request)

    wrapper.__name__ = getattr(handler, "__name__", "handler")
    return wrapper


def _authenticated(handler: RouteHandler) -> RouteHandler:
    async def wrapper(request: web.Request) -> web.StreamResponse:
        request[PRINCIPAL] = await request.app[ACCOUNTS].authenticate(bearer_token(request))
        return await handler(request)

    wrapper.__name__ = getattr(handler, "__name__", "handler")
    return wrapper


def add_endpoints(app: web.Application, endpoints: Iterable[Endpoint]) -> None:
    """Register every endpoint on the app's router (authenticating where required)."""
    for endpoint in endpoints:
        handler = _checked_ids(endpoint.handler) if endpoint.path_params else endpoint.handler
        handler = _authenticated(handler) if endpoint.auth else handler
        app.router.add_route(endpoint.method, endpoint.path, handler, name=endpoint.operation_id)
