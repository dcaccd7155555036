"""One hub's websocket: hello first, then messages in order, keep-alive, pending commands.

`command_result`, `ping` and `pong` are handled as they arrive, so a command's answer never
waits behind a telemetry batch being stored; `devices`, `telemetry` and `state` go through
one bounded queue and are processed (and acknowledged) in the order they were sent. The
queue is bounded, so a hub sending faster than the database writes is slowed down by TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from ..config import LinkSettings
from ..errors import DomainError
from ..models import LinkToken
from . import messages
from .commands import HUB_OFFLINE, TIMEOUT, CommandOutcome, RemoteCommand
from .hub import HubLink
from .messages import CloseCode, Envelope, MessageError

_LOGGER = logging.getLogger(__name__)
ORDERED = frozenset({"devices", "telemetry", "state"})
QUEUE_SIZE = 8  # messages read ahead of the one being stored
type OnOutcome = Callable[[CommandOutcome], None]


class HubConnection:
    """The live link of one link token on this node (see the module doc)."""

    def __init__(
        self, ws: web.WebSocketResponse, link: LinkToken, hub: HubLink, settings: LinkSettings
    ) -> None:
        self.ws = ws
        self.link = link
        self.hub = hub
        self.settings = settings
        self.connection_id = str(uuid.uuid4())
        self.ready = False  # a hello was welcomed: commands may be sent
        self._ids = itertools.count(1)
        self._queue: asyncio.Queue[Envelope] = asyncio.Queue(QUEUE_SIZE)
        self._pending: dict[str, OnOutcome] = {}
        self._last_sent = time.monotonic()
        self._unknown_types: set[str] = set()

    @property
    def token_id(self) -> str:
        """The link token this connection authenticated with."""
        return self.link.id

    @property
    def home_id(self) -> str:
        """The home the link token belongs to."""
        return self.link.home_id

    async def run(self) -> None:
        """Read until the link closes; then fail what is still pending."""
        worker = asyncio.create_task(self._process_in_order(), name="greennet-link-worker")
        keepalive = asyncio.create_task(self._keep_alive(), name="greennet-link-keepalive")
        try:
            await self._read()
        finally:
            for task in (worker, keepalive):
                task.cancel()
            for task in (worker, keepalive):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self.ready = False
            pending, self._pending = self._pending, {}
            for on_outcome in pending.values():
                on_outcome(CommandOutcome(HUB_OFFLINE))
            if not self.ws.closed:
                await self.ws.close()

    async def close(self, code: int, reason: str) -> None:
        """Close the link with `code` (the reader then ends `run`)."""
        self.ready = False
        if not self.ws.closed:
            _LOGGER.info("link %s: closing (%s, %s)", self.token_id, code, reason)
            with contextlib.suppress(Exception):
                await self.ws.close(code=code, message=reason.encode()[:120])

    async def deliver(self, command: RemoteCommand, on_outcome: OnOutcome) -> None:
        """Send a command to the hub; `on_outcome` gets its result (or the reason there is
        none: the link closed, or the command timeout passed)."""
        if not self.ready or self.ws.closed:
            on_outcome(CommandOutcome(HUB_OFFLINE))
            return
        self._pending[command.id] = on_outcome
        # the API caller stops waiting at the timeout: forget the command a little later
        asyncio.get_running_loop().call_later(
            self.settings.command_timeout_seconds + 1, self._expire, command.id
        )
        if not await self.send(command.message()):
            self._finish(command.id, CommandOutcome(HUB_OFFLINE))

    async def notify(self, notification: dict[str, Any]) -> bool:
        """Send a `notification` (title, message, notification_id); False when the link is
        not up (no hello yet, or closed)."""
        if not self.ready:
            return False
        return await self.send({"type": "notification", "id": self.next_id(), **notification})

    async def send(self, message: dict[str, Any]) -> bool:
        """Send one message; False when the link is already gone."""
        if self.ws.closed:
            return False
        try:
            await self.ws.send_str(messages.encode(message))
        except (ConnectionError, RuntimeError):
            return False
        self._last_sent = time.monotonic()
        return True

    def next_id(self) -> str:
        """A message id unique on this connection."""
        return f"c{next(self._ids)}"

    # --- reading ---------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.ws.receive(timeout=self.settings.idle_timeout_seconds)
            except TimeoutError:
                await self.close(CloseCode.NORMAL, "idle timeout")
                return
            if frame.type is WSMsgType.TEXT:
                await self._on_text(frame.data)
            elif frame.type is WSMsgType.BINARY:
                await self._error("invalid_message", "the link carries text frames only", None)
            else:  # CLOSE, CLOSING, CLOSED, ERROR (a frame over the size limit: 1009)
                return

    async def _on_text(self, text: str) -> None:
        try:
            envelope = messages.decode(text)
        except MessageError as err:
            await self._error(err.code, err.message, err.reply_to)
            return
        kind = envelope.type
        if kind == "ping":
            await self.send({"type": "pong", "id": self.next_id(), "reply_to": envelope.id})
        elif kind == "pong":
            pass  # any frame counts as a sign of life
        elif kind == "hello":
            await self._guarded(envelope, self._on_hello)
        elif not self.ready:
            await self._error("hello_required", "send hello first", envelope.id)
        elif kind == "command_result":
            await self._guarded(envelope, self._on_command_result)
        elif kind in ORDERED:
            await self._queue.put(envelope)
        elif kind not in self._unknown_types:
            self._unknown_types.add(kind)
            _LOGGER.info("link %s: ignored a message of unknown type %r", self.token_id, kind)
        else:
            _LOGGER.debug("link %s: ignored another %r", self.token_id, kind)

    async def _process_in_order(self) -> None:
        handlers = {
            "devices": self._on_devices,
            "telemetry": self._on_telemetry,
            "state": self._on_state,
        }
        while True:
            envelope = await self._queue.get()
            await self._guarded(envelope, handlers[envelope.type])

    async def _guarded(self, envelope: Envelope, handler: Callable[[Envelope], Any]) -> None:
        """Run a handler; a bad message or a domain refusal becomes an `error` answer, an
        unexpected failure one logged `internal_error`; never the end of the link."""
        try:
            await handler(envelope)
        except MessageError as err:
            await self._error(err.code, err.message, envelope.id)
        except DomainError as err:
            await self._error(err.code, err.message, envelope.id)
        except Exception:
            _LOGGER.exception("link %s: %s failed", self.token_id, envelope.type)
            await self._error("internal_error", "the cloud could not process this", envelope.id)

    # --- messages --------------------------------------------------------------------

    async def _on_hello(self, envelope: Envelope) -> None:
        hello = messages.parse_hello(envelope.body)
        if hello.protocol != messages.PROTOCOL_VERSION:
            await self._error(
                "unsupported_protocol",
                f"this cloud speaks protocol {messages.PROTOCOL_VERSION}",
                envelope.id,
            )
            await self.close(CloseCode.UNSUPPORTED_PROTOCOL, "protocol version not supported")
            return
        await self.hub.hello(self.link, self.connection_id, hello)
        welcome = messages.welcome(
            self.next_id(), envelope.id, self.home_id, self.settings.max_batch
        )
        if await self.send(welcome):
            self.ready = True

    async def _on_devices(self, envelope: Envelope) -> None:
        plugs = messages.parse_devices(envelope.body, self.settings.max_plugs)
        announced = await self.hub.announce(self.link, plugs)
        await self.send(
            messages.ack(
                self.next_id(), envelope.id, devices=announced.devices, refused=announced.refused
            )
        )

    async def _on_telemetry(self, envelope: Envelope) -> None:
        batch = messages.parse_telemetry(envelope.body, self.settings.max_batch)
        report = await self.hub.telemetry(self.link, batch.samples)
        errors = [
            {"index": error.index, "error": error.code, "message": error.message}
            for error in report.errors
        ]
        await self.send(
            messages.ack(
                self.next_id(),
                envelope.id,
                seq=batch.seq,
                stored=report.stored,
                duplicates=report.duplicates,
                rejected=len(errors),
                errors=errors,
            )
        )

    async def _on_state(self, envelope: Envelope) -> None:
        await self.hub.state(self.link, messages.parse_state(envelope.body))
        await self.send(messages.ack(self.next_id(), envelope.id))

    async def _on_command_result(self, envelope: Envelope) -> None:
        answer = messages.parse_command_result(envelope.body)
        if answer.reply_to not in self._pending:
            # late (the caller got its 504) or never sent here: nothing waits for it
            _LOGGER.info("link %s: result for no pending command", self.token_id)
            return
        self._finish(answer.reply_to, CommandOutcome.of(answer))

    # --- helpers ---------------------------------------------------------------------

    def _finish(self, command_id: str, outcome: CommandOutcome) -> None:
        on_outcome = self._pending.pop(command_id, None)
        if on_outcome is not None:
            on_outcome(outcome)

    def _expire(self, command_id: str) -> None:
        self._finish(command_id, CommandOutcome(TIMEOUT))

    async def _error(self, code: str, text: str, reply_to: str | None) -> None:
        _LOGGER.info("link %s: refused a message (%s: %s)", self.token_id, code, text)
        await self.send(messages.error(self.next_id(), code, text, reply_to))

    async def _keep_alive(self) -> None:
        """`ping` whenever nothing was sent for the ping interval."""
        interval = self.settings.ping_interval_seconds
        while True:
            wait = self._last_sent + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if not await self.send({"type": "ping", "id": self.next_id()}):
                return
