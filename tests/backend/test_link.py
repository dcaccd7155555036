"""The HA link endpoint over a real websocket: authentication before the upgrade, hello and
protocol versions, plugs announced into the home, telemetry into history (once), state,
errors that never close the link, unknown types, keep-alive, and who closes it when."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging

import aiohttp
import pytest
from greennet_cloud import Config
from greennet_cloud.bus import Message
from greennet_cloud.db.schema import live_links
from greennet_cloud.link.messages import SUBPROTOCOL
from greennet_cloud.services.device_states import CHANNEL
from greennet_cloud.web.keys import BUS, ENGINE, LINK_NODE
from sqlalchemy import select

from .api import Api
from .conftest import ApiFactory, FakeClock
from .hub import LinkClosed
from .linking import FAST_LINK, eventually, linked_home, with_link
from .telemetry import ms, sample

PLUG = "greennet-11aa01"
OTHER = "greennet-11aa02"


@pytest.fixture
def config(config: Config) -> Config:
    """The test link settings (keep-alive tests start apps with shorter ones)."""
    return with_link(config)


@pytest.mark.parametrize("token", [None, "gnl_unknown", "revoked"])
async def test_a_missing_unknown_or_revoked_token_gets_401_before_the_upgrade(
    api: Api, token: str | None
) -> None:
    home = await linked_home(api, "owner@example.com")
    if token == "revoked":
        await home.revoke(api)
        token = home.token
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.client.ws_connect("/api/v1/link", headers=headers, protocols=(SUBPROTOCOL,))
    assert refused.value.status == 401
    # and in the one error shape for a client that reads the body
    plain = await api.call("GET", "/api/v1/link", token=token)
    assert (plain.status, plain.error) == (401, "invalid_link_token")


async def test_a_request_that_is_not_an_upgrade_gets_426(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    plain = await api.call("GET", "/api/v1/link", token=home.token)
    assert (plain.status, plain.error) == (426, "upgrade_required")


async def test_hello_is_welcomed_with_the_home_and_the_subprotocol(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    welcome = await hub.connect()
    assert hub.ws is not None
    assert hub.ws.protocol == SUBPROTOCOL
    assert welcome is not None
    assert welcome["type"] == "welcome"
    assert (welcome["protocol"], welcome["home_id"]) == (1, home.home_id)
    assert welcome["max_batch"] == 1000
    assert isinstance(welcome["id"], str)
    assert welcome["id"]
    async with api.client.app[ENGINE].connect() as conn:
        row = (await conn.execute(select(live_links))).one()
    assert (row.token_id, row.hub_id, row.ha_version) == (home.token_id, "entry-1", "2025.4.4")
    tokens = await api.call(
        "GET", f"/api/v1/homes/{home.home_id}/link-tokens", token=home.owner.access
    )
    assert tokens.body[0]["last_used_at"] is not None
    assert tokens.body[0]["connected"] is True
    assert tokens.body[0]["connected_at"] is not None
    await hub.close()

    async def connected() -> bool:
        listed = await api.call(
            "GET", f"/api/v1/homes/{home.home_id}/link-tokens", token=home.owner.access
        )
        return bool(listed.body[0]["connected"])

    assert await eventually(connected, False)


async def test_an_unsupported_protocol_version_closes_with_4000(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api)
    await hub.connect(hello=False)
    answer = await hub.request("hello", protocol=2, hub_id="x")
    assert (answer["type"], answer["error"]) == ("error", "unsupported_protocol")
    assert await hub.closed() == 4000


async def test_messages_before_hello_are_refused_without_closing(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect(hello=False)
    early = await hub.request("devices", plugs=[])
    assert (early["type"], early["error"]) == ("error", "hello_required")
    assert (await hub.request("hello", protocol=1))["type"] == "welcome"
    assert (await hub.announce())["type"] == "ack"
    await hub.close()


async def test_announced_plugs_become_devices_of_the_linked_home(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG, OTHER)
    hub.plugs[PLUG].name = "Kettle\x00\n"  # control characters are dropped, not refused
    hub.plugs[OTHER].online = False
    await hub.connect()
    ack = await hub.announce()
    assert ack["type"] == "ack"
    assert ack["refused"] == []
    listed = await api.call("GET", f"/api/v1/homes/{home.home_id}/devices", token=home.owner.access)
    by_plug = {device["plug_id"]: device for device in listed.body}
    assert ack["devices"] == {plug: device["id"] for plug, device in by_plug.items()}
    assert by_plug[PLUG]["name"] == "Kettle"
    assert (by_plug[PLUG]["online"], by_plug[OTHER]["online"]) == (True, False)
    # announcing again (every reconnect does) changes nothing
    again = await hub.announce()
    assert again["devices"] == ack["devices"]
    await hub.close()


async def test_a_plug_held_by_another_home_is_refused_without_a_reason(api: Api) -> None:
    neighbour = await linked_home(api, "neighbour@example.com")
    paired = await api.plug(neighbour.owner.access, neighbour.home_id, PLUG)
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG, OTHER, "greennet-NOT-A-PLUG")
    await hub.connect()
    ack = await hub.announce()
    assert ack["refused"] == [PLUG, "greennet-NOT-A-PLUG"]
    assert list(ack["devices"]) == [OTHER]
    assert "reason" not in json.dumps(ack)
    assert neighbour.home_id not in json.dumps(ack)
    assert list(await home.device_ids(api)) == [OTHER]
    theirs = await api.call(
        "GET", f"/api/v1/devices/{paired['device']['id']}", token=neighbour.owner.access
    )
    assert theirs.body["home_id"] == neighbour.home_id
    await hub.close()


async def test_telemetry_is_acked_with_its_seq_and_reaches_history(
    api: Api, clock: FakeClock
) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    device_id = (await hub.announce())["devices"][PLUG]
    start = ms(clock.now) - 10_000
    samples = [
        {"plug_id": PLUG, **sample(start + i * 1000, power=50.0 + i, energy=1.0 + i / 1000)}
        for i in range(5)
    ]
    ack = await hub.request("telemetry", seq=7, samples=samples)
    assert ack == {
        "type": "ack",
        "id": ack["id"],
        "reply_to": ack["reply_to"],
        "seq": 7,
        "stored": 5,
        "duplicates": 0,
        "rejected": 0,
        "errors": [],
    }
    history = await api.call(
        "GET",
        f"/api/v1/devices/{device_id}/telemetry?resolution=raw&from={start}",
        token=home.owner.access,
    )
    assert [point["power"] for point in history.body["points"]] == [50.0, 51.0, 52.0, 53.0, 54.0]
    device = await api.call("GET", f"/api/v1/devices/{device_id}", token=home.owner.access)
    assert device.body["online"] is True
    await hub.close()


async def test_a_batch_sent_again_is_stored_once(api: Api, clock: FakeClock) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    device_id = (await hub.announce())["devices"][PLUG]
    start = ms(clock.now) - 5_000
    samples = [{"plug_id": PLUG, **sample(start + i * 1000)} for i in range(3)]
    first = await hub.request("telemetry", seq=1, samples=samples)
    # the ack was lost: the hub reconnects and sends the batch again, with one new sample
    await hub.close()
    hub = home.hub(api, PLUG)
    await hub.connect()
    more = [*samples, {"plug_id": PLUG, **sample(start + 3000)}]
    again = await hub.request("telemetry", seq=2, samples=more)
    assert (first["stored"], first["duplicates"]) == (3, 0)
    assert (again["stored"], again["duplicates"]) == (1, 3)
    # the HTTP batch path shares the same idempotency
    http = await api.call(
        "POST",
        "/api/v1/ingest/batch",
        token=home.token,
        json_body={"samples": [{"device_id": PLUG, **sample(start)}]},
    )
    assert (http.body["stored"], http.body["duplicates"]) == (0, 1)
    history = await api.call(
        "GET",
        f"/api/v1/devices/{device_id}/telemetry?resolution=raw&from={start}",
        token=home.owner.access,
    )
    assert len(history.body["points"]) == 4
    await hub.close()


async def test_bad_samples_are_refused_one_by_one_in_the_ack(api: Api, clock: FakeClock) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    await hub.announce()
    now = ms(clock.now)
    samples = [
        {"plug_id": PLUG, **sample(now - 2000)},
        {"plug_id": PLUG, **sample(now - 1000, power=-5.0)},
        {"plug_id": "greennet-ffffff", **sample(now - 1000)},
        "not a sample",
        {**sample(now - 500)},
    ]
    ack = await hub.request("telemetry", seq=3, samples=samples)
    assert (ack["stored"], ack["rejected"]) == (1, 4)
    assert [(e["index"], e["error"]) for e in ack["errors"]] == [
        (1, "out_of_range"),
        (2, "unknown_device"),
        (3, "invalid_sample"),
        (4, "invalid_sample"),
    ]
    await hub.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('{"id": "m1"}', "invalid_message"),
        ('{"type": "ping"}', "invalid_message"),
        ('{"type": "telemetry", "id": "m2", "seq": -1, "samples": []}', "invalid_message"),
        ('{"type": "telemetry", "id": "m3", "seq": 1, "samples": {}}', "invalid_message"),
        ('{"type": "devices", "id": "m4", "plugs": "all"}', "invalid_message"),
        ('{"type": "state", "id": "m5", "plug_id": "nope", "online": true}', "invalid_message"),
        ('{"type": "state", "id": "m6", "plug_id": "greennet-ffffff"}', "unknown_plug"),
        ('{"type": "state", "id": "m7", "plug_id": "greennet-11aa01", "relay": 1}',
         "invalid_message"),
        ('{"type": "command_result", "id": "m8", "ok": true}', "invalid_message"),
        ('{"type": "command_result", "id": "m9", "reply_to": "x", "ok": true, "state": 3}',
         "invalid_message"),
    ],
)  # fmt: skip
async def test_a_bad_message_is_answered_with_error_and_the_link_stays_up(
    api: Api, clock: FakeClock, frame: str, code: str
) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    await hub.announce()
    await hub.send_raw(frame)
    error = await hub.next("error")
    assert error["error"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error.get("reply_to") == _id_of(frame)
    # the link still works: telemetry is stored and acked
    ack = await hub.request(
        "telemetry", seq=9, samples=[{"plug_id": PLUG, **sample(ms(clock.now))}]
    )
    assert ack["stored"] == 1
    await hub.close()


def _id_of(frame: str) -> str | None:
    """The id an error should answer: the frame's, when it has a usable one."""
    try:
        sent = json.loads(frame)
    except ValueError:
        return None
    return sent.get("id") if isinstance(sent, dict) else None


async def test_a_binary_frame_and_an_oversized_batch_are_refused(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    assert hub.ws is not None
    await hub.ws.send_bytes(b"\x00\x01")
    assert (await hub.next("error"))["error"] == "invalid_message"
    too_many = await hub.request("telemetry", seq=1, samples=[{}] * 1001)
    assert too_many["error"] == "batch_too_large"
    assert (await hub.request("ping"))["type"] == "pong"
    await hub.close()


async def test_an_unknown_type_is_ignored_with_one_log_line(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api)
    await hub.connect()
    with caplog.at_level(logging.INFO, logger="greennet_cloud.link"):
        await hub.send("firmware_update", url="http://example.com/x.bin")
        await hub.send("firmware_update", url="http://example.com/y.bin")
        pong = await hub.request("ping")
    # nothing answered the unknown messages: the next message is the pong
    assert pong["type"] == "pong"
    lines = [r.getMessage() for r in caplog.records if "unknown type" in r.getMessage()]
    assert lines == [f"link {home.token_id}: ignored a message of unknown type 'firmware_update'"]
    await hub.close()


async def test_state_updates_the_device_and_is_published_on_the_bus(
    api: Api, clock: FakeClock
) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    device_id = (await hub.announce())["devices"][PLUG]
    heard: asyncio.Queue[Message] = asyncio.Queue()
    await api.client.app[BUS].subscribe(CHANNEL, heard.put_nowait)
    ts = ms(clock.now)
    ack = await hub.request("state", plug_id=PLUG, online=True, relay="ON", tripped=True, ts=ts)
    assert ack["type"] == "ack"
    message = await asyncio.wait_for(heard.get(), 5)
    assert message == {
        "home_id": home.home_id,
        "device_id": device_id,
        "plug_id": PLUG,
        "online": True,
        "relay": "ON",
        "tripped": True,
        "ts": ts,
    }
    device = await api.call("GET", f"/api/v1/devices/{device_id}", token=home.owner.access)
    assert (device.body["relay"], device.body["tripped"], device.body["online"]) == (
        "ON",
        True,
        True,
    )
    # the plug drops off the broker: offline at once, relay kept as last known
    clock.advance(1)
    await hub.request("state", plug_id=PLUG, online=False, relay=None, tripped=None)
    device = await api.call("GET", f"/api/v1/devices/{device_id}", token=home.owner.access)
    assert (device.body["relay"], device.body["online"]) == ("ON", False)
    # an older report arriving late does not undo a newer one
    await hub.request("state", plug_id=PLUG, online=True, relay="OFF", ts=ts - 60_000)
    device = await api.call("GET", f"/api/v1/devices/{device_id}", token=home.owner.access)
    assert (device.body["relay"], device.body["online"]) == ("ON", False)
    await hub.close()


async def test_ping_gets_pong_and_an_idle_cloud_pings(make_api: ApiFactory) -> None:
    api = await make_api(link=dataclasses.replace(FAST_LINK, ping_interval_seconds=0.2,
                                                  idle_timeout_seconds=2.0))  # fmt: skip
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api)
    await hub.connect()
    pong = await hub.request("ping")
    assert pong["type"] == "pong"
    # nothing sent for the ping interval: the cloud pings, the hub answers each time
    await asyncio.sleep(2.5)
    assert hub.pings_heard >= 3
    assert hub.close_code is None  # answered pings keep it open past the idle timeout
    await hub.close()


async def test_a_silent_hub_is_closed_after_the_idle_timeout(make_api: ApiFactory) -> None:
    api = await make_api(link=dataclasses.replace(FAST_LINK, ping_interval_seconds=0.2,
                                                  idle_timeout_seconds=0.5))  # fmt: skip
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api)
    hub.answer_pings = False
    await hub.connect()
    assert await hub.closed(timeout=5) == 1000
    assert hub.pings_heard >= 1


async def test_a_second_connection_replaces_the_first_with_4008(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    first = home.hub(api, PLUG)
    await first.connect()
    second = home.hub(api, PLUG)
    await second.connect()
    assert await first.closed() == 4008
    assert (await second.request("ping"))["type"] == "pong"
    async with api.client.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(live_links))).all()
    assert len(rows) == 1
    await second.close()

    async def rows_left() -> int:
        async with api.client.app[ENGINE].connect() as conn:
            return len((await conn.execute(select(live_links))).all())

    assert await eventually(rows_left, 0)


async def test_revoking_the_link_token_closes_the_link_with_4001(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    other_token, _ = await home.new_token(api, "second HA")
    hub = home.hub(api, PLUG)
    other = home.hub(api, PLUG, token=other_token)
    await hub.connect()
    await other.connect()
    await home.revoke(api)
    assert await hub.closed(timeout=2) == 4001
    assert (await other.request("ping"))["type"] == "pong"  # another token's link lives on
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await home.hub(api).connect()
    await other.close()


async def test_a_hub_revoking_its_own_token_is_closed_with_4001(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    revoked = await api.call("DELETE", "/api/v1/link", token=home.token)
    assert revoked.status == 204
    assert await hub.closed(timeout=2) == 4001
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await home.hub(api).connect()


async def test_deleting_the_home_closes_its_link_with_4001(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    deleted = await api.call("DELETE", f"/api/v1/homes/{home.home_id}", token=home.owner.access)
    assert deleted.status == 204
    assert await hub.closed(timeout=2) == 4001


async def test_a_frame_over_the_size_limit_closes_the_link_with_1009(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    await hub.send_raw(json.dumps({"type": "telemetry", "id": "big", "pad": "x" * (1 << 20)}))
    assert await hub.closed() == 1009
    with pytest.raises(LinkClosed):
        await hub.next()


async def test_a_link_that_cannot_be_registered_closes_with_1011(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    home = await linked_home(api, "owner@example.com")

    async def database_down(socket: object) -> None:
        raise ConnectionRefusedError("the database is down")

    monkeypatch.setattr(api.client.app[LINK_NODE], "attach", database_down)
    hub = home.hub(api, PLUG)
    await hub.connect(hello=False)
    assert await hub.closed() == 1011
    assert "could not be registered" in caplog.text


async def test_live_links_hold_no_place_in_the_api_admission_queue(make_api: ApiFactory) -> None:
    # a pool of one admits 4 API requests at once: 6 hubs linked must leave room for the API
    api = await make_api(database_pool_size=1)
    home = await linked_home(api, "owner@example.com")
    hubs = [home.hub(api, token=(await home.new_token(api, f"HA {n}"))[0]) for n in range(6)]
    for hub in hubs:
        await hub.connect()
    listed = await asyncio.wait_for(
        api.call("GET", f"/api/v1/homes/{home.home_id}/link-tokens", token=home.owner.access), 5
    )
    assert sum(token["connected"] for token in listed.body) == 6
    for hub in hubs:
        await hub.close()
