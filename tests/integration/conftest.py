"""Fixtures for the GreenNet integration tests: HA's harness, a real broker, the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from greennet_sim import Simulator, SimulatorConfig
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import const
from custom_components.greennet.const import CONF_CA_CERT, CONF_PREFIX, CONF_TLS, DOMAIN

from ..broker import Mosquitto
from ..tls import Authority, issue_server_certificate, make_authority


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/greennet."""


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect quickly so broker-restart tests stay fast."""
    monkeypatch.setattr(const, "BACKOFF_INITIAL", 0.05)
    monkeypatch.setattr(const, "BACKOFF_MAX", 0.4)
    # A SUBACK lost with a dropped session is given up on sooner (production: 10 s).
    monkeypatch.setattr(const, "CONNECT_TIMEOUT", 2.0)


def entry_data(broker: Mosquitto, **overrides: Any) -> dict[str, Any]:
    """Config entry data for the test broker."""
    data: dict[str, Any] = {
        CONF_HOST: broker.host,
        CONF_PORT: broker.port,
        CONF_USERNAME: broker.username,
        CONF_PASSWORD: broker.password,
        CONF_TLS: False,
        CONF_PREFIX: "greennet",
    }
    return data | overrides


def tls_entry_data(broker: Mosquitto, ca: Authority | None, **overrides: Any) -> dict[str, Any]:
    """Config entry data for the TLS listener of the test broker, trusting `ca`."""
    data = entry_data(broker, **{CONF_PORT: broker.tls_port, CONF_TLS: True})
    if ca is not None:
        data[CONF_CA_CERT] = ca.pem
    return data | overrides


def tls_entry(broker: Mosquitto, ca: Authority | None, **overrides: Any) -> MockConfigEntry:
    """A GreenNet entry for the TLS listener (not set up); `overrides` change its data."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="GreenNet 127.0.0.1",
        unique_id=f"127.0.0.1:{broker.tls_port}",
        data=tls_entry_data(broker, ca, **overrides),
    )


def sim_config(broker: Mosquitto, **kwargs: Any) -> SimulatorConfig:
    """Simulator settings for the test broker (plugs report every 60 s unless told)."""
    kwargs.setdefault("interval", 60)
    return SimulatorConfig(
        broker=broker.host,
        port=broker.port,
        username=broker.username,
        password=broker.password,
        **kwargs,
    )


async def wait_until(
    hass: HomeAssistant, predicate: Callable[[], bool], timeout: float = 5.0
) -> None:
    """Poll HA until `predicate` holds (bounded: fails the test after `timeout`)."""
    async with asyncio.timeout(timeout):
        while True:
            await hass.async_block_till_done()
            if predicate():
                return
            await asyncio.sleep(0.02)


def entity_id(hass: HomeAssistant, platform: str, plug_id: str, key: str) -> str:
    """Entity id of one plug's entity, found by unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{plug_id}_{key}")
    assert found is not None, f"no {platform} {key} for {plug_id}"
    return found


def state_of(hass: HomeAssistant, platform: str, plug_id: str, key: str) -> str | None:
    """Current state string of one plug's entity (None when it does not exist yet)."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{plug_id}_{key}")
    state = hass.states.get(found) if found else None
    return state.state if state else None


def device_of(hass: HomeAssistant, plug_id: str) -> dr.DeviceEntry | None:
    """The device of a plug (looked up without APIs newer HA deprecates)."""
    registry = dr.async_get(hass)
    for config_entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, config_entry.entry_id):
            if (DOMAIN, plug_id) in device.identifiers:
                return device
    return None


@pytest.fixture(scope="session")
def home_ca() -> Authority:
    """The private CA that signs the TLS test broker's certificate."""
    return make_authority("GreenNet Test Home CA")


@pytest.fixture
def tls_mosquitto(home_ca: Authority, tmp_path: Path, socket_enabled: None) -> Iterator[Mosquitto]:
    """A real broker with a TLS listener; `home_ca` signed its certificate (127.0.0.1)."""
    with Mosquitto(tls=issue_server_certificate(home_ca, tmp_path / "broker-tls")) as broker:
        yield broker


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    mosquitto: Mosquitto,
    enable_custom_integrations: None,
    short_backoff: None,
) -> AsyncIterator[MockConfigEntry]:
    """A loaded GreenNet entry on the test broker (usable from other test folders too)."""
    config_entry = MockConfigEntry(
        domain=DOMAIN,
        title="GreenNet 127.0.0.1",
        unique_id=f"{mosquitto.host}:{mosquitto.port}",
        data=entry_data(mosquitto),
    )
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    yield config_entry
    if config_entry.state.recoverable:
        await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def fleet(mosquitto: Mosquitto) -> AsyncIterator[Simulator]:
    """Two simulated plugs on the test broker, online."""
    async with Simulator(sim_config(mosquitto, count=2)) as simulator:
        await simulator.wait_online()
        yield simulator


@pytest.fixture
async def sim(hass: HomeAssistant, entry: MockConfigEntry, fleet: Simulator) -> Simulator:
    """The two plugs, loaded into the entry: every plug's relay switch is available."""
    await wait_until(
        hass,
        lambda: all(
            state_of(hass, "switch", plug.id, "relay") in ("on", "off") for plug in fleet.plugs
        ),
    )
    return fleet
