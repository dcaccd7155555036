"""Fixtures for the GreenNet integration tests: HA's harness, a real broker, the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from greennet_sim import Simulator, SimulatorConfig
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import const
from custom_components.greennet.const import (
    CONF_CA_CERT,
    CONF_PREFIX,
    CONF_TLS,
    CONF_TRANSPORT,
    DOMAIN,
    EVENT_GREENNET,
    TRANSPORT_AIOMQTT,
    TRANSPORT_HA_MQTT,
)

from ..broker import Mosquitto
from ..mqtt_observer import Observer
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


def transport_entry_data(broker: Mosquitto, transport: str) -> dict[str, Any]:
    """Entry data for the test broker, through the integration's own client or HA's MQTT."""
    if transport == TRANSPORT_HA_MQTT:
        return {CONF_TRANSPORT: TRANSPORT_HA_MQTT, CONF_PREFIX: "greennet"}
    return entry_data(broker)


def mqtt_entry(broker: Mosquitto) -> MockConfigEntry:
    """HA's MQTT integration, configured for the test broker (not set up).

    Without a birth message: HA publishes it after every reconnect in a task nobody
    awaits, which fails (and fails the test's cleanup) when the broker restarts again.
    """
    return MockConfigEntry(
        domain="mqtt",
        data={
            "broker": broker.host,
            "port": broker.port,
            "username": broker.username,
            "password": broker.password,
        },
        options={"birth_message": {}},
    )


async def async_setup_ha_mqtt(hass: HomeAssistant, broker: Mosquitto) -> MockConfigEntry:
    """HA's own MQTT integration, set up and connected to the test broker."""
    from homeassistant.components import mqtt

    config_entry = mqtt_entry(broker)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await wait_until(hass, lambda: mqtt.is_connected(hass))
    return config_entry


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
    hass: HomeAssistant, predicate: Callable[[], bool], timeout: float = 15.0
) -> None:
    """Poll HA until `predicate` holds (bounded: fails the test after `timeout`, which only
    a failing test waits out: generous, for a loaded machine running two xdist workers).

    Then let HA finish what the change set off: a state written from a transport's
    socket callback (no task) has its listeners (automations) still queued.
    """
    async with asyncio.timeout(timeout):
        while True:
            await hass.async_block_till_done()
            if predicate():
                await hass.async_block_till_done()
                return
            await asyncio.sleep(0.02)


async def open_plug_settings(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Open the options flow and pick its plug settings form from the menu."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] == "menu"
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )


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
def transport() -> str:
    """The entry's transport; a module parametrizes `transport` to run on both."""
    return TRANSPORT_AIOMQTT


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    mosquitto: Mosquitto,
    transport: str,
    mock_hass_config: None,
    enable_custom_integrations: None,
    short_backoff: None,
) -> AsyncIterator[MockConfigEntry]:
    """A loaded GreenNet entry on the test broker (usable from other test folders too).

    With `transport` "ha_mqtt", HA's own MQTT integration is set up on the same broker
    first and the entry listens through it.
    """
    ha_mqtt = None
    if transport == TRANSPORT_HA_MQTT:
        ha_mqtt = await async_setup_ha_mqtt(hass, mosquitto)
    config_entry = MockConfigEntry(
        domain=DOMAIN,
        title="GreenNet 127.0.0.1",
        data=transport_entry_data(mosquitto, transport),
        minor_version=2,
    )
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    yield config_entry
    # A reload the test set off and did not wait for (a flow's, HA's own after an entity
    # was enabled) must end before the entry is unloaded: one still setting up is neither
    # unloadable nor stopped cleanly by HA's shutdown.
    await hass.async_block_till_done()
    removed = hass.config_entries.async_get_entry(config_entry.entry_id) is None
    if not removed and config_entry.state.recoverable:
        await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()
    if ha_mqtt is not None:
        await hass.config_entries.async_unload(ha_mqtt.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def fleet(mosquitto: Mosquitto) -> AsyncIterator[Simulator]:
    """Two simulated plugs on the test broker, online."""
    async with Simulator(sim_config(mosquitto, count=2)) as simulator:
        await simulator.wait_online()
        yield simulator


async def wait_for_subscriptions(hass: HomeAssistant, broker: Mosquitto, plug_id: str) -> None:
    """Until the hub hears `event`, its last subscription (HA's MQTT client subscribes later).

    HA's MQTT integration batches SUBSCRIBE packets after a cooldown: right after setup a
    non-retained message can still pass unheard. A probe event, repeated, tells when not.
    """
    heard: list[Event] = []
    remove = hass.bus.async_listen(
        EVENT_GREENNET, lambda event: heard.append(event) if event.data["type"] == "probe" else None
    )
    try:
        async with Observer(broker, f"greennet/{plug_id}/event") as probe:
            async with asyncio.timeout(5):
                while not heard:
                    await probe.publish(f"greennet/{plug_id}/event", '{"type": "probe"}')
                    await asyncio.sleep(0.1)
    finally:
        remove()


@pytest.fixture
async def sim(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    fleet: Simulator,
    mosquitto: Mosquitto,
    transport: str,
) -> Simulator:
    """The two plugs, loaded into the entry: every plug's relay switch is available."""
    await wait_until(
        hass,
        lambda: all(
            state_of(hass, "switch", plug.id, "relay") in ("on", "off") for plug in fleet.plugs
        ),
    )
    if transport == TRANSPORT_HA_MQTT:
        await wait_for_subscriptions(hass, mosquitto, fleet.plugs[0].id)
    return fleet
