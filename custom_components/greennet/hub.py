"""The hub: one MQTT broker, every plug on it, push updates to entities and listeners."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr

from . import const
from . import protocol as p
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
from .issues import async_delete_plug_issues, async_sync_protocol_issue
from .models import PlugState, PlugUpdate, plug_device_info
from .transport import Transport, TransportError

type GreenNetConfigEntry = ConfigEntry[GreenNetHub]
"""A GreenNet config entry; a loaded one holds its hub as `runtime_data`."""
type UpdateListener = Callable[[PlugUpdate], None]
type PlugListener = Callable[[PlugUpdate | None], None]
"""Per-plug entity callback; None means only availability may have changed."""
type NewPlugListener = Callable[[PlugState], None]

_PARSERS: dict[p.Channel, Callable[[bytes], Any]] = {
    p.Channel.STATUS: p.parse_status,
    p.Channel.TELEMETRY: p.parse_telemetry,
    p.Channel.RELAY: p.parse_relay,
    p.Channel.PROTECTION: p.parse_protection,
    p.Channel.CONFIG: p.parse_config,
    p.Channel.EVENT: p.parse_event,
}
_RESERVED_EVENT_TYPES = frozenset({EVENT_TYPE_ONLINE, EVENT_TYPE_OFFLINE})


class GreenNetHub:
    """Owns the broker connection and the typed state of every plug on it."""

    def __init__(self, hass: HomeAssistant, entry: GreenNetConfigEntry, prefix: str) -> None:
        """Create the hub; `attach` a transport before `async_start`."""
        self.hass = hass
        self.entry = entry
        self.prefix = prefix
        self.plugs: dict[str, PlugState] = {}
        self._transport: Transport | None = None
        self._task: asyncio.Task[None] | None = None
        self._announced: set[str] = set()
        self._listeners: list[UpdateListener] = []
        self._plug_listeners: dict[str, list[PlugListener]] = {}
        self._new_plug_listeners: list[NewPlugListener] = []
        self._relay_waiters: dict[str, list[tuple[bool, asyncio.Future[None]]]] = {}
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
        registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            if any(ident in self.ignored for _, ident in device.identifiers):
                registry.async_update_device(device.id, remove_config_entry_id=self.entry.entry_id)
        self._task = self.entry.async_create_background_task(
            self.hass, self.transport.async_run(), f"{DOMAIN} MQTT {self.entry.title}"
        )

    async def async_stop(self) -> None:
        """Stop the connection task and disconnect."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._transport is not None:
            await self._transport.async_close()
        # Pending relay commands fail like any command without a broker (never a KeyError).
        for waiters in self._relay_waiters.values():
            for _, future in waiters:
                if not future.done():
                    future.set_exception(
                        HomeAssistantError(
                            translation_domain=DOMAIN, translation_key="not_connected"
                        )
                    )
        self._relay_waiters.clear()

    # --- listeners ------------------------------------------------------------

    @callback
    def async_add_listener(self, listener: UpdateListener) -> CALLBACK_TYPE:
        """Call `listener` with every parsed plug update (e.g. a cloud link)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_add_plug_listener(self, plug_id: str, listener: PlugListener) -> CALLBACK_TYPE:
        """Call `listener` on every update of one plug and on availability changes."""
        self._plug_listeners.setdefault(plug_id, []).append(listener)
        return lambda: self._plug_listeners[plug_id].remove(listener)

    @callback
    def async_add_new_plug_listener(self, listener: NewPlugListener) -> CALLBACK_TYPE:
        """Call `listener` for every plug with a device, now and when new ones appear."""
        self._new_plug_listeners.append(listener)
        for plug_id in self._announced:
            listener(self.plugs[plug_id])
        return lambda: self._new_plug_listeners.remove(listener)

    def plug_available(self, plug_id: str) -> bool:
        """Online, understood, and reachable through a live broker connection."""
        plug = self.plugs.get(plug_id)
        return self.connected and plug is not None and plug.online is True and plug.supported

    def plug_online(self, plug_id: str) -> bool:
        """Whether the plug last said it is online (regardless of the broker link)."""
        plug = self.plugs.get(plug_id)
        return plug is not None and plug.online is True

    def _notify(self, plug_id: str, update: PlugUpdate | None) -> None:
        for plug_listener in list(self._plug_listeners.get(plug_id, ())):
            plug_listener(update)
        if update is not None:
            for listener in list(self._listeners):
                listener(update)

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
            self._notify(plug_id, None)

    @callback
    def on_auth_failed(self) -> None:
        """Transport callback: the broker rejected the stored credentials."""
        self.entry.async_start_reauth(self.hass)

    @callback
    def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        """Transport callback: parse, update state, notify. Never raises for bad input."""
        try:
            plug_id, channel = p.split_topic(self.prefix, topic)
        except p.ProtocolError as err:
            LOGGER.debug("Ignored message: %s", err)
            return
        if plug_id in self.ignored:
            return
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
        self._warned.discard((plug_id, channel))
        self._take(plug, channel, value)

    def _log_bad(self, plug_id: str, channel: p.Channel, topic: str, err: Exception) -> None:
        key = (plug_id, str(channel))
        log = LOGGER.debug if key in self._warned else LOGGER.warning
        self._warned.add(key)
        log("Dropped malformed payload on %s: %s", topic, err)

    def _take(self, plug: PlugState, channel: p.Channel, value: Any) -> None:
        event: p.PlugEvent | None = None
        if channel is p.Channel.STATUS:
            self._take_status(plug, bool(value))
        elif channel is p.Channel.TELEMETRY:
            plug.apply_telemetry(value)
            # The report carries the relay too: it confirms a change whose `relay` was lost.
            plug.relay = value.relay
            self._resolve_relay_waiters(plug.id, value.relay)
        elif channel is p.Channel.RELAY:
            plug.relay = bool(value)
            self._resolve_relay_waiters(plug.id, plug.relay)
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
            self._notify(plug.id, PlugUpdate(plug.id, channel, plug, event))

    def _take_status(self, plug: PlugState, online: bool) -> None:
        was = plug.online
        plug.online = online
        if was is None or was == online or plug.id not in self._announced:
            return
        if online:
            LOGGER.info("GreenNet plug %s is back online", plug.id)
        else:
            LOGGER.info("GreenNet plug %s went offline", plug.id)
        self._fire(plug.id, EVENT_TYPE_ONLINE if online else EVENT_TYPE_OFFLINE, {})

    def _take_info(self, plug: PlugState, info: p.PlugInfo) -> None:
        changed = plug.info != info
        plug.info = info
        if changed:
            self._sync_device(info)
            async_sync_protocol_issue(self.hass, info)
        if plug.id not in self._announced:
            self._announced.add(plug.id)
            for listener in list(self._new_plug_listeners):
                listener(plug)
        self._notify(plug.id, PlugUpdate(plug.id, p.Channel.INFO, plug))

    def _sync_device(self, info: p.PlugInfo) -> None:
        registry = dr.async_get(self.hass)
        known = self.device(info.id) is not None
        registry.async_get_or_create(config_entry_id=self.entry.entry_id, **plug_device_info(info))
        if not known and info.supported:
            # A plug new to this installation gets the entry's default reporting settings.
            self.entry.async_create_task(
                self.hass, self.async_send_defaults([info.id]), f"{DOMAIN} defaults {info.id}"
            )

    def device(self, plug_id: str) -> dr.DeviceEntry | None:
        """This entry's device registry entry of a plug (an indexed lookup, no scan)."""
        device = dr.async_get(self.hass).async_get_device(identifiers={(DOMAIN, plug_id)})
        if device is None or self.entry.entry_id not in device.config_entries:
            return None
        return device

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

    def _resolve_relay_waiters(self, plug_id: str, on: bool) -> None:
        waiters = self._relay_waiters.get(plug_id, [])
        for want, future in list(waiters):
            if want == on and not future.done():
                future.set_result(None)

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
        future: asyncio.Future[None] = self.hass.loop.create_future()
        waiter = (on, future)
        waiters = self._relay_waiters.setdefault(plug_id, [])
        waiters.append(waiter)
        try:
            await self._publish(plug_id, p.Channel.RELAY_SET, p.encode_relay(on))
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="relay_not_confirmed",
                translation_placeholders={"plug_id": plug_id},
            ) from err
        finally:
            # Our own list: `async_stop` may have dropped the hub's map meanwhile.
            waiters.remove(waiter)

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
