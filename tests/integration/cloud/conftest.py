"""Fixtures of the cloud link tests: a real GreenNet Cloud and accounts on it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from greennet_sim import Simulator

from ...backend.live import LiveServer
from ...broker import Mosquitto
from ...cloud_service import CloudApi, CloudUser, start_cloud
from ..conftest import sim_config

# Plug ids are unique per cloud (a plug belongs to one home): each test's plugs get their own.
_seeds = itertools.count(100)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LiveServer]:
    """One real GreenNet Cloud per test module (accounts, homes and tokens are per test)."""
    server = start_cloud()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def api(cloud: LiveServer, socket_enabled: None) -> CloudApi:
    """The cloud's API, as a user would call it."""
    return CloudApi(cloud.base_url)


@pytest.fixture
async def owner(api: CloudApi) -> CloudUser:
    """A fresh account."""
    return await api.register()


@pytest.fixture
async def fleet(mosquitto: Mosquitto) -> AsyncIterator[Simulator]:
    """Two simulated plugs, online, with plug ids no other test of the module uses."""
    async with Simulator(sim_config(mosquitto, count=2, seed=next(_seeds))) as simulator:
        await simulator.wait_online()
        yield simulator
