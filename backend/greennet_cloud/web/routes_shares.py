"""`…/{home_id}/shares` and `…/{device_id}/shares`: one set of share routes per target."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ..services.shares import Shares, ShareTarget
from .answers import json_response
from .body import read_object, string
from .endpoints import Endpoint, principal_of
from .params import permission_of
from .serialize import share_json


def share_endpoints(
    target: ShareTarget, item_path: str, tag: str, shares_of: Callable[[web.Request], Shares]
) -> tuple[Endpoint, ...]:
    """List, create and revoke shares of `target` under `item_path` (ends in `{home_id}`)."""
    kind = target.kind
    name = kind.capitalize()
    path = f"{item_path}/shares"

    def target_id(request: web.Request) -> str:
        return request.match_info[f"{kind}_id"]

    async def list_shares(request: web.Request) -> web.Response:
        """Who this home or device is shared with."""
        found = await shares_of(request).list_shares(principal_of(request), target_id(request))
        return json_response([share_json(share) for share in found])

    async def create_share(request: web.Request) -> web.Response:
        """Share this home or device with another account."""
        body = await read_object(request)
        share = await shares_of(request).share(
            principal_of(request), target_id(request), string(body, "email"),
            permission_of(body),
        )  # fmt: skip
        return json_response(share_json(share), status=201)

    async def delete_share(request: web.Request) -> web.Response:
        """Revoke a share of this home or device."""
        await shares_of(request).unshare(
            principal_of(request), target_id(request), request.match_info["share_id"]
        )
        return web.Response(status=204)

    # fmt: off
    return (
        Endpoint("GET", path, list_shares, f"list{name}Shares", f"Shares of a {kind} (owner)",
                 tag, responses={200: "ShareList"}, errors=(403,)),
        Endpoint("POST", path, create_share, f"share{name}", f"Share a {kind} (owner)", tag,
                 request="ShareCreate", responses={201: "Share"}, errors=(403, 409)),
        Endpoint("DELETE", path + "/{share_id}", delete_share, f"unshare{name}",
                 f"Revoke a {kind} share (owner)", tag, responses={204: None}, errors=(403,)),
    )
    # fmt: on
