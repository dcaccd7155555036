"""Telemetry ingest on both paths (signed device requests, linked-hub batches): idempotent
on (device, ts), the full HMAC matrix, per-sample validation, limits, last-seen, listeners."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from greennet_cloud.bus import MAX_MESSAGE_BYTES
from greennet_cloud.services.ingest import TELEMETRY_CHANNEL, DeviceReport, packed
from greennet_cloud.web.keys import BUS, INGEST

from .api import Api
from .conftest import FakeClock
from .telemetry import Household, household, ms, sample, signed_headers


@pytest.fixture
async def home(api: Api) -> Household:
    return await household(api, "owner@example.com", ("greennet-0a0001", "greennet-0a0002"))


async def stored_count(api: Api, home: Household, device_id: str, clock: FakeClock) -> int:
    now = ms(clock.now)
    reply = await api.call(
        "GET",
        f"/api/v1/devices/{device_id}/telemetry?resolution=raw&from={now - 3_600_000}"
        f"&to={now + 600_000}",
        token=home.owner.access,
    )
    assert reply.status == 200, reply.body
    return len(reply.body["points"])


async def test_the_same_batch_twice_is_stored_once(
    api: Api, home: Household, clock: FakeClock
) -> None:
    now = ms(clock.now)
    plug, other = home.plugs
    samples = [sample(now - 2000, device_id=plug.plug_id), sample(now - 1000, device_id=other.id)]
    first = await home.batch(api, samples)
    assert first.status == 200, first.body
    assert (first.body["stored"], first.body["duplicates"], first.body["errors"]) == (2, 0, [])
    again = await home.batch(api, samples)
    assert (again.body["stored"], again.body["duplicates"]) == (0, 2)
    # the device path writes through the same function: its copy is a duplicate too
    direct = await home.send(api, plug, [sample(now - 2000)], now)
    assert (direct.body["stored"], direct.body["duplicates"]) == (0, 1)
    assert await stored_count(api, home, plug.id, clock) == 1
    assert await stored_count(api, home, other.id, clock) == 1


def _mutate(case: str, headers: dict[str, str], body: bytes, home: Household) -> bytes:
    """Break one thing about a correctly signed request."""
    if case == "bad signature":
        headers["X-Signature"] = "0" * 64
    elif case == "wrong secret":
        headers.update(signed_headers(headers["X-Device-Id"], "gnd_" + "1" * 64, body,
                                      int(headers["X-Timestamp"])))  # fmt: skip
    elif case == "body altered after signing":
        body = body.replace(b"100.0", b"900.0")
    elif case == "signed by another device":
        headers["X-Device-Id"] = home.plugs[1].id
    elif case == "unknown device":
        headers["X-Device-Id"] = "00000000-0000-4000-8000-000000000000"
    elif case.startswith("missing "):
        del headers[case.removeprefix("missing ")]
    elif case == "malformed timestamp":
        headers["X-Timestamp"] = "yesterday"
    elif case == "malformed signature":
        headers["X-Signature"] = "zz" * 32
    return body


MATRIX = [
    ("good", 200, None),
    ("bad signature", 401, "invalid_signature"),
    ("wrong secret", 401, "invalid_signature"),
    ("body altered after signing", 401, "invalid_signature"),
    ("signed by another device", 401, "invalid_signature"),
    ("unknown device", 401, "invalid_signature"),
    ("missing X-Device-Id", 400, "missing_header"),
    ("missing X-Timestamp", 400, "missing_header"),
    ("missing X-Signature", 400, "missing_header"),
    ("malformed timestamp", 400, "invalid_timestamp"),
    ("malformed signature", 400, "invalid_signature_format"),
]


@pytest.mark.parametrize(("case", "status", "code"), MATRIX, ids=[case for case, *_ in MATRIX])
async def test_signed_ingest_matrix(
    api: Api, home: Household, clock: FakeClock, case: str, status: int, code: str | None
) -> None:
    plug = home.plugs[0]
    now = ms(clock.now)
    body = json.dumps({"samples": [sample(now)]}).encode()
    headers = signed_headers(plug.id, plug.secret, body, now)
    body = _mutate(case, headers, body, home)
    reply = await api.call("POST", "/api/v1/ingest", data=body, headers=headers)
    assert (reply.status, reply.error) == (status, code), reply.body
    assert await stored_count(api, home, plug.id, clock) == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    ("offset_ms", "code"),
    [(-301_000, "timestamp_expired"), (301_000, "timestamp_in_future"), (-299_000, None)],
)
async def test_timestamps_outside_300_seconds_are_refused(
    api: Api, home: Household, clock: FakeClock, offset_ms: int, code: str | None
) -> None:
    plug = home.plugs[0]
    now = ms(clock.now)
    reply = await home.send(api, plug, [sample(now - 400_000)], now + offset_ms)
    assert (reply.status, reply.error) == ((401, code) if code else (200, None)), reply.body


async def test_a_replayed_request_is_refused_inside_the_window(
    api: Api, home: Household, clock: FakeClock
) -> None:
    plug = home.plugs[0]
    now = ms(clock.now)
    body = json.dumps({"samples": [sample(now)]}).encode()
    headers = signed_headers(plug.id, plug.secret, body, now)
    first = await api.call("POST", "/api/v1/ingest", data=body, headers=headers)
    assert first.status == 200
    clock.advance(120)
    replay = await api.call("POST", "/api/v1/ingest", data=body, headers=headers)
    assert (replay.status, replay.error) == (401, "replayed_request")
    # the same samples signed anew are a fresh request (and duplicates, not an error)
    fresh = await home.send(api, plug, [sample(now)], ms(clock.now))
    assert (fresh.status, fresh.body["duplicates"]) == (200, 1)


async def test_a_revoked_credential_is_refused(api: Api, home: Household, clock: FakeClock) -> None:
    plug = home.plugs[0]
    rotated = await api.call(
        "POST", f"/api/v1/devices/{plug.id}/credentials", token=home.owner.access
    )
    assert rotated.status == 201
    now = ms(clock.now)
    old = await home.send(api, plug, [sample(now)], now)
    assert (old.status, old.error) == (401, "credential_revoked")
    plug.secret = rotated.body["secret"]
    new = await home.send(api, plug, [sample(now)], now)
    assert (new.status, new.body["stored"]) == (200, 1)


async def test_bad_samples_are_refused_one_by_one_and_the_rest_is_stored(
    api: Api, home: Household, clock: FakeClock
) -> None:
    plug = home.plugs[0]
    now = ms(clock.now)
    samples: list[Any] = [
        sample(now - 5000),
        sample(now - 4000, power=-1),
        sample(now - 3000, voltage="230"),
        {"ts": now - 2000},
        sample(now - 1000, relay="MAYBE"),
        sample(now - 40 * 86_400_000),
        sample(now + 3_600_000),
        sample(now, energy=1e12),
        "not an object",
        sample(now - 500, power=True),
        sample(1_000),
        sample(now - 100),
    ]
    raw = json.dumps({"samples": samples}).replace('"current": 0.435,', '"current": NaN,', 1)
    headers = signed_headers(plug.id, plug.secret, raw.encode(), now)
    reply = await api.call("POST", "/api/v1/ingest", data=raw, headers=headers)
    assert reply.status == 200, reply.body
    codes = {error["index"]: error["error"] for error in reply.body["errors"]}
    assert codes == {
        0: "not_finite",
        1: "out_of_range",
        2: "invalid_sample",
        3: "invalid_sample",
        4: "invalid_sample",
        5: "too_old",
        6: "in_future",
        7: "out_of_range",
        8: "invalid_sample",
        9: "invalid_sample",
        10: "out_of_range",
    }
    assert (reply.body["stored"], reply.body["rejected"]) == (1, 11)
    assert all(error["message"] for error in reply.body["errors"])


async def test_envelope_errors_and_oversized_bodies(
    api: Api, home: Household, clock: FakeClock
) -> None:
    plug = home.plugs[0]
    now = ms(clock.now)
    for raw, code in ((b"{not json", "invalid_json"), (b'{"samples": 3}', "invalid_input")):
        headers = signed_headers(plug.id, plug.secret, raw, now)
        reply = await api.call("POST", "/api/v1/ingest", data=raw, headers=headers)
        assert (reply.status, reply.error) == (400, code)
    huge = json.dumps({"samples": [sample(now - i) for i in range(1000)]}).encode()
    assert len(huge) > 64 * 1024  # the test config's body limit
    headers = signed_headers(plug.id, plug.secret, huge, now)
    reply = await api.call("POST", "/api/v1/ingest", data=huge, headers=headers)
    assert (reply.status, reply.error) == (413, "payload_too_large")
    too_many = await home.batch(api, [{}] * 10_001)
    assert (too_many.status, too_many.error) == (413, "payload_too_large")


async def test_a_hub_writes_only_to_plugs_of_its_own_home(
    api: Api, home: Household, clock: FakeClock
) -> None:
    neighbour = await household(api, "neighbour@example.com", ("greennet-0a0001",))
    now = ms(clock.now)
    theirs = neighbour.plugs[0]
    reply = await home.batch(
        api,
        [
            sample(now, device_id=theirs.id),  # another home's device, by cloud id
            sample(now, device_id="greennet-ffffff"),  # no such plug in this home
            sample(now, device_id="greennet-0a0001"),  # this home's plug (same plug id!)
        ],
    )
    assert reply.status == 200
    assert [(e["index"], e["error"]) for e in reply.body["errors"]] == [
        (0, "unknown_device"),
        (1, "unknown_device"),
    ]
    assert await stored_count(api, neighbour, theirs.id, clock) == 0
    assert await stored_count(api, home, home.plugs[0].id, clock) == 1
    for token, code in ((None, "invalid_link_token"), ("gnl_forged", "invalid_link_token")):
        refused = await api.call(
            "POST", "/api/v1/ingest/batch", token=token, json_body={"samples": []}
        )
        assert (refused.status, refused.error) == (401, code)


async def test_a_revoked_link_token_is_refused(api: Api, home: Household) -> None:
    links = await api.call(
        "GET", f"/api/v1/homes/{home.home_id}/link-tokens", token=home.owner.access
    )
    revoked = await api.call(
        "DELETE",
        f"/api/v1/homes/{home.home_id}/link-tokens/{links.body[0]['id']}",
        token=home.owner.access,
    )
    assert revoked.status == 204
    reply = await home.batch(api, [])
    assert (reply.status, reply.error) == (401, "invalid_link_token")


async def test_last_seen_and_online_follow_ingest_without_a_write_per_sample(
    api: Api, home: Household, clock: FakeClock
) -> None:
    plug = home.plugs[0]
    path = f"/api/v1/devices/{plug.id}"
    before = await api.call("GET", path, token=home.owner.access)
    assert (before.body["last_seen_at"], before.body["online"]) == (None, False)
    start = ms(clock.now)
    await home.send(api, plug, [sample(start)], start)
    first = (await api.call("GET", path, token=home.owner.access)).body
    assert first["online"] is True
    assert first["last_seen_at"] is not None
    for second in range(1, 6):  # one sample a second: last_seen moves in 10 s steps
        clock.advance(1)
        await home.send(api, plug, [sample(start + second * 1000)], ms(clock.now))
    assert (await api.call("GET", path, token=home.owner.access)).body["last_seen_at"] == first[
        "last_seen_at"
    ]
    clock.advance(10)
    await home.send(api, plug, [sample(start + 16_000)], ms(clock.now))
    moved = (await api.call("GET", path, token=home.owner.access)).body
    assert moved["last_seen_at"] > first["last_seen_at"]
    clock.advance(302)
    assert (await api.call("GET", path, token=home.owner.access)).body["online"] is False


async def test_post_ingest_listeners_hear_each_device_once_per_batch(
    api: Api, home: Household, clock: FakeClock
) -> None:
    heard: list[list[DeviceReport]] = []

    async def listener(reports: list[DeviceReport]) -> None:
        heard.append(reports)

    async def broken(_reports: list[DeviceReport]) -> None:
        raise RuntimeError("a listener bug must not break ingest")

    assert api.client.app is not None
    api.client.app[INGEST].listeners.extend([broken, listener])
    now = ms(clock.now)
    plug, other = home.plugs
    samples = [sample(now - 1000, device_id=plug.plug_id, power=5.0),
               sample(now, device_id=plug.plug_id, power=7.0),
               sample(now, device_id=other.plug_id)]  # fmt: skip
    reply = await home.batch(api, samples)
    assert reply.body["stored"] == 3
    [reports] = heard
    by_id = {report.device.id: report for report in reports}
    assert (by_id[plug.id].samples, by_id[plug.id].latest.power) == (2, 7.0)
    assert by_id[plug.id].came_online is True
    assert by_id[other.id].samples == 1
    await home.batch(api, samples)
    assert len(heard) == 1  # nothing new stored: nobody is told


async def test_a_hub_batch_notes_its_link_token_use_once_a_minute(
    api: Api, home: Household, clock: FakeClock
) -> None:
    path = f"/api/v1/homes/{home.home_id}/link-tokens"

    async def last_used() -> str | None:
        links = await api.call("GET", path, token=home.owner.access)
        return links.body[0]["last_used_at"]

    assert await last_used() is None
    await home.batch(api, [])
    first = await last_used()
    assert first is not None
    clock.advance(30)
    await home.batch(api, [])
    assert await last_used() == first
    clock.advance(31)
    await home.batch(api, [])
    assert (later := await last_used()) is not None
    assert later > first


async def test_each_stored_batch_is_announced_on_the_bus(
    api: Api, home: Household, clock: FakeClock
) -> None:
    assert api.client.app is not None
    heard: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    subscription = await api.client.app[BUS].subscribe(TELEMETRY_CHANNEL, heard.put_nowait)
    try:
        now = ms(clock.now)
        plug, other = home.plugs
        reply = await home.batch(
            api,
            [sample(now - 1000, device_id=plug.plug_id, power=3.0),
             sample(now, device_id=plug.plug_id, power=4.5),
             sample(now, device_id=other.plug_id)],
        )  # fmt: skip
        assert reply.body["stored"] == 3
        message = await asyncio.wait_for(heard.get(), 10)
        by_id = {device["id"]: device for device in message["devices"]}
        assert set(by_id) == {plug.id, other.id}
        assert by_id[plug.id] == {
            "id": plug.id, "home_id": home.home_id, "plug_id": plug.plug_id, "ts": now,
            "power": 4.5, "voltage": 230.0, "current": 0.02, "energy": 1.0, "relay": "ON",
            "online": True, "came_online": True,
        }  # fmt: skip
        await home.batch(api, [sample(now, device_id=plug.plug_id)])  # a duplicate only
        await asyncio.sleep(0.5)
        assert heard.empty()
    finally:
        subscription.cancel()


def test_a_large_batch_is_announced_in_few_messages_each_within_the_bus_limit() -> None:
    entries = [
        {"id": f"{n:036d}", "home_id": "h" * 36, "plug_id": f"greennet-{n:06d}", "ts": 1.8e12 + n,
         "power": 1234.5, "voltage": 231.2, "current": 5.34, "energy": 12345.678, "relay": "ON",
         "online": True, "came_online": False}
        for n in range(200)
    ]  # fmt: skip
    parts = packed(entries)
    assert [entry for part in parts for entry in part] == entries  # all, once, in order
    assert all(len(json.dumps({"devices": p}, separators=(",", ":"))) <= MAX_MESSAGE_BYTES
               for p in parts)  # fmt: skip
    assert len(parts) <= 8  # not ten messages of 20 devices: as many as fit
