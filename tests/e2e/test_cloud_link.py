"""Cloud link and remote access end to end (issue #13).

Real Mosquitto, simulated plugs, the integration in Home Assistant's test harness and
GreenNet Cloud served on loopback: on SQLite (one process), and on PostgreSQL with two
processes, where Home Assistant links to one and every API call goes to the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
import pytest
from greennet_sim import Simulator, SimulatorConfig
from homeassistant import loader
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CoreState, HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.greennet.cloud import const as cloud_const
from custom_components.greennet.cloud.link import CloudLink, LinkState
from custom_components.greennet.const import DOMAIN
from custom_components.greennet.models import PlugUpdate
from custom_components.greennet.protocol import Channel

from ..backend.live import LiveServer
from ..backend.postgres import PostgresServer
from ..broker import Mosquitto
from ..cloud_service import CloudApi, CloudUser, sockets_allowed, start_cloud
from ..integration.cloud.common import broker_data, linked_entry

SECRET = "e2e-link-signing-secret-" + "x" * 40
_seeds = iter(range(160, 250))


@dataclass
class Deployment:
    """The cloud's processes: Home Assistant links to the first, users call the last."""

    name: str
    servers: list[LiveServer] = field(default_factory=list)

    @property
    def link_base(self) -> str:
        return self.servers[0].base_url

    @property
    def api(self) -> CloudApi:
        return CloudApi(self.servers[-1].base_url)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def start(self) -> None:
        for server in self.servers:
            server.start()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """GreenNet Cloud on SQLite, or as two processes sharing one PostgreSQL database."""
    if request.param == "sqlite":
        servers = [start_cloud()]
        postgres = None
    else:
        with sockets_allowed():
            postgres = PostgresServer()
        postgres.start()
        url = postgres.create_database("greennet_e2e_link")
        env = {"GREENNET_DATABASE_URL": url, "GREENNET_SECRET": SECRET}
        servers = [start_cloud(env), start_cloud(env)]
    try:
        yield Deployment(request.param, servers)
    finally:
        for server in servers:
            server.cleanup()
        if postgres is not None:
            postgres.stop()


@pytest.fixture(autouse=True)
def fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The link retries within a second (production: up to 300 s)."""
    monkeypatch.setattr(cloud_const, "BACKOFF_BASE", 0.1)
    monkeypatch.setattr(cloud_const, "BACKOFF_CAP", 0.5)


@pytest.fixture
async def plugs(mosquitto: Mosquitto) -> AsyncIterator[Simulator]:
    """Two simulated plugs reporting every second, with plug ids of their own."""
    config = SimulatorConfig(
        broker=mosquitto.host,
        port=mosquitto.port,
        username=mosquitto.username,
        password=mosquitto.password,
        count=2,
        interval=1,
        seed=next(_seeds),
    )
    async with Simulator(config) as simulator:
        await simulator.wait_online()
        yield simulator


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20.0) -> None:
    """Poll until `check` holds (the cloud and the plugs are other processes)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        await asyncio.sleep(0.1)


def link_of(entry: MockConfigEntry) -> CloudLink:
    link = entry.runtime_data.cloud_link
    assert link is not None
    return link


async def linked_hub(
    hass: HomeAssistant, mosquitto: Mosquitto, deployment: Deployment, owner: CloudUser
) -> tuple[MockConfigEntry, str]:
    """An entry linked to a new home of `owner`, the link up; returns (entry, home id)."""
    api = deployment.api
    home_id = await api.create_home(owner, "Flat")
    token = await api.create_link_token(owner, home_id, "e2e")
    entry = linked_entry(mosquitto, deployment.link_base, home_id, token["token"])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await until(lambda: _true(link_of(entry).connected), "the link")
    return entry, home_id


async def _true(value: bool) -> bool:
    return value


async def devices_by_plug(api: CloudApi, user: CloudUser, home_id: str) -> dict[str, Any]:
    return {d["plug_id"]: d for d in await api.devices(user, home_id)}


async def test_linking_in_the_options_flow_brings_plugs_and_telemetry_to_the_cloud(
    hass: HomeAssistant,
    deployment: Deployment,
    mosquitto: Mosquitto,
    plugs: Simulator,
    socket_enabled: None,
    enable_custom_integrations: None,
) -> None:
    api = deployment.api
    owner = await api.register()
    home_id = await api.create_home(owner, "Flat")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="GreenNet 127.0.0.1",
        unique_id=f"{mosquitto.host}:{mosquitto.port}",
        data=broker_data(mosquitto),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "cloud_link"}
    )
    answer = {"url": deployment.link_base, "email": owner.email, "password": owner.password}
    result = await hass.config_entries.options.async_configure(result["flow_id"], answer)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"home": home_id})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await until(lambda: _true(link_of(entry).connected), "the link")
    wanted = {plug.id for plug in plugs.plugs}

    async def announced() -> bool:
        return set(await devices_by_plug(api, owner, home_id)) == wanted

    await until(announced, "the plugs in the cloud home")
    devices = await devices_by_plug(api, owner, home_id)
    since = int(time.time() * 1000)

    async def in_history() -> bool:
        counts = [len(await api.telemetry(owner, d["id"], since)) for d in devices.values()]
        return min(counts) >= 2

    await until(in_history, "telemetry in the cloud's history")
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_control_share_switches_a_plug_and_a_read_share_is_refused(
    hass: HomeAssistant,
    deployment: Deployment,
    mosquitto: Mosquitto,
    plugs: Simulator,
    socket_enabled: None,
    enable_custom_integrations: None,
) -> None:
    api = deployment.api
    owner, friend, viewer = await api.register(), await api.register(), await api.register()
    entry, home_id = await linked_hub(hass, mosquitto, deployment, owner)

    async def announced() -> bool:
        return len(await devices_by_plug(api, owner, home_id)) == 2

    await until(announced, "the plugs in the cloud home")
    first, second = plugs.plugs
    devices = await devices_by_plug(api, owner, home_id)
    for device in devices.values():
        await api.share_device(owner, device["id"], friend, "control")
        await api.share_device(owner, device["id"], viewer, "read")

    assert first.state.relay is True
    answer = await api.switch(friend, devices[first.id]["id"], "OFF")
    assert answer["relay"] == "OFF"
    assert first.state.relay is False  # the simulator's relay, not just the cloud's belief
    refused = await api.switch(viewer, devices[first.id]["id"], "ON", expect=403)
    assert refused["error"] == "forbidden"
    assert first.state.relay is False
    trail = await api.commands(owner, home_id)
    assert [(c["email"], c["result"]) for c in trail] == [(friend.email, "ok")]

    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, username=mosquitto.username, password=mosquitto.password
    ) as client:  # the broker's last will for a plug that lost power
        await client.publish(f"greennet/{second.id}/status", "offline", qos=1, retain=True)
    hub = entry.runtime_data
    await until(lambda: _true(hub.plugs[second.id].online is False), "the plug offline in HA")
    offline = await api.switch(friend, devices[second.id]["id"], "OFF", expect=503)
    assert offline["error"] == "plug_offline"
    assert second.state.relay is True
    await hass.config_entries.async_unload(entry.entry_id)


async def test_revoking_the_link_token_closes_the_link_and_asks_for_reauth(
    hass: HomeAssistant,
    deployment: Deployment,
    mosquitto: Mosquitto,
    plugs: Simulator,
    socket_enabled: None,
    enable_custom_integrations: None,
) -> None:
    api = deployment.api
    owner = await api.register()
    entry, home_id = await linked_hub(hass, mosquitto, deployment, owner)
    (token,) = await api.link_tokens(owner, home_id)
    await api.revoke_link_token(owner, home_id, token["id"])
    link = link_of(entry)
    await until(lambda: _true(link.state is LinkState.AUTH_FAILED), "the link closing", 15)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["step_id"] for flow in flows] == ["cloud_reauth"]
    await hass.config_entries.async_unload(entry.entry_id)


@contextlib.asynccontextmanager
async def home_assistant() -> AsyncIterator[HomeAssistant]:
    """A Home Assistant of its own (a restart is a second one on the same storage)."""
    async with async_test_home_assistant() as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # find custom_components/greennet
        try:
            yield hass
        finally:
            if hass.state is not CoreState.not_running:
                await hass.async_stop(force=True)


def record_samples(entry: MockConfigEntry, seen: dict[str, set[int]]) -> Callable[[], None]:
    """Note every telemetry sample the hub hands its listeners; returns the unsubscribe."""

    def take(update: PlugUpdate) -> None:
        telemetry = update.state.telemetry
        if update.channel is Channel.TELEMETRY and telemetry is not None:
            assert telemetry.ts is not None  # the simulated plugs' clocks are synced
            seen.setdefault(update.plug_id, set()).add(telemetry.ts)

    return entry.runtime_data.async_add_listener(take)


async def test_every_sample_arrives_once_across_a_cloud_outage_and_a_restart(
    deployment: Deployment,
    mosquitto: Mosquitto,
    plugs: Simulator,
    hass_storage: dict[str, Any],
    socket_enabled: None,
) -> None:
    api = deployment.api
    owner = await api.register()
    home_id = await api.create_home(owner, "Flat")
    token = (await api.create_link_token(owner, home_id, "e2e"))["token"]
    seen: dict[str, set[int]] = {}

    async with home_assistant() as hass:
        entry = linked_entry(mosquitto, deployment.link_base, home_id, token, "restart-entry")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        stop_recording = record_samples(entry, seen)
        link = link_of(entry)
        await until(lambda: _true(link.connected), "the link")
        await until(lambda: _true(sum(map(len, seen.values())) >= 4), "telemetry")
        deployment.stop()  # the cloud goes away under 1 Hz telemetry ...
        await until(lambda: _true(link.state is LinkState.DISCONNECTED), "the link noticing")
        await asyncio.sleep(3)
        waiting = len(link.backlog)
        assert waiting >= 4
        stop_recording()
        await hass.async_stop()  # ... and Home Assistant restarts meanwhile

    async with home_assistant() as hass:
        entry = linked_entry(mosquitto, deployment.link_base, home_id, token, "restart-entry")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        link = link_of(entry)
        assert len(link.backlog) >= waiting  # the backlog came back from storage
        stop_recording = record_samples(entry, seen)
        await asyncio.sleep(2)
        assert not link.connected
        deployment.start()  # the cloud returns
        await until(lambda: _true(link.connected), "the link coming back", 30)
        await asyncio.sleep(1)
        stop_recording()
        await until(lambda: _true(len(link.backlog) == 0), "the backlog draining", 30)

    devices = await devices_by_plug(api, owner, home_id)
    assert set(devices) == set(seen)
    for plug_id, stamps in seen.items():
        stored = await api.telemetry(owner, devices[plug_id]["id"], min(stamps))
        window = [ts for ts in stored if ts <= max(stamps)]
        assert len(window) == len(set(window))  # once: never stored twice
        assert set(window) == stamps  # every sample Home Assistant received
