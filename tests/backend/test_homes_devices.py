"""Homes and devices: CRUD, pairing codes, ingest credentials, link tokens, sharing rules."""

from __future__ import annotations

import hashlib
import re

import pytest
from greennet_cloud.db.schema import link_tokens, refresh_tokens
from greennet_cloud.errors import Forbidden
from greennet_cloud.services.devices import DeviceDetails
from greennet_cloud.storage import devices as device_store
from greennet_cloud.storage import links as link_store
from greennet_cloud.web.keys import DEVICES, ENGINE
from sqlalchemy import select

from .api import Account, Api
from .conftest import FakeClock


async def new_home(api: Api, user: Account, name: str = "Flat") -> str:
    reply = await api.call("POST", "/api/v1/homes", token=user.access, json_body={"name": name})
    assert reply.status == 201, reply.body
    return str(reply.body["id"])


def engine_of(api: Api):  # type: ignore[no-untyped-def]
    assert api.client.app is not None
    return api.client.app[ENGINE]


async def test_home_lifecycle_cascades_to_devices(api: Api) -> None:
    user = await api.account("owner@example.com")
    home = await new_home(api, user)
    renamed = await api.call(
        "PATCH", f"/api/v1/homes/{home}", token=user.access, json_body={"name": "Cottage"}
    )
    assert (renamed.status, renamed.body["name"]) == (200, "Cottage")
    added = await api.plug(user.access, home, "greennet-0a0b0c", name="Fridge", location="Kitchen")
    device = added["device"]
    assert (device["plug_id"], device["location"]) == ("greennet-0a0b0c", "Kitchen")
    assert re.fullmatch(r"[0-9a-f-]{36}", device["id"])
    assert (await api.call("DELETE", f"/api/v1/homes/{home}", token=user.access)).status == 204
    assert (await api.call("GET", "/api/v1/devices", token=user.access)).body == []
    gone = await api.call("GET", f"/api/v1/devices/{device['id']}", token=user.access)
    assert gone.status == 404


async def test_plug_ids_follow_the_protocol_and_are_unique_per_home_only(api: Api) -> None:
    first = await api.account("first@example.com")
    second = await api.account("second@example.com")
    home1, home2 = await new_home(api, first), await new_home(api, second)
    for bad in ("greennet-XYZ", "plug-1", "greennet-0A0B0C", "greennet-0a0b0c0"):
        reply = await api.add_plug(first.access, home1, bad)
        assert (reply.status, reply.error) == (400, "invalid_device_id"), bad
    ok = await api.plug(first.access, home1, "greennet-123abc")
    assert ok["device"]["name"] == "greennet-123abc"
    # another home may hold the same plug id: the answer must not reveal that one exists
    elsewhere = await api.plug(second.access, home2, "greennet-123abc")
    assert elsewhere["device"]["id"] != ok["device"]["id"]
    again = await api.add_plug(first.access, home1, "greennet-123abc")
    assert (again.status, again.error) == (409, "device_exists")
    mine = await api.call("GET", "/api/v1/devices", token=second.access)
    assert [d["id"] for d in mine.body] == [elsewhere["device"]["id"]]


async def test_adding_a_plug_needs_proof_not_just_its_id(api: Api) -> None:
    """Part 1 let any owner register any plug id; now POST /homes/{id}/devices claims a
    device with its credentials, and an id alone is refused."""
    owner = await api.account("owner@example.com")
    home = await new_home(api, owner)
    reply = await api.call(
        "POST", f"/api/v1/homes/{home}/devices", token=owner.access,
        json_body={"id": "greennet-123abc"},
    )  # fmt: skip
    assert (reply.status, reply.error) == (400, "invalid_input")
    assert (await api.call("GET", "/api/v1/devices", token=owner.access)).body == []


async def test_a_device_moves_home_with_its_credentials_and_only_with_them(api: Api) -> None:
    seller = await api.account("seller@example.com")
    buyer = await api.account("buyer@example.com")
    friend = await api.account("friend@example.com")
    old_home, new_home_id = await new_home(api, seller), await new_home(api, buyer)
    paired = await api.plug(seller.access, old_home, "greennet-5a1e00", name="Heater")
    device_id, secret = paired["device"]["id"], paired["credential"]["secret"]
    shared = await api.call(
        "POST", f"/api/v1/devices/{device_id}/shares", token=seller.access,
        json_body={"email": friend.email, "permission": "read"},
    )  # fmt: skip
    assert shared.status == 201
    path = f"/api/v1/homes/{new_home_id}/devices"
    for body in (
        {"device_id": device_id, "secret": secret[:-1] + ("1" if secret.endswith("0") else "0")},
        {"device_id": "00000000-0000-4000-8000-000000000000", "secret": secret},
    ):
        refused = await api.call("POST", path, token=buyer.access, json_body=body)
        assert (refused.status, refused.error) == (401, "invalid_device_credentials")
    claimed = await api.call(
        "POST", path, token=buyer.access,
        json_body={"device_id": device_id, "secret": secret, "location": "Garage"},
    )  # fmt: skip
    assert claimed.status == 201, claimed.body
    assert claimed.body["device"]["home_id"] == new_home_id
    assert claimed.body["device"]["location"] == "Garage"
    assert claimed.body["credential"]["secret"] != secret
    for gone_for in (seller, friend):
        seen = await api.call("GET", f"/api/v1/devices/{device_id}", token=gone_for.access)
        assert seen.status == 404
    # the old secret no longer proves anything: the seller cannot take it back
    back = await api.call(
        "POST", f"/api/v1/homes/{old_home}/devices", token=seller.access,
        json_body={"device_id": device_id, "secret": secret},
    )  # fmt: skip
    assert (back.status, back.error) == (401, "invalid_device_credentials")


async def test_the_linked_hub_announcing_a_plug_claims_it_in_its_home(
    api: Api, clock: FakeClock
) -> None:
    owner = await api.account("hubowner@example.com")
    home = await new_home(api, owner)
    made = await api.call(
        "POST", f"/api/v1/homes/{home}/link-tokens", token=owner.access, json_body={"name": "HA"}
    )
    async with engine_of(api).begin() as conn:
        token_hash = hashlib.sha256(made.body["token"].encode()).hexdigest()
        link = await link_store.find_active_link_token(conn, token_hash, clock.now)
    assert link is not None
    devices = api.client.app[DEVICES]
    details = DeviceDetails(name="Kettle")
    device, created = await devices.claim_announced(link, "greennet-4b0b0b", details)
    again, created_again = await devices.claim_announced(link, "greennet-4b0b0b", details)
    assert (created, created_again, again.id) == (True, False, device.id)
    listed = await api.call("GET", f"/api/v1/homes/{home}/devices", token=owner.access)
    assert [(d["plug_id"], d["name"]) for d in listed.body] == [("greennet-4b0b0b", "Kettle")]
    # a plug another home holds is not taken by seeing it on a broker
    neighbour = await api.account("neighbour@example.com")
    await api.plug(neighbour.access, await new_home(api, neighbour), "greennet-4c0c0c")
    with pytest.raises(Forbidden) as refused:
        await devices.claim_announced(link, "greennet-4c0c0c", details)
    assert refused.value.code == "plug_refused"
    listed = await api.call("GET", f"/api/v1/homes/{home}/devices", token=owner.access)
    assert [d["plug_id"] for d in listed.body] == ["greennet-4b0b0b"]


async def test_ingest_credentials_are_shown_once_rotated_and_revoked(api: Api) -> None:
    user = await api.account("creds@example.com")
    home = await new_home(api, user)
    added = await api.plug(user.access, home, "greennet-c0ffee")
    device_id = added["device"]["id"]
    first = added["credential"]
    assert re.fullmatch(r"gnd_[0-9a-f]{64}", first["secret"])
    path = f"/api/v1/devices/{device_id}/credentials"
    listed = await api.call("GET", path, token=user.access)
    assert listed.body[0]["id"] == first["id"]
    assert "secret" not in listed.body[0]
    rotated = await api.call("POST", path, token=user.access)
    assert rotated.status == 201
    assert rotated.body["secret"] != first["secret"]
    listed = await api.call("GET", path, token=user.access)
    state = {c["id"]: c["revoked_at"] is None for c in listed.body}
    assert state == {first["id"]: False, rotated.body["id"]: True}
    # the server can re-derive the secret (for HMAC checks) although it never stored it
    assert api.client.app is not None
    async with engine_of(api).begin() as conn:
        stored = await device_store.list_credentials(conn, device_id)
        device = await device_store.find_device(conn, device_id)
    assert device is not None
    active = next(c for c in stored if c.revoked_at is None)
    assert api.client.app[DEVICES].ingest_secret(device, active) == rotated.body["secret"]
    assert rotated.body["secret"] not in repr(stored)
    revoke = await api.call("DELETE", f"{path}/{rotated.body['id']}", token=user.access)
    assert revoke.status == 204
    again = await api.call("DELETE", f"{path}/{rotated.body['id']}", token=user.access)
    assert again.status == 404


async def test_pairing_codes_are_single_use_and_expire(api: Api, clock: FakeClock) -> None:
    user = await api.account("pair@example.com")
    home = await new_home(api, user)
    made = await api.call("POST", f"/api/v1/homes/{home}/pairing-codes", token=user.access)
    assert made.status == 201
    code = made.body["code"]
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", code)
    paired = await api.call(
        "POST",
        "/api/v1/devices/pair",
        json_body={"code": code.lower().replace("-", ""), "device_id": "greennet-00aa11"},
    )
    assert paired.status == 201, paired.body
    assert paired.body["device"]["home_id"] == home
    assert paired.body["credential"]["secret"].startswith("gnd_")
    reused = await api.call(
        "POST", "/api/v1/devices/pair", json_body={"code": code, "device_id": "greennet-00aa12"}
    )
    assert (reused.status, reused.error) == (401, "invalid_pairing_code")
    listed = await api.call("GET", f"/api/v1/homes/{home}/devices", token=user.access)
    assert [d["plug_id"] for d in listed.body] == ["greennet-00aa11"]

    late = await api.call("POST", f"/api/v1/homes/{home}/pairing-codes", token=user.access)
    clock.advance(601)
    expired = await api.call(
        "POST",
        "/api/v1/devices/pair",
        json_body={"code": late.body["code"], "device_id": "greennet-00aa13"},
    )
    assert (expired.status, expired.error) == (401, "invalid_pairing_code")


async def test_a_failed_pairing_does_not_burn_the_code(api: Api) -> None:
    user = await api.account("pair2@example.com")
    home = await new_home(api, user)
    await api.plug(user.access, home, "greennet-aaaaaa")
    code = (await api.call("POST", f"/api/v1/homes/{home}/pairing-codes", token=user.access)).body
    clash = await api.call(
        "POST",
        "/api/v1/devices/pair",
        json_body={"code": code["code"], "device_id": "greennet-aaaaaa"},
    )
    assert (clash.status, clash.error) == (409, "device_exists")
    ok = await api.call(
        "POST",
        "/api/v1/devices/pair",
        json_body={"code": code["code"], "device_id": "greennet-bbbbbb"},
    )
    assert ok.status == 201


async def test_guessing_pairing_codes_is_throttled(api: Api) -> None:
    statuses = [
        (
            await api.call(
                "POST",
                "/api/v1/devices/pair",
                json_body={"code": f"AAAA-AA{index:02d}", "device_id": "greennet-abcdef"},
            )
        ).status
        for index in range(21)
    ]
    assert statuses == [401] * 20 + [429]


async def test_link_tokens_are_shown_once_and_stored_hashed(api: Api, clock: FakeClock) -> None:
    user = await api.account("hub@example.com")
    home = await new_home(api, user)
    made = await api.call(
        "POST", f"/api/v1/homes/{home}/link-tokens", token=user.access, json_body={"name": "HA"}
    )
    assert made.status == 201
    token = made.body["token"]
    assert token.startswith("gnl_")
    listed = await api.call("GET", f"/api/v1/homes/{home}/link-tokens", token=user.access)
    assert [(t["id"], "token" in t) for t in listed.body] == [(made.body["id"], False)]
    async with engine_of(api).begin() as conn:
        hashes = [row.token_hash for row in await conn.execute(select(link_tokens))]
        assert hashes == [hashlib.sha256(token.encode()).hexdigest()]
        found = await link_store.find_active_link_token(conn, hashes[0], clock.now)
        assert found is not None
        assert found.home_id == home
    revoked = await api.call(
        "DELETE", f"/api/v1/homes/{home}/link-tokens/{made.body['id']}", token=user.access
    )
    assert revoked.status == 204
    assert (
        await api.call("GET", f"/api/v1/homes/{home}/link-tokens", token=user.access)
    ).body == []
    async with engine_of(api).begin() as conn:
        assert await link_store.find_active_link_token(conn, hashes[0], clock.now) is None


async def test_refresh_tokens_are_stored_hashed(api: Api) -> None:
    user = await api.account("hashes@example.com")
    async with engine_of(api).begin() as conn:
        stored = [row.token_hash for row in await conn.execute(select(refresh_tokens))]
    assert stored == [hashlib.sha256(user.refresh.encode()).hexdigest()]


async def test_sharing_rules(api: Api) -> None:
    owner = await api.account("sharer@example.com")
    await api.account("friend@example.com")
    home = await new_home(api, owner)
    path = f"/api/v1/homes/{home}/shares"

    async def share(email: str, permission: str = "read") -> tuple[int, str | None]:
        reply = await api.call(
            "POST", path, token=owner.access, json_body={"email": email, "permission": permission}
        )
        return reply.status, reply.error

    assert await share(owner.email) == (400, "invalid_input")
    assert await share("friend@example.com", "admin") == (400, "invalid_input")
    assert await share("Friend@Example.com", "control") == (201, None)
    assert await share("friend@example.com") == (409, "share_exists")
    listed = await api.call("GET", path, token=owner.access)
    assert [(s["email"], s["permission"]) for s in listed.body] == [
        ("friend@example.com", "control")
    ]


async def test_a_hub_unlinking_revokes_its_own_link_token(api: Api, clock: FakeClock) -> None:
    user = await api.account("unlink@example.com")
    home = await new_home(api, user)
    mine, other = [
        await api.call(
            "POST", f"/api/v1/homes/{home}/link-tokens", token=user.access, json_body={"name": n}
        )
        for n in ("kitchen HA", "garage HA")
    ]
    # an owner's access token is no link token: it revokes nothing here
    assert (await api.call("DELETE", "/api/v1/link", token=user.access)).status == 401
    assert (await api.call("DELETE", "/api/v1/link")).status == 401
    revoked = await api.call("DELETE", "/api/v1/link", token=mine.body["token"])
    assert revoked.status == 204
    listed = await api.call("GET", f"/api/v1/homes/{home}/link-tokens", token=user.access)
    assert [t["id"] for t in listed.body] == [other.body["id"]]
    again = await api.call("DELETE", "/api/v1/link", token=mine.body["token"])
    assert (again.status, again.body["error"]) == (401, "invalid_link_token")
    async with engine_of(api).begin() as conn:
        token_hash = hashlib.sha256(mine.body["token"].encode()).hexdigest()
        assert await link_store.find_active_link_token(conn, token_hash, clock.now) is None
