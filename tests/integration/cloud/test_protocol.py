"""The cloud link's message layer (protocol v1, docs/cloud-link.md), without a connection."""

from __future__ import annotations

import json
import random

import pytest

from custom_components.greennet import protocol as mqtt
from custom_components.greennet.cloud import protocol as link
from custom_components.greennet.cloud.protocol import (
    Ack,
    Command,
    CommandError,
    ErrorMessage,
    InvalidCommand,
    LinkProtocolError,
    Notification,
    Outbox,
    Ping,
    PlugStateReport,
    Pong,
    UnknownMessage,
    Welcome,
)

PLUG = "greennet-0a1b2c"


def frame(**fields: object) -> str:
    return json.dumps({"id": "c-1", **fields})


def test_welcome_gives_home_and_batch_size() -> None:
    msg = link.parse(frame(type="welcome", reply_to="ha-1", protocol=1, home_id="h", max_batch=200))
    assert msg == Welcome(id="c-1", reply_to="ha-1", home_id="h", max_batch=200)


@pytest.mark.parametrize(
    "fields",
    [
        {"protocol": 2, "home_id": "h", "max_batch": 10},
        {"protocol": 1, "home_id": "", "max_batch": 10},
        {"protocol": 1, "home_id": "h", "max_batch": 0},
        {"protocol": 1, "home_id": "h", "max_batch": True},
    ],
)
def test_welcome_for_another_protocol_or_without_fields_is_refused(
    fields: dict[str, object],
) -> None:
    with pytest.raises(LinkProtocolError) as refused:
        link.parse(frame(type="welcome", reply_to="ha-1", **fields))
    assert refused.value.msg_id == "c-1"


def test_relay_command_is_typed() -> None:
    msg = link.parse(frame(type="command", plug_id=PLUG, action="relay", value="TOGGLE"))
    assert msg == Command(id="c-1", plug_id=PLUG, relay="TOGGLE")


def test_protection_command_uses_the_mqtt_contracts_ranges() -> None:
    msg = link.parse(
        frame(type="command", plug_id=PLUG, action="protection", max_power=1500, reset=True)
    )
    assert msg == Command(
        id="c-1", plug_id=PLUG, protection=mqtt.ProtectionCommand(max_power=1500.0, reset=True)
    )
    for bad in ({"max_power": 0}, {"max_current": 1e9}, {}, {"reset": "yes"}):
        with pytest.raises(InvalidCommand):
            link.parse(frame(type="command", plug_id=PLUG, action="protection", **bad))


@pytest.mark.parametrize(
    "fields",
    [
        {"plug_id": "kitchen", "action": "relay", "value": "ON"},
        {"plug_id": PLUG, "action": "relay", "value": "on"},
        {"plug_id": PLUG, "action": "reboot"},
    ],
)
def test_bad_command_is_an_invalid_command_with_its_id(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidCommand) as refused:
        link.parse(frame(type="command", **fields))
    assert refused.value.msg_id == "c-1"


def test_other_cloud_messages() -> None:
    assert link.parse(frame(type="ack", reply_to="ha-3", seq=4)) == Ack(
        id="c-1", reply_to="ha-3", body={"id": "c-1", "type": "ack", "reply_to": "ha-3", "seq": 4}
    )
    assert link.parse(
        frame(type="notification", notification_id="a1", title="Fridge", message="Above 200 W")
    ) == Notification(id="c-1", notification_id="a1", title="Fridge", message="Above 200 W")
    assert link.parse(frame(type="error", error="invalid_message", message="x")) == ErrorMessage(
        id="c-1", reply_to=None, error="invalid_message", message="x"
    )
    assert link.parse(frame(type="ping")) == Ping(id="c-1")
    assert link.parse(frame(type="pong", reply_to="ha-9")) == Pong(id="c-1", reply_to="ha-9")


def test_unknown_type_is_reported_apart_from_invalid_messages() -> None:
    with pytest.raises(UnknownMessage) as unknown:
        link.parse(frame(type="firmware_offer", url="x"))
    assert unknown.value.msg_type == "firmware_offer"


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"type": "ping"}',
        '{"type": "ping", "id": ""}',
        '{"type": 5, "id": "x"}',
        '{"type": "ping", "id": "x", "n": NaN}',
        "x" * (link.MAX_FRAME_BYTES + 1),
    ],
)
def test_malformed_frames_are_refused(raw: str) -> None:
    with pytest.raises(LinkProtocolError):
        link.parse(raw)


def test_outbox_ids_are_unique_per_connection_and_frames_compact() -> None:
    outbox = Outbox()
    hello = outbox.hello("entry-1", "0.1.0", "2025.4.4")
    ping = outbox.ping()
    assert hello["id"] != ping["id"]
    assert hello == {
        "type": "hello",
        "id": hello["id"],
        "protocol": 1,
        "hub_id": "entry-1",
        "sw_version": "0.1.0",
        "ha_version": "2025.4.4",
    }
    assert " " not in link.encode(ping)


def test_telemetry_samples_take_the_device_ingest_shape() -> None:
    sample = (PLUG, 1_760_000_000_000, 42.5, 230.1, 0.19, 12.25, True)
    message = Outbox().telemetry(7, [sample])
    assert message["seq"] == 7
    assert message["samples"] == [
        {
            "plug_id": PLUG,
            "ts": 1_760_000_000_000,
            "power": 42.5,
            "voltage": 230.1,
            "current": 0.19,
            "energy": 12.25,
            "relay": "ON",
        }
    ]
    assert link.is_sample(list(sample))
    assert not link.is_sample([PLUG, 1, 1.0, 1.0, 1.0, float("nan"), True])
    assert not link.is_sample(["kitchen", 1, 1.0, 1.0, 1.0, 1.0, True])
    assert not link.is_sample([PLUG, True, 1.0, 1.0, 1.0, 1.0, True])


def test_state_and_command_results() -> None:
    outbox = Outbox()
    report = PlugStateReport(PLUG, True, False, True, 10.0, 2300.0)
    state = outbox.state(report, 5)
    assert (state["relay"], state["online"], state["tripped"], state["ts"]) == (
        "OFF",
        True,
        True,
        5,
    )
    ok = outbox.command_ok("c-9", report)
    assert (ok["reply_to"], ok["ok"]) == ("c-9", True)
    want = {"relay": "OFF", "max_current": 10.0, "max_power": 2300.0, "tripped": True}
    assert ok["state"] == want
    failed = outbox.command_failed("c-9", CommandError.PLUG_OFFLINE)
    assert (failed["ok"], failed["error"]) == (False, "plug_offline")
    assert outbox.error(None, "invalid_message", "x").keys() == {"type", "id", "error", "message"}


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    rng = random.Random(1)
    for attempt, ceiling in ((0, 1.0), (3, 8.0), (8, 256.0), (9, 300.0), (500, 300.0)):
        delays = [link.backoff_delay(attempt, 1.0, 300.0, rng) for _ in range(2000)]
        assert min(delays) >= 0.0
        assert max(delays) <= ceiling
        # full jitter: spread over the whole range, not clustered at the ceiling
        assert min(delays) < ceiling * 0.05
        assert max(delays) > ceiling * 0.95
