"""Relay commands answer as soon as the plug's state is the one asked for (real broker)."""

from __future__ import annotations

import asyncio

import pytest
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import protocol as p
from custom_components.greennet.const import TRANSPORT_AIOMQTT, TRANSPORT_HA_MQTT

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .conftest import entity_id, state_of, wait_until

# The same specification through both transports: the integration's own client and HA's MQTT.
pytestmark = pytest.mark.parametrize("transport", [TRANSPORT_AIOMQTT, TRANSPORT_HA_MQTT])

MUTE = p.PlugInfo(
    id="greennet-0b0e0d",
    name="Mute plug",
    model="GreenNet Plug",
    sw_version="1.0.0",
    hw_version="",
    mac="02:00:00:0B:0E:0D",
    ip="",
    protocol=1,
)
TELEMETRY_OFF = p.Telemetry(voltage=230.0, current=0.0, power=0.0, energy=1.0, relay=False)


async def announce_mute_plug(hass: HomeAssistant, observer: Observer, relay: str) -> None:
    """A plug that is online and reports its relay but obeys no command (hung firmware)."""
    topic = f"greennet/{MUTE.id}"
    await observer.publish(f"{topic}/status", "online", retain=True)
    await observer.publish(f"{topic}/info", p.encode_info(MUTE), retain=True)
    await observer.publish(f"{topic}/relay", relay, retain=True)
    want = STATE_ON if relay == p.ON else STATE_OFF
    await wait_until(hass, lambda: state_of(hass, "switch", MUTE.id, "relay") == want)


async def test_switching_a_relay_to_the_state_it_has_answers_at_once(
    hass: HomeAssistant, entry: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    # A plug publishes `relay` only on change: "turn on at 07:00" on a plug that is on
    # gets no confirmation, and must not wait for one.
    async with Observer(mosquitto) as observer:
        await announce_mute_plug(hass, observer, p.ON)
        await entry.runtime_data.async_set_relay(MUTE.id, True, timeout=0.5)
        await hass.services.async_call(
            "switch",
            "turn_on",
            {ATTR_ENTITY_ID: entity_id(hass, "switch", MUTE.id, "relay")},
            blocking=True,
        )
        # The command still goes out: the plug is the authority, not our copy of its state.
        first = await observer.wait_for(lambda m: m.topic.endswith("/relay/set"))
        second = await observer.wait_for(
            lambda m: m.topic.endswith("/relay/set"), after=first.index + 1
        )
        assert (first.payload, second.payload) == (b"ON", b"ON")
    assert state_of(hass, "switch", MUTE.id, "relay") == STATE_ON


async def test_telemetry_confirms_a_relay_change(
    hass: HomeAssistant, entry: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    hub = entry.runtime_data
    async with Observer(mosquitto) as observer:
        await announce_mute_plug(hass, observer, p.ON)
        command = hass.async_create_task(hub.async_set_relay(MUTE.id, False, timeout=3))
        await observer.wait_for(lambda m: m.topic.endswith("/relay/set"))
        # The plug reports the new state in its telemetry only (its relay publish was lost).
        await observer.publish(f"greennet/{MUTE.id}/telemetry", p.encode_telemetry(TELEMETRY_OFF))
        async with asyncio.timeout(2):
            await command
    assert state_of(hass, "switch", MUTE.id, "relay") == STATE_OFF


async def test_a_relay_change_that_never_comes_still_fails(
    hass: HomeAssistant, entry: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    async with Observer(mosquitto) as observer:
        await announce_mute_plug(hass, observer, p.ON)
        with pytest.raises(HomeAssistantError) as err:
            await entry.runtime_data.async_set_relay(MUTE.id, False, timeout=0.3)
    assert err.value.translation_key == "relay_not_confirmed"
    assert state_of(hass, "switch", MUTE.id, "relay") == STATE_ON


async def test_unloading_fails_a_pending_relay_command_cleanly(
    hass: HomeAssistant, entry: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    hub = entry.runtime_data
    async with Observer(mosquitto) as observer:
        await announce_mute_plug(hass, observer, p.ON)
        command = hass.async_create_task(hub.async_set_relay(MUTE.id, False, timeout=30))
        await observer.wait_for(lambda m: m.topic.endswith("/relay/set"))
        assert await hass.config_entries.async_unload(entry.entry_id)
        with pytest.raises(HomeAssistantError) as err:
            async with asyncio.timeout(2):
                await command
    assert err.value.translation_key == "not_connected"


async def test_a_relay_report_confirms_only_the_commands_that_asked_for_that_state(
    hass: HomeAssistant, entry: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    hub = entry.runtime_data
    async with Observer(mosquitto) as observer:
        # Online and described, relay not reported yet (HA just started): both commands wait.
        await observer.publish(f"greennet/{MUTE.id}/status", "online", retain=True)
        await observer.publish(f"greennet/{MUTE.id}/info", p.encode_info(MUTE), retain=True)
        await wait_until(hass, lambda: hub.plug_online(MUTE.id))
        turn_on = hass.async_create_task(hub.async_set_relay(MUTE.id, True, timeout=5))
        turn_off = hass.async_create_task(hub.async_set_relay(MUTE.id, False, timeout=5))
        sent = await observer.wait_for(lambda m: m.topic.endswith("/relay/set"))
        await observer.wait_for(lambda m: m.topic.endswith("/relay/set"), after=sent.index + 1)

        await observer.publish(f"greennet/{MUTE.id}/relay", p.ON, retain=True)
        async with asyncio.timeout(2):
            await turn_on
        assert not turn_off.done()  # ON is no answer to OFF

        await observer.publish(f"greennet/{MUTE.id}/relay", p.OFF, retain=True)
        async with asyncio.timeout(2):
            await turn_off
    assert state_of(hass, "switch", MUTE.id, "relay") == STATE_OFF
