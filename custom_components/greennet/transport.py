"""How the hub reaches the MQTT broker: the `Transport` interface and its errors.

`Transport` is the small interface the hub depends on (connect, subscribe, publish,
connection state). Two implementations: `AiomqttTransport` (aiomqtt_transport.py), the
integration's own client and the default; `HaMqttTransport` (ha_mqtt_transport.py), on
top of Home Assistant's MQTT integration for users who already run it.
"""

from __future__ import annotations

import ssl
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

type MessageCallback = Callable[[str, bytes, bool], None]
"""Called with (topic, payload, retained) for every message received."""
type ConnectionCallback = Callable[[bool], None]
"""Called with True when the connection is (re)established, False when it drops."""


class TransportError(Exception):
    """The broker cannot be reached or refused the operation."""


class InvalidAuth(TransportError):
    """The broker rejected the credentials."""


class TlsVerificationFailed(TransportError):
    """The broker's certificate is not signed by a trusted CA or names another host."""


class InvalidCaCertificate(TransportError):
    """The CA text is not one or more PEM X.509 certificates."""


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """Where the broker is and how to log in."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    tls_context: ssl.SSLContext | None = None


class Transport(ABC):
    """What the hub needs from an MQTT connection."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Whether messages can flow right now."""

    @abstractmethod
    async def async_connect(self) -> None:
        """Open the first connection; raise InvalidAuth or TransportError."""

    @abstractmethod
    async def async_subscribe(self, topic_filters: Sequence[str], qos: int) -> None:
        """Receive messages matching `topic_filters`, now and after every reconnect.

        Raises TransportError when the broker refuses or the session drops meanwhile.
        """

    @abstractmethod
    async def async_publish(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        """Publish one message; raise TransportError when not connected."""

    @abstractmethod
    async def async_run(self) -> None:
        """Deliver messages and keep the connection up until cancelled.

        Returns early when reconnecting cannot help (credentials rejected), or at once
        when someone else keeps the connection up (Home Assistant's MQTT integration).
        """

    @abstractmethod
    async def async_close(self) -> None:
        """Disconnect cleanly."""


def ca_context(ca_pem: str) -> ssl.SSLContext:
    """A client context trusting only `ca_pem`; blocking, run it in an executor."""
    try:
        context = ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, TypeError, ValueError) as err:
        raise InvalidCaCertificate(str(err)) from err
    # Chain and host name stay verified; strict RFC 5280 checks would reject the CAs that
    # Mosquitto's own how-to makes (no keyUsage), which paho and HA's MQTT integration accept.
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context
