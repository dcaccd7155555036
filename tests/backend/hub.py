"""A test hub: speaks the cloud link (protocol v1, docs/cloud-link.md) over a real websocket
to the served app, answering commands the way the HA integration does, from a model of its
plugs. Tests use it to drive the cloud's side of the link."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from greennet_cloud.link.messages import SUBPROTOCOL

TIMEOUT = 10.0


@dataclass
class SimPlug:
    """A plug as the hub sees it on its broker."""

    plug_id: str
    name: str = "Plug"
    model: str = "GreenNet Plug"
    online: bool = True
    relay: bool = False
    max_current: float = 10.0
    max_power: float = 2300.0
    tripped: bool = False

    def state(self) -> dict[str, Any]:
        """The confirmed-state object of a command_result."""
        return {
            "relay": "ON" if self.relay else "OFF",
            "max_current": self.max_current,
            "max_power": self.max_power,
            "tripped": self.tripped,
        }


type Answer = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


class LinkClosed(Exception):
    """The cloud closed the link (or it dropped) while a test waited for a message."""


class TestHub:
    """One hub's link. `answer` decides what each command gets (None: no answer at all)."""

    __test__ = False  # not a test class

    def __init__(
        self, session: aiohttp.ClientSession, url: str, token: str, plugs: list[SimPlug]
    ) -> None:
        self.session = session
        self.url = url
        self.token = token
        self.plugs = {plug.plug_id: plug for plug in plugs}
        self.answer: Answer = self.confirm
        self.commands: list[dict[str, Any]] = []
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._answering: set[asyncio.Task[None]] = set()
        self.close_code: int | None = None
        self.welcome: dict[str, Any] | None = None
        self.answer_pings = True  # False: a hub that went silent
        self.pings_heard = 0

    async def connect(
        self, *, hello: bool = True, protocol: int = 1, **ws_options: Any
    ) -> dict[str, Any] | None:
        """Open the websocket (and say hello): the welcome, or None without hello."""
        self.ws = await self.session.ws_connect(
            self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            protocols=(SUBPROTOCOL,),
            **ws_options,
        )
        self._reader = asyncio.create_task(self._read())
        if not hello:
            return None
        self.welcome = await self.request(
            "hello", protocol=protocol, hub_id="entry-1", sw_version="1.0.0", ha_version="2025.4.4"
        )
        return self.welcome

    async def announce(self) -> dict[str, Any]:
        """`devices` with every plug; the cloud's ack."""
        plugs = [
            {
                "plug_id": plug.plug_id,
                "name": plug.name,
                "model": plug.model,
                "sw_version": "1.0.0",
                "online": plug.online,
            }
            for plug in self.plugs.values()
        ]
        return await self.request("devices", plugs=plugs)

    async def send(self, kind: str, **fields: Any) -> str:
        """Send a message; returns its id."""
        message_id = f"h{next(self._ids)}"
        await self.send_raw(json.dumps({"type": kind, "id": message_id, **fields}))
        return message_id

    async def send_raw(self, text: str) -> None:
        """Send a text frame as is."""
        assert self.ws is not None
        await self.ws.send_str(text)

    async def request(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a message and return the cloud's answer to it (reply_to its id)."""
        message_id = await self.send(kind, **fields)
        return await self.reply_to(message_id)

    async def reply_to(self, message_id: str) -> dict[str, Any]:
        """The next message answering `message_id` (others before it are dropped)."""
        while True:
            message = await self.next()
            if message.get("reply_to") == message_id:
                return message

    async def next(self, kind: str | None = None, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message (of `kind`) from the cloud, commands excepted."""
        while True:
            message = await asyncio.wait_for(self._inbox.get(), timeout)
            if message is None:
                self._inbox.put_nowait(None)  # stays closed for later callers
                raise LinkClosed(f"link closed with {self.close_code}")
            if kind is None or message.get("type") == kind:
                return message

    async def closed(self, timeout: float = TIMEOUT) -> int | None:
        """Wait until the cloud closes the link; its close code."""
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    async def close(self) -> None:
        """Close from the hub's side."""
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, TIMEOUT)
        for task in list(self._answering):
            task.cancel()

    async def confirm(self, command: dict[str, Any]) -> dict[str, Any] | None:
        """What the integration does: act on the plug model and confirm its new state."""
        plug = self.plugs.get(command.get("plug_id", ""))
        if plug is None or not plug.online:
            return {"ok": False, "error": "plug_offline"}
        if command.get("action") == "relay":
            value = command.get("value")
            plug.relay = (not plug.relay) if value == "TOGGLE" else value == "ON"
        elif command.get("action") == "protection":
            plug.max_current = command.get("max_current", plug.max_current)
            plug.max_power = command.get("max_power", plug.max_power)
            if command.get("reset"):
                plug.tripped = False
        else:
            return {"ok": False, "error": "invalid_command"}
        return {"ok": True, "state": plug.state()}

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                if message.get("type") == "command":
                    self.commands.append(message)
                    task = asyncio.create_task(self._answer(message))
                    self._answering.add(task)
                    task.add_done_callback(self._answering.discard)
                elif message.get("type") == "ping":
                    self.pings_heard += 1
                    if self.answer_pings:
                        await self.send("pong", reply_to=message["id"])
                else:
                    self._inbox.put_nowait(message)
        finally:
            self.close_code = self.ws.close_code
            self._inbox.put_nowait(None)

    async def _answer(self, command: dict[str, Any]) -> None:
        result = await self.answer(command)
        if result is not None and self.ws is not None and not self.ws.closed:
            await self.send("command_result", reply_to=command["id"], **result)
