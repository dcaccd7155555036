"""Drive the host build of the plug firmware: a real process, the native API, and the
contract messages it would put on MQTT (printed as `GREENNET-MQTT` lines on stdout)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aioesphomeapi import APIClient, EntityInfo, EntityState, UserService

MAC = "02:47:4E:A1:B2:C3"  # host: mac_address in esphome/test/greennet-host.yaml
PREFIX = "greennet"


@dataclass(frozen=True)
class Published:
    """One message the firmware handed to its transport."""

    topic: str
    qos: int
    retain: bool
    payload: str
    index: int
    at: float = 0.0  # time.monotonic() when the test saw it

    @property
    def channel(self) -> str:
        """Topic suffix after `<prefix>/<id>/`."""
        return self.topic.split("/", 2)[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HostPlug:
    """One run of the host program with its own preferences directory ("flash").

    Besides contract messages, the host MQTT stand-in (esphome/test/host_mqtt.h)
    reports the last will it was given and the topics it subscribed."""

    def __init__(self, program: Path, prefdir: Path) -> None:
        self.program = program
        self.prefdir = prefdir
        self.port = 0
        self.messages: list[Published] = []
        self.log: list[str] = []
        self.will: Published | None = None  # last will handed to the MQTT client
        self.subscriptions: dict[str, int] = {}  # topic -> QoS
        self.undelivered: list[str] = []  # "broker" messages no subscription took
        self.states: dict[int, EntityState] = {}
        self.entities: dict[str, EntityInfo] = {}
        self.services: dict[str, UserService] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._client: APIClient | None = None
        self._changed = asyncio.Condition()

    # --- process ------------------------------------------------------------

    async def start(self, env: dict[str, str] | None = None) -> None:
        """Start the program (extra environment: e.g. GREENNET_SIM_METER_MISSING) and
        connect the API client."""
        self.prefdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = {
            **os.environ,
            **(env or {}),
            "ESPHOME_PREFDIR": str(self.prefdir),
            "GREENNET_API_PORT": str(self.port),
        }
        self._proc = await asyncio.create_subprocess_exec(
            str(self.program),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        await self._connect()

    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            text = line.decode("utf-8", "replace").rstrip("\n")
            async with self._changed:
                if text.startswith("GREENNET-MQTT "):
                    _, topic, qos, retain, payload = text.split(" ", 4)
                    self.messages.append(
                        Published(
                            topic,
                            int(qos),
                            retain == "1",
                            payload,
                            len(self.messages),
                            time.monotonic(),
                        )
                    )
                elif text.startswith("GREENNET-WILL "):
                    _, topic, qos, retain, payload = text.split(" ", 4)
                    self.will = Published(topic, int(qos), retain == "1", payload, -1)
                elif text.startswith("GREENNET-SUBSCRIBE "):
                    _, topic, qos = text.split(" ")
                    self.subscriptions[topic] = int(qos)
                elif text.startswith("GREENNET-UNSUBSCRIBED "):
                    self.undelivered.append(text.split(" ", 1)[1])
                else:
                    self.log.append(text)
                self._changed.notify_all()

    async def _connect(self) -> None:
        deadline = time.monotonic() + 15
        while True:
            client = APIClient("127.0.0.1", self.port, None)
            try:
                # ESPHome 2026 has no API password: connect without the legacy login.
                await client.connect(login=False)
                break
            except Exception:
                await client.disconnect(force=True)
                if time.monotonic() > deadline or self.returncode is not None:
                    raise
                await asyncio.sleep(0.2)
        self._client = client
        entities, services = await client.list_entities_services()
        self.entities = {e.name: e for e in entities}
        self.services = {s.name: s for s in services}
        client.subscribe_states(self._on_state)

    def _on_state(self, state: EntityState) -> None:
        self.states[state.key] = state
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    @property
    def returncode(self) -> int | None:
        """Exit status, None while running."""
        return None if self._proc is None else self._proc.returncode

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        """End the run: SIGTERM is a clean shutdown (flushes preferences), SIGKILL a power cut."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.disconnect(force=True)
            self._client = None
        if self._proc is not None and self._proc.returncode is None:
            self._proc.send_signal(sig)
            try:
                await asyncio.wait_for(self._proc.wait(), 10)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)
            self._reader = None

    # --- API ----------------------------------------------------------------

    @property
    def api(self) -> APIClient:
        """The connected native-API client."""
        assert self._client is not None, "plug not started"
        return self._client

    def key(self, name: str) -> int:
        """Entity key by its name (ESPHome 2026 no longer sends object ids)."""
        return self.entities[name].key

    def state(self, name: str) -> Any:
        """Latest state value the API reported for an entity (None if none yet)."""
        state = self.states.get(self.key(name))
        return None if state is None else getattr(state, "state", None)

    def set_number(self, name: str, value: float) -> None:
        """Set a template number, e.g. "Simulated load current"."""
        self.api.number_command(self.key(name), value)

    def switch(self, on: bool, name: str = "Relay") -> None:
        """Switch the relay (or another switch, e.g. "Simulated meter failure") over the API."""
        self.api.switch_command(self.key(name), on)

    def press(self, name: str) -> None:
        """Press a button entity, e.g. "Simulated button long press"."""
        self.api.button_command(self.key(name))

    def command(self, channel: str, payload: str) -> None:
        """Deliver a payload as if it arrived on `<prefix>/<id>/<channel>` over MQTT."""
        topic = f"{PREFIX}/{self.plug_id}/{channel}"
        self.api.execute_service(
            self.services["mqtt_message"], {"topic": topic, "payload": payload}
        )

    @property
    def plug_id(self) -> str:
        """The firmware's id for the configured host MAC."""
        return "greennet-" + MAC.replace(":", "").lower()[-6:]

    # --- waiting ------------------------------------------------------------

    async def wait_until(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until `check()` returns something truthy, re-checking on every event."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                while not (result := check()):
                    await self._changed.wait()
                return result

    async def wait_message(
        self,
        channel: str,
        match: Callable[[Published], bool] | None = None,
        after: int = 0,
        timeout: float = 5.0,
    ) -> Published:
        """The first message on `channel` at or after index `after` that matches."""

        def find() -> Published | None:
            for m in self.messages[after:]:
                if m.channel == channel and (match is None or match(m)):
                    return m
            return None

        found: Published = await self.wait_until(find, timeout)
        return found

    def mark(self) -> int:
        """Index to pass as `after` to only see messages from now on."""
        return len(self.messages)

    async def wait_log(self, text: str, after: int = 0, timeout: float = 5.0) -> str:
        """The first log line at or after index `after` containing `text`."""

        def find() -> str | None:
            return next((line for line in self.log[after:] if text in line), None)

        found: str = await self.wait_until(find, timeout)
        return found

    async def wait_meter(self, timeout: float = 5.0) -> None:
        """Until the meter delivered a reading (the relay may only close after one)."""

        def measured() -> bool:
            volts = self.state("Voltage")
            return isinstance(volts, float) and not math.isnan(volts)

        await self.wait_until(measured, timeout)
