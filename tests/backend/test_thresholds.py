"""Threshold CRUD at /api/v1/devices/{id}/thresholds: owners and control shares create,
change and delete; read shares and guests only see; strangers get 404; bad fields get a
clear 400 and change nothing."""

from __future__ import annotations

from .alerting import add_rule, add_threshold, household
from .api import Api
from .conftest import FakeClock


async def test_owner_and_control_share_manage_thresholds(api: Api, clock: FakeClock) -> None:
    home = await household(api)
    made = await add_rule(
        api, home, metric="power", direction="above", value=2000, hysteresis=100,
        duration_seconds=60, repeat="hourly", quiet_hours={"start": "22:00", "end": "07:00"},
    )  # fmt: skip
    assert made["name"] == "power above 2000 W"
    assert made["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert made["enabled"] is True
    clock.advance(1)
    by_control = await add_threshold(
        api,
        home.controller,
        home.device_id,
        metric="offline",
        duration_seconds=1200,
        name="Freezer silent",
    )
    assert by_control["direction"] is None
    assert by_control["value"] is None

    for who in (home.owner, home.controller, home.reader):
        listed = await api.call("GET", home.thresholds, token=who.access)
        assert [t["id"] for t in listed.body] == [made["id"], by_control["id"]]
    one = await api.call("GET", f"{home.thresholds}/{made['id']}", token=home.reader.access)
    assert one.body == made

    changed = await api.call(
        "PATCH", f"{home.thresholds}/{made['id']}", token=home.controller.access,
        json_body={"value": 1500, "quiet_hours": None, "enabled": False},
    )  # fmt: skip
    assert changed.status == 200
    assert (changed.body["value"], changed.body["quiet_hours"]) == (1500, None)
    assert changed.body["enabled"] is False
    assert changed.body["hysteresis"] == 100  # untouched

    assert (
        await api.call("DELETE", f"{home.thresholds}/{made['id']}", token=home.owner.access)
    ).status == 204
    gone = await api.call("GET", f"{home.thresholds}/{made['id']}", token=home.owner.access)
    assert gone.status == 404


async def test_read_shares_guests_and_strangers_cannot_change_thresholds(api: Api) -> None:
    home = await household(api)
    made = await add_rule(api, home, metric="voltage", direction="below",
                               value=200)  # fmt: skip
    body = {"metric": "power", "direction": "above", "value": 10}
    for method, path, payload in (
        ("POST", home.thresholds, body),
        ("PATCH", f"{home.thresholds}/{made['id']}", {"value": 1}),
        ("DELETE", f"{home.thresholds}/{made['id']}", None),
    ):
        refused = await api.call(method, path, token=home.reader.access, json_body=payload)
        assert refused.status == 403, (method, path)
        hidden = await api.call(method, path, token=home.stranger.access, json_body=payload)
        assert hidden.status == 404, (method, path)
    assert (await api.call("GET", home.thresholds, token=home.stranger.access)).status == 404
    listed = await api.call("GET", home.thresholds, token=home.owner.access)
    assert [(t["id"], t["value"]) for t in listed.body] == [(made["id"], 200)]


async def test_bad_threshold_fields_are_refused(api: Api) -> None:
    home = await household(api)
    for body in (
        {},
        {"metric": "power"},  # no value, no direction
        {"metric": "power", "direction": "above"},
        {"metric": "power", "direction": "sideways", "value": 1},
        {"metric": "humidity", "direction": "above", "value": 1},
        {"metric": "power", "direction": "above", "value": -1},
        {"metric": "power", "direction": "above", "value": 1e9},
        {"metric": "power", "direction": "above", "value": "high"},
        {"metric": "power", "direction": "above", "value": True},
        {"metric": "power", "direction": "above", "value": 1, "hysteresis": -5},
        {"metric": "power", "direction": "above", "value": 1, "duration_seconds": -1},
        {"metric": "power", "direction": "above", "value": 1, "duration_seconds": 1.5},
        {"metric": "power", "direction": "above", "value": 1, "duration_seconds": 10**9},
        {"metric": "power", "direction": "above", "value": 1, "repeat": "weekly"},
        {"metric": "power", "direction": "above", "value": 1, "quiet_hours": "nights"},
        {"metric": "power", "direction": "above", "value": 1,
         "quiet_hours": {"start": "25:00", "end": "07:00"}},
        {"metric": "power", "direction": "above", "value": 1,
         "quiet_hours": {"start": "07:00", "end": "07:00"}},
        {"metric": "power", "direction": "above", "value": 1, "quiet_hours": {"start": "07:00"}},
        {"metric": "offline"},  # needs a duration
        {"metric": "offline", "duration_seconds": 30},
        {"metric": "power", "direction": "above", "value": 1, "name": "   "},
    ):  # fmt: skip
        reply = await api.call("POST", home.thresholds, token=home.owner.access, json_body=body)
        assert reply.status == 400, body
        assert reply.error == "invalid_input", body
    assert (await api.call("GET", home.thresholds, token=home.owner.access)).body == []

    made = await add_rule(api, home, metric="offline", duration_seconds=600)
    switched = await api.call(
        "PATCH",
        f"{home.thresholds}/{made['id']}",
        token=home.owner.access,
        json_body={"metric": "power"},
    )
    assert switched.status == 400


async def test_a_device_holds_at_most_twenty_thresholds(api: Api) -> None:
    home = await household(api)
    for value in range(20):
        await add_threshold(
            api, home.owner, home.device_id, metric="power", direction="above", value=value
        )
    extra = await api.call(
        "POST", home.thresholds, token=home.owner.access,
        json_body={"metric": "power", "direction": "above", "value": 99},
    )  # fmt: skip
    assert extra.status == 409
    assert extra.error == "too_many_thresholds"
