"""A hub on a TLS broker with a private CA: plugs reach HA end to end, and it reconnects."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from greennet_sim import Simulator
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.greennet.const import CONF_CA_CERT

from ..broker import Mosquitto
from ..tls import Authority
from .conftest import sim_config, state_of, tls_entry, tls_entry_data, wait_until
from .test_config_flow import submit
from .test_config_flow_tls import tls_form


def tls_sim(broker: Mosquitto, ca: Authority, tmp_path: Path) -> Simulator:
    """One simulated plug on the broker's TLS listener, trusting only `ca`."""
    cafile = tmp_path / "ca.crt"
    cafile.write_text(ca.pem)
    return Simulator(replace(sim_config(broker, count=1), port=broker.tls_port, cafile=cafile))


async def test_plug_over_tls_reaches_ha_and_survives_a_broker_restart(
    hass: HomeAssistant,
    tls_mosquitto: Mosquitto,
    home_ca: Authority,
    tmp_path: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    result = await tls_form(hass, tls_mosquitto)
    result = await submit(hass, result["flow_id"], tls_entry_data(tls_mosquitto, home_ca))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    async with tls_sim(tls_mosquitto, home_ca, tmp_path) as sim:
        await sim.wait_online()
        plug = sim.plugs[0]
        await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_ON)
        await sim.report(plug.id)  # telemetry after the entities exist
        await wait_until(
            hass, lambda: state_of(hass, "sensor", plug.id, "voltage") not in (None, "unknown")
        )
        assert 200 < float(state_of(hass, "sensor", plug.id, "voltage") or "nan") < 260

        # Diagnostics say a CA is set without printing the household's CA.
        assert await async_setup_component(hass, "diagnostics", {})
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        assert diagnostics["entry"]["data"][CONF_CA_CERT] == "**REDACTED**"
        assert "BEGIN CERTIFICATE" not in str(diagnostics)

        hub = entry.runtime_data
        await hass.async_add_executor_job(tls_mosquitto.stop)
        await wait_until(hass, lambda: not hub.connected)
        assert state_of(hass, "switch", plug.id, "relay") == STATE_UNAVAILABLE

        await hass.async_add_executor_job(tls_mosquitto.start)
        # Both sides reconnect over TLS; the plug republishes its birth.
        await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_ON, 15)
        assert entry.runtime_data is hub  # recovered in place, no reload
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_stored_ca_that_no_longer_parses_is_a_setup_error(
    hass: HomeAssistant, tls_mosquitto: Mosquitto
) -> None:
    entry = tls_entry(tls_mosquitto, None, **{CONF_CA_CERT: "edited by hand"})
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert entry.reason.startswith("The stored CA certificate is not valid")
