"""The HA link across processes: the link held by one node, the API request on another, on
one database (two app instances here; two `greennet-cloud serve` processes on PostgreSQL
below). Commands and results cross over the bus, revocation and replacement too, and the
rows of a node that stopped beating are not believed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from greennet_cloud import Config
from greennet_cloud.db.schema import live_links
from greennet_cloud.link.messages import notification
from greennet_cloud.link.notifications import HubNotifications
from greennet_cloud.storage import links as link_store
from greennet_cloud.web.keys import ENGINE, LINK_NODE
from sqlalchemy import select, update

from .api import Api
from .conftest import TEST_SECRET, ApiFactory, FakeClock
from .hub import SimPlug, TestHub
from .linking import eventually, linked_home, relay, with_link
from .live import FAST_ARGON2, LiveServer
from .postgres import PostgresServer

PLUG = "greennet-33cc01"


@pytest.fixture
def config(config: Config) -> Config:
    """Test link settings: a heartbeat no test waits for (they beat by hand), expiry 3 min."""
    return with_link(config, heartbeat_seconds=60.0)


async def linked_across(make_api: ApiFactory) -> tuple[Api, Api, Any, TestHub, str]:
    """Two nodes; a home whose hub is linked to the first: (here, there, home, hub, device)."""
    here, there = await make_api(), await make_api()
    home = await linked_home(here, "owner@example.com")
    # linked to the first node through the second's client session, which outlives the first
    url = str(here.client.make_url("/api/v1/link"))
    hub = TestHub(there.client.session, url, home.token, [SimPlug(PLUG)])
    await hub.connect()
    device_id = (await hub.announce())["devices"][PLUG]
    assert here.client.app[LINK_NODE].holds(home.token_id)
    assert not there.client.app[LINK_NODE].holds(home.token_id)
    return here, there, home, hub, device_id


async def test_a_command_on_one_node_reaches_the_hub_linked_to_another(
    make_api: ApiFactory,
) -> None:
    here, there, home, hub, device_id = await linked_across(make_api)
    switched = await relay(there, home.owner, device_id, "ON")
    assert (switched.status, switched.body["relay"]) == (200, "ON")
    assert [command["id"] for command in hub.commands] == [switched.body["command_id"]]
    # the result came back across: the audit trail (read on the first node) has it
    trail = await here.call(
        "GET", f"/api/v1/homes/{home.home_id}/commands", token=home.owner.access
    )
    assert [(entry["id"], entry["result"]) for entry in trail.body] == [
        (switched.body["command_id"], "ok")
    ]
    hub.plugs[PLUG].online = False
    offline = await relay(there, home.owner, device_id, "OFF")
    assert (offline.status, offline.error) == (503, "plug_offline")
    await hub.close()


async def test_revoking_on_one_node_closes_the_link_on_another(make_api: ApiFactory) -> None:
    _here, there, home, hub, _device = await linked_across(make_api)
    await home.revoke(there)
    assert await hub.closed(timeout=3) == 4001


async def test_a_newer_connection_on_another_node_replaces_the_older(
    make_api: ApiFactory,
) -> None:
    here, there, home, first, device_id = await linked_across(make_api)
    second = home.hub(there, PLUG)
    await second.connect()
    assert await first.closed(timeout=3) == 4008
    # commands now go to the newer link, from either node
    assert (await relay(here, home.owner, device_id, "ON")).status == 200
    assert (first.commands, len(second.commands)) == ([], 1)
    await second.close()


async def test_the_rows_of_a_node_that_stopped_beating_are_not_believed(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    here, there, home, hub, device_id = await linked_across(make_api)
    expiry = here.client.app[LINK_NODE].settings.expiry_seconds
    clock.advance(expiry + 1)  # the first node has not refreshed its row since
    started = time.monotonic()
    stale = await relay(there, home.owner, device_id, "ON")
    assert (stale.status, stale.error) == (503, "hub_offline")
    assert time.monotonic() - started < 0.9  # not routed to a dead node: no timeout wait
    assert hub.commands == []
    # the second node's heartbeat deletes the stale row; the first, alive after all, claims
    # its link again at its next heartbeat, and commands flow once more
    await there.client.app[LINK_NODE].beat()
    async with here.client.app[ENGINE].connect() as conn:
        assert (await conn.execute(select(live_links))).all() == []
    await here.client.app[LINK_NODE].beat()
    assert (await relay(there, home.owner, device_id, "ON")).status == 200
    await hub.close()


async def test_the_heartbeat_closes_a_link_whose_revocation_was_not_heard(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    here, _there, home, hub, _device = await linked_across(make_api)
    async with here.client.app[ENGINE].begin() as conn:  # revoked behind the bus's back
        await link_store.revoke_link_token(conn, home.home_id, home.token_id, clock.now)
    assert (await hub.request("ping"))["type"] == "pong"
    await here.client.app[LINK_NODE].beat()
    assert await hub.closed(timeout=3) == 4001


async def test_the_heartbeat_closes_a_link_another_connection_took(
    make_api: ApiFactory,
) -> None:
    here, _there, home, hub, _device = await linked_across(make_api)
    async with here.client.app[ENGINE].begin() as conn:  # the replace message was lost
        await conn.execute(
            update(live_links)
            .where(live_links.c.token_id == home.token_id)
            .values(node_id="0123456789abcdef", connection_id="another")
        )
    await here.client.app[LINK_NODE].beat()
    assert await hub.closed(timeout=3) == 4008


async def test_a_stopping_node_closes_its_links_with_1001_and_forgets_them(
    make_api: ApiFactory,
) -> None:
    here, there, home, hub, device_id = await linked_across(make_api)
    await here.client.close()
    assert await hub.closed(timeout=5) == 1001
    async with there.client.app[ENGINE].connect() as conn:
        assert (await conn.execute(select(live_links))).all() == []
    offline = await relay(there, home.owner, device_id, "ON")
    assert (offline.status, offline.error) == (503, "hub_offline")


# --- two real processes on one PostgreSQL ---------------------------------------------


class Http:
    """JSON calls to a live server."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(
            method, self.base + path, json=body, headers=headers
        ) as response:
            return response.status, await response.json() if response.content_length else None


@pytest.fixture
def two_servers(postgres_server: PostgresServer) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two `greennet-cloud serve` processes on one database, heartbeat every 0.5 s."""
    url = postgres_server.create_database("greennet_two_link_nodes")
    env = {
        **FAST_ARGON2,
        "GREENNET_SECRET": TEST_SECRET,
        "GREENNET_DATABASE_URL": url,
        "GREENNET_LOG_LEVEL": "WARNING",
        "GREENNET_LINK_HEARTBEAT": "0.5",
        "GREENNET_LINK_COMMAND_TIMEOUT": "3",
    }
    servers = (LiveServer(env=env), LiveServer(env=env))
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.cleanup()


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for talking to live servers."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.mark.slow
async def test_two_serve_processes_route_commands_revocations_and_survive_a_crash(
    two_servers: tuple[LiveServer, LiveServer], session: aiohttp.ClientSession
) -> None:
    first, second = (Http(session, server.base_url) for server in two_servers)
    user = {"email": "owner@example.com", "password": "a long enough password"}
    assert (await first.call("POST", "/api/v1/auth/register", body=user))[0] == 201
    _, tokens = await second.call("POST", "/api/v1/auth/login", body=user)
    access = tokens["access_token"]
    _, home = await first.call("POST", "/api/v1/homes", access, {"name": "Home"})
    links = f"/api/v1/homes/{home['id']}/link-tokens"
    _, link = await first.call("POST", links, access, {"name": "HA"})

    def hub_on(server: LiveServer, token: str) -> TestHub:
        return TestHub(session, f"{server.base_url}/api/v1/link", token, [SimPlug(PLUG)])

    hub = hub_on(two_servers[0], link["token"])
    await hub.connect()
    device_id = (await hub.announce())["devices"][PLUG]
    relay_path = f"/api/v1/devices/{device_id}/relay"
    status, confirmed = await second.call("POST", relay_path, access, {"state": "ON"})
    assert (status, confirmed["relay"]) == (200, "ON")
    assert len(hub.commands) == 1

    # revoked through the second process: the first closes the link at once
    assert (await second.call("DELETE", f"{links}/{link['id']}", access))[0] == 204
    assert await hub.closed(timeout=3) == 4001

    # a new token, linked to the first process, which then dies without a word
    _, link = await second.call("POST", links, access, {"name": "HA again"})
    hub = hub_on(two_servers[0], link["token"])
    await hub.connect()
    await hub.announce()
    proc = two_servers[0].proc
    assert proc is not None
    proc.kill()
    proc.wait()
    two_servers[0].proc = None
    await asyncio.sleep(2)  # past three missed heartbeats: its row is no longer believed
    started = time.monotonic()
    status, offline = await second.call("POST", relay_path, access, {"state": "OFF"})
    assert (status, offline["error"]) == (503, "hub_offline")
    assert time.monotonic() - started < 2  # answered, not waited out
    # the hub reconnects, through the balancer, to the process still up
    hub = hub_on(two_servers[1], link["token"])
    await hub.connect()
    await hub.announce()
    status, confirmed = await second.call("POST", relay_path, access, {"state": "OFF"})
    assert (status, confirmed["relay"]) == (200, "OFF")
    await hub.close()


async def test_a_notification_reaches_the_homes_hub_on_whichever_node_holds_it(
    make_api: ApiFactory,
) -> None:
    here, there, home, hub, _device = await linked_across(make_api)
    note = notification("Kettle over 2 kW", "2140 W since 10:02", "greennet_alert_1")
    assert await there.client.app[LINK_NODE].notify(home.home_id, note) == 1  # across
    assert await here.client.app[LINK_NODE].notify(home.home_id, note) == 1  # local
    for _ in range(2):
        heard = await hub.next("notification")
        assert {k: heard[k] for k in ("title", "message", "notification_id")} == note
    # another home's notification does not reach this hub
    other = await linked_home(here, "other@example.com")
    assert await there.client.app[LINK_NODE].notify(other.home_id, note) == 0
    await hub.close()
    # no hub connected: nothing took it (the outbox keeps it and retries)
    assert await eventually(lambda: there.client.app[LINK_NODE].notify(home.home_id, note), 0)


async def test_an_alerts_notifications_share_one_id_so_the_resolved_replaces_the_raised(
    make_api: ApiFactory,
) -> None:
    _here, there, home, hub, _device = await linked_across(make_api)
    notifications = HubNotifications(there.client.app[LINK_NODE])
    raised = {
        "id": "n-1",
        "type": "alert_raised",
        "title": "Kettle: power above 2000 W",
        "message": "2140 W for 60 s",
        "data": {"alert_id": "a-7"},
    }
    resolved = {**raised, "id": "n-2", "type": "alert_resolved", "title": "Kettle: back to normal"}
    other = {"id": "n-3", "type": "share_received", "title": "Shared with you", "data": {}}
    for event in (raised, resolved, other):
        assert await notifications.deliver(home.home_id, event) == 1
    heard = [await hub.next("notification") for _ in range(3)]
    assert [(n["title"], n["notification_id"]) for n in heard] == [
        ("Kettle: power above 2000 W", "greennet_alert_a-7"),
        ("Kettle: back to normal", "greennet_alert_a-7"),
        ("Shared with you", "greennet_n-3"),
    ]
    assert heard[2]["message"] == ""
    await hub.close()
