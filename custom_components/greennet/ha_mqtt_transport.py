"""Home Assistant's own MQTT connection as the hub's transport.

For users who already run HA's MQTT integration on the plugs' broker: no second
connection, and whatever that integration supports (client certificates, websockets,
MQTT 5) comes with it. HA's MQTT integration owns the connection, reconnects and
resubscribes by itself; this transport only adds and removes subscriptions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .transport import ConnectionCallback, MessageCallback, Transport, TransportError


def ha_mqtt_connected(hass: HomeAssistant) -> bool:
    """Whether HA's MQTT integration is set up and connected to its broker."""
    # Loaded first: before its first setup there is no client to ask, and once its entry is
    # unloaded or removed, its client stays marked connected (HA 2025.4).
    return bool(hass.config_entries.async_loaded_entries(mqtt.DOMAIN)) and mqtt.is_connected(hass)


class HaMqttTransport(Transport):
    """Subscriptions on HA's MQTT client; its connection state is ours."""

    def __init__(
        self, hass: HomeAssistant, on_message: MessageCallback, on_connection: ConnectionCallback
    ) -> None:
        """Prepare; nothing is subscribed until `async_connect` and `async_subscribe`."""
        self._hass = hass
        self._on_message = on_message
        self._on_connection = on_connection
        self._unsubscribes: list[Callable[[], None]] = []

    @property
    def connected(self) -> bool:
        """Whether HA's MQTT client is connected."""
        return ha_mqtt_connected(self._hass)

    async def async_connect(self) -> None:
        """Wait for HA's MQTT integration to be set up (it need not be connected yet)."""
        if not await mqtt.async_wait_for_mqtt_client(self._hass):
            raise TransportError("Home Assistant's MQTT integration is not set up")
        self._unsubscribes.append(
            mqtt.async_subscribe_connection_status(self._hass, self._on_connection)
        )

    async def async_subscribe(self, topic_filters: Sequence[str], qos: int) -> None:
        """Subscribe through HA's client (it resubscribes after reconnects by itself)."""
        try:
            for topic_filter in topic_filters:
                self._unsubscribes.append(
                    await mqtt.async_subscribe(
                        self._hass, topic_filter, self._message_received, qos, encoding=None
                    )
                )
        except HomeAssistantError as err:
            raise TransportError(str(err)) from err

    @callback
    def _message_received(self, message: mqtt.ReceiveMessage) -> None:
        payload = message.payload
        if isinstance(payload, str):  # only with an encoding, which we do not ask for
            payload = payload.encode()
        self._on_message(message.topic, payload, message.retain)

    async def async_publish(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        """Publish through HA's client."""
        if not self.connected:
            raise TransportError("Home Assistant's MQTT integration is not connected")
        try:
            await mqtt.async_publish(self._hass, topic, payload, qos, retain)
        except HomeAssistantError as err:
            raise TransportError(str(err)) from err

    async def async_run(self) -> None:
        """Nothing to run: HA's MQTT integration keeps the connection up."""

    async def async_close(self) -> None:
        """Drop our subscriptions and the connection-state listener."""
        while self._unsubscribes:
            self._unsubscribes.pop()()
