"""A test-side MQTT client that records everything under a topic filter."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiomqtt

from .broker import Mosquitto


@dataclass(frozen=True)
class Seen:
    """One received message."""

    topic: str
    payload: bytes
    retain: bool
    qos: int
    index: int  # position in Observer.messages, for "after this one" waits


class Observer:
    """Subscribe to `topic_filter` and keep every message; wait for ones that match."""

    def __init__(self, broker: Mosquitto, topic_filter: str = "greennet/#") -> None:
        self._broker = broker
        self._filter = topic_filter
        self.messages: list[Seen] = []
        self._changed = asyncio.Condition()
        self._client = aiomqtt.Client(
            broker.host, broker.port, username=broker.username, password=broker.password
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        await self._client.subscribe(self._filter, qos=1)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(None, None, None)

    async def _read(self) -> None:
        async for m in self._client.messages:
            payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
            async with self._changed:
                self.messages.append(
                    Seen(str(m.topic), payload, m.retain, m.qos, len(self.messages))
                )
                self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[Seen], bool], wait: float = 5.0, after: int = 0
    ) -> Seen:
        """First message (from index `after` on) that satisfies `predicate`."""
        async with asyncio.timeout(wait), self._changed:
            while True:
                for m in self.messages[after:]:
                    if predicate(m):
                        return m
                await self._changed.wait()

    async def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish as a controller would."""
        await self._client.publish(topic, payload, qos=qos, retain=retain)
