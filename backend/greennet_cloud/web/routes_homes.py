"""`/api/v1/homes`: homes, their devices, pairing codes, shares and link tokens."""

from __future__ import annotations

from aiohttp import web

from ..errors import Unauthenticated
from ..models import Access
from ..services.homes import HOME
from .answers import json_response
from .body import optional_string, read_object, string
from .endpoints import Endpoint, bearer_token, principal_of
from .keys import DEVICES, HOMES, LINK_NODE
from .params import details_from, device_out, home_changes
from .routes_shares import share_endpoints
from .serialize import credential_json, home_json, link_json, timestamp


async def list_homes(request: web.Request) -> web.Response:
    """Homes the caller owns or has been shared."""
    found = await request.app[HOMES].list_homes(principal_of(request))
    return json_response([home_json(home, access) for home, access in found])


async def create_home(request: web.Request) -> web.Response:
    """Create a home."""
    body = await read_object(request)
    home = await request.app[HOMES].create_home(
        principal_of(request),
        string(body, "name"),
        optional_string(body, "timezone", max_length=64) or "UTC",
    )
    return json_response(home_json(home, Access.OWNER), status=201)


async def get_home(request: web.Request) -> web.Response:
    """One home."""
    home, access = await request.app[HOMES].get_home(principal_of(request), _home_id(request))
    return json_response(home_json(home, access))


async def update_home(request: web.Request) -> web.Response:
    """Rename a home, set its time zone or tariff."""
    body = await read_object(request)
    home = await request.app[HOMES].update_home(
        principal_of(request), _home_id(request), home_changes(body)
    )
    return json_response(home_json(home, Access.OWNER))


async def delete_home(request: web.Request) -> web.Response:
    """Delete a home and everything in it."""
    await request.app[HOMES].delete_home(principal_of(request), _home_id(request))
    return web.Response(status=204)


async def list_home_devices(request: web.Request) -> web.Response:
    """Devices in one home."""
    found = await request.app[DEVICES].list_devices(principal_of(request), _home_id(request))
    return json_response([device_out(request, device, access) for device, access in found])


async def claim_device(request: web.Request) -> web.Response:
    """Move a device into this home with its credentials; answers a new secret (shown once)."""
    body = await read_object(request)
    device, issued = await request.app[DEVICES].claim_with_credentials(
        principal_of(request), _home_id(request), string(body, "device_id", max_length=64),
        string(body, "secret", max_length=200), details_from(body),
    )  # fmt: skip
    return json_response(
        {
            "device": device_out(request, device, Access.OWNER),
            "credential": credential_json(issued.credential, issued.secret),
        },
        status=201,
    )


async def create_pairing_code(request: web.Request) -> web.Response:
    """A short-lived code that pairs a plug into this home."""
    code = await request.app[HOMES].create_pairing_code(principal_of(request), _home_id(request))
    return json_response(
        {"code": code.code, "home_id": code.home_id, "expires_at": timestamp(code.expires_at)},
        status=201,
    )


async def list_link_tokens(request: web.Request) -> web.Response:
    """Active HA link tokens of this home."""
    found = await request.app[HOMES].list_link_tokens(principal_of(request), _home_id(request))
    live = await request.app[LINK_NODE].live_links(_home_id(request))  # the owner's, checked
    return json_response([link_json(link, live=live.get(link.id)) for link in found])


async def create_link_token(request: web.Request) -> web.Response:
    """A new HA link token (the token is in this answer only)."""
    body = await read_object(request)
    issued = await request.app[HOMES].create_link_token(
        principal_of(request), _home_id(request), optional_string(body, "name") or ""
    )
    return json_response(link_json(issued.link, issued.token), status=201)


async def revoke_link_token(request: web.Request) -> web.Response:
    """Revoke a link token."""
    await request.app[HOMES].revoke_link_token(
        principal_of(request), _home_id(request), request.match_info["token_id"]
    )
    return web.Response(status=204)


async def revoke_presented_link_token(request: web.Request) -> web.Response:
    """A Home Assistant hub unlinking: the link token in the header revokes itself."""
    try:
        token = bearer_token(request)
    except Unauthenticated:
        raise Unauthenticated("a link token is required", "invalid_link_token") from None
    await request.app[HOMES].revoke_presented_link_token(token)
    return web.Response(status=204)


def _home_id(request: web.Request) -> str:
    return request.match_info["home_id"]


H = "/api/v1/homes"
HI = H + "/{home_id}"
# fmt: off
ENDPOINTS = (
    Endpoint("GET", H, list_homes, "listHomes", "Homes you own or that are shared with you",
             "homes", responses={200: "HomeList"}),
    Endpoint("POST", H, create_home, "createHome", "Create a home", "homes",
             request="HomeCreate", responses={201: "Home"}, errors=(403,)),
    Endpoint("GET", HI, get_home, "getHome", "One home", "homes", responses={200: "Home"}),
    Endpoint("PATCH", HI, update_home, "updateHome",
             "Rename a home, set its time zone or tariff (owner)", "homes",
             request="HomeUpdate", responses={200: "Home"}, errors=(403,)),
    Endpoint("DELETE", HI, delete_home, "deleteHome", "Delete a home (owner)", "homes",
             responses={204: None}, errors=(403,)),
    Endpoint("GET", f"{HI}/devices", list_home_devices, "listHomeDevices", "Devices in a home",
             "homes", responses={200: "DeviceList"}),
    Endpoint("POST", f"{HI}/devices", claim_device, "claimDevice",
             "Move a device into a home, proven by its ingest secret (owner)", "homes",
             request="DeviceClaim", responses={201: "DeviceWithCredential"},
             errors=(403, 409)),
    Endpoint("POST", f"{HI}/pairing-codes", create_pairing_code, "createPairingCode",
             "Make a pairing code (owner)", "homes", responses={201: "PairingCode"},
             errors=(403,)),
    *share_endpoints(HOME, HI, "homes", lambda request: request.app[HOMES].shares),
    Endpoint("GET", f"{HI}/link-tokens", list_link_tokens, "listLinkTokens",
             "Active HA link tokens (owner)", "homes", responses={200: "LinkTokenList"},
             errors=(403,)),
    Endpoint("POST", f"{HI}/link-tokens", create_link_token, "createLinkToken",
             "Create a HA link token (owner)", "homes", request="LinkTokenCreate",
             responses={201: "NewLinkToken"}, errors=(403,)),
    Endpoint("DELETE", HI + "/link-tokens/{token_id}", revoke_link_token, "revokeLinkToken",
             "Revoke a HA link token (owner)", "homes", responses={204: None}, errors=(403,)),
    Endpoint("DELETE", "/api/v1/link", revoke_presented_link_token, "revokePresentedLinkToken",
             "Revoke the link token presented (a HA hub unlinking)", "homes", auth=False,
             security="linkToken", responses={204: None}, errors=(401,)),
)
# fmt: on
