"""Two `greennet-cloud serve` processes on one PostgreSQL: a ticket issued by one opens a
socket on the other; a reading ingested by one reaches a live client of the other exactly
once (LISTEN/NOTIFY); notifications queued by either are delivered to a webhook exactly once
though both processes work the outbox."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from .conftest import TEST_SECRET
from .live import FAST_ARGON2, LiveServer
from .notifying import eventually
from .postgres import PostgresServer
from .telemetry import sample, signed_headers
from .webhook_receiver import WebhookReceiver, standard_webhooks_valid

PASSWORD = "two processes, one database"
_names = itertools.count()


@pytest.fixture
def servers(postgres_server: PostgresServer) -> Iterator[tuple[LiveServer, LiveServer]]:
    url = postgres_server.create_database(f"greennet_two_live_{next(_names)}")
    env = {
        **FAST_ARGON2,
        "GREENNET_SECRET": TEST_SECRET,
        "GREENNET_DATABASE_URL": url,
        "GREENNET_LOG_LEVEL": "WARNING",
        "GREENNET_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on loopback
        "GREENNET_OUTBOX_POLL": "0.2",
    }
    pair = (LiveServer(env=env), LiveServer(env=env))
    try:
        for server in pair:
            server.start()
        yield pair
    finally:
        for server in pair:
            server.cleanup()


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncIterator[WebhookReceiver]:
    found = WebhookReceiver()
    await found.start()
    yield found
    await found.close()


class Client:
    """JSON calls to one process."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers |= kw.pop("headers", {})
        async with self.session.request(method, self.base + path, headers=headers, **kw) as r:
            assert r.status < 300, (path, r.status, await r.text())
            return await r.json() if r.content_type == "application/json" else None

    async def account(self, email: str) -> tuple[str, str]:
        made = await self.call("POST", "/api/v1/auth/register",
                               json={"email": email, "password": PASSWORD})  # fmt: skip
        tokens = await self.call("POST", "/api/v1/auth/login",
                                 json={"email": email, "password": PASSWORD})  # fmt: skip
        return made["id"], tokens["access_token"]


async def test_live_updates_and_the_outbox_cross_processes_exactly_once(
    servers: tuple[LiveServer, LiveServer], receiver: WebhookReceiver
) -> None:
    first, second = servers
    async with aiohttp.ClientSession() as session:
        a, b = Client(session, first.base_url), Client(session, second.base_url)
        _owner_id, owner = await a.account("owner@example.com")
        _friend_id, friend = await b.account("friend@example.com")
        hooked = await b.call("PUT", "/api/v1/notifications/webhook", friend,
                              json={"url": receiver.url})  # fmt: skip
        secret = hooked["secret"]
        home = await a.call("POST", "/api/v1/homes", owner, json={"name": "Split"})
        plugs = []
        for number in range(4):
            code = await a.call("POST", f"/api/v1/homes/{home['id']}/pairing-codes", owner)
            claim = {"code": code["code"], "device_id": f"greennet-2b000{number}"}
            paired = await a.call("POST", "/api/v1/devices/pair", json=claim)
            plugs.append(paired)

        # a ticket from the first process opens a socket on the second
        ticket = await a.call("POST", "/api/v1/ws/tickets", owner)
        async with session.ws_connect(
            f"{second.base_url}/api/v1/ws?ticket={ticket['ticket']}"
        ) as ws:
            assert (await ws.receive_json(timeout=10))["type"] == "hello"
            await ws.send_json({"type": "subscribe", "id": 1, "homes": [home["id"]]})
            assert (await ws.receive_json(timeout=10))["type"] == "subscribed"

            device = plugs[0]["device"]["id"]
            now_ms = int(time.time() * 1000)
            body = json.dumps({"samples": [sample(now_ms, power=61.5)]}).encode()
            headers = signed_headers(device, plugs[0]["credential"]["secret"], body, now_ms)
            stored = await a.call("POST", "/api/v1/ingest", data=body, headers=headers)
            assert stored["stored"] == 1

            seen: list[dict[str, Any]] = []
            while True:
                message = await ws.receive_json(timeout=10)
                seen.append(message)
                if message["type"] == "telemetry":
                    break
            assert (message["device_id"], message["power"], message["ts"]) == (device, 61.5, now_ms)
            await asyncio.sleep(1)  # anything doubled would have arrived by now
            await ws.send_json({"type": "ping", "id": "last"})
            rest = []
            while (message := await ws.receive_json(timeout=10)).get("id") != "last":
                rest.append(message)
            assert [m for m in seen + rest if m["type"] == "telemetry"] == [seen[-1]]

        # shares made on either process notify the friend; both processes send the outbox
        for number, plug in enumerate(plugs):
            via = a if number % 2 else b
            await via.call("POST", f"/api/v1/devices/{plug['device']['id']}/shares", owner,
                           json={"email": "friend@example.com", "permission": "read"})  # fmt: skip
        await eventually(lambda: len(receiver.deliveries) >= 4, timeout=20, what="4 webhooks")
        await asyncio.sleep(1.5)  # several polls of both workers: a double would show
    counts = Counter(receiver.ids())
    assert len(counts) == 4, receiver.ids()
    assert set(counts.values()) == {1}
    for delivery in receiver.deliveries:
        assert standard_webhooks_valid(secret, delivery.headers, delivery.body, time.time())
