"""A broker that moved is followed: discovery of a known plug updates its entry's address.

The quality-scale rule `discovery-update-info`. The entry is moved only when it has lost
its own broker and the new address accepts its stored credentials; a plug that moved to
another broker while its entry's broker still works is offered as a new broker instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from greennet_sim import Simulator
from homeassistant.config_entries import SOURCE_ZEROCONF
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet.const import DOMAIN

from ..broker import Mosquitto, free_port
from .conftest import sim_config, state_of, wait_until
from .test_config_flow import start, zeroconf_info


@pytest.fixture
async def new_broker() -> AsyncIterator[Mosquitto]:
    """A second real broker: where the plugs' broker "moved" to."""
    with Mosquitto() as broker:
        yield broker


def discovery_of(plug_id: str, port: int) -> ZeroconfServiceInfo:
    """The plug's zeroconf advertisement naming its broker on 127.0.0.1:`port`."""
    return zeroconf_info(broker="127.0.0.1", port=str(port), id=plug_id)


async def lose_broker(hass: HomeAssistant, entry: MockConfigEntry, broker: Mosquitto) -> None:
    """Stop the entry's broker and wait until the hub has noticed."""
    hub = entry.runtime_data
    await hass.async_add_executor_job(broker.stop)
    await wait_until(hass, lambda: not hub.connected)


async def test_discovery_moves_an_entry_whose_broker_moved(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
    mosquitto: Mosquitto,
    new_broker: Mosquitto,
) -> None:
    plug = sim.plugs[0]
    await lose_broker(hass, entry, mosquitto)
    await sim.stop()
    async with Simulator(sim_config(new_broker, count=2)) as moved:
        await moved.wait_online()
        assert moved.plugs[0].id == plug.id

        result = await start(hass, SOURCE_ZEROCONF, discovery_of(plug.id, new_broker.port))

        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "broker_moved"
        assert entry.data[CONF_PORT] == new_broker.port
        assert entry.data[CONF_HOST] == "127.0.0.1"
        assert entry.unique_id is None  # an address is no identity (brokers.py)
        assert len(hass.config_entries.async_entries(DOMAIN)) == 1
        # reloaded onto the new broker: the plugs come back without anyone touching the entry
        await wait_until(
            hass,
            lambda: all(
                state_of(hass, "switch", p.id, "relay") in ("on", "off") for p in moved.plugs
            ),
        )
        assert entry.runtime_data.connected


async def test_a_plug_on_another_broker_is_offered_while_the_entry_still_works(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, new_broker: Mosquitto
) -> None:
    old = dict(entry.data)
    result = await start(hass, SOURCE_ZEROCONF, discovery_of(sim.plugs[0].id, new_broker.port))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert dict(entry.data) == old
    assert entry.runtime_data.connected


async def test_a_new_address_that_does_not_answer_is_not_applied(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    old = dict(entry.data)
    await lose_broker(hass, entry, mosquitto)
    result = await start(hass, SOURCE_ZEROCONF, discovery_of(sim.plugs[0].id, free_port()))
    assert result["type"] is FlowResultType.FORM  # offered as a broker, never moved onto
    assert dict(entry.data) == old
