"""The "last restart" diagnostic sensor: a timestamp that moves only when the plug restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import protocol as p
from custom_components.greennet.const import DOMAIN

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .conftest import entry_data, state_of, wait_until

PLUG = p.PlugInfo(
    id="greennet-7e57ed",
    name="Lamp",
    model="GreenNet Plug",
    sw_version="1.0.0",
    hw_version="",
    mac="02:00:00:7E:57:ED",
    ip="",
    protocol=1,
)
REPORTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def report(at: datetime | None, uptime: int | None) -> str:
    """Telemetry sent at `at` (the plug's synced clock; None: not synced) by a plug up for
    `uptime` s (None: a firmware that does not report it)."""
    telemetry = p.Telemetry(
        voltage=230.0,
        current=0.1,
        power=23.0,
        energy=1.0,
        relay=True,
        uptime=uptime,
        ts=None if at is None else int(at.timestamp() * 1000),
    )
    return p.encode_telemetry(telemetry)


async def load_with_last_restart_enabled(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> MockConfigEntry:
    """A loaded entry whose plug's last-restart sensor (disabled by default) is enabled."""
    er.async_get(hass).async_get_or_create(
        "sensor", DOMAIN, f"{PLUG.id}_last_restart", disabled_by=None
    )
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(mosquitto))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry


async def announce(plug: Observer) -> None:
    """The plug comes online and describes itself (retained, as the firmware does)."""
    await plug.publish(f"greennet/{PLUG.id}/status", "online", retain=True)
    await plug.publish(f"greennet/{PLUG.id}/info", p.encode_info(PLUG), retain=True)


async def test_last_restart_moves_only_when_the_plug_restarts(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    entry = await load_with_last_restart_enabled(hass, mosquitto)
    topic = f"greennet/{PLUG.id}"
    hub = entry.runtime_data
    async with Observer(mosquitto) as plug:
        await announce(plug)
        await plug.publish(f"{topic}/telemetry", report(REPORTED, 3600))
        booted = (REPORTED - timedelta(hours=1)).isoformat()
        await wait_until(hass, lambda: state_of(hass, "sensor", PLUG.id, "last_restart") == booted)

        changes: list[Event] = []
        hass.bus.async_listen(
            "state_changed",
            lambda e: changes.append(e) if e.data["entity_id"].endswith("last_restart") else None,
        )
        # A minute later, a second more uptime than wall time: jitter, not a restart.
        await plug.publish(f"{topic}/telemetry", report(REPORTED + timedelta(minutes=1), 3661))
        await wait_until(hass, lambda: hub.plugs[PLUG.id].telemetry.uptime == 3661)  # type: ignore[union-attr]
        assert state_of(hass, "sensor", PLUG.id, "last_restart") == booted
        assert changes == []

        # It restarted: up for 5 s at the next report.
        later = REPORTED + timedelta(minutes=2)
        await plug.publish(f"{topic}/telemetry", report(later, 5))
        rebooted = (later - timedelta(seconds=5)).isoformat()
        await wait_until(
            hass, lambda: state_of(hass, "sensor", PLUG.id, "last_restart") == rebooted
        )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_last_restart_counts_back_from_home_assistant_s_clock_without_plug_time(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    # A plug whose clock never synced (no NTP) reports no `ts`: HA's receipt time stands in.
    entry = await load_with_last_restart_enabled(hass, mosquitto)
    async with Observer(mosquitto) as plug:
        await announce(plug)
        before = dt_util.utcnow().replace(microsecond=0)
        await plug.publish(f"greennet/{PLUG.id}/telemetry", report(None, 600))
        await wait_until(
            hass, lambda: state_of(hass, "sensor", PLUG.id, "last_restart") not in (None, "unknown")
        )
        after = dt_util.utcnow()
    shown = datetime.fromisoformat(state_of(hass, "sensor", PLUG.id, "last_restart") or "")
    assert before - timedelta(seconds=600) <= shown <= after - timedelta(seconds=600)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_last_restart_is_unknown_while_the_plug_reports_no_uptime(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    entry = await load_with_last_restart_enabled(hass, mosquitto)
    hub = entry.runtime_data
    async with Observer(mosquitto) as plug:
        await announce(plug)
        await plug.publish(f"greennet/{PLUG.id}/telemetry", report(REPORTED, None))
        await wait_until(hass, lambda: state_of(hass, "sensor", PLUG.id, "power") == "23.0")
        assert hub.plugs[PLUG.id].telemetry is not None
        assert state_of(hass, "sensor", PLUG.id, "last_restart") == "unknown"
        # A later report with uptime fills it in: the sensor was waiting, not broken.
        await plug.publish(f"greennet/{PLUG.id}/telemetry", report(REPORTED, 60))
        booted = (REPORTED - timedelta(seconds=60)).isoformat()
        await wait_until(hass, lambda: state_of(hass, "sensor", PLUG.id, "last_restart") == booted)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_uptime_sensor_of_an_older_version_becomes_last_restart(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(mosquitto), version=1, minor_version=1)
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    old = registry.async_get_or_create(
        "sensor", DOMAIN, f"{PLUG.id}_uptime", config_entry=entry, disabled_by=None
    )
    other = registry.async_get_or_create("sensor", DOMAIN, f"{PLUG.id}_power", config_entry=entry)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert (entry.version, entry.minor_version) == (1, 2)
    migrated = registry.async_get(old.entity_id)
    assert migrated is not None
    assert migrated.unique_id == f"{PLUG.id}_last_restart"  # same entity id, settings kept
    assert migrated.disabled_by is None
    assert registry.async_get(other.entity_id).unique_id == f"{PLUG.id}_power"  # type: ignore[union-attr]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entry_from_a_newer_integration_version_is_not_touched(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(mosquitto), version=2)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
