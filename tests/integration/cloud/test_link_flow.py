"""Linking a hub to GreenNet Cloud, unlinking it and re-authenticating, against the real cloud."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet.cloud.const import (
    CONF_CLOUD,
    CONF_CLOUD_URL,
    CONF_HOME_ID,
    CONF_LINK_TOKEN,
    REAUTH_CLOUD,
)
from custom_components.greennet.const import DOMAIN

from ...backend.live import LiveServer
from ...broker import Mosquitto, free_port
from ...cloud_service import PASSWORD, CloudApi, CloudUser, totp_code
from ..conftest import wait_until
from .common import linked_entry


async def start_link(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] == "menu"
    assert result["menu_options"] == ["settings", "cloud_link"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "cloud_link"}
    )
    assert result["step_id"] == "cloud_link"
    return result


async def submit(hass: HomeAssistant, result: dict[str, Any], answer: dict[str, Any]) -> Any:
    return await hass.config_entries.options.async_configure(result["flow_id"], answer)


async def reloaded(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Until the reload the flow scheduled is over (the entry loaded again)."""
    await hass.async_block_till_done()
    await wait_until(hass, lambda: entry.state is ConfigEntryState.LOADED)


def credentials(base: str, user: CloudUser, password: str | None = None) -> dict[str, str]:
    return {"url": base + "/", "email": user.email, "password": password or user.password}


def live_sessions(cloud: LiveServer, email: str) -> int:
    """Unrevoked sessions of an account, read from the cloud's own SQLite database."""
    with contextlib.closing(sqlite3.connect(cloud.cwd / "greennet-data" / "greennet.db")) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM sessions JOIN users ON users.id = sessions.user_id "
            "WHERE users.email = ? AND sessions.revoked_at IS NULL",
            (email,),
        ).fetchone()
    return int(count)


async def test_linking_keeps_only_the_url_the_home_and_a_fresh_link_token(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser, cloud: LiveServer
) -> None:
    home_id = await api.create_home(owner, "Flat")
    other = await api.create_home(owner, "Cabin")
    assert await api.link_tokens(owner, home_id) == []
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, owner))
    assert result["step_id"] == "cloud_home"
    homes = result["data_schema"].schema["home"].config["options"]
    assert sorted(h["label"] for h in homes) == ["Cabin", "Flat"]

    result = await submit(hass, result, {"home": home_id})
    assert result["type"] == "create_entry"
    await reloaded(hass, entry)
    await hass.async_block_till_done()
    link = entry.data[CONF_CLOUD]
    assert link.keys() == {CONF_CLOUD_URL, CONF_HOME_ID, CONF_LINK_TOKEN}
    assert (link[CONF_CLOUD_URL], link[CONF_HOME_ID]) == (api.base, home_id)
    stored = json.dumps({**entry.data, **entry.options})
    assert owner.email not in stored
    assert PASSWORD not in stored
    tokens = await api.link_tokens(owner, home_id)
    assert [t["name"] for t in tokens] == [f"Home Assistant ({hass.config.location_name})"]
    # the flow's own session was logged out; only the test's login is live
    assert live_sessions(cloud, owner.email) == 1
    assert await api.link_tokens(owner, other) == []
    # the entry reloaded with the link running, next to its plugs
    await wait_until(hass, lambda: entry.state is ConfigEntryState.LOADED)
    assert entry.runtime_data.cloud_link is not None
    assert entry.runtime_data.cloud_link.settings.token == link[CONF_LINK_TOKEN]


async def test_linking_asks_for_the_two_factor_code_when_the_account_has_one(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser
) -> None:
    secret = await api.enable_totp(owner)
    home_id = await api.create_home(owner, "Flat")
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, owner))
    assert result["step_id"] == "cloud_totp"
    result = await submit(
        hass, result, {"totp": "000000" if totp_code(secret) != "000000" else "1"}
    )
    assert result["errors"] == {"base": "cloud_invalid_totp"}
    # the code of the next 30 s step: the one the enrollment used is spent
    result = await submit(hass, result, {"totp": totp_code(secret, time.time() + 30)})
    assert result["step_id"] == "cloud_home"
    result = await submit(hass, result, {"home": home_id})
    assert result["type"] == "create_entry"
    await reloaded(hass, entry)
    assert entry.data[CONF_CLOUD][CONF_HOME_ID] == home_id


async def test_a_new_home_can_be_made_while_linking(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser
) -> None:
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, owner))
    assert result["step_id"] == "cloud_home"
    assert "home" not in result["data_schema"].schema  # the account has no home yet
    result = await submit(hass, result, {"new_home": "  "})
    assert result["errors"] == {"base": "cloud_no_home"}
    result = await submit(hass, result, {"new_home": "Holiday flat"})
    assert result["type"] == "create_entry"
    await reloaded(hass, entry)
    homes = await api.homes(owner)
    assert [(h["name"], h["id"]) for h in homes] == [
        ("Holiday flat", entry.data[CONF_CLOUD][CONF_HOME_ID])
    ]


async def test_bad_address_wrong_password_and_no_cloud_are_form_errors(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser
) -> None:
    result = await start_link(hass, entry)
    result = await submit(hass, result, {**credentials(api.base, owner), "url": "cloud.local"})
    assert result["errors"] == {"base": "cloud_invalid_url"}
    result = await submit(hass, result, credentials(api.base, owner, "wrong-password-1"))
    assert result["errors"] == {"base": "cloud_invalid_auth"}
    suggested = {str(key): key.description for key in result["data_schema"].schema}
    assert suggested["password"] is None  # the form never echoes the password back
    assert suggested["email"] == {"suggested_value": owner.email}
    nobody = f"http://127.0.0.1:{free_port()}"
    result = await submit(hass, result, credentials(nobody, owner))
    assert result["errors"] == {"base": "cloud_cannot_connect"}
    result = await submit(hass, result, credentials(api.base, owner))
    assert result["step_id"] == "cloud_home"
    assert CONF_CLOUD not in entry.data


async def test_only_owned_homes_are_offered(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser
) -> None:
    guest = await api.register("guest")
    home_id = await api.create_home(owner, "Flat")
    await api.request(
        owner,
        "POST",
        f"/api/v1/homes/{home_id}/shares",
        {"email": guest.email, "permission": "control"},
    )
    assert [h["name"] for h in await api.homes(guest)] == ["Flat"]
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, guest))
    assert "home" not in result["data_schema"].schema


async def test_unlinking_forgets_the_link_and_revokes_its_token(
    hass: HomeAssistant, entry: MockConfigEntry, api: CloudApi, owner: CloudUser
) -> None:
    home_id = await api.create_home(owner, "Flat")
    result = await submit(hass, await start_link(hass, entry), credentials(api.base, owner))
    await submit(hass, result, {"home": home_id})
    await hass.async_block_till_done()
    assert len(await api.link_tokens(owner, home_id)) == 1
    await wait_until(hass, lambda: entry.runtime_data.cloud_link.connected, timeout=15)

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["menu_options"] == ["settings", "cloud_unlink"]
    result = await submit(hass, result, {"next_step_id": "cloud_unlink"})
    assert result["step_id"] == "cloud_unlink"
    assert result["description_placeholders"] == {"url": api.base, "home_id": home_id}
    result = await submit(hass, result, {})
    assert result["type"] == "create_entry"
    await reloaded(hass, entry)
    await hass.async_block_till_done()
    assert CONF_CLOUD not in entry.data
    assert await api.link_tokens(owner, home_id) == []
    await wait_until(hass, lambda: entry.state is ConfigEntryState.LOADED)
    assert entry.runtime_data.cloud_link is None
    hub_device = (DOMAIN, f"hub-{entry.entry_id}")
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert not [d for d in devices if hub_device in d.identifiers]  # its device went too
    await asyncio.sleep(0.3)
    await hass.async_block_till_done()
    # the revocation closed the live link (4001): that is no reason to ask for a login
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []


async def test_unlinking_an_unreachable_cloud_says_the_token_still_works(
    hass: HomeAssistant, mosquitto: Mosquitto, socket_enabled: None
) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    entry = linked_entry(mosquitto, gone, "home-1", "gnl_unreachable")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await submit(hass, result, {"next_step_id": "cloud_unlink"})
    result = await submit(hass, result, {})
    assert result["type"] == "abort"
    assert result["reason"] == "cloud_unlinked_not_revoked"
    assert result["description_placeholders"] == {"url": gone}
    await hass.async_block_till_done()
    assert CONF_CLOUD not in entry.data
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reauth_links_the_same_home_with_a_new_token(
    hass: HomeAssistant, mosquitto: Mosquitto, api: CloudApi, owner: CloudUser
) -> None:
    home_id = await api.create_home(owner, "Flat")
    old = await api.create_link_token(owner, home_id, "old")
    await api.revoke_link_token(owner, home_id, old["id"])
    entry = linked_entry(mosquitto, api.base, home_id, old["token"])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    entry.async_start_reauth(hass, data={REAUTH_CLOUD: True})
    await hass.async_block_till_done()
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_REAUTH
    assert flow["step_id"] == "cloud_reauth"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"email": owner.email, "password": "not-the-password"}
    )
    assert result["errors"] == {"base": "cloud_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"email": owner.email, "password": owner.password}
    )
    assert result["type"] == "abort"
    assert result["reason"] == "reauth_successful"
    link = entry.data[CONF_CLOUD]
    assert link[CONF_HOME_ID] == home_id
    assert link[CONF_LINK_TOKEN] != old["token"]
    assert [t["name"] for t in await api.link_tokens(owner, home_id)] == [
        f"Home Assistant ({hass.config.location_name})"
    ]
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reauth_of_a_home_the_account_does_not_own_aborts(
    hass: HomeAssistant, mosquitto: Mosquitto, api: CloudApi, owner: CloudUser
) -> None:
    stranger = await api.register("stranger")
    home_id = await api.create_home(owner, "Flat")
    entry = linked_entry(mosquitto, api.base, home_id, "gnl_revoked")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await entry.start_reauth_flow(hass, data={REAUTH_CLOUD: True})
    assert result["step_id"] == "cloud_reauth"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": stranger.email, "password": stranger.password}
    )
    assert result["type"] == "abort"
    assert result["reason"] in ("cloud_home_not_found", "cloud_not_owner")
    assert entry.data[CONF_CLOUD][CONF_LINK_TOKEN] == "gnl_revoked"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfiguring_the_broker_keeps_the_cloud_link(
    hass: HomeAssistant, mosquitto: Mosquitto, socket_enabled: None
) -> None:
    entry = linked_entry(mosquitto, f"http://127.0.0.1:{free_port()}", "home-1", "gnl_kept")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await entry.start_reconfigure_flow(hass)
    data = {k: v for k, v in entry.data.items() if k != CONF_CLOUD}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**data, "prefix": "greennet"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_CLOUD][CONF_LINK_TOKEN] == "gnl_kept"
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)
