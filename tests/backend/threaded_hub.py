"""A test hub (hub.py) on an event loop of its own thread, linked to a live server, for the
blocking browser tests: they switch plugs on the dashboard while this hub answers the
cloud's commands, and stream readings down the link as Home Assistant would."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any

import aiohttp

from .hub import SimPlug, TestHub

TIMEOUT = 20.0


class ThreadedHub:
    """A hub linked with `token` to the server at `base_url`, seeing `plugs` on its broker.

    `hold()` makes commands wait (the page shows them pending) until `release()`.
    """

    def __init__(self, base_url: str, token: str, plugs: list[SimPlug]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._gate: asyncio.Event | None = None
        self._seq = 0
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self.hub: TestHub = self._run(self._connect(base_url, token, plugs))

    def _run[T](self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(TIMEOUT)

    async def _connect(self, base_url: str, token: str, plugs: list[SimPlug]) -> TestHub:
        self._session = aiohttp.ClientSession()
        self._gate = asyncio.Event()
        self._gate.set()
        hub = TestHub(self._session, f"{base_url}/api/v1/link", token, plugs)
        hub.answer = self._answer
        welcome = await hub.connect()
        assert welcome is not None
        assert welcome["type"] == "welcome", welcome
        ack = await hub.announce()
        assert ack["type"] == "ack", ack
        return hub

    async def _answer(self, command: dict[str, Any]) -> dict[str, Any] | None:
        assert self._gate is not None
        await self._gate.wait()
        return await self.hub.confirm(command)

    def plug(self, plug_id: str) -> SimPlug:
        """The hub's model of one plug (what the "broker" says)."""
        return self.hub.plugs[plug_id]

    def hold(self) -> None:
        """Commands wait from now on, unanswered, until `release()`."""
        assert self._gate is not None
        self._loop.call_soon_threadsafe(self._gate.clear)

    def release(self) -> None:
        """Answer the waiting commands and every later one at once."""
        assert self._gate is not None
        self._loop.call_soon_threadsafe(self._gate.set)

    def wait_for_commands(self, count: int) -> list[dict[str, Any]]:
        """Wait until the hub has received `count` commands; all of them."""
        deadline = time.monotonic() + TIMEOUT
        while len(self.hub.commands) < count:
            assert time.monotonic() < deadline, f"{len(self.hub.commands)} commands, not {count}"
            time.sleep(0.02)
        return list(self.hub.commands)

    def send_readings(self, plug_id: str, **reading: Any) -> dict[str, Any]:
        """One `telemetry` message with a reading of `plug_id` taken now; the cloud's ack."""
        self._seq += 1
        sample = {"plug_id": plug_id, "ts": int(time.time() * 1000), **reading}
        ack = self._run(self.hub.request("telemetry", seq=self._seq, samples=[sample]))
        assert ack.get("stored") == 1, ack
        return ack

    def send_state(self, plug_id: str, **state: Any) -> None:
        """A `state` message for one plug (online, relay, tripped), acknowledged."""
        ack = self._run(self.hub.request("state", plug_id=plug_id, **state))
        assert ack["type"] == "ack", ack

    def close(self) -> None:
        """Close the link and stop the thread (once; later calls do nothing)."""
        if self._closed:
            return
        self._closed = True

        async def shut() -> None:
            assert self._gate is not None
            self._gate.set()
            await self.hub.close()
            if self._session is not None:
                await self._session.close()

        try:
            self._run(shut())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(TIMEOUT)
            self._loop.close()
