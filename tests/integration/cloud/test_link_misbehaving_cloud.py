"""The link against a cloud that misbehaves in ways the real GreenNet Cloud never does.

A small aiohttp websocket endpoint on loopback plays the cloud from a script: no welcome,
a wrong first message, refused or unstorable batches, odd frames, every close code. The
hub side is real throughout (Mosquitto, simulated plugs, the integration in HA's harness).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from greennet_sim import Simulator
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet.cloud import const as cloud_const
from custom_components.greennet.cloud.link import CloudLink, LinkState
from custom_components.greennet.const import CONF_IGNORED_PLUGS, DOMAIN

from ...broker import Mosquitto
from ..conftest import wait_until
from .common import linked_entry
from .fake_cloud import HOME_ID, FakeCloud, Script, ack, error


@pytest.fixture(autouse=True)
def brisk_link(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry within 0.2 s."""
    monkeypatch.setattr(cloud_const, "BACKOFF_CAP", 0.2)


def errors_of(link: CloudLink) -> list[str | None]:
    """Every `last_error` the link shows, in order (recorded on each state change)."""
    seen: list[str | None] = []
    link.async_add_listener(lambda: seen.append(link.last_error))
    return seen


@pytest.fixture
async def fake_cloud(socket_enabled: None) -> AsyncIterator[list[FakeCloud]]:
    """Fake clouds started by `serve`, stopped at the end of the test."""
    started: list[FakeCloud] = []
    yield started
    for cloud in started:
        await cloud.stop()


async def serve(started: list[FakeCloud], script: Script, status: int | None = None) -> FakeCloud:
    cloud = FakeCloud(script, status)
    await cloud.start()
    started.append(cloud)
    return cloud


@pytest.fixture
async def link_to(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> AsyncIterator[Callable[[FakeCloud], Awaitable[CloudLink]]]:
    """Set up an entry linked to a fake cloud; unloaded at the end of the test."""
    entries: list[MockConfigEntry] = []

    async def setup(cloud: FakeCloud, options: dict[str, Any] | None = None) -> CloudLink:
        entry = linked_entry(mosquitto, cloud.url, HOME_ID, "gnl_fake")
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(entry, options=options or {})
        assert await hass.config_entries.async_setup(entry.entry_id)
        entries.append(entry)
        link = entry.runtime_data.cloud_link
        assert link is not None
        return link

    yield setup
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_a_cloud_that_never_welcomes_is_left_and_tried_again(
    hass: HomeAssistant, fake_cloud: list[FakeCloud], link_to: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloud_const, "HANDSHAKE_TIMEOUT", 1.0)

    async def silent(cloud: FakeCloud, ws: web.WebSocketResponse, n: int) -> None:
        await cloud.drain(ws)  # reads hello, answers nothing

    cloud = await serve(fake_cloud, silent)
    link = await link_to(cloud)
    errors = errors_of(link)
    expected = "no welcome from the cloud"
    # tried again (the listener may miss the first attempt; on a loaded machine the 1 s
    # bound may also cut an upgrade short, hence no claim about every attempt)
    await wait_until(hass, lambda: cloud.connections >= 2 and expected in errors)
    assert link.state is not LinkState.CONNECTED
    assert link.connected_since is None
    assert len(cloud.of_type("hello")) >= 1


async def test_a_cloud_answering_hello_with_something_else_is_left_and_tried_again(
    hass: HomeAssistant, fake_cloud: list[FakeCloud], link_to: Any
) -> None:
    async def confused(cloud: FakeCloud, ws: web.WebSocketResponse, n: int) -> None:
        hello = await cloud.receive(ws, "hello")
        await ws.send_json({"type": "ack", "id": "c-1", "reply_to": hello["id"]})
        await ws.close(code=1011, message=b"confused")

    cloud = await serve(fake_cloud, confused)
    link = await link_to(cloud)
    errors = errors_of(link)
    expected = "closed by the cloud (1011)"
    # tried again, every attempt ending the same way (the listener may miss the first)
    await wait_until(hass, lambda: cloud.connections >= 2 and expected in errors)
    assert set(errors) == {expected}
    assert link.home_id is None  # never welcomed
    assert link.state is not LinkState.CONNECTED


async def test_a_refused_upgrade_is_retried(
    hass: HomeAssistant, fake_cloud: list[FakeCloud], link_to: Any
) -> None:
    cloud = await serve(fake_cloud, FakeCloud.drain, status=503)
    link = await link_to(cloud)
    errors = errors_of(link)
    expected = "upgrade refused: HTTP 503"
    # tried again, every attempt ending the same way (the listener may miss the first)
    await wait_until(hass, lambda: cloud.connections >= 2 and expected in errors)
    assert set(errors) == {expected}
    assert link.state in (LinkState.DISCONNECTED, LinkState.CONNECTING)
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []


@pytest.mark.parametrize(
    ("code", "state", "stops"),
    [
        (1000, LinkState.DISCONNECTED, False),
        (1001, LinkState.DISCONNECTED, False),
        (1011, LinkState.DISCONNECTED, False),
        (4000, LinkState.UNSUPPORTED, True),
        (4001, LinkState.AUTH_FAILED, True),
        (4008, LinkState.REPLACED, True),
    ],
)
async def test_each_close_code_of_the_cloud_gets_its_answer(
    hass: HomeAssistant,
    fake_cloud: list[FakeCloud],
    link_to: Any,
    code: int,
    state: LinkState,
    stops: bool,
) -> None:
    async def close_once_welcomed(cloud: FakeCloud, ws: web.WebSocketResponse, n: int) -> None:
        await cloud.welcome(ws)
        await cloud.receive(ws, "devices")
        await ws.close(code=code, message=b"bye")

    cloud = await serve(fake_cloud, close_once_welcomed)
    link = await link_to(cloud)
    errors = errors_of(link)
    await wait_until(hass, lambda: f"closed by the cloud ({code})" in errors)
    if stops:
        await wait_until(hass, lambda: link.state is state)
        await asyncio.sleep(0.5)
        assert cloud.connections == 1  # it does not come back by itself
        assert link.state is state
    else:
        await wait_until(hass, lambda: cloud.connections >= 2)
    flows = [f["step_id"] for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)]
    assert flows == (["cloud_reauth"] if code == 4001 else [])
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"cloud_link_unsupported_{link.entry.entry_id}"
    )
    assert (issue is not None) is (code == 4000)


def samples(batch: dict[str, Any]) -> list[tuple[str, int]]:
    return [(s["plug_id"], s["ts"]) for s in batch["samples"]]


async def test_a_batch_the_cloud_could_not_store_is_sent_again_after_reconnecting(
    hass: HomeAssistant, fake_cloud: list[FakeCloud], link_to: Any, fleet: Simulator
) -> None:
    batches: list[dict[str, Any]] = []

    async def fails_then_stores(cloud: FakeCloud, ws: web.WebSocketResponse, n: int) -> None:
        await cloud.welcome(ws)
        batch = await cloud.receive(ws, "telemetry")
        batches.append(batch)
        if n == 1:
            await error(ws, "internal_error", "database down", reply_to=batch["id"])
        else:
            await ack(ws, batch, seq=batch["seq"], stored=len(batch["samples"]))
        await cloud.drain(ws)

    cloud = await serve(fake_cloud, fails_then_stores)
    link = await link_to(cloud)
    await wait_until(hass, lambda: link.connected)
    await fleet.report(fleet.plugs[0].id)
    await wait_until(hass, lambda: len(batches) == 2)
    assert "could not store batch" in (link.last_error or "")
    assert "database down" in (link.last_error or "")
    # the same samples again, on the new connection
    assert samples(batches[1]) == samples(batches[0])
    await wait_until(hass, lambda: len(link.backlog) == 0)
    assert link.backlog.dropped == 0


async def test_an_unacknowledged_batch_makes_the_link_reconnect_and_send_it_again(
    hass: HomeAssistant,
    fake_cloud: list[FakeCloud],
    link_to: Any,
    fleet: Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cloud_const, "ACK_TIMEOUT", 0.6)
    batches: list[dict[str, Any]] = []

    async def stuck_then_fine(cloud: FakeCloud, ws: web.WebSocketResponse, n: int) -> None:
        await cloud.welcome(ws)
        batch = await cloud.receive(ws, "telemetry")
        batches.append(batch)
        if n > 1:
            await ack(ws, batch, seq=batch["seq"], stored=len(batch["samples"]))
        await cloud.drain(ws)

    cloud = await serve(fake_cloud, stuck_then_fine)
    link = await link_to(cloud)
    await wait_until(hass, lambda: link.connected)
    await fleet.report(fleet.plugs[0].id)
    await wait_until(hass, lambda: len(batches) == 2)
    assert link.last_error == "telemetry not acknowledged in 0.6 s"
    assert samples(batches[1]) == samples(batches[0])
    await wait_until(hass, lambda: len(link.backlog) == 0)


async def test_a_refused_batch_is_dropped_and_a_stray_error_only_logged(
    hass: HomeAssistant,
    fake_cloud: list[FakeCloud],
    link_to: Any,
    fleet: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def refuses(cloud: FakeCloud, ws: web.WebSocketResponse, n: int) -> None:
        await cloud.welcome(ws)
        batch = await cloud.receive(ws, "telemetry")
        await error(ws, "batch_too_large", "at most 1 sample", reply_to=batch["id"])
        await error(ws, "maintenance", "read-only for 5 min")  # about nothing we sent
        await cloud.drain(ws)

    cloud = await serve(fake_cloud, refuses)
    link = await link_to(cloud)
    await wait_until(hass, lambda: link.connected)
    await fleet.report(fleet.plugs[0].id)
    await wait_until(hass, lambda: "GreenNet Cloud reported maintenance" in caplog.text)
    assert "GreenNet Cloud refused a batch of 1 samples: batch_too_large" in caplog.text
    assert "read-only for 5 min" in caplog.text
    assert len(link.backlog) == 0  # dropped, not retried
    await asyncio.sleep(0.5)
    assert len(cloud.of_type("telemetry")) == 1
    assert link.connected
    assert cloud.connections == 1


async def test_odd_frames_are_answered_and_the_link_stays_up(
    hass: HomeAssistant,
    fake_cloud: list[FakeCloud],
    link_to: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def odd(cloud: FakeCloud, ws: web.WebSocketResponse, n: int) -> None:
        await cloud.welcome(ws)
        await ws.send_bytes(b"\x00\x01")
        await ws.send_json({"type": "ack", "id": "c-noreply"})  # no reply_to
        await ws.send_json({"type": "command", "id": "c-cmd", "plug_id": "gn-000001",
                            "action": "explode"})  # fmt: skip
        await ws.send_json({"type": "ping", "id": "c-ping"})
        await cloud.drain(ws)

    cloud = await serve(fake_cloud, odd)
    link = await link_to(cloud)
    await wait_until(hass, lambda: bool(cloud.of_type("pong")))
    assert [m["reply_to"] for m in cloud.of_type("pong")] == ["c-ping"]
    (invalid,) = cloud.of_type("error")
    assert (invalid["reply_to"], invalid["error"]) == ("c-noreply", "invalid_message")
    (refused,) = cloud.of_type("command_result")
    assert (refused["reply_to"], refused["ok"], refused["error"]) == (
        "c-cmd",
        False,
        "invalid_command",
    )
    assert "binary frames are not part of the protocol" in caplog.text
    assert link.connected
    assert cloud.connections == 1


async def test_plugs_the_cloud_refuses_are_logged_once_and_shown_in_diagnostics(
    hass: HomeAssistant,
    fake_cloud: list[FakeCloud],
    link_to: Any,
    fleet: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    plug_ids = sorted(plug.id for plug in fleet.plugs)

    async def claimed_elsewhere(cloud: FakeCloud, ws: web.WebSocketResponse, n: int) -> None:
        await cloud.welcome(ws)
        while True:
            devices = await cloud.receive(ws, "devices")
            await ack(ws, devices, devices=[], refused=plug_ids)

    cloud = await serve(fake_cloud, claimed_elsewhere)
    link = await link_to(cloud)
    await wait_until(hass, lambda: link.refused_plugs == plug_ids)
    assert caplog.text.count("they belong to another home") == 1
    assert link.diagnostics()["refused_plugs"] == plug_ids


async def test_a_command_for_an_ignored_plug_is_not_allowed_and_not_sent(
    hass: HomeAssistant, fake_cloud: list[FakeCloud], link_to: Any, fleet: Simulator
) -> None:
    ignored = fleet.plugs[0]

    async def commands_it(cloud: FakeCloud, ws: web.WebSocketResponse, n: int) -> None:
        await cloud.welcome(ws)
        await ws.send_json({"type": "command", "id": "c-off", "plug_id": ignored.id,
                            "action": "relay", "value": "OFF"})  # fmt: skip
        await cloud.drain(ws)

    cloud = await serve(fake_cloud, commands_it)
    await link_to(cloud, {CONF_IGNORED_PLUGS: [ignored.id]})
    await wait_until(hass, lambda: bool(cloud.of_type("command_result")))
    (answer,) = cloud.of_type("command_result")
    assert (answer["reply_to"], answer["ok"], answer["error"]) == ("c-off", False, "not_allowed")
    assert ignored.state.relay is True
    announced = [p["plug_id"] for m in cloud.of_type("devices") for p in m["plugs"]]
    assert ignored.id not in announced
