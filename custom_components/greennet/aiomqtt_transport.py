"""The integration's own MQTT client (aiomqtt), the default transport."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt import client as mqtt
from paho.mqtt.client import MQTTMessage
from paho.mqtt.reasoncodes import ReasonCode

from . import const
from .const import BACKOFF_INITIAL, BACKOFF_MAX, CONNECT_TIMEOUT, KEEPALIVE, LOGGER
from .transport import (
    BrokerSettings,
    ConnectionCallback,
    InvalidAuth,
    MessageCallback,
    TlsVerificationFailed,
    Transport,
    TransportError,
)

# CONNACK codes meaning "credentials rejected": MQTT 3.1.1 (4, 5) and MQTT 5 (134, 135).
_AUTH_CODES = frozenset({4, 5, 134, 135})
# SUBACK return codes from 0x80 on mean the broker refused the subscription.
_SUBACK_FAILURE = 0x80


def _is_tls_verification_error(err: BaseException) -> bool:
    # aiomqtt raises MqttError "from None": the ssl error is only left as the context.
    chain = [err]
    while (cause := chain[-1].__cause__ or chain[-1].__context__) and cause not in chain:
        chain.append(cause)
    return any(isinstance(link, ssl.SSLCertVerificationError) for link in chain)


def _is_auth_error(err: aiomqtt.MqttError) -> bool:
    code = getattr(err, "rc", None)
    value = getattr(code, "value", code)
    return isinstance(err, MqttConnectError) and value in _AUTH_CODES


def _suback_code(code: int | ReasonCode) -> int:
    return code if isinstance(code, int) else int(code.value)


def _connect_error(err: aiomqtt.MqttError) -> TransportError:
    if _is_auth_error(err):
        return InvalidAuth(str(err))
    if _is_tls_verification_error(err):
        return TlsVerificationFailed(str(err))
    return TransportError(str(err))


def _send_at_once(client: aiomqtt.Client) -> None:
    """TCP_NODELAY: a command published right after a PUBACK must not wait for the broker's
    delayed ACK of it (Nagle; +40 ms for back-to-back remote commands, bench/RESULTS.md)."""
    sock = client._client.socket()  # aiomqtt private: its paho client
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _async_discard(client: aiomqtt.Client) -> None:
    """Close the socket a failed or abandoned connection attempt left open.

    aiomqtt closes nothing when CONNACK never comes (timeout or cancellation), and offers
    no public way to drop a session it has not finished opening: ask paho itself.
    """
    paho = client._client  # aiomqtt private: its paho client
    if paho.socket() is None:
        return
    # aiomqtt's handler would read the CONNACK future a cancelled attempt has cancelled.
    paho.on_disconnect = None
    paho.disconnect()  # queues DISCONNECT; paho closes the socket once it is written
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1):
            while paho.socket() is not None:  # noqa: ASYNC110 - paho closes it in the loop
                await asyncio.sleep(0.01)


def _drop_now(client: aiomqtt.Client, attempt: asyncio.Future[aiomqtt.Client]) -> None:
    """Stop a connection attempt without waiting: close paho's socket if it is open.

    Only for an attempt cancelled twice; a socket paho's executor thread opens after
    this is left to the process's exit (HA is stopping).
    """
    attempt.cancel()
    paho = client._client  # aiomqtt private: its paho client
    paho.on_disconnect = None
    if paho.socket() is not None:
        paho._sock_close()  # paho private; also tells aiomqtt to stop watching the socket


async def _async_abandon(
    client: aiomqtt.Client, attempt: asyncio.Future[aiomqtt.Client], timeout: float
) -> None:
    """Stop a connection attempt we no longer want, leaving no socket behind."""
    paho = client._client  # aiomqtt private: its paho client
    # paho opens the TCP connection in an executor thread that cancelling cannot stop: let
    # it finish (paho bounds it) so that no socket opens after we left, then drop it.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while not attempt.done() and paho.socket() is None:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    if attempt.done() and not attempt.cancelled() and attempt.exception() is None:
        with contextlib.suppress(aiomqtt.MqttError):
            await client.__aexit__(None, None, None)  # it did connect: leave cleanly
        return
    attempt.cancel()
    await asyncio.wait({attempt})
    if not attempt.cancelled():
        attempt.exception()  # retrieved: a failed attempt needs no report here
    await _async_discard(client)


async def async_check_broker(settings: BrokerSettings) -> None:
    """Connect once and disconnect: raise InvalidAuth or TransportError on failure."""
    transport = AiomqttTransport(settings, lambda *_: None, lambda _: None, lambda: None)
    try:
        await transport.async_connect()
    finally:
        await transport.async_close()


class AiomqttTransport(Transport):
    """The integration's own aiomqtt client, reconnecting with exponential backoff."""

    def __init__(
        self,
        settings: BrokerSettings,
        on_message: MessageCallback,
        on_connection: ConnectionCallback,
        on_auth_failed: Callable[[], None],
        backoff: tuple[float, float] = (BACKOFF_INITIAL, BACKOFF_MAX),
        timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        """Prepare a client; nothing is opened until `async_connect`."""
        self._settings = settings
        self._on_message = on_message
        self._on_connection = on_connection
        self._on_auth_failed = on_auth_failed
        self._backoff = backoff
        self._timeout = timeout  # connect, subscribe and publish each
        self._subscriptions: dict[str, int] = {}
        self._client: aiomqtt.Client | None = None
        self._connected = False
        self._connected_at = 0.0

    @property
    def connected(self) -> bool:
        """Whether the client holds a live session."""
        return self._connected

    def _new_client(self) -> aiomqtt.Client:
        s = self._settings
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.username or None,
            password=s.password or None,
            keepalive=KEEPALIVE,
            timeout=self._timeout,
            tls_context=s.tls_context if s.tls else None,
        )
        # aiomqtt private: its paho client. aiomqtt turns each message into its own
        # `Message` (a validated `Topic`, a copy of every field) and queues it for an
        # iterator that starts a task and an `asyncio.wait` per message; at hundreds of
        # plugs that costs more than handling the message. paho's callback runs in the
        # event loop (aiomqtt reads the socket there): take its message where it is
        # decoded. aiomqtt sets this callback once, in `Client.__init__`.
        client._client.on_message = self._on_paho_message
        return client

    async def async_connect(self) -> None:
        """Open a session and subscribe again (raises InvalidAuth / TransportError)."""
        client = self._new_client()
        # Shielded: a cancelled attempt (unload mid-reconnect) is wound down by
        # `_async_abandon`, never left half open.
        attempt = asyncio.ensure_future(client.__aenter__())
        try:
            await asyncio.shield(attempt)
        except asyncio.CancelledError:
            try:
                await _async_abandon(client, attempt, self._timeout)
            except asyncio.CancelledError:
                # Cancelled again while winding down (HA's last shutdown stage allows a
                # cancelled setup 0.1 s): no more waiting, close what is open now.
                _drop_now(client, attempt)
            raise
        except aiomqtt.MqttError as err:
            await _async_discard(client)
            raise _connect_error(err) from err
        try:
            if self._subscriptions:
                await self._subscribe(client, self._subscriptions)
        except BaseException:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)
            raise
        self._client = client
        _send_at_once(client)
        self._connected_at = time.monotonic()
        self._set_connected(True)

    async def _subscribe(self, client: aiomqtt.Client, filters: dict[str, int]) -> None:
        """One SUBSCRIBE for every filter; a refusal is an error, not silence."""
        try:
            granted = await client.subscribe(list(filters.items()))
        except aiomqtt.MqttError as err:
            raise TransportError(f"subscribing failed: {err}") from err
        codes = [_suback_code(code) for code in granted]
        refused = [
            topic_filter
            for topic_filter, code in zip(filters, codes, strict=False)
            if code >= _SUBACK_FAILURE
        ]
        if refused:
            raise TransportError(f"the broker refused the subscription to {', '.join(refused)}")

    async def async_subscribe(self, topic_filters: Sequence[str], qos: int) -> None:
        """Subscribe now if connected, and again after every reconnect."""
        new = dict.fromkeys(topic_filters, qos)
        self._subscriptions.update(new)
        if self._client is not None and self._connected:
            await self._subscribe(self._client, new)

    async def async_publish(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        """Publish one message through the live session."""
        if self._client is None or not self._connected:
            raise TransportError("not connected to the broker")
        try:
            await self._client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as err:
            raise TransportError(str(err)) from err

    def _set_connected(self, connected: bool) -> None:
        if connected != self._connected:
            self._connected = connected
            self._on_connection(connected)

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        self._set_connected(False)
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    def _on_paho_message(self, _paho: mqtt.Client, _userdata: Any, message: MQTTMessage) -> None:
        """paho's message callback, in the event loop: hand the message to the hub."""
        try:
            topic = message.topic
        except UnicodeDecodeError as err:  # MQTT requires UTF-8; a broker may not check
            LOGGER.debug("Ignored a message whose topic is not UTF-8: %s", err)
            return
        self._deliver(topic, message.payload, message.retain)

    def _deliver(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            self._on_message(topic, payload, retained)
        except Exception:  # one bad handler must not end the session for every plug
            LOGGER.exception("Error handling MQTT message on %s", topic)

    async def _read(self) -> None:
        """Until the session ends. Messages arrive through `_on_paho_message`; were aiomqtt
        ever to take paho's callback back, they would queue here and still be delivered."""
        assert self._client is not None
        async for message in self._client.messages:
            # Typed as any payload aiomqtt accepts; paho hands every received one as bytes.
            self._deliver(message.topic.value, cast(bytes, message.payload), message.retain)

    async def async_run(self) -> None:
        """Read messages; on loss, reconnect with exponential backoff until cancelled.

        The backoff grows with every attempt and falls back to its start only after a
        session that lasted (a broker that accepts and drops at once is not hammered).
        Rejected credentials end the loop: retrying cannot fix them, reauth can.
        """
        delay = self._backoff[0]
        while True:
            if self._client is not None:
                try:
                    await self._read()
                except aiomqtt.MqttError as err:
                    LOGGER.debug("MQTT session ended: %s", err)
                await self._drop_client()
                if time.monotonic() - self._connected_at >= const.STABLE_CONNECTION:
                    delay = self._backoff[0]
            await asyncio.sleep(delay)
            try:
                await self.async_connect()
            except InvalidAuth as err:
                LOGGER.warning("The MQTT broker rejected the credentials: %s", err)
                self._on_auth_failed()
                return
            except TransportError as err:
                LOGGER.debug("reconnect failed, next try in %.1f s: %s", delay, err)
            delay = min(delay * 2, self._backoff[1])

    async def async_close(self) -> None:
        """Disconnect; safe to call more than once."""
        await self._drop_client()
