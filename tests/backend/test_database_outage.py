"""Losing the database: connections are not pinged before each use (a round trip per
request), so a request that finds its connection dead answers 503 with Retry-After, never
500, and the pool starts afresh for the next one."""

from __future__ import annotations

import pytest

from .api import Api
from .postgres import terminate_other_backends


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_dropped_database_connection_is_a_503_and_the_next_request_works(
    api: Api, database_url: str
) -> None:
    user = await api.account("outage@example.com")
    assert (await api.call("GET", "/api/v1/homes", token=user.access)).status == 200
    killed = await terminate_other_backends(database_url)
    assert killed >= 1
    lost = await api.call("GET", "/api/v1/devices", token=user.access)
    assert (lost.status, lost.error, lost.headers["Retry-After"]) == (
        503,
        "database_unavailable",
        "1",
    )
    again = await api.call("GET", "/api/v1/devices", token=user.access)
    assert again.status == 200, again.body
