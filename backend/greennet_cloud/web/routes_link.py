"""`GET /api/v1/link`: the websocket a linked Home Assistant hub keeps open (docs/cloud-link.md).

The link token is checked before the upgrade, so a missing, unknown or revoked token is a
plain 401 in the error shape; a request that is not a websocket upgrade gets 426.
"""

from __future__ import annotations

import logging

from aiohttp import web

from ..errors import Unauthenticated
from ..link.connection import HubConnection
from ..link.messages import SUBPROTOCOL, CloseCode
from .endpoints import Endpoint, bearer_token
from .keys import CONFIG, HUB_LINK, LINK_NODE, REQUEST_ID
from .middleware import REQUEST_ID_HEADER, error_response

_LOGGER = logging.getLogger(__name__)


async def hub_link(request: web.Request) -> web.StreamResponse:
    """Authenticate the hub by its link token, upgrade, and serve the link until it closes."""
    try:
        token = bearer_token(request)
    except Unauthenticated:
        raise Unauthenticated("a link token is required", "invalid_link_token") from None
    link = await request.app[HUB_LINK].authenticate(token)
    settings = request.app[CONFIG].link
    ws = web.WebSocketResponse(
        protocols=(SUBPROTOCOL,), max_msg_size=settings.max_frame_bytes, autoping=True
    )
    if not ws.can_prepare(request).ok:
        return error_response(
            426,
            "upgrade_required",
            "this endpoint is a websocket: send an Upgrade: websocket request",
            {"Upgrade": "websocket"},
        )
    ws.headers[REQUEST_ID_HEADER] = request[REQUEST_ID]
    await ws.prepare(request)
    connection = HubConnection(ws, link, request.app[HUB_LINK], settings)
    node = request.app[LINK_NODE]
    try:
        await node.attach(connection)
    except Exception:  # upgraded already: no error answer left but the close code
        _LOGGER.exception("link %s: could not be registered", link.id)
        await ws.close(code=CloseCode.INTERNAL_ERROR, message=b"try again later")
        return ws
    try:
        await connection.run()
    finally:
        await node.detach(connection)
    return ws


# fmt: off
ENDPOINTS = (
    Endpoint("GET", "/api/v1/link", hub_link, "hubLink",
             "The HA hub's websocket (link token; subprotocol greennet-link.1; "
             "messages in docs/cloud-link.md)", "link", auth=False, security="linkToken",
             responses={101: None}, errors=(426,)),
)
# fmt: on
