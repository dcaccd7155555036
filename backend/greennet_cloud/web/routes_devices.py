"""`/api/v1/devices`: devices you may see, pairing, ingest credentials, device shares."""

from __future__ import annotations

from aiohttp import web

from ..models import Access
from ..services.devices import DEVICE
from .answers import json_response
from .body import read_object, string
from .endpoints import Endpoint, principal_of
from .keys import DEVICES
from .params import client_address, details_from, device_out
from .routes_shares import share_endpoints
from .serialize import credential_json


async def list_devices(request: web.Request) -> web.Response:
    """Every device the caller may see."""
    found = await request.app[DEVICES].list_devices(principal_of(request))
    return json_response([device_out(request, device, access) for device, access in found])


async def pair_device(request: web.Request) -> web.Response:
    """Pair a plug with a pairing code (the code authorizes; no bearer token)."""
    body = await read_object(request)
    device, issued = await request.app[DEVICES].pair(
        string(body, "code", max_length=32),
        string(body, "device_id", max_length=64),
        details_from(body),
        client_address(request),
    )
    return json_response(
        {
            "device": device_out(request, device, Access.OWNER),
            "credential": credential_json(issued.credential, issued.secret),
        },
        status=201,
    )


async def get_device(request: web.Request) -> web.Response:
    """One device."""
    device, access = await request.app[DEVICES].get_device(principal_of(request), _id(request))
    return json_response(device_out(request, device, access))


async def update_device(request: web.Request) -> web.Response:
    """Rename or relocate a device."""
    body = await read_object(request)
    device, access = await request.app[DEVICES].update_device(
        principal_of(request), _id(request), details_from(body)
    )
    return json_response(device_out(request, device, access))


async def delete_device(request: web.Request) -> web.Response:
    """Remove a device."""
    await request.app[DEVICES].delete_device(principal_of(request), _id(request))
    return web.Response(status=204)


async def list_credentials(request: web.Request) -> web.Response:
    """Ingest credentials of a device (never the secrets)."""
    found = await request.app[DEVICES].list_credentials(principal_of(request), _id(request))
    return json_response([credential_json(credential) for credential in found])


async def rotate_credential(request: web.Request) -> web.Response:
    """Issue a new ingest secret (shown once) and revoke the old ones."""
    issued = await request.app[DEVICES].rotate_credential(principal_of(request), _id(request))
    return json_response(credential_json(issued.credential, issued.secret), status=201)


async def revoke_credential(request: web.Request) -> web.Response:
    """Revoke one ingest credential."""
    await request.app[DEVICES].revoke_credential(
        principal_of(request), _id(request), request.match_info["credential_id"]
    )
    return web.Response(status=204)


def _id(request: web.Request) -> str:
    return request.match_info["device_id"]


D = "/api/v1/devices"
DI = D + "/{device_id}"
# fmt: off
ENDPOINTS = (
    Endpoint("GET", D, list_devices, "listDevices", "Devices you own or that are shared with you",
             "devices", responses={200: "DeviceList"}),
    Endpoint("POST", f"{D}/pair", pair_device, "pairDevice", "Pair a plug with a pairing code",
             "devices", auth=False, request="PairRequest",
             responses={201: "DeviceWithCredential"}, errors=(401, 409, 429)),
    Endpoint("GET", DI, get_device, "getDevice", "One device", "devices",
             responses={200: "Device"}),
    Endpoint("PATCH", DI, update_device, "updateDevice", "Rename or relocate (owner)",
             "devices", request="DeviceUpdate", responses={200: "Device"}, errors=(403,)),
    Endpoint("DELETE", DI, delete_device, "deleteDevice", "Remove a device (owner)", "devices",
             responses={204: None}, errors=(403,)),
    Endpoint("GET", f"{DI}/credentials", list_credentials, "listCredentials",
             "Ingest credentials (owner)", "devices", responses={200: "CredentialList"},
             errors=(403,)),
    Endpoint("POST", f"{DI}/credentials", rotate_credential, "rotateCredential",
             "Issue a new ingest secret, revoking the old (owner)", "devices",
             responses={201: "NewCredential"}, errors=(403,)),
    Endpoint("DELETE", DI + "/credentials/{credential_id}", revoke_credential,
             "revokeCredential", "Revoke an ingest credential (owner)", "devices",
             responses={204: None}, errors=(403,)),
    *share_endpoints(DEVICE, DI, "devices", lambda request: request.app[DEVICES].shares),
)
# fmt: on
