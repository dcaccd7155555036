"""The live websocket /api/v1/ws: single-use short-lived tickets, Origin checks,
subscriptions only to what the caller may read, telemetry, relay state, availability,
alerts and notifications delivered live, sockets closed when their session ends, and a
lost share ending its subscription."""

from __future__ import annotations

import aiohttp
import pytest
from greennet_cloud.config import Live

from .alerting import add_rule, household, report
from .api import Api
from .conftest import ApiFactory, FakeClock
from .livesocket import Socket, open_socket, ticket
from .notifying import home_with_plugs, share_plug

WS = "/api/v1/ws"


async def refused(api: Api, path: str, **headers: str) -> int:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await api.client.ws_connect(path, headers=headers)
    return caught.value.status


async def test_a_ticket_opens_one_socket_once_and_only_briefly(api: Api, clock: FakeClock) -> None:
    user = await api.account("user@example.com")
    first = await ticket(api, user)
    assert first.startswith("gnw_")
    ws = await api.client.ws_connect(f"{WS}?ticket={first}")
    hello = await Socket(ws).next()
    assert hello == {"type": "hello", "user_id": user.id, "heartbeat": 30.0}
    assert await refused(api, f"{WS}?ticket={first}") == 401  # used
    late = await ticket(api, user)
    clock.advance(31)
    assert await refused(api, f"{WS}?ticket={late}") == 401  # expired
    assert await refused(api, WS) == 401
    assert await refused(api, f"{WS}?ticket=gnw_forged") == 401
    plain = await api.call("GET", f"{WS}?ticket=gnw_forged")
    assert (plain.status, plain.error) == (401, "invalid_ticket")
    assert (await api.call("POST", "/api/v1/ws/tickets")).status == 401
    await ws.close()


async def test_a_foreign_origin_is_refused(make_api: ApiFactory) -> None:
    api = await make_api(live=Live(allowed_origins=("https://app.greennet.example",)))
    user = await api.account("user@example.com")
    own = f"http://{api.client.host}:{api.client.port}"
    for origin in ("https://evil.example", "null", f"https://{api.client.host}.evil.example"):
        status = await refused(api, f"{WS}?ticket={await ticket(api, user)}", Origin=origin)
        assert status == 403, origin
    for origin in (own, "https://app.greennet.example"):
        opened = await open_socket(api, user, Origin=origin)
        await opened.ws.close()
    no_origin = await open_socket(api, user)  # not a browser
    await no_origin.ws.close()


async def test_subscriptions_are_limited_to_what_the_caller_may_read(api: Api) -> None:
    owner = await api.account("owner@example.com")
    reader = await api.account("reader@example.com")
    stranger = await api.account("stranger@example.com")
    home_id = await home_with_plugs(api, owner, "greennet-11ee01", "greennet-11ee02")
    await share_plug(api, owner, "greennet-11ee01", reader.email)
    devices = {d["plug_id"]: d["id"] for d in
               (await api.call("GET", "/api/v1/devices", token=owner.access)).body}  # fmt: skip
    shared, other = devices["greennet-11ee01"], devices["greennet-11ee02"]

    as_stranger = await open_socket(api, stranger)
    answer = await as_stranger.request("subscribe", devices=[shared])
    assert (answer["type"], answer["error"]) == ("error", "not_found")
    answer = await as_stranger.request("subscribe", homes=[home_id])
    assert (answer["type"], answer["error"]) == ("error", "not_found")

    as_reader = await open_socket(api, reader)
    answer = await as_reader.request("subscribe", devices=[shared])
    assert answer == {"type": "subscribed", "id": "subscribe", "homes": [], "devices": [shared]}
    # all or nothing: one id it may not read refuses the whole request
    answer = await as_reader.request("subscribe", devices=[other], homes=[home_id])
    assert answer["type"] == "error"
    answer = await as_reader.request("unsubscribe", devices=[shared])
    assert answer == {"type": "unsubscribed", "id": "unsubscribe", "homes": [], "devices": []}

    for bad in ({"devices": "all"}, {"devices": [1]}, {"homes": ["x" * 65]}):
        answer = await as_reader.request("subscribe", **bad)
        assert (answer["type"], answer["error"]) == ("error", "invalid_message"), bad
    await as_reader.ws.send_str("not json")
    assert (await as_reader.next("error"))["error"] == "invalid_json"
    # nesting deeper than any parser recurses: an error answer, the socket stays open
    await as_reader.ws.send_str("[" * 10_000)
    assert (await as_reader.next("error"))["error"] == "invalid_json"
    await as_reader.ws.send_json({"type": "dance"})
    assert (await as_reader.next("error"))["error"] == "invalid_message"
    for opened in (as_stranger, as_reader):
        await opened.ws.close()


async def test_readings_relay_and_availability_reach_subscribers_only(
    api: Api, clock: FakeClock
) -> None:
    home = await household(api)
    by_home = await open_socket(api, home.owner)
    await by_home.request("subscribe", homes=[home.home_id])
    by_device = await open_socket(api, home.reader)
    await by_device.request("subscribe", devices=[home.device_id])
    unsubscribed = await open_socket(api, home.controller)
    stranger = await open_socket(api, home.stranger)

    await report(api, clock, home, power=42.5, energy=3.25)
    for opened in (by_home, by_device):
        reading = await opened.next("telemetry")
        assert reading["device_id"] == home.device_id
        assert reading["home_id"] == home.home_id
        assert (reading["power"], reading["energy"], reading["relay"]) == (42.5, 3.25, "ON")
        assert reading["ts"] == int(clock().timestamp() * 1000)
        online = await opened.next("availability")
        assert online["online"] is True
    for opened in (unsubscribed, stranger):
        assert await opened.settle() == []
    clock.advance(10)
    await report(api, clock, home, power=0, relay="OFF")
    for opened in (by_home, by_device):
        switched = await opened.next("state")
        assert (switched["device_id"], switched["relay"]) == (home.device_id, "OFF")
        assert any(m["type"] == "telemetry" and m["relay"] == "OFF" for m in opened.received)
    await by_home.ws.close()
    await by_device.ws.close()
    await unsubscribed.ws.close()
    await stranger.ws.close()


async def test_alerts_and_notifications_arrive_live(api: Api, clock: FakeClock) -> None:
    home = await household(api)
    watching = await open_socket(api, home.reader)
    await watching.request("subscribe", devices=[home.device_id])
    await add_rule(api, home, metric="power", direction="above", value=100)
    await report(api, clock, home, power=1000)
    alert = await watching.next("alert")
    assert alert["change"] == "raised"
    assert alert["alert"]["state"] == "active"
    assert alert["alert"]["value"] == 1000
    note = await watching.find("notification")
    assert note["notification"]["type"] == "alert_raised"
    assert note["notification"]["data"]["alert_id"] == alert["alert"]["id"]

    # notifications need no subscription; they go to their user only
    quiet = await open_socket(api, home.controller)
    other = await open_socket(api, home.stranger)
    acked = await api.call(
        "POST", f"/api/v1/alerts/{alert['alert']['id']}/acknowledge", token=home.owner.access
    )
    assert acked.status == 200
    assert (await watching.next("alert"))["change"] == "acknowledged"
    assert await quiet.settle() == []  # not subscribed: no alert message
    assert await other.settle() == []
    for opened in (watching, quiet, other):
        await opened.ws.close()


async def test_logging_out_closes_that_sessions_sockets(api: Api) -> None:
    user = await api.account("user@example.com")
    other_session = await api.session(user.email, user.id)
    mine = await open_socket(api, user)
    theirs = await open_socket(api, other_session)
    out = await api.call("POST", "/api/v1/auth/logout", json_body={"refresh_token": user.refresh})
    assert out.status == 204
    assert await mine.closed() == 4001
    assert (await theirs.request("ping"))["type"] == "pong"  # another session stays
    everything = await api.call("POST", "/api/v1/auth/logout-all", token=other_session.access)
    assert everything.status == 204
    assert await theirs.closed() == 4001


async def test_a_revoked_share_ends_its_subscription(api: Api) -> None:
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    await home_with_plugs(api, owner, "greennet-5a7e11")
    await share_plug(api, owner, "greennet-5a7e11", friend.email)
    [device] = (await api.call("GET", "/api/v1/devices", token=friend.access)).body
    watching = await open_socket(api, friend)
    await watching.request("subscribe", devices=[device["id"]])
    shares = await api.call("GET", f"/api/v1/devices/{device['id']}/shares", token=owner.access)
    [share] = shares.body
    gone = await api.call(
        "DELETE", f"/api/v1/devices/{device['id']}/shares/{share['id']}", token=owner.access
    )
    assert gone.status == 204
    ended = await watching.next("unsubscribed")
    assert ended == {"type": "unsubscribed", "id": None, "reason": "access_revoked",
                     "homes": [], "devices": [device["id"]]}  # fmt: skip
    await watching.ws.close()
