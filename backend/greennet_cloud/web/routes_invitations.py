"""`/api/v1/invitations`: registration invitations (administrators)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import InvalidInput
from ..storage.invitations import Invitation
from .answers import json_response
from .body import optional_string, read_object
from .endpoints import Endpoint, principal_of
from .keys import INVITATIONS
from .serialize import timestamp

DEFAULT_TTL_DAYS = 7


def invitation_json(invitation: Invitation, token: str | None = None) -> dict[str, Any]:
    """An invitation; `token` only in the answer that creates it."""
    data: dict[str, Any] = {
        "id": invitation.id,
        "email": invitation.email,
        "created_at": timestamp(invitation.created_at),
        "expires_at": timestamp(invitation.expires_at),
    }
    if token is not None:
        data["token"] = token
    return data


async def create_invitation(request: web.Request) -> web.Response:
    """A single-use registration invitation (the token is in this answer only)."""
    body = await read_object(request)
    ttl = body.get("ttl_days", DEFAULT_TTL_DAYS)
    if not isinstance(ttl, int) or isinstance(ttl, bool):
        raise InvalidInput("'ttl_days' must be a whole number of days", "invalid_input")
    issued = await request.app[INVITATIONS].create(
        principal_of(request), optional_string(body, "email", max_length=254), ttl
    )
    return json_response(invitation_json(issued.invitation, issued.token), status=201)


async def list_invitations(request: web.Request) -> web.Response:
    """Open registration invitations."""
    found = await request.app[INVITATIONS].list_open(principal_of(request))
    return json_response([invitation_json(invitation) for invitation in found])


async def withdraw_invitation(request: web.Request) -> web.Response:
    """Withdraw an unused invitation."""
    await request.app[INVITATIONS].withdraw(
        principal_of(request), request.match_info["invitation_id"]
    )
    return web.Response(status=204)


P = "/api/v1/invitations"
# fmt: off
ENDPOINTS = (
    Endpoint("GET", P, list_invitations, "listInvitations", "Open invitations (admin)",
             "users", responses={200: "InvitationList"}, errors=(403,)),
    Endpoint("POST", P, create_invitation, "createInvitation",
             "Invite someone to register (admin)", "users", request="InvitationCreate",
             responses={201: "NewInvitation"}, errors=(403,)),
    Endpoint("DELETE", P + "/{invitation_id}", withdraw_invitation, "withdrawInvitation",
             "Withdraw an invitation (admin)", "users", responses={204: None}, errors=(403,)),
)
# fmt: on
