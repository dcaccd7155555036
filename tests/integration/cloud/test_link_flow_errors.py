"""What the link and re-authentication flows show when the cloud refuses, stalls or is not one.

Against the real GreenNet Cloud where it can produce the failure (a home deleted meanwhile,
a name it refuses, a cloud that hangs); a small aiohttp server plays a broken or foreign
server for the answers the real cloud never gives.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet.cloud import const as cloud_const
from custom_components.greennet.cloud.const import CONF_CLOUD, CONF_HOME_ID, REAUTH_CLOUD

from ...backend.live import LiveServer
from ...broker import Mosquitto
from ...cloud_service import CloudApi, CloudUser, totp_code
from .common import broker_data, linked_entry
from .fake_cloud import LoopbackServer
from .test_link_flow import credentials, live_sessions, reloaded, start_link, submit


class FakeRest(LoopbackServer):
    """Answers each `path` with a fixed (status, JSON body or text)."""

    def __init__(self, answers: dict[str, tuple[int, Any]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{path:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(f"{request.method} {request.path}")
        status, body = self.answers.get(request.path, (404, "<h1>Not Found</h1>"))
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/html")
        return web.json_response(body, status=status)


@pytest.fixture
async def fake_rest(socket_enabled: None) -> AsyncIterator[list[FakeRest]]:
    started: list[FakeRest] = []
    yield started
    for server in started:
        await server.stop()


async def rest(started: list[FakeRest], answers: dict[str, tuple[int, Any]]) -> FakeRest:
    server = FakeRest(answers)
    await server.start()
    started.append(server)
    return server


LOGIN = "/api/v1/auth/login"
TOKENS = {"access_token": "a", "refresh_token": "r"}


async def test_a_server_that_is_not_a_greennet_cloud_cannot_be_linked(
    hass: HomeAssistant, entry: MockConfigEntry, fake_rest: list[FakeRest], owner: CloudUser
) -> None:
    foreign = await rest(fake_rest, {})  # answers 404 pages to everything
    proxy = await rest(fake_rest, {LOGIN: (502, {"detail": "upstream down"})})
    odd = await rest(fake_rest, {LOGIN: (200, {"welcome": "to nginx"})})
    result = await start_link(hass, entry)
    result = await submit(hass, result, credentials(foreign.url, owner))
    assert result["errors"] == {"base": "cloud_cannot_connect"}
    result = await submit(hass, result, credentials(proxy.url, owner))
    assert result["errors"] == {"base": "cloud_cannot_connect"}
    result = await submit(hass, result, credentials(odd.url, owner))
    assert result["errors"] == {"base": "cloud_cannot_connect"}
    assert foreign.calls == [f"POST {LOGIN}"]
    assert CONF_CLOUD not in entry.data


@pytest.mark.parametrize(
    ("code", "status", "shown"),
    [
        ("busy", 503, "cloud_busy"),
        ("too_many_attempts", 429, "cloud_too_many_attempts"),
        ("account_disabled", 403, "cloud_account_disabled"),
        ("out_of_coffee", 418, "cloud_unknown"),
    ],
)
async def test_login_refusals_are_explained_on_the_form(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    fake_rest: list[FakeRest],
    owner: CloudUser,
    caplog: pytest.LogCaptureFixture,
    code: str,
    status: int,
    shown: str,
) -> None:
    cloud = await rest(fake_rest, {LOGIN: (status, {"error": code, "message": "no"})})
    result = await submit(hass, await start_link(hass, entry), credentials(cloud.url, owner))
    assert result["errors"] == {"base": shown}
    # only an error this version does not know is worth a log line
    logged = "GreenNet Cloud refused the link: out_of_coffee (no)" in caplog.text
    assert logged is (shown == "cloud_unknown")


async def test_a_failing_home_list_ends_the_flow_and_logs_the_session_out_anyway(
    hass: HomeAssistant, entry: MockConfigEntry, fake_rest: list[FakeRest], owner: CloudUser
) -> None:
    cloud = await rest(
        fake_rest,
        {
            LOGIN: (200, TOKENS),
            "/api/v1/homes": (500, {"error": "internal_error", "message": "boom"}),
        },
    )
    result = await submit(hass, await start_link(hass, entry), credentials(cloud.url, owner))
    assert result["type"] == "abort"
    assert result["reason"] == "cloud_unknown"
    assert CONF_CLOUD not in entry.data
    # the flow's session is logged out (a failing logout is no reason to complain)
    assert cloud.calls == [f"POST {LOGIN}", "GET /api/v1/homes", "POST /api/v1/auth/logout"]


async def test_a_home_deleted_while_picking_it_aborts_and_logs_out(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser, cloud: LiveServer
) -> None:
    home_id = await api.create_home(owner, "Flat")
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, owner))
    assert result["step_id"] == "cloud_home"
    await api.request(owner, "DELETE", f"/api/v1/homes/{home_id}")
    result = await submit(hass, result, {"home": home_id})
    assert result["type"] == "abort"
    assert result["reason"] == "cloud_home_not_found"
    assert CONF_CLOUD not in entry.data
    assert live_sessions(cloud, owner.email) == 1  # only the test's own login is live


@pytest.mark.parametrize("name", ["x" * 101, "Flat\x07"])
async def test_a_home_name_the_cloud_would_refuse_says_what_is_wrong(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser, name: str
) -> None:
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, owner))
    result = await submit(hass, result, {"new_home": name})
    assert result["step_id"] == "cloud_home"
    assert result["errors"] == {"base": "cloud_home_name"}  # not "refused; see the log"
    assert await api.homes(owner) == []
    result = await submit(hass, result, {"new_home": "x" * 100})  # the longest allowed
    assert result["type"] == "create_entry"
    homes = await api.homes(owner)
    assert [home["name"] for home in homes] == ["x" * 100]
    # the flow reloads the entry onto the new home: over before the test ends (a reload
    # still connecting when HA stops is cancelled mid-setup)
    await reloaded(hass, entry)
    assert entry.data[CONF_CLOUD][CONF_HOME_ID] == homes[0]["id"]


async def test_closing_the_dialog_half_way_logs_the_flow_out_of_the_cloud(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser, cloud: LiveServer
) -> None:
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, owner))
    assert result["step_id"] == "cloud_home"
    assert live_sessions(cloud, owner.email) == 2  # the test's and the flow's
    hass.config_entries.options.async_abort(result["flow_id"])  # the user closes the dialog
    await hass.async_block_till_done()
    assert live_sessions(cloud, owner.email) == 1
    assert CONF_CLOUD not in entry.data


async def test_a_cloud_hanging_at_the_two_factor_step_is_a_form_error(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    api: CloudApi,
    owner: CloudUser,
    cloud: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = await api.enable_totp(owner)
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, owner))
    assert result["step_id"] == "cloud_totp"
    monkeypatch.setattr(cloud_const, "REQUEST_TIMEOUT", 0.5)
    assert cloud.proc is not None
    cloud.proc.send_signal(signal.SIGSTOP)
    try:
        result = await submit(hass, result, {"totp": totp_code(secret)})
    finally:
        cloud.proc.send_signal(signal.SIGCONT)
    assert result["step_id"] == "cloud_totp"
    assert result["errors"] == {"base": "cloud_cannot_connect"}


async def test_reauth_of_a_hub_unlinked_meanwhile_aborts(
    hass: HomeAssistant, mosquitto: Mosquitto, socket_enabled: None
) -> None:
    entry = MockConfigEntry(
        domain="greennet",
        title="GreenNet 127.0.0.1",
        unique_id=f"{mosquitto.host}:{mosquitto.port}",
        data=broker_data(mosquitto),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await entry.start_reauth_flow(hass, data={REAUTH_CLOUD: True})
    assert result["type"] == "abort"
    assert result["reason"] == "cloud_not_linked"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_blank_two_factor_code_is_asked_for_again(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser
) -> None:
    await api.enable_totp(owner)
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, owner))
    assert result["step_id"] == "cloud_totp"
    result = await submit(hass, result, {"totp": "  "})
    assert result["step_id"] == "cloud_totp"
    assert result["errors"] == {"base": "cloud_invalid_totp"}


@pytest.mark.parametrize(
    ("status", "code", "revoked"),
    [(401, "invalid_link_token", True), (429, "too_many_attempts", False)],
)
async def test_unlinking_trusts_only_a_cloud_that_no_longer_takes_the_token(
    hass: HomeAssistant,
    mosquitto: Mosquitto,
    fake_rest: list[FakeRest],
    status: int,
    code: str,
    revoked: bool,
) -> None:
    cloud = await rest(fake_rest, {"/api/v1/link": (status, {"error": code, "message": "no"})})
    entry = linked_entry(mosquitto, cloud.url, "home-1", "gnl_fake")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await submit(hass, result, {"next_step_id": "cloud_unlink"})
    result = await submit(hass, result, {})
    assert "DELETE /api/v1/link" in cloud.calls
    if revoked:  # an unknown token: the cloud takes it no more
        assert result["type"] == "create_entry"
    else:
        assert result["type"] == "abort"
        assert result["reason"] == "cloud_unlinked_not_revoked"
    await hass.async_block_till_done()
    assert CONF_CLOUD not in entry.data
    await hass.config_entries.async_unload(entry.entry_id)
