"""This process ("node") and its live links; commands routed between nodes.

Each node has an id, a bus channel of its own (`greennet_link_<node id>`) and the rows of
its live links in `live_links`, refreshed by a heartbeat. A command from the API is sent
straight to the hub when this node holds its link, otherwise published on the holding
node's channel; the result comes back on the sender's channel. Link tokens that end
(revoked, their home deleted) are broadcast on `greennet_link_revoked`, so the node holding
the link closes it at once (4001); the heartbeat also re-checks every token it holds, so a
lost bus message costs at most one heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from ..bus import Bus, BusError, Message
from ..clock import Clock
from ..config import LinkSettings
from ..db.engine import reading
from ..models import LiveLink
from ..storage import links as link_store
from ..storage import live_links as live_store
from ..tasks import gather_all
from .commands import HUB_OFFLINE, TIMEOUT, CommandOutcome, RemoteCommand
from .messages import CloseCode

_LOGGER = logging.getLogger(__name__)
REVOKED_CHANNEL = "greennet_link_revoked"
_IDS_PER_MESSAGE = 100  # token ids per revocation message (bus messages are small)


class HubSocket(Protocol):
    """What a node needs of a live link (`connection.HubConnection`)."""

    connection_id: str

    @property
    def token_id(self) -> str: ...

    @property
    def home_id(self) -> str: ...

    async def deliver(
        self, command: RemoteCommand, on_outcome: Callable[[CommandOutcome], None]
    ) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...

    async def notify(self, notification: dict[str, Any]) -> bool: ...


def node_channel(node_id: str) -> str:
    """The bus channel a node listens on."""
    return f"greennet_link_{node_id}"


def pick_holder(holders: list[LiveLink], link_token_id: str | None) -> LiveLink | None:
    """The live link a plug's commands go to: the hub that announced it, else the newest
    live link of its home (a plug paired without a hub, or announced by a hub since gone)."""
    for holder in holders:
        if holder.token_id == link_token_id:
            return holder
    return holders[0] if holders else None


class LinkNode:
    """This process's live links and its side of the routing (see the module doc)."""

    def __init__(self, engine: AsyncEngine, clock: Clock, bus: Bus, settings: LinkSettings):
        self.engine = engine
        self.clock = clock
        self.bus = bus
        self.settings = settings
        self.node_id = secrets.token_hex(8)
        self._sockets: dict[str, HubSocket] = {}  # token id → its live link here
        self._waiting: dict[str, asyncio.Future[CommandOutcome]] = {}  # command id → caller
        self._notifying: dict[str, asyncio.Future[bool]] = {}  # request id → caller
        self._tasks: set[asyncio.Task[Any]] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def expiry(self) -> timedelta:
        """How long a live link row is believed without a heartbeat."""
        return timedelta(seconds=self.settings.expiry_seconds)

    async def live_links(self, home_id: str) -> dict[str, LiveLink]:
        """The believable live links of a home (on any node), by token id."""
        async with reading(self.engine).begin() as conn:
            found = await live_store.live_links_of_home(conn, home_id, self.clock() - self.expiry)
        return {link.token_id: link for link in found}

    def holds(self, token_id: str) -> bool:
        """Whether this node holds the live link of `token_id`."""
        return token_id in self._sockets

    async def start(self) -> None:
        """Listen on this node's channel and for revocations; start the heartbeat."""
        await self.bus.subscribe(node_channel(self.node_id), self._on_node_message)
        await self.bus.subscribe(REVOKED_CHANNEL, self._on_revoked)
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="greennet-link-heartbeat")

    async def close_all(self) -> None:
        """Close every link here (1001: the hubs reconnect, to another node if there is)."""
        for socket in list(self._sockets.values()):
            await socket.close(CloseCode.GOING_AWAY, "server shutting down")

    async def stop(self) -> None:
        """Stop the heartbeat, close every link here and forget this node's rows."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await self.close_all()
        with contextlib.suppress(Exception):
            async with self.engine.begin() as conn:
                await live_store.release_node(conn, self.node_id)
        for task in list(self._tasks):
            task.cancel()

    # --- live links ----------------------------------------------------------------

    async def attach(self, socket: HubSocket) -> None:
        """Make `socket` the live link of its token; the one it replaces closes with 4008,
        here or on the node that holds it."""
        async with self.engine.begin() as conn:
            previous = await live_store.claim(
                conn,
                token_id=socket.token_id,
                home_id=socket.home_id,
                node_id=self.node_id,
                connection_id=socket.connection_id,
                now=self.clock(),
            )
        older = self._sockets.get(socket.token_id)
        self._sockets[socket.token_id] = socket
        if older is not None and older is not socket:
            await older.close(CloseCode.REPLACED, "replaced by a newer connection")
        elif previous is not None and previous.node_id != self.node_id:
            await self._publish(
                node_channel(previous.node_id),
                {
                    "op": "replaced",
                    "token_id": socket.token_id,
                    "connection_id": previous.connection_id,
                },
            )

    async def detach(self, socket: HubSocket) -> None:
        """Forget a link that ended (its row too, unless a newer connection holds it)."""
        if self._sockets.get(socket.token_id) is socket:
            del self._sockets[socket.token_id]
        try:
            async with self.engine.begin() as conn:
                await live_store.release(conn, socket.token_id, socket.connection_id)
        except Exception:  # the row expires on its own
            _LOGGER.warning("link %s: could not release its row", socket.token_id, exc_info=True)

    async def tokens_ended(self, token_ids: list[str]) -> None:
        """Link tokens revoked (or deleted with their home): close their links everywhere."""
        self._close_revoked(token_ids)
        for start in range(0, len(token_ids), _IDS_PER_MESSAGE):
            chunk = token_ids[start : start + _IDS_PER_MESSAGE]
            await self._publish(REVOKED_CHANNEL, {"token_ids": chunk})

    # --- commands ------------------------------------------------------------------

    async def send(self, holder: LiveLink | None, command: RemoteCommand) -> CommandOutcome:
        """Send `command` to the hub of `holder` (here or on its node) and wait for the
        outcome: the hub's answer, `hub_offline`, or `timeout`."""
        if holder is None:
            return CommandOutcome(HUB_OFFLINE)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[CommandOutcome] = loop.create_future()
        self._waiting[command.id] = future
        try:
            if holder.node_id == self.node_id:
                await self._deliver_here(holder.token_id, command, _resolver(future))
            else:
                await self.bus.publish(
                    node_channel(holder.node_id),
                    {
                        "op": "command",
                        "origin": self.node_id,
                        "token_id": holder.token_id,
                        "command": command.as_json(),
                    },
                )
            return await asyncio.wait_for(future, self.settings.command_timeout_seconds)
        except TimeoutError:
            return CommandOutcome(TIMEOUT)
        except BusError as err:
            _LOGGER.warning("command %s not routed: %s", command.id, err)
            return CommandOutcome(HUB_OFFLINE)
        finally:
            self._waiting.pop(command.id, None)

    # --- notifications -------------------------------------------------------------

    async def notify(self, home_id: str, notification: dict[str, Any]) -> int:
        """Send a `notification` (its fields: title, message, notification_id) to every live
        hub of a home, here or on their nodes; how many hubs took it (0: none connected)."""
        holders = await self.live_links(home_id)
        sent = await gather_all(
            *(self._notify_one(holder, notification) for holder in holders.values())
        )
        return sum(sent)

    async def _notify_one(self, holder: LiveLink, notification: dict[str, Any]) -> bool:
        if holder.node_id == self.node_id:
            return await self._notify_here(holder.token_id, notification)
        request_id = secrets.token_hex(8)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._notifying[request_id] = future
        try:
            await self.bus.publish(
                node_channel(holder.node_id),
                {
                    "op": "notify",
                    "origin": self.node_id,
                    "request_id": request_id,
                    "token_id": holder.token_id,
                    "notification": notification,
                },
            )
            return await asyncio.wait_for(future, self.settings.command_timeout_seconds)
        except (TimeoutError, BusError):
            return False
        finally:
            self._notifying.pop(request_id, None)

    async def _notify_here(self, token_id: str, notification: dict[str, Any]) -> bool:
        socket = self._sockets.get(token_id)
        return socket is not None and await socket.notify(notification)

    async def _notify_for(
        self, origin: str, request_id: str, token_id: str, notification: Any
    ) -> None:
        sent = isinstance(notification, dict) and await self._notify_here(token_id, notification)
        await self._publish(
            node_channel(origin), {"op": "notified", "request_id": request_id, "sent": sent}
        )

    async def _deliver_here(
        self, token_id: str, command: RemoteCommand, on_outcome: Callable[[CommandOutcome], None]
    ) -> None:
        socket = self._sockets.get(token_id)
        if socket is None:  # the link closed since the caller looked it up
            on_outcome(CommandOutcome(HUB_OFFLINE))
            return
        await socket.deliver(command, on_outcome)

    # --- the bus -------------------------------------------------------------------

    def _on_node_message(self, message: Message) -> None:
        op = message.get("op")
        if op == "command":
            origin = str(message.get("origin", ""))
            command = RemoteCommand.from_json(message["command"])

            def reply(outcome: CommandOutcome) -> None:
                self._spawn(
                    self._publish(
                        node_channel(origin),
                        {"op": "result", "command_id": command.id, **outcome.as_json()},
                    )
                )

            self._spawn(self._deliver_here(str(message.get("token_id")), command, reply))
        elif op == "result":
            future = self._waiting.get(str(message.get("command_id")))
            if future is not None and not future.done():
                future.set_result(CommandOutcome.from_json(message))
        elif op == "notify":
            self._spawn(
                self._notify_for(
                    str(message.get("origin", "")),
                    str(message.get("request_id", "")),
                    str(message.get("token_id", "")),
                    message.get("notification"),
                )
            )
        elif op == "notified":
            waiting = self._notifying.get(str(message.get("request_id")))
            if waiting is not None and not waiting.done():
                waiting.set_result(message.get("sent") is True)
        elif op == "replaced":
            socket = self._sockets.get(str(message.get("token_id")))
            if socket is not None and socket.connection_id == message.get("connection_id"):
                self._spawn(socket.close(CloseCode.REPLACED, "replaced by a newer connection"))
        else:
            _LOGGER.warning("link bus: ignored a message without a known op")

    def _on_revoked(self, message: Message) -> None:
        token_ids = message.get("token_ids")
        if isinstance(token_ids, list):
            self._close_revoked([str(token_id) for token_id in token_ids])

    def _close_revoked(self, token_ids: list[str]) -> None:
        for token_id in token_ids:
            socket = self._sockets.get(token_id)
            if socket is not None:
                self._spawn(socket.close(CloseCode.TOKEN_REVOKED, "link token revoked"))

    async def _publish(self, channel: str, message: Message) -> None:
        try:
            await self.bus.publish(channel, message)
        except BusError as err:
            _LOGGER.warning("link bus: not published on %s (%s)", channel, err)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- heartbeat -----------------------------------------------------------------

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self.beat()
            except Exception:
                _LOGGER.warning("link heartbeat failed; retrying", exc_info=True)

    async def beat(self) -> None:
        """Refresh this node's rows, drop expired ones, and check every link held here: a
        token no longer valid closes (4001), a token another connection took closes (4008),
        a row lost while this node stalled is claimed again."""
        now = self.clock()
        held = dict(self._sockets)
        async with self.engine.begin() as conn:
            await live_store.heartbeat(conn, self.node_id, now)
            await live_store.drop_expired(conn, now - self.expiry)
            valid = await link_store.unrevoked(conn, set(held))
            holders = await live_store.holders_of_tokens(conn, set(held))
        for token_id, socket in held.items():
            if self._sockets.get(token_id) is not socket:
                continue
            holder = holders.get(token_id)
            if token_id not in valid:
                await socket.close(CloseCode.TOKEN_REVOKED, "link token revoked")
            elif holder is None:
                await self.attach(socket)
            elif (holder.node_id, holder.connection_id) != (self.node_id, socket.connection_id):
                await socket.close(CloseCode.REPLACED, "replaced by a newer connection")


def _resolver(future: asyncio.Future[CommandOutcome]) -> Callable[[CommandOutcome], None]:
    def resolve(outcome: CommandOutcome) -> None:
        if not future.done():
            future.set_result(outcome)

    return resolve
