"""The backlog: samples wait for the cloud in a bounded queue that survives restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from greennet_sim import Simulator
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.greennet.cloud import const
from custom_components.greennet.cloud.backlog import TelemetryBacklog, overflow_issue_id
from custom_components.greennet.cloud.protocol import Sample
from custom_components.greennet.const import DOMAIN

from ...broker import Mosquitto, free_port
from ..conftest import sim_config, wait_until
from .common import linked_entry

PLUG = "greennet-0a0b0c"
STORE_KEY = f"{DOMAIN}.cloud_backlog.entry-1"


def sample(ts: int) -> Sample:
    return (PLUG, 1_760_000_000_000 + ts, 10.0 + ts, 230.0, 0.05, 1.5, True)


def timestamps(samples: list[Any]) -> list[int]:
    return [row[1] - 1_760_000_000_000 for row in samples]


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room for five samples."""
    monkeypatch.setattr(const, "BACKLOG_MAX_SAMPLES", 5)


def later(hass: HomeAssistant, seconds: float) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))


async def test_batches_leave_only_when_acknowledged_and_go_back_in_order(
    hass: HomeAssistant,
) -> None:
    backlog = TelemetryBacklog(hass, "entry-1", "Hub")
    for ts in range(7):
        backlog.append(sample(ts))
    first = backlog.take(3)
    second = backlog.take(3)
    assert first is not None
    assert second is not None
    assert (first[0], second[0]) == (1, 2)
    assert (len(backlog), backlog.queued, backlog.in_flight) == (7, 1, 2)
    assert backlog.acknowledge(first[0]) == 3
    assert backlog.acknowledge(first[0]) == 0  # a repeated ack changes nothing
    backlog.requeue()  # the connection dropped before batch 2 was acknowledged
    again = backlog.take(10)
    assert again is not None
    assert again[0] == 3
    assert timestamps(again[1]) == [3, 4, 5, 6]


async def test_a_full_backlog_drops_the_oldest_and_a_repair_issue_counts_them(
    hass: HomeAssistant, small: None, hass_storage: dict[str, Any]
) -> None:
    backlog = TelemetryBacklog(hass, "entry-1", "Hub")
    for ts in range(8):
        backlog.append(sample(ts))
    batch = backlog.take(10)
    assert batch is not None
    assert timestamps(batch[1]) == [3, 4, 5, 6, 7]
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, overflow_issue_id("entry-1")) is None
    later(hass, 2)  # drops are reported together, at most once a second
    await hass.async_block_till_done()
    issue = registry.async_get_issue(DOMAIN, overflow_issue_id("entry-1"))
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {"hub": "Hub", "dropped": "3", "limit": "5"}
    # samples on their way stay (they count against the bound): newer ones are dropped
    for ts in range(8, 12):
        backlog.append(sample(ts))
    assert len(backlog) == 5
    backlog.requeue()  # the batch went unacknowledged: back at the head, oldest again
    backlog.append(sample(12))
    again = backlog.take(10)
    assert again is not None
    assert timestamps(again[1]) == [4, 5, 6, 7, 12]
    later(hass, 2)
    await hass.async_block_till_done()
    issue = registry.async_get_issue(DOMAIN, overflow_issue_id("entry-1"))
    assert issue is not None
    assert issue.translation_placeholders["dropped"] == "8"


async def test_the_backlog_is_saved_at_most_once_per_delay_and_survives_a_restart(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    backlog = TelemetryBacklog(hass, "entry-1", "Hub")
    for ts in range(3):
        backlog.append(sample(ts))
    sent = backlog.take(2)
    assert sent is not None
    backlog.append(sample(3))
    await hass.async_block_till_done()
    assert STORE_KEY not in hass_storage  # not written per sample
    later(hass, const.BACKLOG_SAVE_DELAY + 1)
    await hass.async_block_till_done()
    saved = hass_storage[STORE_KEY]["data"]
    # unacknowledged batches are saved too, first: they are the oldest
    assert timestamps(saved["samples"]) == [0, 1, 2, 3]
    assert saved["seq"] == 2

    restarted = TelemetryBacklog(hass, "entry-1", "Hub")
    await restarted.async_load()
    assert len(restarted) == 4
    assert restarted.next_seq == 2  # sequence numbers keep increasing across restarts
    batch = restarted.take(10)
    assert batch is not None
    assert batch[1] == [sample(ts) for ts in range(4)]


async def test_unreadable_stored_samples_are_dropped_with_a_log_line(
    hass: HomeAssistant, hass_storage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    good = list(sample(1))
    hass_storage[STORE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORE_KEY,
        "data": {"seq": "x", "dropped": 2, "samples": [good, ["junk"], [*good[:5], "NaN", True]]},
    }
    backlog = TelemetryBacklog(hass, "entry-1", "Hub")
    await backlog.async_load()
    assert len(backlog) == 1
    assert backlog.next_seq == 1
    assert "Dropped 2 unreadable samples" in caplog.text


async def test_acknowledging_the_repair_issue_starts_a_new_count(
    hass: HomeAssistant, small: None, hass_client: ClientSessionGenerator
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    backlog = TelemetryBacklog(hass, "entry-1", "Hub")
    for ts in range(7):
        backlog.append(sample(ts))
    later(hass, 2)
    await hass.async_block_till_done()
    issue_id = overflow_issue_id("entry-1")
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    flow = await resp.json()
    assert flow["step_id"] == "confirm"
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert (await resp.json())["type"] == "create_entry"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    backlog.append(sample(7))
    later(hass, 2)
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders["dropped"] == "1"


async def test_a_batch_the_cloud_refuses_counts_as_dropped(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    backlog = TelemetryBacklog(hass, "entry-1", "Hub")
    backlog.append(sample(1))
    backlog.append(sample(2))
    batch = backlog.take(5)
    assert batch is not None
    assert backlog.refuse(batch[0]) == 2
    assert len(backlog) == 0
    backlog.async_shutdown()  # unload reports pending drops at once
    await backlog.async_save()
    assert hass_storage[STORE_KEY]["data"]["dropped"] == 2
    assert ir.async_get(hass).async_get_issue(DOMAIN, overflow_issue_id("entry-1"))
    await backlog.async_remove()
    assert STORE_KEY not in hass_storage
    assert ir.async_get(hass).async_get_issue(DOMAIN, overflow_issue_id("entry-1")) is None


async def test_home_assistant_stopping_writes_the_backlog_and_takes_no_more_samples(
    hass: HomeAssistant,
    mosquitto: Mosquitto,
    hass_storage: dict[str, Any],
    socket_enabled: None,
) -> None:
    # a linked hub whose cloud is unreachable: every sample waits in the backlog
    entry = linked_entry(mosquitto, f"http://127.0.0.1:{free_port()}", "home-1", "gnl_x")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    link = entry.runtime_data.cloud_link
    assert link is not None
    async with Simulator(sim_config(mosquitto, count=1, seed=311)) as fleet:
        await fleet.wait_online()
        plug_id = fleet.plugs[0].id
        await fleet.report(plug_id)
        await wait_until(hass, lambda: len(link.backlog) >= 1)
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()
        waiting = len(link.backlog)
        saved = hass_storage[f"{DOMAIN}.cloud_backlog.{entry.entry_id}"]["data"]["samples"]
        assert len(saved) == waiting  # written at once, not after the save delay
        await fleet.report(plug_id)  # a report arriving while HA shuts down
        await asyncio.sleep(0.5)
        await hass.async_block_till_done()
        assert len(link.backlog) == waiting
    await hass.config_entries.async_unload(entry.entry_id)
