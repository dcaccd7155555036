"""Runs simulated plugs against an MQTT broker, one connection (and last will) per plug."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import aiomqtt

from . import protocol as p
from .plug import PlugState, SimulatedPlug
from .profiles import PROFILE_NAMES

_LOGGER = logging.getLogger(__name__)
SAVE_EVERY = 10.0  # seconds between state-file writes
BACKOFF_MAX = 30.0


@dataclass(frozen=True)
class SimulatorConfig:
    """How many plugs, where the broker is, and how they behave."""

    broker: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    prefix: str = p.DEFAULT_PREFIX
    count: int = 5
    interval: int | None = None  # telemetry period for every plug; None keeps each plug's own
    seed: int = 1
    tick: float = 1.0  # physics step and deadband check period, seconds
    state_file: Path | None = None
    profiles: tuple[str, ...] = PROFILE_NAMES
    cafile: Path | None = None  # set: connect with TLS, trusting only this CA (PEM)


def tls_context(cafile: Path) -> ssl.SSLContext:
    """A client context trusting only `cafile`; host names are verified."""
    context = ssl.create_default_context(cafile=str(cafile))
    # Like the HA integration: accept CAs made by Mosquitto's how-to (no keyUsage extension).
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


class _PlugLink:
    """Carries one plug's messages; reconnects with backoff when the broker goes away."""

    def __init__(self, sim: Simulator, plug: SimulatedPlug) -> None:
        self.sim = sim
        self.plug = plug
        self.client: aiomqtt.Client | None = None
        self.online = asyncio.Event()
        self.last_report = 0.0
        self.last_power = 0.0

    def _topic(self, channel: p.Channel) -> str:
        return p.topic(self.sim.config.prefix, self.plug.id, channel)

    async def publish(self, channel: p.Channel, payload: str) -> None:
        """Publish with the contract's QoS and retain flag for `channel`."""
        if self.client is None:
            return
        retain = p.PLUG_PUBLISHES[channel]
        qos = p.QOS_TELEMETRY if channel is p.Channel.TELEMETRY else p.QOS_STATE
        await self.client.publish(self._topic(channel), payload, qos=qos, retain=retain)

    async def report(self) -> None:
        """Publish telemetry now."""
        self.last_report = time.monotonic()
        self.last_power = self.plug.power
        await self.publish(p.Channel.TELEMETRY, p.encode_telemetry(self.plug.telemetry()))

    async def publish_state(self) -> None:
        """Birth: status, identity and every retained document."""
        await self.publish(p.Channel.STATUS, p.ONLINE)
        await self.publish(p.Channel.INFO, p.encode_info(self.plug.info()))
        await self.publish(p.Channel.RELAY, p.encode_relay(self.plug.state.relay))
        await self.publish(p.Channel.PROTECTION, p.encode_protection(self.plug.protection()))
        await self.publish(p.Channel.CONFIG, p.encode_config(self.plug.config()))
        await self.report()

    async def run(self) -> None:
        """Connect, publish, obey commands; reconnect until cancelled."""
        cfg = self.sim.config
        backoff = 0.5
        will = aiomqtt.Will(self._topic(p.Channel.STATUS), p.OFFLINE, qos=1, retain=True)
        context = tls_context(cfg.cafile) if cfg.cafile is not None else None
        while True:
            try:
                async with aiomqtt.Client(
                    cfg.broker,
                    cfg.port,
                    username=cfg.username,
                    password=cfg.password,
                    identifier=self.plug.id,
                    will=will,
                    keepalive=15,
                    tls_context=context,
                    # no Nagle: the relay state reply must not wait behind our PUBACK's ACK
                    socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
                ) as client:
                    self.client = client
                    backoff = 0.5
                    await client.subscribe(
                        [(self._topic(ch), p.QOS_COMMAND) for ch in p.PLUG_SUBSCRIBES]
                    )
                    await self.publish_state()
                    self.online.set()
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(self._ticker())
                        async for message in client.messages:
                            await self.handle(str(message.topic), message.payload)
            except* aiomqtt.MqttError as errors:
                _LOGGER.info("%s: broker connection lost (%s)", self.plug.id, errors.exceptions[0])
            finally:
                self.client = None
                self.online.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _ticker(self) -> None:
        tick = self.sim.config.tick
        while True:
            await asyncio.sleep(tick)
            if (event := self.plug.step(tick)) is not None:
                await self.on_trip(event)
            moved = abs(self.plug.power - self.last_power)
            due = time.monotonic() - self.last_report >= self.plug.state.interval - 0.01
            if due or (self.plug.state.deadband > 0 and moved > self.plug.state.deadband):
                await self.report()

    async def on_trip(self, event: p.PlugEvent) -> None:
        """Protection opened the relay: tell everyone."""
        _LOGGER.warning("%s: overload trip (%s)", self.plug.id, event.data.get("reason"))
        await self.publish(p.Channel.EVENT, p.encode_event(event))
        await self.publish(p.Channel.RELAY, p.encode_relay(False))
        await self.publish(p.Channel.PROTECTION, p.encode_protection(self.plug.protection()))
        await self.report()

    async def handle(self, topic: str, payload: object) -> None:
        """Obey one command; a malformed one is logged once and ignored."""
        raw = payload if isinstance(payload, bytes | str) else b""
        try:
            _, channel = p.split_topic(self.sim.config.prefix, topic)
            if channel is p.Channel.RELAY_SET:
                if self.plug.apply_relay_command(p.parse_relay_command(raw)):
                    await self.publish(p.Channel.RELAY, p.encode_relay(self.plug.state.relay))
                    await self.publish(
                        p.Channel.PROTECTION, p.encode_protection(self.plug.protection())
                    )
                    if (event := self.plug.check_protection()) is not None:
                        await self.on_trip(event)
                        return
                    await self.report()
                elif self.plug.tripped:  # refused: tell senders that assumed ON
                    await self.publish(p.Channel.RELAY, p.encode_relay(False))
            elif channel is p.Channel.PROTECTION_SET:
                self.plug.apply_protection_command(p.parse_protection_command(raw))
                await self.publish(
                    p.Channel.PROTECTION, p.encode_protection(self.plug.protection())
                )
                if (event := self.plug.check_protection()) is not None:
                    await self.on_trip(event)
            elif channel is p.Channel.CONFIG_SET:
                self.plug.apply_config_command(p.parse_config_command(raw))
                await self.publish(p.Channel.CONFIG, p.encode_config(self.plug.config()))
        except p.ProtocolError as err:
            _LOGGER.warning("%s: ignored command on %s: %s", self.plug.id, topic, err)

    async def goodbye(self) -> None:
        """Clean shutdown: a will is only sent on abrupt loss, so say offline ourselves."""
        with contextlib.suppress(aiomqtt.MqttError):
            await self.publish(p.Channel.STATUS, p.OFFLINE)


class Simulator:
    """A fleet of simulated plugs; usable from tests (`async with`) and the CLI."""

    def __init__(self, config: SimulatorConfig) -> None:
        p.validate_prefix(config.prefix)
        self.config = config
        self.plugs = [
            SimulatedPlug(
                index=i, profile=config.profiles[i % len(config.profiles)], seed=config.seed
            )
            for i in range(config.count)
        ]
        self._links = {plug.id: _PlugLink(self, plug) for plug in self.plugs}
        self._tasks: list[asyncio.Task[None]] = []

    def plug(self, plug_id: str) -> SimulatedPlug:
        """The plug with this id."""
        return self._links[plug_id].plug

    async def start(self) -> None:
        """Boot every plug from the state file and connect them."""
        saved = self._load_state()
        for plug in self.plugs:
            default = PlugState()
            if self.config.interval is not None:
                default.interval = self.config.interval
            state = PlugState.from_json(saved[plug.id], default) if plug.id in saved else default
            if self.config.interval is not None:
                state.interval = self.config.interval
            plug.boot(state)
        self._tasks = [asyncio.create_task(link.run()) for link in self._links.values()]
        if self.config.state_file is not None:
            self._tasks.append(asyncio.create_task(self._saver()))

    async def wait_online(self, wait: float = 10.0) -> None:
        """Wait until every plug has published its birth messages."""
        async with asyncio.timeout(wait):
            for link in self._links.values():
                await link.online.wait()

    async def report(self, plug_id: str) -> None:
        """Make one plug publish telemetry now (tests use this instead of waiting)."""
        link = self._links[plug_id]
        await link.online.wait()
        await link.report()

    async def step(self, plug_id: str, seconds: float) -> None:
        """Move one plug's clock on by `seconds` and report (publishing a trip if any)."""
        link = self._links[plug_id]
        if (event := link.plug.step(seconds)) is not None:
            await link.on_trip(event)
        else:
            await link.report()

    async def press_button(self, plug_id: str) -> None:
        """The physical button: toggle the relay and send a `button` event."""
        link = self._links[plug_id]
        link.plug.apply_relay_command(p.TOGGLE)
        await link.publish(
            p.Channel.EVENT, p.encode_event(p.PlugEvent(p.EventType.BUTTON, {"action": "single"}))
        )
        await link.publish(p.Channel.RELAY, p.encode_relay(link.plug.state.relay))
        await link.report()

    async def stop(self) -> None:
        """Say offline, disconnect, and save state."""
        await asyncio.gather(*(link.goodbye() for link in self._links.values()))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._save_state()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- state file ---------------------------------------------------------

    def _load_state(self) -> dict[str, dict[str, object]]:
        path = self.config.state_file
        if path is None or not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            _LOGGER.warning("ignoring unreadable state file %s: %s", path, err)
            return {}
        return (
            {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
        )

    def _save_state(self) -> None:
        path = self.config.state_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps({plug.id: plug.state.to_json() for plug in self.plugs}, indent=1))
        os.replace(tmp, path)  # atomic: a kill mid-write never loses the old totals

    async def _saver(self) -> None:
        while True:
            await asyncio.sleep(SAVE_EVERY)
            self._save_state()
