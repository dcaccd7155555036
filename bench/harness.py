"""Shared pieces of the Home Assistant benchmarks: a real `hass` process, measured from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import statistics
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from greennet_demo.home_assistant import HomeAssistantClient
from greennet_demo.services import (
    Process,
    free_port,
    prepare_ha_config,
    start_broker,
    start_home_assistant,
    wait_http,
)

MQTT_USER, MQTT_PASSWORD = "bench", "bench-mqtt-secret"
HA_USER, HA_PASSWORD = "bench", "bench-password"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    """Resident set size in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def machine_info() -> str:
    """One line about the machine, for RESULTS.md."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    python = platform.python_version()
    return f"{platform.node() or 'host'}: {os.cpu_count()} cores, {cpu}, Python {python}"


def summary(values: list[float]) -> dict[str, float]:
    """p50/p99/mean of a sample, in the sample's unit."""
    return {
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values),
        "n": float(len(values)),
    }


@dataclass
class Rig:
    """A broker and a Home Assistant with an onboarded owner, in `workdir`."""

    workdir: Path
    extra_yaml: str = ""
    # The GreenNet code to load instead of this tree's (e.g. an older commit's, to compare).
    greennet_source: Path | None = None
    # The recorder and Energy dashboard of the demo's configuration (off: the bare HA the
    # integrations are compared in; the recorder's work per state is the same for both).
    history: bool = False
    mqtt_port: int = field(default_factory=free_port)
    ha_port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    ha: HomeAssistantClient | None = None
    session: aiohttp.ClientSession | None = None

    @property
    def ha_pid(self) -> int:
        """PID of the hass process."""
        return self.processes[-1].proc.pid

    async def start(self) -> HomeAssistantClient:
        """Broker, then HA (config written fresh), then onboarding."""
        _, broker = start_broker(
            "mosquitto", self.workdir / "mqtt", self.mqtt_port, MQTT_USER, MQTT_PASSWORD
        )
        self.processes.append(broker)
        confdir = self.workdir / "ha"
        prepare_ha_config(confdir, self.ha_port, self.history)
        if self.extra_yaml:
            with (confdir / "configuration.yaml").open("a") as handle:
                handle.write(self.extra_yaml)
        if self.greennet_source is not None:
            link = confdir / "custom_components" / "greennet"
            link.unlink()
            link.symlink_to(self.greennet_source)
        self.processes.append(start_home_assistant(confdir, self.workdir / "logs"))
        base = f"http://127.0.0.1:{self.ha_port}"
        await wait_http(self.processes[-1], base + "/manifest.json", 240)
        self.session = aiohttp.ClientSession()
        self.ha = HomeAssistantClient(base, self.session)
        await self.ha.onboard_or_login(HA_USER, HA_PASSWORD)
        return self.ha

    async def stop(self) -> None:
        """Everything down, newest first."""
        if self.session is not None:
            await self.session.close()
        for process in reversed(self.processes):
            process.stop()


@contextlib.asynccontextmanager
async def state_changes(
    ha: HomeAssistantClient, entity_id: str
) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """A queue of {t (monotonic receive time), state} for one entity's state changes.

    A state trigger subscribed over HA's websocket API: HA filters, so hundreds of busy
    plugs do not flood the measuring client (an unfiltered `state_changed` subscription
    gets closed by HA once the client falls behind).
    """
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    assert ha.session is not None
    async with ha.session.ws_connect(ha.base + "/api/websocket", max_msg_size=0) as sock:
        await sock.receive_json()
        await sock.send_json({"type": "auth", "access_token": ha.token})
        await sock.receive_json()
        await sock.send_json(
            {
                "id": 1,
                "type": "subscribe_trigger",
                "trigger": {"platform": "state", "entity_id": entity_id},
            }
        )
        # Measure only once HA confirms the subscription, or the first change is missed.
        while (result := await sock.receive_json()).get("type") != "result":
            pass
        if not result.get("success"):
            raise RuntimeError(f"subscription refused: {result}")

        async def pump() -> None:
            try:
                await read()
            except Exception as err:  # surface it to the waiting measurement
                queue.put_nowait({"t": time.monotonic(), "state": None, "error": repr(err)})

        async def read() -> None:
            async for msg in sock:
                now = time.monotonic()
                data = msg.json()
                # HA may send several messages in one frame, as a JSON list.
                for item in data if isinstance(data, list) else [data]:
                    if item.get("type") == "event":
                        trigger = item["event"]["variables"]["trigger"]
                        to_state = trigger.get("to_state") or {}
                        queue.put_nowait({"t": now, "state": to_state.get("state")})
                    elif item.get("type") == "result" and not item.get("success"):
                        raise RuntimeError(f"subscription refused: {item}")

        task = asyncio.create_task(pump())
        try:
            yield queue
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def git_rev() -> str:
    """Short commit of the code being measured."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    return "unknown"


def record_results(text: str, write: bool) -> None:
    """Print a results section; with `write`, also append it to bench/RESULTS.md."""
    print(text)
    if write:
        with (Path(__file__).parent / "RESULTS.md").open("a") as handle:
            handle.write("\n" + text)
