"""A TCP proxy in front of the real test broker that misbehaves on demand (loopback only).

Brokers fail in ways Mosquitto will not do on command: one that never answers CONNECT,
one that drops every session shortly after accepting it (an idle-killing load balancer),
one that drops a client when it subscribes (EMQX's ACL `deny_action = disconnect`), one
that refuses subscriptions (SUBACK 0x80), or one that never acknowledges a publish. The
proxy forwards whole MQTT packets between the client and Mosquitto and applies the chosen
misbehaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from .broker import Mosquitto

CONNACK = 0x20
SUBSCRIBE = 0x80
SUBACK = 0x90
PUBACK = 0x40
SUBACK_FAILURE = 0x80


@dataclass
class Misbehaviour:
    """What the proxy does to the sessions passing through it (all off: a plain pipe)."""

    silent: bool = False  # accept TCP, read, never answer
    drop_after: float | None = None  # close each session this long after its CONNACK
    drop_on_subscribe: bool = False  # close the session when the client subscribes
    refuse_subscriptions: bool = False  # rewrite every SUBACK return code to 0x80
    swallow_pubacks: bool = False  # never pass on a PUBACK (a half-open or stalled broker)


@dataclass
class Session:
    """One client connection seen by the proxy."""

    started: float = field(default_factory=time.monotonic)
    closed_by_client: asyncio.Event = field(default_factory=asyncio.Event)
    received: int = 0  # bytes the client sent


async def read_packet(reader: asyncio.StreamReader) -> bytes:
    """One whole MQTT packet (fixed header, remaining length, body)."""
    header = await reader.readexactly(1)
    length, shift, raw = 0, 0, b""
    while True:
        byte = await reader.readexactly(1)
        raw += byte
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    return header + raw + await reader.readexactly(length)


def refuse(packet: bytes) -> bytes:
    """A SUBACK with every return code set to failure (MQTT 3.1.1)."""
    header_len = 2  # SUBACKs of this test suite are short: one length byte
    packet_id = packet[header_len : header_len + 2]
    codes = bytes([SUBACK_FAILURE]) * (len(packet) - header_len - 2)
    return packet[:header_len] + packet_id + codes


class MqttProxy:
    """Listen on 127.0.0.1:`port` and forward to `broker` (see `Misbehaviour`)."""

    def __init__(self, broker: Mosquitto, misbehaviour: Misbehaviour | None = None) -> None:
        self.broker = broker
        self.misbehaviour = misbehaviour or Misbehaviour()
        self.host = "127.0.0.1"
        self.port = 0
        self.sessions: list[Session] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        session = Session()
        self.sessions.append(session)
        try:
            if self.misbehaviour.silent:
                while chunk := await client_r.read(4096):
                    session.received += len(chunk)
                session.closed_by_client.set()
                return
            await self._pipe(session, client_r, client_w)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            client_w.close()
            with contextlib.suppress(ConnectionError):
                await client_w.wait_closed()
            self._tasks.discard(task)

    async def _pipe(
        self, session: Session, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        broker_r, broker_w = await asyncio.open_connection(self.broker.host, self.broker.port)
        connack = asyncio.Event()
        tasks = {
            asyncio.create_task(self._upstream(session, client_r, broker_w)),
            asyncio.create_task(self._downstream(broker_r, client_w, connack)),
        }
        if self.misbehaviour.drop_after is not None:
            tasks.add(asyncio.create_task(self._drop_later(connack)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            broker_w.close()

    async def _upstream(
        self, session: Session, client_r: asyncio.StreamReader, broker_w: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                packet = await read_packet(client_r)
                session.received += len(packet)
                if packet[0] & 0xF0 == SUBSCRIBE and self.misbehaviour.drop_on_subscribe:
                    return
                broker_w.write(packet)
                await broker_w.drain()
        except asyncio.IncompleteReadError:
            session.closed_by_client.set()

    async def _downstream(
        self, broker_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, connack: asyncio.Event
    ) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError):
            while True:
                packet = await read_packet(broker_r)
                if packet[0] & 0xF0 == CONNACK:
                    connack.set()
                if packet[0] & 0xF0 == SUBACK and self.misbehaviour.refuse_subscriptions:
                    packet = refuse(packet)
                if packet[0] & 0xF0 == PUBACK and self.misbehaviour.swallow_pubacks:
                    continue
                client_w.write(packet)
                await client_w.drain()

    async def _drop_later(self, connack: asyncio.Event) -> None:
        await connack.wait()
        assert self.misbehaviour.drop_after is not None
        await asyncio.sleep(self.misbehaviour.drop_after)

    async def drop_all(self) -> None:
        """Close every open session (as a broker restart would, but the port stays open)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_sessions(self, count: int, timeout: float = 5.0) -> None:
        """Wait until at least `count` clients have connected."""
        async with asyncio.timeout(timeout):
            while len(self.sessions) < count:  # noqa: ASYNC110 - sessions come from the server
                await asyncio.sleep(0.01)
