"""A scripted stand-in for GreenNet Cloud's link endpoint, for protocol misbehaviour.

The real cloud never sends a wrong first message, an unstorable-batch error on demand or a
binary frame; this small aiohttp websocket server does, from a script per test.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from custom_components.greennet.cloud.protocol import SUBPROTOCOL

HOME_ID = "home-1"


class LoopbackServer:
    """A small aiohttp server on 127.0.0.1 (an OS-assigned port); subclasses add routes."""

    url = ""
    _runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


class FakeCloud(LoopbackServer):
    """Serves `/api/v1/link` by running `script(cloud, ws, connection number)`."""

    def __init__(self, script: Script, status: int | None = None) -> None:
        self.script = script
        self.status = status  # refuse the upgrade with this HTTP status
        self.connections = 0
        self.received: list[dict[str, Any]] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/link", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.connections += 1
        if self.status is not None:
            return web.json_response({"error": "busy", "message": "later"}, status=self.status)
        ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,))
        await ws.prepare(request)
        await self.script(self, ws, self.connections)
        return ws

    async def receive(self, ws: web.WebSocketResponse, kind: str) -> dict[str, Any]:
        """The next message of type `kind` from the hub (others are kept in `received`)."""
        async for frame in ws:
            if frame.type is WSMsgType.TEXT:
                message = json.loads(frame.data)
                self.received.append(message)
                if message["type"] == kind:
                    return message
        raise ConnectionError("the hub closed the link")

    async def welcome(self, ws: web.WebSocketResponse) -> None:
        hello = await self.receive(ws, "hello")
        await ws.send_json(
            {"type": "welcome", "id": "c-w", "reply_to": hello["id"], "protocol": 1,
             "home_id": HOME_ID, "max_batch": 100}
        )  # fmt: skip

    async def drain(self, ws: web.WebSocketResponse) -> None:
        """Read (and keep) whatever the hub sends until it closes."""
        async for frame in ws:
            if frame.type is WSMsgType.TEXT:
                self.received.append(json.loads(frame.data))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m["type"] == kind]


type Script = Callable[[FakeCloud, web.WebSocketResponse, int], Awaitable[None]]


async def ack(ws: web.WebSocketResponse, message: dict[str, Any], **fields: Any) -> None:
    await ws.send_json({"type": "ack", "id": f"c-{message['id']}", "reply_to": message["id"],
                        **fields})  # fmt: skip


async def error(
    ws: web.WebSocketResponse, code: str, text: str, reply_to: str | None = None
) -> None:
    answer = {"type": "error", "id": "c-e", "error": code, "message": text}
    await ws.send_json(answer if reply_to is None else {**answer, "reply_to": reply_to})
