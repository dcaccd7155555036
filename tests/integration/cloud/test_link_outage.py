"""The linked hub when the real GreenNet Cloud goes away, refuses the token or drops the socket.

Each test runs its own `greennet-cloud serve` (it is stopped and started again), so the
cloud of the other test modules is never disturbed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from homeassistant.core import HomeAssistant

from custom_components.greennet.cloud import const as cloud_const
from custom_components.greennet.cloud.link import CloudLink, LinkState
from custom_components.greennet.const import DOMAIN

from ...backend.live import LiveServer
from ...broker import Mosquitto
from ...cloud_service import CLOUD_ENV, CloudApi
from ..conftest import wait_until
from .common import linked_entry


@pytest.fixture
def own_cloud(socket_enabled: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """A cloud of this test alone; the link retries within 0.3 s."""
    monkeypatch.setattr(cloud_const, "BACKOFF_CAP", 0.3)
    server = LiveServer(env=CLOUD_ENV)  # sockets are enabled already (start_cloud disables)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


async def linked_to(
    hass: HomeAssistant, mosquitto: Mosquitto, cloud: LiveServer, token: str | None = None
) -> CloudLink:
    """An entry linked to a fresh home of `cloud` (with `token` instead, when given)."""
    api = CloudApi(cloud.base_url)
    owner = await api.register()
    home_id = await api.create_home(owner, "Flat")
    token = token or (await api.create_link_token(owner, home_id, "test HA"))["token"]
    entry = linked_entry(mosquitto, cloud.base_url, home_id, token)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    link = entry.runtime_data.cloud_link
    assert link is not None
    return link


async def test_a_cloud_shutting_down_is_reconnected_when_it_is_back(
    hass: HomeAssistant, mosquitto: Mosquitto, own_cloud: LiveServer
) -> None:
    link = await linked_to(hass, mosquitto, own_cloud)
    await wait_until(hass, lambda: link.connected)
    errors: list[str | None] = []
    link.async_add_listener(lambda: errors.append(link.last_error))
    await hass.async_add_executor_job(own_cloud.stop)  # graceful: closes the link with 1001
    await wait_until(hass, lambda: any("cannot connect" in (e or "") for e in errors))
    assert "closed by the cloud (1001)" in errors
    assert not link.connected
    await hass.async_add_executor_job(own_cloud.start)
    await wait_until(hass, lambda: link.connected, timeout=20)
    await hass.config_entries.async_unload(link.entry.entry_id)


async def test_an_unknown_link_token_asks_for_reauth_without_retrying(
    hass: HomeAssistant, mosquitto: Mosquitto, own_cloud: LiveServer
) -> None:
    link = await linked_to(hass, mosquitto, own_cloud, token="gnl_never_issued")
    await wait_until(hass, lambda: link.state is LinkState.AUTH_FAILED)
    assert link.last_error == "upgrade refused: HTTP 401"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["step_id"] for f in flows] == ["cloud_reauth"]
    await hass.config_entries.async_unload(link.entry.entry_id)


async def test_a_connection_lost_under_a_send_is_given_up_and_reconnected(
    hass: HomeAssistant, mosquitto: Mosquitto, own_cloud: LiveServer
) -> None:
    link = await linked_to(hass, mosquitto, own_cloud)
    await wait_until(hass, lambda: link.connected)
    session = link._session
    assert session is not None
    # the network drops the connection just as the hub answers a ping from the cloud
    session.ws._writer.transport.abort()  # type: ignore[attr-defined]
    session._take(json.dumps({"type": "ping", "id": "c-ping"}))
    await wait_until(hass, lambda: link._session is not session and link.connected)
    assert (link.last_error or "").startswith("send failed: ")
    await asyncio.sleep(0)
    await hass.config_entries.async_unload(link.entry.entry_id)
