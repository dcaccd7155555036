"""One connection of the cloud link: handshake, reading, writing, batching, keep-alive.

A session lives from the websocket upgrade to its close. Every frame goes out through one
writer task, in order; telemetry batches leave the backlog only when acknowledged; the
cloud's commands run only while the session that carried them is up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import aiohttp
from homeassistant.components import persistent_notification
from homeassistant.const import __version__ as HA_VERSION

from ..const import DOMAIN, LOGGER
from . import const
from .commands import async_execute
from .hub_feed import now_ms
from .protocol import (
    MAX_BATCH,
    Ack,
    Command,
    CommandError,
    DeviceEntry,
    ErrorMessage,
    Incoming,
    InvalidCommand,
    LinkProtocolError,
    Notification,
    Outbox,
    Ping,
    PlugStateReport,
    UnknownMessage,
    Welcome,
    encode,
    parse,
)

if TYPE_CHECKING:
    from .link import CloudLink

_TELEMETRY = "telemetry"
_DEVICES = "devices"


class LinkSession:
    """Serves one websocket connection of a `CloudLink`."""

    def __init__(self, link: CloudLink, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Take over an upgraded websocket; `async_serve` runs it."""
        self.link = link
        self.ws = ws
        self.outbox = Outbox()
        self.max_batch = MAX_BATCH
        self.close_code: int | None = None
        self.end_reason = "connection closed"
        self._loop = asyncio.get_running_loop()
        self._out: asyncio.Queue[str] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._welcome: asyncio.Future[Welcome] = self._loop.create_future()
        self._pending: dict[str, tuple[str, int]] = {}  # message id -> (type, seq)
        self._sent_at: dict[int, float] = {}  # telemetry seq -> when sent
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_received = self._last_sent = self._loop.time()
        self._logged_unknown: set[str] = set()
        self._logged_invalid = False

    # --- running ----------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def async_serve(self) -> None:
        """Say hello, wait for the welcome, then serve until the connection ends."""
        self._spawn(self._writer())
        reader = self._spawn(self._reader())
        link = self.link
        self._send(self.outbox.hello(link.entry.entry_id, link.sw_version, HA_VERSION))
        try:
            async with asyncio.timeout(const.HANDSHAKE_TIMEOUT):
                await asyncio.wait((self._welcome, reader), return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            self.end_reason = "no welcome from the cloud"
            return
        if not self._welcome.done():
            await reader
            return
        welcome = self._welcome.result()
        self.max_batch = max(1, min(MAX_BATCH, welcome.max_batch))
        link.session_welcomed(welcome.home_id)
        self._spawn(self._sender())
        self._spawn(self._keepalive())
        self._wake.set()
        await reader

    async def async_close(self) -> None:
        """Stop every task of the session and close the socket."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not self.ws.closed:
            await self.ws.close()
        if self.close_code is None:
            self.close_code = self.ws.close_code

    async def _end(self, reason: str) -> None:
        """Close from our side (a dead or stuck connection); the reader then ends."""
        self.end_reason = reason
        await self.ws.close()

    # --- writing ----------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        self._out.put_nowait(encode(message))

    async def _writer(self) -> None:
        while True:
            frame = await self._out.get()
            try:
                await self.ws.send_str(frame)
            except (aiohttp.ClientError, ConnectionError) as err:
                await self._end(f"send failed: {err!r}")
                return
            self._last_sent = self._loop.time()

    def send_state(self, report: PlugStateReport) -> None:
        """A plug's relay, availability or trip changed."""
        self._send(self.outbox.state(report, now_ms()))

    def send_devices(self, devices: list[DeviceEntry]) -> None:
        """The full plug list."""
        message = self.outbox.devices(devices)
        self._pending[message["id"]] = (_DEVICES, 0)
        self._send(message)

    def wake_sender(self) -> None:
        """New samples are queued."""
        self._wake.set()

    async def _sender(self) -> None:
        """Send queued samples in batches, at most `BATCH_WINDOW` unacknowledged at once."""
        backlog = self.link.backlog
        while True:
            await self._wake.wait()
            self._wake.clear()
            if backlog.in_flight >= const.BATCH_WINDOW or not backlog.queued:
                continue
            if backlog.queued < self.max_batch:
                await asyncio.sleep(const.BATCH_LINGER)  # let a few samples share a batch
            while backlog.in_flight < const.BATCH_WINDOW:
                taken = backlog.take(self.max_batch)
                if taken is None:
                    break
                seq, batch = taken
                message = self.outbox.telemetry(seq, batch)
                self._pending[message["id"]] = (_TELEMETRY, seq)
                self._sent_at[seq] = self._loop.time()
                self._send(message)

    async def _keepalive(self) -> None:
        """Ping when idle; give up on a silent peer or an unacknowledged batch."""
        while True:
            await asyncio.sleep(min(const.PING_INTERVAL, const.IDLE_TIMEOUT, const.ACK_TIMEOUT) / 4)
            now = self._loop.time()
            if now - self._last_received >= const.IDLE_TIMEOUT:
                await self._end(f"nothing heard for {const.IDLE_TIMEOUT:g} s")
                return
            if self._sent_at and now - min(self._sent_at.values()) >= const.ACK_TIMEOUT:
                await self._end(f"telemetry not acknowledged in {const.ACK_TIMEOUT:g} s")
                return
            if now - self._last_sent >= const.PING_INTERVAL and self._out.empty():
                self._send(self.outbox.ping())

    # --- reading ----------------------------------------------------------------

    async def _reader(self) -> None:
        async for frame in self.ws:
            self._last_received = self._loop.time()
            if frame.type is aiohttp.WSMsgType.TEXT:
                self._take(frame.data)
            elif frame.type is aiohttp.WSMsgType.BINARY:
                self._refuse(LinkProtocolError("binary frames are not part of the protocol"))
        self.close_code = self.ws.close_code
        if self.close_code is not None and self.end_reason == "connection closed":
            self.end_reason = f"closed by the cloud ({self.close_code})"

    def _take(self, data: str) -> None:
        try:
            message = parse(data)
        except UnknownMessage as err:
            if err.msg_type not in self._logged_unknown:
                self._logged_unknown.add(err.msg_type)
                LOGGER.info("Ignored GreenNet Cloud message: %s", err)
            return
        except InvalidCommand as err:
            self._refuse(err)
            self._send(self.outbox.command_failed(str(err.msg_id), CommandError.INVALID_COMMAND))
            return
        except LinkProtocolError as err:
            self._refuse(err)
            if err.msg_id is not None:
                self._send(self.outbox.error(err.msg_id, "invalid_message", str(err)))
            return
        self._dispatch(message)

    def _refuse(self, err: LinkProtocolError) -> None:
        log = LOGGER.debug if self._logged_invalid else LOGGER.warning
        self._logged_invalid = True
        log("Dropped invalid GreenNet Cloud message: %s", err)

    def _dispatch(self, message: Incoming) -> None:
        if isinstance(message, Welcome):
            if not self._welcome.done():
                self._welcome.set_result(message)
        elif isinstance(message, Ack):
            self._on_ack(message)
        elif isinstance(message, Command):
            self._spawn(self._run_command(message))
        elif isinstance(message, Notification):
            persistent_notification.async_create(
                self.link.hass,
                message.message,
                title=message.title or None,
                notification_id=f"{DOMAIN}_{message.notification_id}",
            )
        elif isinstance(message, ErrorMessage):
            self._on_error(message)
        elif isinstance(message, Ping):
            self._send(self.outbox.pong(message.id))
        # Pong: hearing it is all it is for.

    def _on_ack(self, ack: Ack) -> None:
        kind, seq = self._pending.pop(ack.reply_to, ("", 0))
        if kind == _TELEMETRY:
            self._sent_at.pop(seq, None)
            self.link.backlog.acknowledge(seq)
            errors = ack.body.get("errors")
            if isinstance(errors, list) and errors:
                LOGGER.warning(
                    "GreenNet Cloud refused %d samples of batch %d, e.g. %s",
                    len(errors),
                    seq,
                    str(errors[0])[:200],
                )
            self._wake.set()
        elif kind == _DEVICES:
            refused = ack.body.get("refused")
            refused = refused if isinstance(refused, list) else []
            self.link.devices_refused([str(plug_id) for plug_id in refused])

    def _on_error(self, error: ErrorMessage) -> None:
        kind, seq = self._pending.pop(error.reply_to or "", ("", 0))
        if kind == _TELEMETRY and error.error == "internal_error":
            # the cloud failed, not the batch: reconnect (with backoff) and send it again
            self._spawn(self._end(f"the cloud could not store batch {seq}: {error.message}"))
            return
        if kind == _TELEMETRY:
            self._sent_at.pop(seq, None)
            count = self.link.backlog.refuse(seq)
            LOGGER.warning(
                "GreenNet Cloud refused a batch of %d samples: %s (%s)",
                count,
                error.error,
                error.message,
            )
            self._wake.set()
            return
        LOGGER.warning("GreenNet Cloud reported %s: %s", error.error, error.message)

    async def _run_command(self, command: Command) -> None:
        outcome = await async_execute(self.link.hub, command)
        if outcome.report is not None:
            self._send(self.outbox.command_ok(command.id, outcome.report))
        else:
            assert outcome.error is not None
            LOGGER.debug("Cloud command %s for %s: %s", command.id, command.plug_id, outcome.error)
            self._send(self.outbox.command_failed(command.id, outcome.error))
