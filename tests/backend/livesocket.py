"""Helpers for the live websocket tests: tickets, sockets, waiting for messages."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import aiohttp

from .api import Account, Api


async def ticket(api: Api, who: Account) -> str:
    reply = await api.call("POST", "/api/v1/ws/tickets", token=who.access)
    assert reply.status == 201, reply.body
    return str(reply.body["ticket"])


class Socket:
    """An open live socket and what it received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def next(self, kind: str | None = None, timeout: float = 10) -> dict[str, Any]:
        """The next message (of `kind`), skipping others."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.ws.receive()
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"socket ended: {frame.type} {frame.data} {frame.extra}")
                message = json.loads(frame.data)
                self.received.append(message)
                if kind is None or message["type"] == kind:
                    return dict(message)

    async def find(self, kind: str) -> dict[str, Any]:
        """A message of `kind` received already, or the next one (order-independent)."""
        for message in self.received:
            if message["type"] == kind:
                return message
        return await self.next(kind)

    async def request(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a message and wait for the answer with the same id."""
        await self.ws.send_json({"type": kind, "id": kind, **fields})
        while True:
            answer = await self.next()
            if answer.get("id") == kind:
                return answer

    async def settle(self) -> list[dict[str, Any]]:
        """Everything delivered so far: a ping's pong comes after anything queued before."""
        before = len(self.received)
        await self.ws.send_json({"type": "ping", "id": "settle"})
        while (await self.next()).get("id") != "settle":
            pass
        return [m for m in self.received[before:] if m.get("id") != "settle"]

    async def closed(self, timeout: float = 10) -> int:
        """Wait for the server to close the socket; its close code."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.ws.receive()
                if frame.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}:
                    return int(self.ws.close_code or 0)


async def open_socket(api: Api, who: Account, **headers: str) -> Socket:
    ws = await api.client.ws_connect(f"/api/v1/ws?ticket={await ticket(api, who)}",
                                     headers=headers)  # fmt: skip
    found = Socket(ws)
    hello = await found.next()
    assert hello["type"] == "hello"
    assert hello["user_id"] == who.id
    return found


def stalled_socket(port: int, path: str) -> socket.socket:
    """A websocket opened by hand that never reads again (a tiny receive buffer)."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    raw.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    raw.settimeout(10)
    head = raw.recv(1024)
    assert head.startswith(b"HTTP/1.1 101"), head
    return raw
