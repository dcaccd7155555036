"""Entities follow the plug's status and the broker link, and recover on their own."""

from __future__ import annotations

import asyncio
import logging

import pytest
from greennet_sim import Simulator
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import protocol as p
from custom_components.greennet.const import (
    DOMAIN,
    EVENT_GREENNET,
    TRANSPORT_AIOMQTT,
    TRANSPORT_HA_MQTT,
)

from ..broker import Mosquitto, free_port
from ..mqtt_observer import Observer
from .conftest import entry_data, sim_config, state_of, wait_until


def _count(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(
        1
        for r in caplog.records
        if r.name.startswith("custom_components.greennet") and text in r.getMessage()
    )


@pytest.mark.parametrize("transport", [TRANSPORT_AIOMQTT, TRANSPORT_HA_MQTT])
async def test_plug_offline_makes_entities_unavailable_until_it_returns(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
    mosquitto: Mosquitto,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.greennet")
    plug = sim.plugs[0]
    bus: list[Event] = []
    hass.bus.async_listen(EVENT_GREENNET, bus.append)

    await sim.stop()  # both plugs say offline
    await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "power") == STATE_UNAVAILABLE)
    assert state_of(hass, "switch", plug.id, "relay") == STATE_UNAVAILABLE
    assert _count(caplog, f"{plug.id} went offline") == 1

    async with Simulator(sim_config(mosquitto, count=2)) as again:
        await again.wait_online()
        await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_ON)
        assert state_of(hass, "sensor", plug.id, "power") != STATE_UNAVAILABLE
        assert _count(caplog, f"{plug.id} is back online") == 1
        assert _count(caplog, f"{plug.id} went offline") == 1  # logged once, not per message
    kinds = [(e.data["plug_id"], e.data["type"]) for e in bus]
    assert kinds.count((plug.id, "offline")) >= 1
    assert (plug.id, "online") in kinds


@pytest.mark.parametrize("transport", [TRANSPORT_AIOMQTT, TRANSPORT_HA_MQTT])
async def test_broker_restart_makes_entities_unavailable_then_recovers_without_reload(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
    mosquitto: Mosquitto,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.greennet")
    plug = sim.plugs[1]
    hub = entry.runtime_data

    await hass.async_add_executor_job(mosquitto.stop)
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_UNAVAILABLE)
    # Mosquitto may deliver the plugs' last wills before it closes our socket: the entity
    # can go unavailable a moment before the hub sees the connection drop.
    await wait_until(hass, lambda: not hub.connected)
    assert all(state_of(hass, "sensor", p.id, "power") == STATE_UNAVAILABLE for p in sim.plugs)

    await asyncio.sleep(0.3)  # an outage long enough for failed reconnect attempts
    await hass.async_add_executor_job(mosquitto.start)
    # Broker back: the hub reconnects with backoff, the plugs republish their birth.
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_ON, 15)
    await sim.report(plug.id)
    await wait_until(
        hass, lambda: state_of(hass, "sensor", plug.id, "power") not in (STATE_UNAVAILABLE, None)
    )
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is hub  # recovered in place, no reload
    assert _count(caplog, "Lost connection to MQTT broker") == 1
    assert _count(caplog, "Reconnected to MQTT broker") == 1


async def test_plug_silent_after_broker_restart_stays_unavailable(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    # A plug that went away while the broker was down never says online again.
    ghost = "greennet-0ff1ce"
    info = p.PlugInfo(ghost, "Ghost", "GreenNet Plug", "1.0", "", "02:00:00:0F:F1:CE", "", 1)
    async with Observer(mosquitto) as observer:
        await observer.publish(f"greennet/{ghost}/status", "online", retain=True)
        await observer.publish(f"greennet/{ghost}/info", p.encode_info(info), retain=True)
        await observer.publish(f"greennet/{ghost}/relay", "ON", retain=True)
    await wait_until(hass, lambda: state_of(hass, "switch", ghost, "relay") == STATE_ON)

    await hass.async_add_executor_job(mosquitto.restart)  # no persistence: retained gone
    await wait_until(hass, lambda: entry.runtime_data.connected, 10)
    await wait_until(
        hass, lambda: state_of(hass, "switch", sim.plugs[0].id, "relay") == STATE_ON, 10
    )
    assert state_of(hass, "switch", ghost, "relay") == STATE_UNAVAILABLE


async def test_unreachable_broker_at_setup_retries_later(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(_closed()))
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "Cannot connect to the MQTT broker" in (entry.reason or "")


def _closed() -> Mosquitto:
    """Settings of a broker that is not running (nothing is started)."""
    broker = Mosquitto.__new__(Mosquitto)
    broker.host, broker.port = "127.0.0.1", free_port()
    broker.username, broker.password = "greennet", "x"
    return broker


async def test_credentials_revoked_while_running_start_reauth(
    hass: HomeAssistant, entry: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    await hass.async_add_executor_job(mosquitto.change_password, "rotated")
    await wait_until(
        hass,
        lambda: any(
            flow["context"]["source"] == "reauth"
            for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        ),
        10,
    )
    assert not entry.runtime_data.connected


@pytest.mark.parametrize("transport", [TRANSPORT_AIOMQTT, TRANSPORT_HA_MQTT])
async def test_commands_while_the_broker_is_down_fail_with_a_clear_error(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    hub = entry.runtime_data
    plug = sim.plugs[0]
    await hass.async_add_executor_job(mosquitto.stop)
    await wait_until(hass, lambda: not hub.connected)
    with pytest.raises(HomeAssistantError) as err:
        await hub.async_set_protection(plug.id, p.ProtectionCommand(max_power=1000))
    assert err.value.translation_key == "not_connected"
    await hub.async_send_defaults()  # nothing to send to, and no error either
    assert plug.state.max_power == 2300
