"""The hub: one MQTT broker, every plug on it, push updates to entities and listeners."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr

from . import const
from . import protocol as p
from .confirmations import RelayConfirmations
from .const import (
    CONF_DEADBAND,
    CONF_IGNORED_PLUGS,
    CONF_INTERVAL,
    DOMAIN,
    EVENT_GREENNET,
    EVENT_TYPE_OFFLINE,
    EVENT_TYPE_ONLINE,
    LOGGER,
    RELAY_CONFIRM_TIMEOUT,
)
from .devices import async_drop_ignored_devices, async_plug_device, async_sync_plug_device
from .issues import async_delete_plug_issues, async_sync_protocol_issue
from .listeners import (
    NewPlugListener,
    PlugEntity,
    PlugListener,
    PlugListeners,
    UpdateListener,
)
from .models import PlugState
from .transport import Transport, TransportError

if TYPE_CHECKING:
    from .cloud.link import CloudLink

type GreenNetConfigEntry = ConfigEntry[GreenNetHub]
"""A GreenNet config entry; a loaded one holds its hub as `runtime_data`."""

_PARSERS: Final[dict[p.Channel, Callable[[bytes], Any]]] = {
    p.Channel.STATUS: p.parse_status,
    p.Channel.TELEMETRY: p.parse_telemetry,
    p.Channel.RELAY: p.parse_relay,
    p.Channel.PROTECTION: p.parse_protection,
    p.Channel.CONFIG: p.parse_config,
    p.Channel.EVENT: p.parse_event,
}
_RESERVED_EVENT_TYPES: Final = frozenset({EVENT_TYPE_ONLINE, EVENT_TYPE_OFFLINE})
# Topics already split (plug id, channel); bounded against a flood of made-up plug ids.
_ROUTE_CACHE_SIZE: Final = 8192


class GreenNetHub:
    """Owns the broker connection and the typed state of every plug on it."""

    def __init__(self, hass: HomeAssistant, entry: GreenNetConfigEntry, prefix: str) -> None:
        """Create the hub; `attach` a transport before `async_start`."""
        self.hass = hass
        self.entry = entry
        self.prefix = prefix
        self.plugs: dict[str, PlugState] = {}
        self.listeners = PlugListeners()
        self._transport: Transport | None = None
        self._task: asyncio.Task[None] | None = None
        self._announced: set[str] = set()
        self._routes: dict[str, tuple[str, p.Channel] | None] = {}
        self._relay = RelayConfirmations(hass.loop)
        self._warned: set[tuple[str, str]] = set()
        # Connection log: once per outage at info; a session that drops before it was
        # stable (STABLE_CONNECTION) is flapping, logged at debug.
        self._up_since = time.monotonic()
        self._had_outage = False
        self._quiet_outage = False
        self._stopping = False
        # Options in effect; plug ids this entry leaves alone (a change reloads the entry).
        self.options: dict[str, Any] = dict(entry.options)
        self.ignored = frozenset(entry.options.get(CONF_IGNORED_PLUGS, ()))
        # The entry's GreenNet Cloud link, when it is linked (set up by cloud/__init__.py).
        self.cloud_link: CloudLink | None = None

    # --- lifecycle ------------------------------------------------------------

    def attach(self, transport: Transport) -> None:
        """Use this transport (its callbacks must be `on_message` / `on_connection`)."""
        self._transport = transport

    @property
    def transport(self) -> Transport:
        """The attached transport."""
        assert self._transport is not None
        return self._transport

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up."""
        return self._transport is not None and self._transport.connected

    async def async_subscribe(self) -> None:
        """Subscribe to everything plugs publish (raises TransportError)."""
        await self.transport.async_subscribe(
            [p.wildcard(self.prefix, channel) for channel in p.PLUG_PUBLISHES], p.QOS_STATE
        )

    async def async_start(self) -> None:
        """Drop the devices of ignored plugs and run the connection in the background."""
        async_drop_ignored_devices(self.hass, self.entry.entry_id, self.ignored)
        self._task = self.entry.async_create_background_task(
            self.hass, self.transport.async_run(), f"{DOMAIN} MQTT {self.entry.title}"
        )

    async def async_stop(self) -> None:
        """Stop the connection task and disconnect; pending relay commands fail."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._transport is not None:
            await self._transport.async_close()
        self._relay.fail_all(
            lambda: HomeAssistantError(translation_domain=DOMAIN, translation_key="not_connected")
        )

    # --- listeners ------------------------------------------------------------

    @callback
    def async_add_listener(self, listener: UpdateListener) -> CALLBACK_TYPE:
        """Call `listener` with every parsed plug update (e.g. a cloud link)."""
        return self.listeners.add_updates(listener)

    @callback
    def async_add_entity(
        self, plug_id: str, channels: frozenset[p.Channel], entity: PlugEntity
    ) -> None:
        """Tell `entity` after messages of `channels` of its plug, and on its availability."""
        self.listeners.add_entity(plug_id, channels, entity)

    @callback
    def async_remove_entity(
        self, plug_id: str, channels: frozenset[p.Channel], entity: PlugEntity
    ) -> None:
        """Stop telling `entity` (it is being removed)."""
        self.listeners.remove_entity(plug_id, channels, entity)

    @callback
    def async_add_plug_listener(self, plug_id: str, listener: PlugListener) -> CALLBACK_TYPE:
        """Call `listener` on every update of one plug, and with None on availability changes."""
        return self.listeners.add_plug(plug_id, listener)

    @callback
    def async_add_new_plug_listener(self, listener: NewPlugListener) -> CALLBACK_TYPE:
        """Call `listener` for every plug with a device, now and when new ones appear."""
        return self.listeners.add_new_plugs(
            listener, [self.plugs[plug_id] for plug_id in self._announced]
        )

    def plug_available(self, plug_id: str) -> bool:
        """Online, understood, and reachable through a live broker connection."""
        plug = self.plugs.get(plug_id)
        return self.connected and plug is not None and plug.online is True and plug.supported

    def plug_online(self, plug_id: str) -> bool:
        """Whether the plug last said it is online (regardless of the broker link)."""
        plug = self.plugs.get(plug_id)
        return plug is not None and plug.online is True

    # --- incoming -------------------------------------------------------------

    @callback
    def on_connection(self, connected: bool) -> None:
        """Transport callback: log the change once and refresh availability."""
        if self._stopping:
            return
        now = time.monotonic()
        if not connected:
            stable = now - self._up_since >= const.STABLE_CONNECTION
            self._quiet_outage = self._had_outage and not stable
            self._had_outage = True
            log = LOGGER.debug if self._quiet_outage else LOGGER.info
            log("Lost connection to MQTT broker of %s", self.entry.title)
        else:
            self._up_since = now
            if self._had_outage:
                log = LOGGER.debug if self._quiet_outage else LOGGER.info
                log("Reconnected to MQTT broker of %s", self.entry.title)
                # Status is known again once the broker (retained) or the plug (birth) says it.
                for plug in self.plugs.values():
                    plug.online = None
        for plug_id in self._announced:
            self.listeners.availability(plug_id)

    @callback
    def on_auth_failed(self) -> None:
        """Transport callback: the broker rejected the stored credentials."""
        self.entry.async_start_reauth(self.hass)

    def _route(self, topic: str) -> tuple[str, p.Channel] | None:
        """(plug id, channel) of a topic we take, None for one we do not (cached)."""
        try:
            return self._routes[topic]
        except KeyError:
            pass
        try:
            route: tuple[str, p.Channel] | None = p.split_topic(self.prefix, topic)
        except p.ProtocolError as err:
            LOGGER.debug("Ignored message: %s", err)
            return None
        if route is not None and route[0] in self.ignored:
            route = None
        if len(self._routes) >= _ROUTE_CACHE_SIZE:
            self._routes.clear()
        self._routes[topic] = route
        return route

    @callback
    def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        """Transport callback: parse once, update state, notify. Never raises for bad input."""
        if (route := self._route(topic)) is None:
            return
        plug_id, channel = route
        if not payload:
            # A cleared retained topic (device removal) or an empty publish: nothing to take.
            LOGGER.debug("Ignored empty payload on %s", topic)
            return
        plug = self.plugs.get(plug_id)
        if plug is None:
            plug = self.plugs[plug_id] = PlugState(plug_id)
        try:
            if channel is p.Channel.INFO:
                self._take_info(plug, p.parse_info(payload, expected_id=plug_id))
                return
            if plug.info is not None and not plug.supported:
                return  # never guess at payloads of a protocol version we do not speak
            value = _PARSERS[channel](payload)
        except p.ProtocolError as err:
            self._log_bad(plug_id, channel, topic, err)
            return
        if self._warned:
            self._warned.discard((plug_id, channel))
        self._take(plug, channel, value)

    def _log_bad(self, plug_id: str, channel: p.Channel, topic: str, err: Exception) -> None:
        key = (plug_id, str(channel))
        log = LOGGER.debug if key in self._warned else LOGGER.warning
        self._warned.add(key)
        log("Dropped malformed payload on %s: %s", topic, err)

    def _take(self, plug: PlugState, channel: p.Channel, value: Any) -> None:
        event: p.PlugEvent | None = None
        if channel is p.Channel.TELEMETRY:
            plug.apply_telemetry(value)
            # The report carries the relay too: it confirms a change whose `relay` was lost.
            plug.relay = value.relay
            self._relay.observed(plug.id, value.relay)
        elif channel is p.Channel.STATUS:
            self._take_status(plug, bool(value))
            return
        elif channel is p.Channel.RELAY:
            plug.relay = bool(value)
            self._relay.observed(plug.id, plug.relay)
        elif channel is p.Channel.PROTECTION:
            plug.protection = value
        elif channel is p.Channel.CONFIG:
            plug.config = value
        else:
            if value.type in _RESERVED_EVENT_TYPES:
                LOGGER.debug("Ignored plug event with reserved type %s", value.type)
                return
            event = plug.last_event = value
            self._fire(plug.id, value.type, dict(value.data))
        if plug.id in self._announced:
            self.listeners.channel(plug, channel, event)

    def _take_status(self, plug: PlugState, online: bool) -> None:
        was = plug.online
        plug.online = online
        if plug.id not in self._announced:
            return
        if was != online:
            self.listeners.availability(plug.id)
        self.listeners.channel(plug, p.Channel.STATUS)
        if was is None or was == online:
            return
        if online:
            LOGGER.info("GreenNet plug %s is back online", plug.id)
        else:
            LOGGER.info("GreenNet plug %s went offline", plug.id)
        self._fire(plug.id, EVENT_TYPE_ONLINE if online else EVENT_TYPE_OFFLINE, {})

    def _take_info(self, plug: PlugState, info: p.PlugInfo) -> None:
        if plug.info == info and plug.id in self._announced:
            return  # the retained copy again (a reconnect): nothing changed
        was_supported = plug.supported
        plug.info = info
        if async_sync_plug_device(self.hass, self.entry.entry_id, info) and info.supported:
            # A plug new to this installation gets the entry's default reporting settings.
            self.entry.async_create_task(
                self.hass, self.async_send_defaults([info.id]), f"{DOMAIN} defaults {info.id}"
            )
        async_sync_protocol_issue(self.hass, info)
        if plug.id not in self._announced:
            self._announced.add(plug.id)
            self.listeners.new_plug(plug)
        elif plug.supported != was_supported:
            self.listeners.availability(plug.id)
        self.listeners.channel(plug, p.Channel.INFO)

    def device(self, plug_id: str) -> dr.DeviceEntry | None:
        """This entry's device registry entry of a plug (an indexed lookup, no scan)."""
        return async_plug_device(self.hass, self.entry.entry_id, plug_id)

    def device_id(self, plug_id: str) -> str | None:
        """Device registry id of a plug."""
        device = self.device(plug_id)
        return device.id if device else None

    def _fire(self, plug_id: str, event_type: str, data: Mapping[str, Any]) -> None:
        self.hass.bus.async_fire(
            EVENT_GREENNET,
            {
                "device_id": self.device_id(plug_id),
                "plug_id": plug_id,
                "type": event_type,
                "data": dict(data),
            },
        )

    # --- commands -------------------------------------------------------------

    def _require(self, plug_id: str) -> PlugState:
        if not self.connected:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="not_connected")
        plug = self.plugs.get(plug_id)
        if plug is None or plug.info is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="unknown_plug",
                translation_placeholders={"plug_id": plug_id},
            )
        if plug.online is not True:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="plug_offline",
                translation_placeholders={"plug_id": plug_id},
            )
        return plug

    async def _publish(self, plug_id: str, channel: p.Channel, payload: str) -> None:
        try:
            await self.transport.async_publish(
                p.topic(self.prefix, plug_id, channel), payload, p.QOS_COMMAND, False
            )
        except TransportError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="not_connected"
            ) from err

    async def async_set_relay(
        self, plug_id: str, on: bool, timeout: float = RELAY_CONFIRM_TIMEOUT
    ) -> None:
        """Switch the relay and wait until the plug confirms it (`relay` or telemetry).

        A plug that already reports the state asked for answers nothing (it publishes
        `relay` only on change): the command still goes out, and returns at once.
        """
        plug = self._require(plug_id)
        if plug.relay is on:
            await self._publish(plug_id, p.Channel.RELAY_SET, p.encode_relay(on))
            return
        with self._relay.expect(plug_id, on) as confirmed:
            try:
                await self._publish(plug_id, p.Channel.RELAY_SET, p.encode_relay(on))
                async with asyncio.timeout(timeout):
                    await confirmed
            except TimeoutError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="relay_not_confirmed",
                    translation_placeholders={"plug_id": plug_id},
                ) from err

    async def async_set_protection(self, plug_id: str, command: p.ProtectionCommand) -> None:
        """Send new protection limits (or a reset) to a plug."""
        self._require(plug_id)
        await self._publish(plug_id, p.Channel.PROTECTION_SET, p.encode_protection_command(command))

    async def async_set_config(self, plug_id: str, command: p.ConfigCommand) -> None:
        """Send reporting/restore settings to a plug."""
        self._require(plug_id)
        await self._publish(plug_id, p.Channel.CONFIG_SET, p.encode_config_command(command))

    async def async_send_defaults(self, plug_ids: list[str] | None = None) -> None:
        """Send the entry's default interval/deadband (options) to some or all plugs."""
        options = self.entry.options
        command = p.ConfigCommand(
            interval=options.get(CONF_INTERVAL), deadband=options.get(CONF_DEADBAND)
        )
        if command == p.ConfigCommand() or not self.connected:
            return
        for plug_id in plug_ids if plug_ids is not None else list(self._announced):
            if plug_id in self.plugs and plug_id not in self.ignored:
                try:
                    await self.async_set_config(plug_id, command)
                except HomeAssistantError as err:
                    LOGGER.debug("Could not send defaults to %s: %s", plug_id, err)

    async def async_forget_plug(self, plug_id: str) -> None:
        """Drop a removed plug and clear its retained topics on the broker."""
        self.plugs.pop(plug_id, None)
        self._announced.discard(plug_id)
        async_delete_plug_issues(self.hass, plug_id)
        if not self.connected:
            return
        try:
            for channel, retained in p.PLUG_PUBLISHES.items():
                if retained:
                    # An empty retained message deletes the broker's retained copy.
                    await self.transport.async_publish(
                        p.topic(self.prefix, plug_id, channel), "", p.QOS_STATE, True
                    )
        except TransportError as err:
            LOGGER.warning("Could not clear retained topics of %s: %s", plug_id, err)
