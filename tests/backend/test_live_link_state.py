"""What the linked Home Assistant reports reaches the live websocket: a plug's relay, trip and
online state from the hub's `state` messages, and a remote command's confirmed state, to
the sockets subscribed to it only (the dashboard shows them without reloading)."""

from __future__ import annotations

from .api import Api
from .linking import linked_home, relay
from .livesocket import open_socket

PLUG = "greennet-33cc01"


async def test_hub_reports_and_confirmed_commands_reach_subscribers_only(api: Api) -> None:
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    device_id = (await hub.announce())["devices"][PLUG]
    watcher = await open_socket(api, home.owner)
    await watcher.request("subscribe", homes=[home.home_id])
    stranger = await open_socket(api, await api.account("eve@example.com"))

    ack = await hub.request("state", plug_id=PLUG, online=True, relay="ON", tripped=True)
    assert ack["type"] == "ack", ack
    state = await watcher.next("state")
    assert state == {
        "type": "state", "device_id": device_id, "home_id": home.home_id,
        "relay": "ON", "tripped": True, "ts": state["ts"],
    }  # fmt: skip
    online = await watcher.find("availability")
    assert (online["device_id"], online["online"], online["ts"]) == (device_id, True, None)

    await hub.request("state", plug_id=PLUG, online=False)  # the plug left the broker
    offline = await watcher.next("availability")
    assert (offline["device_id"], offline["online"]) == (device_id, False)
    assert [m["type"] for m in await watcher.settle()] == []  # no relay or trip with it

    hub.plugs[PLUG].relay = True
    switched = await relay(api, home.owner, device_id, "OFF")  # the plug is still answering
    assert switched.status == 200, switched.body
    confirmed = await watcher.next("state")
    assert (confirmed["relay"], confirmed["tripped"]) == ("OFF", False)

    assert await stranger.settle() == []
    await watcher.ws.close()
    await stranger.ws.close()
    await hub.close()
