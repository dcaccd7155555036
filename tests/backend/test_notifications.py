"""In-app notifications: raised when something is shared with you, listed newest first,
read state (one and all), unread count, per-user channel preferences; never another
user's notification."""

from __future__ import annotations

from .api import Api
from .conftest import FakeClock
from .notifying import device_id_of, home_with_plugs, outbox_of, share_plug

N = "/api/v1/notifications"


async def test_sharing_a_plug_notifies_the_grantee_in_the_app(api: Api) -> None:
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    await home_with_plugs(api, owner, "greennet-0000a1")
    await share_plug(api, owner, "greennet-0000a1", friend.email, "control")

    listed = await api.call("GET", N, token=friend.access)
    assert listed.status == 200
    [notification] = listed.body
    assert notification["type"] == "share_received"
    assert notification["read_at"] is None
    assert "Plug a1" in notification["title"]
    assert notification["data"]["device_id"] == await device_id_of(api, owner, "greennet-0000a1")
    assert notification["data"]["permission"] == "control"
    # the owner, who shared, is told nothing
    assert (await api.call("GET", N, token=owner.access)).body == []


async def test_read_state_one_and_all_with_the_unread_count(api: Api, clock: FakeClock) -> None:
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    plugs = [f"greennet-0000b{n}" for n in range(3)]
    await home_with_plugs(api, owner, *plugs)
    for plug in plugs:
        await share_plug(api, owner, plug, friend.email)
        clock.advance(60)

    async def unread() -> int:
        reply = await api.call("GET", f"{N}/unread-count", token=friend.access)
        assert reply.status == 200
        return int(reply.body["unread"])

    assert await unread() == 3
    listed = (await api.call("GET", N, token=friend.access)).body
    ids = [await device_id_of(api, owner, plug) for plug in plugs]
    assert [n["data"]["device_id"] for n in listed] == ids[::-1]  # newest first

    read = await api.call("POST", f"{N}/{listed[1]['id']}/read", token=friend.access)
    assert read.status == 200
    assert read.body["read_at"] is not None
    assert await unread() == 2
    only_unread = (await api.call("GET", f"{N}?unread=true", token=friend.access)).body
    assert {n["id"] for n in only_unread} == {listed[0]["id"], listed[2]["id"]}

    # marking it again keeps the first read time
    clock.advance(60)
    again = await api.call("POST", f"{N}/{listed[1]['id']}/read", token=friend.access)
    assert again.body["read_at"] == read.body["read_at"]

    marked = await api.call("POST", f"{N}/read-all", token=friend.access)
    assert marked.status == 200
    assert marked.body == {"marked": 2}
    assert await unread() == 0
    assert (await api.call("POST", f"{N}/read-all", token=friend.access)).body == {"marked": 0}


async def test_paging_with_before_and_limit(api: Api, clock: FakeClock) -> None:
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    plugs = [f"greennet-0000c{n}" for n in range(5)]
    await home_with_plugs(api, owner, *plugs)
    for plug in plugs:
        await share_plug(api, owner, plug, friend.email)
        clock.advance(10)
    ids = [await device_id_of(api, owner, plug) for plug in plugs]
    first = (await api.call("GET", f"{N}?limit=2", token=friend.access)).body
    assert [n["data"]["device_id"] for n in first] == [ids[4], ids[3]]
    cursor = first[-1]["created_at"]
    second = (await api.call("GET", f"{N}?limit=2&before={cursor}", token=friend.access)).body
    assert [n["data"]["device_id"] for n in second] == [ids[2], ids[1]]
    for bad in ("limit=0", "limit=201", "limit=x", "before=yesterday", "before=2026-01-01T00:00",
                "unread=yes"):  # fmt: skip
        reply = await api.call("GET", f"{N}?{bad}", token=friend.access)
        assert reply.status == 400, bad
        assert reply.error == "invalid_input"


async def test_nobody_reads_or_marks_another_users_notification(api: Api) -> None:
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    stranger = await api.account("stranger@example.com")
    await home_with_plugs(api, owner, "greennet-0000d1")
    await share_plug(api, owner, "greennet-0000d1", friend.email)
    [notification] = (await api.call("GET", N, token=friend.access)).body

    for who in (stranger, owner):
        tried = await api.call("POST", f"{N}/{notification['id']}/read", token=who.access)
        assert tried.status == 404
        assert (await api.call("GET", N, token=who.access)).body == []
        await api.call("POST", f"{N}/read-all", token=who.access)
    unread = await api.call("GET", f"{N}/unread-count", token=friend.access)
    assert unread.body == {"unread": 1}
    assert (await api.call("POST", f"{N}/not-a-uuid/read", token=friend.access)).status == 404
    assert (await api.call("GET", N)).status == 401


async def test_preferences_default_on_and_a_channel_turned_off_is_honoured(api: Api) -> None:
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    defaults = await api.call("GET", f"{N}/preferences", token=friend.access)
    assert defaults.status == 200
    types = defaults.body["types"]
    assert types["share_received"] == {"in_app": True, "email": True, "webhook": True}
    assert types["alert_raised"]["home_assistant"] is True
    assert types["alert_resolved"]["email"] is False  # the one default that is off
    assert "home_assistant" not in types["security_password_changed"]
    assert defaults.body["available"]["in_app"] is True
    assert defaults.body["available"]["email"] is False  # no SMTP configured in this app

    changed = await api.call(
        "PATCH",
        f"{N}/preferences",
        token=friend.access,
        json_body={"types": {"share_received": {"in_app": False}}},
    )
    assert changed.status == 200
    assert changed.body["types"]["share_received"] == {
        "in_app": False,
        "email": True,
        "webhook": True,
    }
    assert changed.body["types"]["alert_raised"] == types["alert_raised"]  # untouched
    again = await api.call("GET", f"{N}/preferences", token=friend.access)
    assert again.body == changed.body

    await home_with_plugs(api, owner, "greennet-0000e1")
    await share_plug(api, owner, "greennet-0000e1", friend.email)
    assert (await api.call("GET", N, token=friend.access)).body == []
    # the owner's own preferences are separate
    assert (await api.call("GET", f"{N}/preferences", token=owner.access)).body == defaults.body


async def test_bad_preference_changes_are_refused_and_change_nothing(api: Api) -> None:
    friend = await api.account("friend@example.com")
    before = (await api.call("GET", f"{N}/preferences", token=friend.access)).body
    for body in (
        {},
        {"types": []},
        {"types": {"no_such_type": {"email": False}}},
        {"types": {"share_received": {"pigeon": False}}},
        {"types": {"share_received": {"email": "off"}}},
        {"types": {"share_received": ["email"]}},
        # Home Assistant hears only about alerts
        {"types": {"security_password_changed": {"home_assistant": True}}},
        # a valid change next to a bad one is not applied either
        {"types": {"share_received": {"email": False}, "alert_raised": {"pigeon": True}}},
    ):
        reply = await api.call("PATCH", f"{N}/preferences", token=friend.access, json_body=body)
        assert reply.status == 400, body
        assert reply.error == "invalid_input"
    assert (await api.call("GET", f"{N}/preferences", token=friend.access)).body == before


async def test_without_smtp_or_webhook_nothing_is_queued_for_delivery(api: Api) -> None:
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    await home_with_plugs(api, owner, "greennet-0000f1")
    await share_plug(api, owner, "greennet-0000f1", friend.email)
    assert await outbox_of(api, friend.id) == []
