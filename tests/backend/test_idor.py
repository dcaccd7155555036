"""IDOR matrix: for every endpoint that takes an id, a stranger gets 404 (it cannot learn the
object exists), a guest with a read share gets 200 on reads and 403 on everything else,
non-admins get 403 on account administration, and the owner succeeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from .api import Account, Api
from .conftest import FakeClock, admin_account
from .hub import SimPlug
from .linking import hub_for

PLUG = "greennet-a1a1a1"


@dataclass
class World:
    """An owner's home with a plug, a credential, shares and a link token; and outsiders."""

    owner: Account
    stranger: Account
    guest: Account
    admin: Account
    ids: dict[str, str]


async def build_world(api: Api, clock: FakeClock) -> World:
    admin = await admin_account(api, clock, "admin@example.com")
    owner = await api.account("owner@example.com")
    stranger = await api.account("stranger@example.com")
    guest = await api.account("guest@example.com")
    demoted = await api.call(
        "PATCH", f"/api/v1/users/{guest.id}", token=admin.access, json_body={"role": "guest"}
    )
    assert demoted.status == 200
    await api.account("friend@example.com")

    async def ok(method: str, path: str, body: Any = None, token: str = owner.access) -> Any:
        reply = await api.call(method, path, token=token, json_body=body)
        assert reply.status in {200, 201}, (path, reply.body)
        return reply.body

    home = await ok("POST", "/api/v1/homes", {"name": "Owner home"})
    added = await api.plug(owner.access, home["id"], PLUG, name="TV")
    device = added["device"]["id"]
    home_share = await ok(
        "POST",
        f"/api/v1/homes/{home['id']}/shares",
        {"email": guest.email, "permission": "read"},
    )
    device_share = await ok(
        "POST",
        f"/api/v1/devices/{device}/shares",
        {"email": "friend@example.com", "permission": "control"},
    )
    link = await ok("POST", f"/api/v1/homes/{home['id']}/link-tokens", {"name": "HA"})
    # the stranger's own home and plug, to try owner ids under them
    own_home = await ok("POST", "/api/v1/homes", {"name": "Stranger home"}, stranger.access)
    own = await api.plug(stranger.access, own_home["id"], "greennet-b2b2b2")
    return World(
        owner=owner,
        stranger=stranger,
        guest=guest,
        admin=admin,
        ids={
            "home": home["id"],
            "device": device,
            "credential": added["credential"]["id"],
            "home_share": home_share["id"],
            "device_share": device_share["id"],
            "link": link["id"],
            "link_token": link["token"],
            "own_home": own_home["id"],
            "own_device": own["device"]["id"],
            "own_secret": own["credential"]["secret"],
        },
    )


SHARE_BODY = {"email": "stranger@example.com", "permission": "read"}
# (method, path, body, guest may do it)
ENDPOINTS: list[tuple[str, str, Any, bool]] = [
    ("GET", "/api/v1/homes/{home}", None, True),
    ("PATCH", "/api/v1/homes/{home}", {"name": "Renamed"}, False),
    ("GET", "/api/v1/homes/{home}/devices", None, True),
    # claiming with proof: the owner holds the stranger's plug's secret (it was handed over)
    (
        "POST",
        "/api/v1/homes/{home}/devices",
        {"device_id": "{own_device}", "secret": "{own_secret}"},
        False,
    ),
    ("POST", "/api/v1/homes/{home}/pairing-codes", None, False),
    ("GET", "/api/v1/homes/{home}/shares", None, False),
    ("POST", "/api/v1/homes/{home}/shares", SHARE_BODY, False),
    ("DELETE", "/api/v1/homes/{home}/shares/{home_share}", None, False),
    ("GET", "/api/v1/homes/{home}/link-tokens", None, False),
    ("POST", "/api/v1/homes/{home}/link-tokens", {"name": "x"}, False),
    ("DELETE", "/api/v1/homes/{home}/link-tokens/{link}", None, False),
    ("GET", "/api/v1/homes/{home}/energy", None, True),
    ("GET", "/api/v1/homes/{home}/commands", None, False),
    ("PATCH", "/api/v1/homes/{home}", {"timezone": "Europe/Berlin"}, False),
    ("GET", "/api/v1/devices/{device}", None, True),
    ("GET", "/api/v1/devices/{device}/telemetry", None, True),
    ("GET", "/api/v1/devices/{device}/telemetry?resolution=raw", None, True),
    ("GET", "/api/v1/devices/{device}/telemetry.csv", None, True),
    ("GET", "/api/v1/devices/{device}/energy?period=month", None, True),
    ("PATCH", "/api/v1/devices/{device}", {"name": "Renamed"}, False),
    ("GET", "/api/v1/devices/{device}/credentials", None, False),
    ("POST", "/api/v1/devices/{device}/credentials", None, False),
    ("DELETE", "/api/v1/devices/{device}/credentials/{credential}", None, False),
    ("GET", "/api/v1/devices/{device}/shares", None, False),
    ("POST", "/api/v1/devices/{device}/shares", SHARE_BODY, False),
    ("DELETE", "/api/v1/devices/{device}/shares/{device_share}", None, False),
    ("DELETE", "/api/v1/devices/{device}", None, False),
    ("DELETE", "/api/v1/homes/{home}", None, False),
]


@pytest.mark.parametrize(
    ("method", "template", "body", "guest_allowed"),
    ENDPOINTS,
    ids=[f"{m} {p}" for m, p, _b, _g in ENDPOINTS],
)
async def test_idor_matrix(
    api: Api,
    clock: FakeClock,
    method: str,
    template: str,
    body: Any,
    guest_allowed: bool,
) -> None:
    world = await build_world(api, clock)
    path = template.format(**world.ids)
    if isinstance(body, dict):
        body = {key: value.format(**world.ids) for key, value in body.items()}

    as_stranger = await api.call(method, path, token=world.stranger.access, json_body=body)
    assert (as_stranger.status, as_stranger.error) == (404, "not_found"), as_stranger.body

    as_guest = await api.call(method, path, token=world.guest.access, json_body=body)
    if guest_allowed:
        assert as_guest.status == 200, as_guest.body
    else:
        assert (as_guest.status, as_guest.error) == (403, "forbidden"), as_guest.body

    # an administrator is not an owner: account admin does not open other people's homes
    as_admin = await api.call(method, path, token=world.admin.access, json_body=body)
    assert as_admin.status == 404

    as_owner = await api.call(method, path, token=world.owner.access, json_body=body)
    assert as_owner.status in {200, 201, 204}, as_owner.body


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("DELETE", "/api/v1/homes/{own_home}/shares/{home_share}"),
        ("DELETE", "/api/v1/homes/{own_home}/link-tokens/{link}"),
        ("DELETE", "/api/v1/devices/{own_device}/credentials/{credential}"),
        ("DELETE", "/api/v1/devices/{own_device}/shares/{device_share}"),
    ],
)
async def test_child_ids_are_scoped_to_their_parent(
    api: Api, clock: FakeClock, method: str, template: str
) -> None:
    """The stranger owns the parent in the path, but the child id belongs to the owner."""
    world = await build_world(api, clock)
    reply = await api.call(method, template.format(**world.ids), token=world.stranger.access)
    assert (reply.status, reply.error) == (404, "not_found")
    # and the owner's object is untouched
    shares = await api.call(
        "GET", f"/api/v1/homes/{world.ids['home']}/shares", token=world.owner.access
    )
    assert [share["id"] for share in shares.body] == [world.ids["home_share"]]
    links = await api.call(
        "GET", f"/api/v1/homes/{world.ids['home']}/link-tokens", token=world.owner.access
    )
    assert [link["id"] for link in links.body] == [world.ids["link"]]
    creds = await api.call(
        "GET", f"/api/v1/devices/{world.ids['device']}/credentials", token=world.owner.access
    )
    assert creds.body[0]["revoked_at"] is None


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"role": "admin"}), ("DELETE", None)]
)
async def test_account_administration_is_admin_only(
    api: Api, clock: FakeClock, method: str, body: Any
) -> None:
    world = await build_world(api, clock)
    path = f"/api/v1/users/{world.owner.id}"
    for actor in (world.stranger, world.guest, world.owner):
        reply = await api.call(method, path, token=actor.access, json_body=body)
        assert (reply.status, reply.error) == (403, "forbidden")
    listing = await api.call("GET", "/api/v1/users", token=world.stranger.access)
    assert listing.status == 403


async def test_lists_only_show_what_the_caller_may_see(api: Api, clock: FakeClock) -> None:
    world = await build_world(api, clock)
    stranger_homes = await api.call("GET", "/api/v1/homes", token=world.stranger.access)
    assert [home["id"] for home in stranger_homes.body] == [world.ids["own_home"]]
    stranger_devices = await api.call("GET", "/api/v1/devices", token=world.stranger.access)
    assert [device["id"] for device in stranger_devices.body] == [world.ids["own_device"]]
    guest_homes = await api.call("GET", "/api/v1/homes", token=world.guest.access)
    assert [(h["id"], h["access"]) for h in guest_homes.body] == [(world.ids["home"], "read")]
    guest_devices = await api.call("GET", "/api/v1/devices", token=world.guest.access)
    device = world.ids["device"]
    assert [(d["id"], d["access"]) for d in guest_devices.body] == [(device, "read")]
    friend = await api.session("friend@example.com", "")
    friend_devices = await api.call("GET", "/api/v1/devices", token=friend.access)
    assert [(d["id"], d["access"]) for d in friend_devices.body] == [(device, "control")]
    friend_homes = await api.call("GET", "/api/v1/homes", token=friend.access)
    assert friend_homes.body == []


async def test_revoking_a_share_removes_access(api: Api, clock: FakeClock) -> None:
    world = await build_world(api, clock)
    home_id, share_id = world.ids["home"], world.ids["home_share"]
    assert (
        await api.call("GET", f"/api/v1/homes/{home_id}", token=world.guest.access)
    ).status == 200
    revoked = await api.call(
        "DELETE", f"/api/v1/homes/{home_id}/shares/{share_id}", token=world.owner.access
    )
    assert revoked.status == 204
    for path in (f"/api/v1/homes/{home_id}", f"/api/v1/devices/{world.ids['device']}"):
        assert (await api.call("GET", path, token=world.guest.access)).status == 404


async def test_a_guest_stays_read_only_even_with_a_control_share(
    api: Api, clock: FakeClock
) -> None:
    world = await build_world(api, clock)
    shared = await api.call(
        "POST",
        f"/api/v1/devices/{world.ids['device']}/shares",
        token=world.owner.access,
        json_body={"email": world.guest.email, "permission": "control"},
    )
    assert shared.status == 201
    seen = await api.call("GET", f"/api/v1/devices/{world.ids['device']}", token=world.guest.access)
    assert seen.body["access"] == "read"


async def test_a_device_share_reads_its_history_but_not_its_home(
    api: Api, clock: FakeClock
) -> None:
    world = await build_world(api, clock)
    friend = await api.session("friend@example.com", "")
    device = world.ids["device"]
    for path in (
        f"/api/v1/devices/{device}/telemetry",
        f"/api/v1/devices/{device}/telemetry.csv",
        f"/api/v1/devices/{device}/energy",
    ):
        assert (await api.call("GET", path, token=friend.access)).status == 200, path
    home_energy = await api.call(
        "GET", f"/api/v1/homes/{world.ids['home']}/energy", token=friend.access
    )
    assert (home_energy.status, home_energy.error) == (404, "not_found")


@pytest.mark.parametrize(
    ("path", "body"),
    [("relay", {"state": "ON"}), ("protection", {"max_power": 1000})],
)
async def test_remote_control_is_for_owners_and_control_shares(
    api: Api, clock: FakeClock, path: str, body: dict[str, Any]
) -> None:
    """With the home's hub linked: a stranger and an admin get 404, a guest holding a read
    share 403, the friend holding a control share and the owner the confirmed state; only
    those two commands reach the hub."""
    world = await build_world(api, clock)
    hub = hub_for(api, world.ids["link_token"], [SimPlug(PLUG)])
    await hub.connect()
    await hub.announce()
    url = f"/api/v1/devices/{world.ids['device']}/{path}"
    friend = await api.session("friend@example.com", "")
    for actor, wanted in (
        (world.stranger, (404, "not_found")),
        (world.admin, (404, "not_found")),
        (world.guest, (403, "forbidden")),
        (friend, (200, None)),
        (world.owner, (200, None)),
    ):
        reply = await api.call("POST", url, token=actor.access, json_body=body)
        assert (reply.status, reply.error) == wanted, (actor.email, reply.body)
    # the owner's token does not reach the stranger's plug either
    theirs = f"/api/v1/devices/{world.ids['own_device']}/{path}"
    reply = await api.call("POST", theirs, token=world.owner.access, json_body=body)
    assert (reply.status, reply.error) == (404, "not_found")
    assert len(hub.commands) == 2
    await hub.close()
