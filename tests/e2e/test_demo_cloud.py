"""The demo's GreenNet Cloud steps against a real `greennet-cloud serve`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from greennet_demo.cloud import DEMO_HOME, authenticated_get, demo_login, ensure_demo_home

from ..backend.live import FAST_ARGON2, LiveServer

EMAIL, PASSWORD = "demo@greennet.example", "greennet-demo-2026"
PLUGS = [("greennet-010000", "Sim fridge 1", "Sim"), ("greennet-010001", "Sim kettle 2", "Sim")]


@pytest.fixture
def cloud(socket_enabled: None) -> Iterator[LiveServer]:
    """The cloud with registration limited to one account per address and hour."""
    server = LiveServer(env={**FAST_ARGON2, "GREENNET_REGISTER_PER_ADDRESS": "1"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_demo_reruns_log_in_without_spending_the_registration_limit(
    cloud: LiveServer,
) -> None:
    tokens = [await demo_login(cloud.base_url, EMAIL, PASSWORD) for _ in range(3)]
    assert len(set(tokens)) == 3
    me = await authenticated_get(cloud.base_url, tokens[-1], "/api/v1/users/me")
    assert me["email"] == EMAIL


async def test_demo_home_is_created_once_with_every_plug(cloud: LiveServer) -> None:
    token = await demo_login(cloud.base_url, EMAIL, PASSWORD)
    home_id, added = await ensure_demo_home(cloud.base_url, token, PLUGS)
    assert added == 2
    again, added_again = await ensure_demo_home(cloud.base_url, token, PLUGS[:1] + PLUGS)
    assert (again, added_again) == (home_id, 0)
    homes = await authenticated_get(cloud.base_url, token, "/api/v1/homes")
    assert [h["name"] for h in homes] == [DEMO_HOME]
    devices = await authenticated_get(cloud.base_url, token, f"/api/v1/homes/{home_id}/devices")
    assert sorted((d["plug_id"], d["name"]) for d in devices) == sorted(p[:2] for p in PLUGS)
