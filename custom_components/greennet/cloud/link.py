"""The link: one outbound websocket from a hub to its GreenNet Cloud home (protocol v1).

`CloudLink` keeps the connection up (exponential backoff with full jitter), feeds the cloud
from the hub (plug list, states, telemetry through the backlog) and runs the cloud's
commands on the plugs. A revoked token stops it and starts re-authentication.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any

import aiohttp
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from .. import protocol as p
from ..const import DOMAIN, LOGGER
from ..hub import GreenNetConfigEntry, GreenNetHub
from ..models import PlugState, PlugUpdate
from . import const
from .api import link_url
from .backlog import TelemetryBacklog
from .const import REAUTH_CLOUD
from .hub_feed import device_list, state_report, telemetry_sample
from .issues import async_clear_unsupported_issue, async_raise_unsupported_issue
from .protocol import (
    MAX_FRAME_BYTES,
    SUBPROTOCOL,
    CloseCode,
    DeviceEntry,
    PlugStateReport,
    backoff_delay,
)
from .session import LinkSession


class LinkState(StrEnum):
    """Where the link is; only `connected` means the cloud is reachable."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # waiting to retry
    AUTH_FAILED = "auth_failed"  # token revoked: waiting for re-authentication
    UNSUPPORTED = "unsupported"  # the cloud speaks another protocol version
    REPLACED = "replaced"  # another connection with this token took over
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """What the entry stores about its link."""

    url: str
    home_id: str
    token: str


class SessionEnded(Exception):
    """A connection attempt or session ended; `close_code` / `status` say how."""

    def __init__(self, reason: str, close_code: int | None = None, status: int | None = None):
        super().__init__(reason)
        self.close_code = close_code
        self.status = status


class CloudLink:
    """Keeps one hub linked to one cloud home."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GreenNetConfigEntry,
        hub: GreenNetHub,
        settings: LinkSettings,
        backlog: TelemetryBacklog,
        sw_version: str,
    ) -> None:
        """Set up; `async_start` connects."""
        self.hass = hass
        self.entry = entry
        self.hub = hub
        self.settings = settings
        self.backlog = backlog
        self.sw_version = sw_version
        self.state = LinkState.CONNECTING
        self.last_error: str | None = None
        self.connected_since: datetime | None = None
        self.home_id: str | None = None  # as the cloud's welcome confirmed it
        self.refused_plugs: list[str] = []
        self._session: LinkSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._sent_states: dict[str, PlugStateReport] = {}
        self._sent_devices: list[DeviceEntry] | None = None
        self._announced_ids: set[str] = set()
        self._followed: set[str] = set()
        self._devices_handle: asyncio.TimerHandle | None = None
        self._attempt = 0
        self._rng = random.Random()

    # --- lifecycle --------------------------------------------------------------

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` whenever `state` changes (the connectivity sensor)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def connected(self) -> bool:
        """Whether the cloud has welcomed this hub and the link is up."""
        return self.state is LinkState.CONNECTED

    def _set_state(self, state: LinkState, error: str | None = None) -> None:
        if error is not None:
            self.last_error = error
        if state is self.state:
            return
        self.state = state
        self.connected_since = dt_util.utcnow() if state is LinkState.CONNECTED else None
        for listener in list(self._listeners):
            listener()

    async def async_start(self) -> None:
        """Follow the hub's plugs and connect in the background."""
        self._unsubs.append(self.hub.async_add_new_plug_listener(self._on_new_plug))
        # Home Assistant stopping: write the backlog now and take no more samples, so none
        # arrives after the final write (it would be lost, and leave a write scheduled).
        self._unsubs.append(
            self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._async_on_hass_stop)
        )
        self._task = self.entry.async_create_background_task(
            self.hass, self._async_run(), f"{DOMAIN} cloud link {self.entry.title}"
        )

    async def async_stop(self) -> None:
        """Close the link, keep every unacknowledged sample, and write the backlog."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._devices_handle is not None:  # after the session: it may have set one
            self._devices_handle.cancel()
            self._devices_handle = None
        self._set_state(LinkState.STOPPED)
        self.backlog.requeue()
        self.backlog.async_shutdown()
        await self.backlog.async_save()

    async def _async_on_hass_stop(self, _event: Event) -> None:
        await self.async_stop()

    # --- from the hub -----------------------------------------------------------

    @callback
    def _on_new_plug(self, plug: PlugState) -> None:
        # A plug removed and found again is announced twice: follow it once.
        if plug.id not in self._followed:
            self._followed.add(plug.id)
            self._unsubs.append(
                self.hub.async_add_plug_listener(plug.id, partial(self._on_plug_update, plug.id))
            )
        self._devices_changed()
        self._report_state(plug)

    @callback
    def _on_plug_update(self, plug_id: str, update: PlugUpdate | None) -> None:
        plug = self.hub.plugs.get(plug_id)  # a plug found again is a new PlugState
        if plug is None:
            return
        if update is not None:
            if update.channel is p.Channel.TELEMETRY and plug.telemetry is not None:
                self.backlog.append(telemetry_sample(plug, plug.telemetry))
                if self._session is not None:
                    self._session.wake_sender()
            elif update.channel is p.Channel.INFO:
                self._devices_changed()
        self._report_state(plug)

    @callback
    def _report_state(self, plug: PlugState) -> None:
        """Tell the cloud when a plug's relay, availability or trip changed."""
        report = state_report(self.hub, plug)
        if self._session is None or self._sent_states.get(plug.id) == report:
            return
        if plug.id not in self._announced_ids:
            return  # the cloud knows a plug from `devices` first; states follow that message
        self._sent_states[plug.id] = report
        self._session.send_state(report)

    @callback
    def _devices_changed(self) -> None:
        # Retained `info` of every plug arrives at once after a (re)connect: one message.
        if self._session is not None and self._devices_handle is None:
            self._devices_handle = self.hass.loop.call_later(0.2, self._send_devices)

    @callback
    def _send_devices(self, force: bool = False) -> None:
        self._devices_handle = None
        devices = device_list(self.hub)
        # `online` travels in `state`; only identity changes send the list again.
        identity = [DeviceEntry(d.plug_id, d.name, d.model, d.sw_version, True) for d in devices]
        if self._session is None or (not force and identity == self._sent_devices):
            return
        self._sent_devices = identity
        self._announced_ids = {device.plug_id for device in devices}
        self._session.send_devices(devices)
        for plug_id in sorted(self._announced_ids):
            self._report_state(self.hub.plugs[plug_id])

    # --- the session's callbacks ------------------------------------------------

    @callback
    def session_welcomed(self, home_id: str) -> None:
        """The cloud accepted the hub: announce everything it should know."""
        if home_id != self.settings.home_id:
            LOGGER.warning(
                "GreenNet Cloud links %s to home %s, not %s as linked",
                self.entry.title,
                home_id,
                self.settings.home_id,
            )
        self.home_id = home_id
        async_clear_unsupported_issue(self.hass, self.entry)
        if self._attempt and self.last_error:
            LOGGER.info("GreenNet Cloud reachable again for %s", self.entry.title)
        self._set_state(LinkState.CONNECTED)
        self._sent_states.clear()
        self._send_devices(force=True)  # and the state of every plug in it

    @callback
    def devices_refused(self, plug_ids: list[str]) -> None:
        """The cloud did not take these plugs (claimed in another home)."""
        if plug_ids and plug_ids != self.refused_plugs:
            LOGGER.warning(
                "GreenNet Cloud refused plugs %s of %s: they belong to another home",
                ", ".join(plug_ids),
                self.entry.title,
            )
        self.refused_plugs = plug_ids

    # --- the connection loop ------------------------------------------------------

    async def _async_run(self) -> None:
        """Connect, serve, and reconnect with backoff until the link must stop."""
        while True:
            started = self.hass.loop.time()
            try:
                await self._async_session()
            except SessionEnded as ended:
                if self._stop_for(ended):
                    return
                error = str(ended)
            finally:
                self._session = None
                self.backlog.requeue()
            up_for = self.hass.loop.time() - started
            if up_for >= const.STABLE_LINK:
                self._attempt = 0
            if self._attempt == 0:
                LOGGER.info("GreenNet Cloud link of %s is down: %s", self.entry.title, error)
            else:
                LOGGER.debug("GreenNet Cloud link of %s is down: %s", self.entry.title, error)
            self._set_state(LinkState.DISCONNECTED, error)
            delay = backoff_delay(self._attempt, const.BACKOFF_BASE, const.BACKOFF_CAP, self._rng)
            self._attempt += 1
            await asyncio.sleep(delay)

    def _stop_for(self, ended: SessionEnded) -> bool:
        """Handle the ends after which the link must not reconnect by itself."""
        if ended.status == 401 or ended.close_code == CloseCode.TOKEN_REVOKED:
            LOGGER.warning(
                "GreenNet Cloud refused the link token of %s: re-authentication needed",
                self.entry.title,
            )
            self._set_state(LinkState.AUTH_FAILED, str(ended))
            self.entry.async_start_reauth(self.hass, data={REAUTH_CLOUD: True})
            return True
        if ended.close_code == CloseCode.UNSUPPORTED_PROTOCOL:
            LOGGER.error("GreenNet Cloud does not speak link protocol 1: %s", ended)
            self._set_state(LinkState.UNSUPPORTED, str(ended))
            async_raise_unsupported_issue(self.hass, self.entry, self.settings.url)
            return True
        if ended.close_code == CloseCode.REPLACED:
            LOGGER.warning(
                "Another Home Assistant uses the cloud link token of %s; this one stops",
                self.entry.title,
            )
            self._set_state(LinkState.REPLACED, str(ended))
            return True
        return False

    async def _async_session(self) -> None:
        """One connection, from the upgrade to its close (always raises SessionEnded)."""
        self._set_state(LinkState.CONNECTING)
        websession = async_get_clientsession(self.hass)
        try:
            async with asyncio.timeout(const.HANDSHAKE_TIMEOUT):
                ws = await websession.ws_connect(
                    link_url(self.settings.url),
                    protocols=(SUBPROTOCOL,),
                    headers={"Authorization": f"Bearer {self.settings.token}"},
                    max_msg_size=MAX_FRAME_BYTES,
                    autoping=True,
                )
        except aiohttp.WSServerHandshakeError as err:
            raise SessionEnded(f"upgrade refused: HTTP {err.status}", status=err.status) from err
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise SessionEnded(f"cannot connect: {err!r}") from err
        session = LinkSession(self, ws)
        self._session = session
        try:
            await session.async_serve()
        finally:
            await session.async_close()
        raise SessionEnded(session.end_reason, close_code=session.close_code)

    # --- diagnostics ------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        """Link state for diagnostics (the token is never part of it)."""
        return {
            "state": str(self.state),
            "url": self.settings.url,
            "home_id": self.settings.home_id,
            "welcomed_home_id": self.home_id,
            "connected_since": self.connected_since.isoformat() if self.connected_since else None,
            "last_error": self.last_error,
            "reconnect_attempt": self._attempt,
            "refused_plugs": self.refused_plugs,
            "backlog": {
                "queued": self.backlog.queued,
                "in_flight_batches": self.backlog.in_flight,
                "limit": self.backlog.max_samples,
                "next_seq": self.backlog.next_seq,
                "dropped": self.backlog.dropped,
            },
        }
