"""Live delivery under load: a client that stops reading is dropped (its queue is bounded)
while ingest and the other clients carry on and get every update, in order."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct

from greennet_cloud.config import Live
from greennet_cloud.services.ingest import TELEMETRY_CHANNEL
from greennet_cloud.web.keys import BUS, LIVE_HUB

from .alerting import household, report
from .conftest import ApiFactory, FakeClock
from .livesocket import open_socket, stalled_socket, ticket
from .notifying import app_of, eventually

UPDATES = 3000


def masked_text_frame(text: str) -> bytes:
    """A client-to-server websocket text frame (clients must mask)."""
    payload = text.encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked


def connection_ended(raw: socket.socket) -> bool:
    """Read whatever is left; True once the server closed or cut the connection."""
    raw.settimeout(0.2)
    try:
        while chunk := raw.recv(65536):
            del chunk
        return True  # orderly end
    except TimeoutError:
        return False
    except ConnectionError:
        return True  # cut


async def test_a_client_that_stops_reading_is_dropped_and_nobody_else_waits(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(live=Live(queue_size=64))
    home = await household(api)
    hub = app_of(api)[LIVE_HUB]
    fast = await open_socket(api, home.owner)
    await fast.request("subscribe", homes=[home.home_id])
    port = api.client.port
    assert port is not None
    path = f"/api/v1/ws?ticket={await ticket(api, home.reader)}"
    raw = await asyncio.to_thread(stalled_socket, port, path)
    subscribe = json.dumps({"type": "subscribe", "devices": [home.device_id]})
    raw.sendall(masked_text_frame(subscribe))
    await eventually(lambda: len(hub.clients) == 2 and any(c.devices for c in hub.clients))

    got: list[int] = []

    async def read_fast() -> None:
        while len(got) < UPDATES + 5:
            message = await fast.next("telemetry", timeout=30)
            got.append(int(message["ts"]))

    reader = asyncio.create_task(read_fast())
    bus = app_of(api)[BUS]
    for number in range(UPDATES):
        await bus.publish(TELEMETRY_CHANNEL, {"devices": [{
            "id": home.device_id, "home_id": home.home_id, "plug_id": "greennet-a1e701",
            "ts": number, "power": 1.0 + number / 1e6, "voltage": 230.0, "current": 0.01,
            "energy": 1.0, "relay": "ON", "online": True, "came_online": False,
        }]})  # fmt: skip
        if number % 20 == 0:
            await asyncio.sleep(0)  # as separate ingest requests would
    # ingest carries on while the stalled client is being dropped
    for _ in range(5):
        clock.advance(1)
        await report(api, clock, home, power=7.0)
    await asyncio.wait_for(reader, 60)

    assert got[:UPDATES] == list(range(UPDATES))  # everything, in order
    assert len(got) == UPDATES + 5
    assert hub.dropped == 1
    assert [c.principal.user_id for c in hub.clients] == [home.owner.id]
    ended = False
    for _ in range(50):
        if ended := await asyncio.to_thread(connection_ended, raw):
            break
    assert ended, "the stalled client's connection should be closed"
    raw.close()
    await fast.ws.close()
