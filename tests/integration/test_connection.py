"""The hub's own MQTT connection under brokers that misbehave (real Mosquitto behind a proxy)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, CONF_PORT, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import const
from custom_components.greennet import protocol as p
from custom_components.greennet.aiomqtt_transport import AiomqttTransport
from custom_components.greennet.const import DOMAIN
from custom_components.greennet.transport import BrokerSettings

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from ..mqtt_proxy import MqttProxy
from .conftest import entity_id, entry_data, state_of, wait_until

PLUG = p.PlugInfo(
    id="greennet-5a11ed",
    name="Heater",
    model="GreenNet Plug",
    sw_version="1.0.0",
    hw_version="",
    mac="02:00:00:5A:11:ED",
    ip="",
    protocol=1,
)


@pytest.fixture
async def proxy(mosquitto: Mosquitto) -> AsyncIterator[MqttProxy]:
    """A proxy in front of the test broker; a plain pipe until a test changes its ways."""
    async with MqttProxy(mosquitto) as running:
        yield running


async def load_through(hass: HomeAssistant, proxy: MqttProxy) -> MockConfigEntry:
    """A GreenNet entry whose broker address is the proxy; set up and loaded."""
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(proxy.broker, **{CONF_PORT: proxy.port}))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    return entry


def _count(caplog: pytest.LogCaptureFixture, level: int, text: str) -> int:
    return sum(
        1
        for r in caplog.records
        if r.name.startswith("custom_components.greennet")
        and r.levelno == level
        and text in r.getMessage()
    )


async def test_unload_during_a_reconnect_leaves_no_half_open_session(
    hass: HomeAssistant, proxy: MqttProxy
) -> None:
    entry = await load_through(hass, proxy)
    hub = entry.runtime_data
    # The broker goes mute: TCP connects, CONNECT is read, CONNACK never comes.
    proxy.misbehaviour.silent = True
    await proxy.drop_all()
    await wait_until(hass, lambda: not hub.connected)
    await proxy.wait_sessions(2)
    hanging = proxy.sessions[1]
    await wait_until(hass, lambda: hanging.received > 0)  # the reconnect waits for CONNACK

    assert await hass.config_entries.async_unload(entry.entry_id)
    # The abandoned attempt's socket is closed, not left to the broker's keepalive.
    async with asyncio.timeout(2):
        await hanging.closed_by_client.wait()


async def test_a_connect_cancelled_twice_stops_at_once_and_closes_its_socket(
    hass: HomeAssistant, proxy: MqttProxy
) -> None:
    # HA stopping while the entry is still connecting: its last stage cancels the setup,
    # waits 0.1 s, and cancels again. The second cancel must not leave the socket open.
    proxy.misbehaviour.silent = True
    settings = BrokerSettings(proxy.broker.host, proxy.port, "greennet", "x")
    transport = AiomqttTransport(settings, lambda *_: None, lambda _: None, lambda: None)
    connecting = asyncio.create_task(transport.async_connect())
    await proxy.wait_sessions(1)
    hanging = proxy.sessions[0]
    await wait_until(hass, lambda: hanging.received > 0)  # CONNECT sent, no CONNACK
    while not connecting.done():
        connecting.cancel()
        await asyncio.sleep(0)
    assert connecting.cancelled()
    async with asyncio.timeout(2):
        await hanging.closed_by_client.wait()


async def test_a_subscription_refused_at_setup_retries_later_and_disconnects(
    hass: HomeAssistant, proxy: MqttProxy
) -> None:
    # A broker whose ACL refuses the subscriptions (SUBACK 0x80): plugs would stay silent.
    proxy.misbehaviour.refuse_subscriptions = True
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(proxy.broker, **{CONF_PORT: proxy.port}))
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "refused" in (entry.reason or "")
    async with asyncio.timeout(2):
        await proxy.sessions[0].closed_by_client.wait()


async def test_a_session_dropped_while_subscribing_at_setup_retries_later(
    hass: HomeAssistant, proxy: MqttProxy
) -> None:
    # Brokers that disconnect on an unauthorised SUBSCRIBE (EMQX deny_action = disconnect).
    proxy.misbehaviour.drop_on_subscribe = True
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(proxy.broker, **{CONF_PORT: proxy.port}))
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert hass.states.async_all() == []  # no platform was set up


async def test_a_broker_that_drops_every_session_is_retried_with_growing_backoff(
    hass: HomeAssistant, proxy: MqttProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.greennet")
    await load_through(hass, proxy)
    # It accepts every session, then drops it 50 ms later (an idle-killing load balancer).
    proxy.misbehaviour.drop_after = 0.05
    await proxy.drop_all()
    first = len(proxy.sessions)
    await asyncio.sleep(3)
    sessions = proxy.sessions[first:]
    # Backoff 0.05 s doubling to 0.4 s (test settings): about 7 sessions in 3 s, not 30,
    # and from the fourth on each waits the longest backoff.
    assert 3 <= len(sessions) <= 10, len(sessions)
    gaps = [later.started - earlier.started for earlier, later in itertools.pairwise(sessions)]
    assert all(gap >= 0.4 for gap in gaps[3:]), gaps
    # One line when the connection first dropped, one when it came back; the flapping after
    # that is debug only.
    assert _count(caplog, logging.INFO, "Lost connection to MQTT broker") == 1
    assert _count(caplog, logging.INFO, "Reconnected to MQTT broker") == 1


async def test_a_stable_session_resets_the_backoff(
    hass: HomeAssistant,
    proxy: MqttProxy,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.greennet")
    monkeypatch.setattr(const, "STABLE_CONNECTION", 0.3)
    entry = await load_through(hass, proxy)
    hub = entry.runtime_data
    for _ in range(3):  # each outage follows a session that stayed up long enough
        await asyncio.sleep(0.5)
        await proxy.drop_all()
        await wait_until(hass, lambda: not hub.connected)
        await wait_until(hass, lambda: hub.connected, 2)
    assert _count(caplog, logging.INFO, "Lost connection to MQTT broker") == 3
    assert _count(caplog, logging.INFO, "Reconnected to MQTT broker") == 3


async def test_rejected_credentials_start_reauth_and_stop_retrying(
    hass: HomeAssistant, proxy: MqttProxy
) -> None:
    entry = await load_through(hass, proxy)
    await hass.async_add_executor_job(proxy.broker.change_password, "rotated")
    await wait_until(
        hass,
        lambda: any(
            flow["context"]["source"] == "reauth"
            for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        ),
        10,
    )
    tried = len(proxy.sessions)
    await asyncio.sleep(1.2)  # three times the longest backoff of the test settings
    assert len(proxy.sessions) == tried  # nothing more until the user gives new credentials
    assert not entry.runtime_data.connected


async def test_the_mqtt_client_logs_under_the_loggers_the_manifest_names(
    hass: HomeAssistant, proxy: MqttProxy, caplog: pytest.LogCaptureFixture
) -> None:
    # HA's logger settings (and "enable debug logging") reach a library's logs only through
    # the manifest's `loggers`: they must be the names aiomqtt and paho really log under.
    manifest = json.loads((Path(const.__file__).parent / "manifest.json").read_text())
    for name in list(logging.root.manager.loggerDict):  # whichever a library uses, at debug
        caplog.set_level(logging.DEBUG, logger=name)
    entry = await load_through(hass, proxy)
    await proxy.drop_all()
    await wait_until(hass, lambda: not entry.runtime_data.connected)
    await wait_until(hass, lambda: entry.runtime_data.connected, 5)
    library = {
        record.name
        for record in caplog.records
        if not record.name.startswith(("custom_components", "homeassistant", "asyncio", "tests"))
    }
    assert library  # paho logs every packet at debug level
    for name in library:
        assert any(
            name == logger or name.startswith(f"{logger}.") for logger in manifest["loggers"]
        )


async def test_a_reconnect_whose_subscriptions_are_refused_is_closed_and_retried(
    hass: HomeAssistant, proxy: MqttProxy
) -> None:
    entry = await load_through(hass, proxy)
    hub = entry.runtime_data
    before = len(proxy.sessions)
    # After a restart the broker's ACL refuses our subscriptions: a session that would
    # never hear a plug must not count as connected.
    proxy.misbehaviour.refuse_subscriptions = True
    await proxy.drop_all()
    await wait_until(hass, lambda: not hub.connected)
    await proxy.wait_sessions(before + 2)  # refused, closed, and tried again
    async with asyncio.timeout(2):
        await proxy.sessions[before].closed_by_client.wait()
    assert not hub.connected
    proxy.misbehaviour.refuse_subscriptions = False
    await wait_until(hass, lambda: hub.connected)
    assert entry.state is ConfigEntryState.LOADED


async def test_a_command_the_broker_never_acknowledges_fails_with_a_clear_error(
    hass: HomeAssistant, proxy: MqttProxy
) -> None:
    entry = await load_through(hass, proxy)
    async with Observer(proxy.broker) as plug:
        await plug.publish(f"greennet/{PLUG.id}/status", "online", retain=True)
        await plug.publish(f"greennet/{PLUG.id}/info", p.encode_info(PLUG), retain=True)
        await plug.publish(f"greennet/{PLUG.id}/relay", p.ON, retain=True)
        await wait_until(hass, lambda: state_of(hass, "switch", PLUG.id, "relay") == STATE_ON)
    # The session looks alive, but the broker stalls: the command's PUBACK never comes.
    proxy.misbehaviour.swallow_pubacks = True
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "switch",
            "turn_off",
            {ATTR_ENTITY_ID: entity_id(hass, "switch", PLUG.id, "relay")},
            blocking=True,
        )
    assert (err.value.translation_domain, err.value.translation_key) == (DOMAIN, "not_connected")
    assert state_of(hass, "switch", PLUG.id, "relay") == STATE_ON
    assert entry.state is ConfigEntryState.LOADED
