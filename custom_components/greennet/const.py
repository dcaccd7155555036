"""Constants for the GreenNet integration."""

from __future__ import annotations

import logging
from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "greennet"
LOGGER: Final = logging.getLogger(__package__)
MANUFACTURER: Final = "GreenNet"

PLATFORMS: Final = (
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
)

# Config entry data (host, port, username, password come from homeassistant.const).
# How the hub reaches the broker: its own client (default) or HA's MQTT integration.
CONF_TRANSPORT: Final = "transport"
TRANSPORT_AIOMQTT: Final = "aiomqtt"
TRANSPORT_HA_MQTT: Final = "ha_mqtt"
CONF_TLS: Final = "tls"
# PEM text of the CA that signed the broker's certificate (public data; TLS only).
CONF_CA_CERT: Final = "ca_certificate"
CONF_PREFIX: Final = "prefix"
DEFAULT_PORT: Final = 1883
DEFAULT_TLS_PORT: Final = 8883

# Options: defaults sent to plugs, and plugs this entry leaves alone.
CONF_INTERVAL: Final = "interval"
CONF_DEADBAND: Final = "deadband"
CONF_IGNORED_PLUGS: Final = "ignored_plugs"

# Reconnect backoff of the integration's own MQTT client, seconds.
BACKOFF_INITIAL: Final = 1.0
BACKOFF_MAX: Final = 60.0
# A session that lasted this long (s) resets the backoff, and its loss is logged at info.
STABLE_CONNECTION: Final = 30.0
CONNECT_TIMEOUT: Final = 10.0
KEEPALIVE: Final = 30
# How long an action waits for the plug to confirm a relay change.
RELAY_CONFIRM_TIMEOUT: Final = 5.0
# Energy dips up to this many kWh are rounding in the plug, not a meter reset.
ENERGY_DIP_TOLERANCE: Final = 0.01

# Highest protection limits offered for a plug that does not report its own ceilings
# (`current_ceiling` / `power_ceiling` in `protection`): a 16 A socket at 230 V.
DEFAULT_CURRENT_CEILING: Final = 16.0
DEFAULT_POWER_CEILING: Final = 3680.0

# Home Assistant bus event for device triggers and automations (see docs/integration.md):
# data = {"device_id", "plug_id", "type", "data"}.
EVENT_GREENNET: Final = "greennet_event"
# Types the hub adds to the plug's own event types (overload_trip, sensor_fault, button, ...).
EVENT_TYPE_ONLINE: Final = "online"
EVENT_TYPE_OFFLINE: Final = "offline"

ISSUE_UNSUPPORTED_PROTOCOL: Final = "unsupported_protocol"
