"""Setting up and deleting a hub's link: token revoked with the entry, half-written data."""

from __future__ import annotations

from greennet_sim import Simulator
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from custom_components.greennet.cloud.const import CONF_CLOUD, CONF_CLOUD_URL, CONF_HOME_ID
from custom_components.greennet.const import DOMAIN

from ...broker import Mosquitto
from ...cloud_service import CloudApi, CloudUser
from ..conftest import device_of, wait_until
from .common import linked_entry


async def test_deleting_a_linked_entry_revokes_its_link_token(
    hass: HomeAssistant, mosquitto: Mosquitto, api: CloudApi, owner: CloudUser
) -> None:
    home_id = await api.create_home(owner, "Flat")
    token = await api.create_link_token(owner, home_id, "test HA")
    entry = linked_entry(mosquitto, api.base, home_id, token["token"])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_until(hass, lambda: entry.runtime_data.cloud_link.connected)
    assert len(await api.link_tokens(owner, home_id)) == 1
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert await api.link_tokens(owner, home_id) == []


async def test_a_link_missing_its_token_leaves_the_hub_unlinked_with_its_plugs(
    hass: HomeAssistant, mosquitto: Mosquitto, fleet: Simulator, api: CloudApi
) -> None:
    entry = linked_entry(mosquitto, api.base, "home-1", "gnl_x")
    half = {CONF_CLOUD_URL: api.base, CONF_HOME_ID: "home-1"}  # e.g. edited by hand
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_CLOUD: half})
    assert await hass.config_entries.async_setup(entry.entry_id)
    plug_ids = [plug.id for plug in fleet.plugs]
    await wait_until(hass, lambda: all(device_of(hass, plug_id) for plug_id in plug_ids))
    assert entry.runtime_data.cloud_link is None
    await hass.config_entries.async_reload(entry.entry_id)
    await wait_until(hass, lambda: entry.state is ConfigEntryState.LOADED)
    # the plugs' devices stay; no hub service device was made for a link that is not there
    assert all(device_of(hass, plug_id) for plug_id in plug_ids)
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert not [d for d in devices if (DOMAIN, f"hub-{entry.entry_id}") in d.identifiers]
    await hass.config_entries.async_unload(entry.entry_id)
