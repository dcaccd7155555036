"""The process-wide message bus: small JSON messages to every subscriber in every process.

One API, two implementations chosen by the database:

- SQLite (one process): `MemoryBus`. Every bus of this process on the same database shares
  one hub, so two apps on one SQLite file in one process (tests do this) hear each other.
- PostgreSQL (any number of processes): `PostgresBus`, `LISTEN`/`NOTIFY` on one dedicated
  connection per bus (per process), outside the request pool.

Semantics, the same on both:

- `publish(channel, message)` delivers `message` (a JSON object of at most
  `MAX_MESSAGE_BYTES` encoded) to every subscriber of `channel` in every process on this
  database, this one included, asynchronously (never inside `publish`), in publish order
  per publisher. Publish after your transaction commits, so a receiver reloading from the
  database sees the change. `publish_many(channel, messages)` is the same for several
  messages at once (one round trip on PostgreSQL, however many).
- Delivery is at most once and best effort: a PostgreSQL connection that drops loses what
  was sent meanwhile. The bus reconnects and then calls every subscriber's `on_reset`, so
  state derived from messages (a cache) can be dropped. Correctness must never rest on the
  bus alone (the session cache also expires entries).
- Callbacks run on the event loop and must not block; one that raises is logged and the
  others still run.

    bus = create_bus(database_url)
    await bus.start()
    subscription = await bus.subscribe("greennet_sessions", on_message, on_reset)
    await bus.publish("greennet_sessions", {"session": session_id})
    subscription.cancel()
    await bus.close()

Users: the session cache (invalidation), and next the live updates and the HA link relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url

_LOGGER = logging.getLogger(__name__)

type Message = dict[str, Any]
type OnMessage = Callable[[Message], None]
type OnReset = Callable[[], None]

MAX_MESSAGE_BYTES = 7900  # PostgreSQL refuses NOTIFY payloads from 8000 bytes
_CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,62}$")  # a plain PostgreSQL identifier
_RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
# several NOTIFYs in one statement, in array order (a statement's notifications are
# delivered in the order they were sent)
_NOTIFY_MANY = (
    "SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS m (payload, n)"
    " ORDER BY n"
)


class BusError(RuntimeError):
    """The bus could not publish (its PostgreSQL connection is down, or it is closed)."""


@dataclass(eq=False)
class Subscription:
    """One subscriber of one channel; `cancel()` stops its deliveries."""

    channel: str
    on_message: OnMessage
    on_reset: OnReset | None
    _cancel: Callable[[Subscription], None] = field(repr=False)

    def cancel(self) -> None:
        """Stop delivering to this subscriber (idempotent)."""
        self._cancel(self)


def to_json(value: Any) -> bytes:
    """`value` as the bus sends it: compact UTF-8 JSON (what `MAX_MESSAGE_BYTES` counts)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def encode(channel: str, message: Message) -> str:
    """The wire form of `message`; ValueError for a bad channel or an oversized message."""
    if not _CHANNEL.fullmatch(channel):
        raise ValueError(f"bad bus channel name {channel!r}")
    payload = to_json(message)
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ValueError(f"bus message over {MAX_MESSAGE_BYTES} bytes on {channel}")
    return payload.decode()


class Bus:
    """Publish/subscribe across the processes of one database (see the module doc)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscription]] = {}

    async def start(self) -> None:
        """Connect (PostgreSQL); subscribing works before, delivery starts here."""

    async def close(self) -> None:
        """Disconnect; no delivery afterwards."""

    async def publish(self, channel: str, message: Message) -> None:
        """Send `message` to every subscriber of `channel`, in every process."""
        raise NotImplementedError

    async def publish_many(self, channel: str, messages: list[Message]) -> None:
        """`publish` each of `messages`, in order (at once where the bus can); one that
        `encode` refuses sends none of them."""
        raise NotImplementedError

    async def subscribe(
        self, channel: str, on_message: OnMessage, on_reset: OnReset | None = None
    ) -> Subscription:
        """Call `on_message(message)` for each message on `channel`, `on_reset()` after a gap
        (messages may have been lost). Returns once deliveries will reach the subscriber."""
        encode(channel, {})  # validates the name
        subscription = Subscription(channel, on_message, on_reset, self._unsubscribe)
        first = channel not in self._subscribers
        self._subscribers.setdefault(channel, []).append(subscription)
        if first:
            await self._channel_added(channel)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.channel, [])
        if subscription in subscribers:
            subscribers.remove(subscription)

    async def _channel_added(self, channel: str) -> None:
        """A first subscriber for `channel` (PostgreSQL starts listening)."""

    def _deliver(self, channel: str, payload: str) -> None:
        try:
            message = orjson.loads(payload)
            if not isinstance(message, dict):
                raise ValueError("not a JSON object")
        except ValueError:
            _LOGGER.warning("bus: dropped a malformed message on %s", channel)
            return
        for subscription in list(self._subscribers.get(channel, ())):
            try:
                subscription.on_message(message)
            except Exception:
                _LOGGER.exception("bus: subscriber of %s failed", channel)

    def _reset(self) -> None:
        for subscribers in self._subscribers.values():
            for subscription in list(subscribers):
                if subscription.on_reset is not None:
                    try:
                        subscription.on_reset()
                    except Exception:
                        _LOGGER.exception(
                            "bus: reset of a %s subscriber failed", subscription.channel
                        )


class _Hub:
    """The buses of this process on one SQLite database."""

    def __init__(self) -> None:
        self.buses: set[MemoryBus] = set()


_HUBS: dict[str, _Hub] = {}


class MemoryBus(Bus):
    """In-process delivery, shared by every bus of this process on the same database."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self._key = database_url
        self._hub = _HUBS.setdefault(database_url, _Hub())
        self._hub.buses.add(self)

    async def publish(self, channel: str, message: Message) -> None:
        await self.publish_many(channel, [message])

    async def publish_many(self, channel: str, messages: list[Message]) -> None:
        payloads = [encode(channel, message) for message in messages]
        loop = asyncio.get_running_loop()
        for payload in payloads:
            for bus in list(self._hub.buses):
                loop.call_soon(bus._deliver, channel, payload)

    async def close(self) -> None:
        self._hub.buses.discard(self)
        if not self._hub.buses and _HUBS.get(self._key) is self._hub:
            del _HUBS[self._key]


class PostgresBus(Bus):
    """LISTEN/NOTIFY on one dedicated asyncpg connection, reconnected when it drops."""

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._connecting = asyncio.Lock()
        self._statement = asyncio.Lock()  # one statement at a time on the connection
        self._ever_connected = False
        self._closed = False
        self._reconnecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connected()

    async def close(self) -> None:
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)

    async def publish(self, channel: str, message: Message) -> None:
        await self._notify(channel, "SELECT pg_notify($1, $2)", encode(channel, message))

    async def publish_many(self, channel: str, messages: list[Message]) -> None:
        # one statement, one round trip: a 200-plug ingest batch is several messages
        payloads = [encode(channel, message) for message in messages]
        if payloads:
            await self._notify(channel, _NOTIFY_MANY, payloads)

    async def _notify(self, channel: str, statement: str, payload: object) -> None:
        failure: Exception | None = None
        for _attempt in range(2):  # once more on a fresh connection if this one just died
            try:
                conn = await self._connected()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
                failure = err  # PostgreSQL unreachable
                continue
            try:
                async with self._statement:
                    await conn.execute(statement, channel, payload)
                return
            except Exception as err:  # any asyncpg failure: this connection is done
                failure = err
                if self._conn is conn:
                    self._conn = None
                conn.terminate()
        raise BusError(f"could not publish on {channel}: {failure}") from failure

    async def _channel_added(self, channel: str) -> None:
        conn = self._conn
        if conn is not None and not conn.is_closed():
            async with self._statement:
                await conn.add_listener(channel, self._notified)
        # otherwise the next (re)connection listens to every subscribed channel

    def _notified(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self._deliver(channel, payload)

    async def _connected(self) -> asyncpg.Connection:
        """The live connection, opened (listening to every channel) when there is none."""
        async with self._connecting:
            conn = self._conn
            if conn is not None and not conn.is_closed():
                return conn
            if self._closed:
                raise BusError("the bus is closed")
            conn = await asyncpg.connect(self._dsn)
            conn.add_termination_listener(self._terminated)
            for channel in list(self._subscribers):
                await conn.add_listener(channel, self._notified)
            reconnected, self._ever_connected = self._ever_connected, True
            self._conn = conn
        if reconnected:
            _LOGGER.info("bus: reconnected to PostgreSQL")
            self._reset()  # whatever was sent while we were away is lost
        return conn

    def _terminated(self, conn: object) -> None:
        if self._closed or conn is not self._conn or self._reconnecting is not None:
            return
        _LOGGER.warning("bus: PostgreSQL connection lost; reconnecting")
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        try:
            for attempt in itertools.count():
                if self._closed:
                    return
                try:
                    await self._connected()
                    return
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
                    delay = _RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)]
                    _LOGGER.warning("bus: reconnect failed (%s); retrying in %.1f s", err, delay)
                    await asyncio.sleep(delay)
        finally:
            self._reconnecting = None


def create_bus(database_url: str) -> Bus:
    """The bus for the database at `database_url` (a SQLAlchemy URL)."""
    url = make_url(database_url)
    if url.drivername.startswith("postgresql"):
        return PostgresBus(url.set(drivername="postgresql").render_as_string(hide_password=False))
    return MemoryBus(database_url)
