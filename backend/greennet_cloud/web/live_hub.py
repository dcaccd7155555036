"""`/api/v1/ws`: the live websocket. One `LiveHub` per process keeps its clients and routes
every bus message of `greennet_live` to the sockets that may see it.

- **Opening**: `POST /api/v1/ws/tickets` (bearer) gives a single-use ticket valid 30 s;
  `GET /api/v1/ws?ticket=…` opens the socket. A browser's `Origin` must be this service
  (same host as the request, the public URL's origin) or one of `GREENNET_WS_ORIGINS`;
  clients that send no Origin (scripts, Home Assistant) are not browsers and pass.
- **Subscribing**: `{"type": "subscribe", "homes": [...], "devices": [...]}`; every id must
  be one the caller may read, or nothing is subscribed. Notifications need no subscription.
- **Flow control**: each client has a bounded queue; delivering never waits. A client whose
  queue is full is dropped (close 4008), so a slow reader never slows ingest or the others.
- **Ending**: the session ending (logout, revocation, password reset, expiry, a disabled
  account) closes its sockets (4001), heard from the session cache's bus channel at once and
  checked again every minute; a lost share ends that subscription (`unsubscribed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

from ..bus import Bus, Message, Subscription, to_json
from ..config import Live
from ..db.engine import reading
from ..errors import DomainError, Forbidden, InvalidInput, Unauthenticated
from ..security.session_cache import CHANNEL as SESSIONS_CHANNEL
from ..services.base import Principal
from ..services.device_states import CHANNEL as DEVICE_STATE_CHANNEL
from ..services.devices import visible_device
from ..services.homes import visible_home
from ..services.ingest import TELEMETRY_CHANNEL
from ..services.live import CHANNEL, LiveTickets

_LOGGER = logging.getLogger(__name__)
SESSION_ENDED = 4001  # close code: the session is over (log in again)
TOO_SLOW = 4008  # close code: the client did not keep up with its updates
GOING_AWAY = 1001
MAX_MESSAGE = 16 * 1024
MAX_IDS = 100  # homes and devices per subscribe message
RELAY_MEMORY = 100_000  # devices whose last relay state the hub remembers
READING_FIELDS = ("ts", "power", "voltage", "current", "energy", "relay")
SEND_BUFFER = 64 * 1024  # bytes the kernel holds for one socket (it may double it)


@dataclass(eq=False)
class LiveClient:
    """One open socket: whose, what it follows, and what waits to be sent."""

    request: web.Request
    ws: web.WebSocketResponse
    principal: Principal
    queue: asyncio.Queue[str]
    homes: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    writer: asyncio.Task[None] | None = None
    closing: bool = False


class LiveHub:
    """This process's sockets and the routing of live messages to them."""

    def __init__(self, engine: AsyncEngine, tickets: LiveTickets, settings: Live) -> None:
        self.engine = engine
        self.tickets = tickets
        self.settings = settings
        self.clients: set[LiveClient] = set()
        self.dropped = 0  # clients dropped for not keeping up
        self._subscriptions: list[Subscription] = []
        self._checker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._relay: OrderedDict[str, object] = OrderedDict()  # last relay state per device

    # --- lifetime -----------------------------------------------------------------------

    async def start(self, bus: Bus) -> None:
        """Hear live messages and session ends (the bus must be started)."""
        self._subscriptions = [
            await bus.subscribe(CHANNEL, self.on_message, self.on_gap),
            await bus.subscribe(TELEMETRY_CHANNEL, self.on_telemetry, self.on_gap),
            await bus.subscribe(DEVICE_STATE_CHANNEL, self.on_device_state, self.on_gap),
            await bus.subscribe(SESSIONS_CHANNEL, self.on_session_message),
        ]
        self._checker = asyncio.create_task(self._check_sessions_periodically())

    async def close_all(self) -> None:
        """Close every socket (shutdown)."""
        for subscription in self._subscriptions:
            subscription.cancel()
        if self._checker is not None:
            self._checker.cancel()
        await asyncio.gather(
            *(
                self._close(client, GOING_AWAY, "server shutting down")
                for client in list(self.clients)
            ),
            return_exceptions=True,
        )

    # --- routing ------------------------------------------------------------------------

    def on_message(self, message: Message) -> None:
        """Route one bus message to the sockets that may see it."""
        kind = message.get("type")
        if kind == "notification":
            targets: Iterable[LiveClient] = (
                client for client in self.clients
                if client.principal.user_id == message.get("user_id")
            )  # fmt: skip
            outgoing = {"type": "notification", "notification": message.get("notification")}
        elif kind == "access":
            users = message.get("user_ids")
            self._spawn(self._recheck_access(None if users is None else set(users)))
            return
        elif kind in {"telemetry", "state", "availability", "alert"}:
            device, home = message.get("device_id"), message.get("home_id")
            targets = (c for c in self.clients if device in c.devices or home in c.homes)
            outgoing = message
        else:
            return
        text: str | None = None
        for client in list(targets):
            text = text or _dumps(outgoing)
            self._offer(client, text)

    def on_telemetry(self, message: Message) -> None:
        """A stored ingest batch: each device's newest sample, a relay change, coming online.
        Every process hears every batch, so each one's memory of relay states agrees."""
        devices = message.get("devices")
        if not isinstance(devices, list):
            return
        for entry in devices:
            if not isinstance(entry, dict):
                continue
            where = {"device_id": entry.get("id"), "home_id": entry.get("home_id")}
            self.on_message({
                "type": "telemetry", **where,
                **{name: entry.get(name) for name in READING_FIELDS},
            })  # fmt: skip
            relay = entry.get("relay")
            if self._relay_changed(str(where["device_id"]), relay):
                self.on_message({"type": "state", **where, "relay": relay, "ts": entry.get("ts")})
            if entry.get("came_online"):
                self.on_message({
                    "type": "availability", **where, "online": True, "ts": entry.get("ts"),
                })  # fmt: skip

    def on_device_state(self, message: Message) -> None:
        """A state the linked Home Assistant reported, or a remote command's confirmed one:
        relay and trip as `state`, online or offline as `availability` (`ts` null: no
        reading came with it), each only when the report has it."""
        device_id = message.get("device_id")
        if not isinstance(device_id, str):
            return
        where = {"device_id": device_id, "home_id": message.get("home_id")}
        relay, tripped = message.get("relay"), message.get("tripped")
        if relay is not None or tripped is not None:
            if relay is not None:
                self._relay_changed(device_id, relay)  # a reading with it says nothing new
            self.on_message({
                "type": "state", **where, "relay": relay, "tripped": tripped,
                "ts": message.get("ts"),
            })  # fmt: skip
        if message.get("online") is not None:
            self.on_message({
                "type": "availability", **where, "online": message["online"], "ts": None,
            })  # fmt: skip

    def _relay_changed(self, device_id: str, relay: object) -> bool:
        previous = self._relay.pop(device_id, None)
        self._relay[device_id] = relay
        if len(self._relay) > RELAY_MEMORY:
            self._relay.popitem(last=False)
        return previous is not None and previous != relay

    def on_gap(self) -> None:
        """The bus lost messages: tell every client to reload what it shows."""
        text = _dumps({"type": "resync"})
        for client in list(self.clients):
            self._offer(client, text)

    def on_session_message(self, message: Message) -> None:
        """A session ended or an account changed somewhere: check the affected sockets."""
        session, user = message.get("session"), message.get("user")
        affected = [
            client for client in self.clients
            if client.principal.session_id == session or client.principal.user_id == user
        ]  # fmt: skip
        if affected:
            self._spawn(self._check_sessions(affected))

    def _offer(self, client: LiveClient, text: str) -> None:
        if client.closing:
            return
        try:
            client.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped += 1
            _LOGGER.info(
                "live: dropped a socket of user %s: %d updates waiting",
                client.principal.user_id, client.queue.qsize(),
            )  # fmt: skip
            self._spawn(self._close(client, TOO_SLOW, "too slow"))
            client.closing = True  # after _close has taken it: nothing more is offered

    # --- one socket ---------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Open a socket with a ticket and serve it until either side closes."""
        self._check_origin(request)
        ticket = request.query.get("ticket")
        if not ticket or len(ticket) > 200:
            raise Unauthenticated(
                "a ticket is required (POST /api/v1/ws/tickets)", "invalid_ticket"
            )
        principal = await self.tickets.redeem(ticket)
        ws = web.WebSocketResponse(
            heartbeat=self.settings.heartbeat_seconds, max_msg_size=MAX_MESSAGE
        )
        await ws.prepare(request)
        _bound_send_buffer(request)
        client = LiveClient(request, ws, principal, asyncio.Queue(self.settings.queue_size))
        self.clients.add(client)
        client.writer = asyncio.create_task(self._write(client))
        self._offer(client, _dumps({
            "type": "hello", "user_id": principal.user_id,
            "heartbeat": self.settings.heartbeat_seconds,
        }))  # fmt: skip
        try:
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:
                    await self._on_client_message(client, frame.data)
                elif frame.type is WSMsgType.BINARY:
                    self._offer(client, _error(None, "invalid_message", "send JSON text frames"))
        finally:
            self.clients.discard(client)
            client.closing = True
            if client.writer is not None:
                client.writer.cancel()
        return ws

    async def _write(self, client: LiveClient) -> None:
        try:
            while True:
                text = await client.queue.get()
                await client.ws.send_str(text)
        except (ConnectionError, RuntimeError) as err:  # the peer went away mid-send
            _LOGGER.debug("live: socket write failed: %s", err)

    async def _on_client_message(self, client: LiveClient, data: str) -> None:
        try:
            message = orjson.loads(data)
        except ValueError:
            self._offer(client, _error(None, "invalid_json", "messages are JSON objects"))
            return
        if not isinstance(message, dict):
            self._offer(client, _error(None, "invalid_json", "messages are JSON objects"))
            return
        request_id = message.get("id")
        if not isinstance(request_id, str | int | None) or isinstance(request_id, bool):
            request_id = None
        kind = message.get("type")
        try:
            if kind == "ping":
                self._offer(client, _dumps({"type": "pong", "id": request_id}))
            elif kind == "subscribe":
                homes, devices = _ids(message)
                await self._subscribe(client, homes, devices)
                self._offer(client, _listing("subscribed", request_id, client))
            elif kind == "unsubscribe":
                homes, devices = _ids(message)
                client.homes -= homes
                client.devices -= devices
                self._offer(client, _listing("unsubscribed", request_id, client))
            else:
                raise InvalidInput("type must be subscribe, unsubscribe or ping", "invalid_message")
        except DomainError as err:
            self._offer(client, _error(request_id, err.code, err.message))

    async def _subscribe(self, client: LiveClient, homes: set[str], devices: set[str]) -> None:
        total = len(client.homes | homes) + len(client.devices | devices)
        if total > self.settings.max_subscriptions:
            raise InvalidInput(
                f"at most {self.settings.max_subscriptions} homes and devices per socket",
                "too_many_subscriptions",
            )
        async with reading(self.engine).begin() as conn:
            for home_id in homes:
                await visible_home(conn, client.principal, home_id)
            for device_id in devices:
                await visible_device(conn, client.principal, device_id)
        client.homes |= homes
        client.devices |= devices

    # --- checks -------------------------------------------------------------------------

    def _check_origin(self, request: web.Request) -> None:
        origin = request.headers.get("Origin")
        if origin is None:
            return  # not a browser: nothing a web page could forge
        try:
            parsed = URL(origin)
        except ValueError:
            parsed = URL()
        allowed = (
            {URL(self.settings.public_origin).origin()} if self.settings.public_origin else set()
        )
        allowed |= {URL(item).origin() for item in self.settings.allowed_origins}
        same_host = parsed.host is not None and parsed.raw_authority == request.host
        if not same_host and (not parsed.is_absolute() or parsed.origin() not in allowed):
            raise Forbidden("this origin may not open the live socket", "origin_not_allowed")

    async def _check_sessions(self, clients: Iterable[LiveClient]) -> None:
        for client in list(clients):
            if client.closing:
                continue
            current = await self.tickets.principal(
                client.principal.user_id, client.principal.session_id
            )
            if current is None:
                await self._close(client, SESSION_ENDED, "session ended")
            else:
                client.principal = current

    async def _check_sessions_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.settings.recheck_seconds)
            try:
                await self._check_sessions(self.clients)
                await self._recheck_access(None)
            except Exception:  # the database may be away for a moment: try again later
                _LOGGER.exception("live: periodic socket check failed")

    async def _recheck_access(self, users: set[str] | None) -> None:
        for client in list(self.clients):
            if client.closing or (users is not None and client.principal.user_id not in users):
                continue
            lost_homes: set[str] = set()
            lost_devices: set[str] = set()
            async with reading(self.engine).begin() as conn:
                for home_id in client.homes:
                    try:
                        await visible_home(conn, client.principal, home_id)
                    except DomainError:
                        lost_homes.add(home_id)
                for device_id in client.devices:
                    try:
                        await visible_device(conn, client.principal, device_id)
                    except DomainError:
                        lost_devices.add(device_id)
            if lost_homes or lost_devices:
                client.homes -= lost_homes
                client.devices -= lost_devices
                self._offer(client, _dumps({
                    "type": "unsubscribed", "id": None, "reason": "access_revoked",
                    "homes": sorted(lost_homes), "devices": sorted(lost_devices),
                }))  # fmt: skip

    async def _close(self, client: LiveClient, code: int, reason: str) -> None:
        if client not in self.clients:
            return  # closed already (or closing)
        client.closing = True
        self.clients.discard(client)
        if client.writer is not None:
            client.writer.cancel()
        try:
            await asyncio.wait_for(client.ws.close(code=code, message=reason.encode()), 2)
        except (TimeoutError, ConnectionError, RuntimeError):
            # its buffers are full (it stopped reading): cut the connection
            if client.request.transport is not None:
                client.request.transport.abort()

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _dumps(message: Any) -> str:
    """A message's JSON text, encoded as the bus encodes (orjson: a fraction of the standard
    library's time for the thousand readings a second one socket may carry)."""
    return to_json(message).decode()


def _bound_send_buffer(request: web.Request) -> None:
    """Keep the kernel's send buffer of a socket small: a client that stops reading then
    fills its queue (and is dropped) after kilobytes, not megabytes, of unread updates."""
    transport = request.transport
    raw = transport.get_extra_info("socket") if transport is not None else None
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)


def _ids(message: dict[str, Any]) -> tuple[set[str], set[str]]:
    found = []
    for name in ("homes", "devices"):
        value = message.get(name, [])
        if not isinstance(value, list) or not all(
            isinstance(item, str) and 0 < len(item) <= 64 for item in value
        ):
            raise InvalidInput(f"'{name}' must be a list of ids", "invalid_message")
        if len(value) > MAX_IDS:
            raise InvalidInput(f"at most {MAX_IDS} {name} per message", "invalid_message")
        found.append(set(value))
    return found[0], found[1]


def _listing(kind: str, request_id: object, client: LiveClient) -> str:
    return _dumps({
        "type": kind, "id": request_id, "homes": sorted(client.homes),
        "devices": sorted(client.devices),
    })  # fmt: skip


def _error(request_id: object, code: str, text: str) -> str:
    return _dumps({"type": "error", "id": request_id, "error": code, "message": text})
