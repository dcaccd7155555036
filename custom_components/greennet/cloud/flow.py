"""Flow steps of the cloud link: link and unlink (options flow), re-authenticate (config flow).

Linking logs in with what the user types (and a TOTP code when the account has one), lets
the user pick or create a home, creates a link token named after this Home Assistant, and
logs that session out again: the entry keeps only the cloud URL, the home id and the token.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntryBaseFlow,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from ..const import LOGGER
from . import async_revoke, link_settings
from .api import AuthFailed, CannotConnect, CloudAccount, CloudApiError, CloudHome, normalize_url
from .const import CONF_CLOUD, CONF_CLOUD_URL, CONF_HOME_ID, CONF_LINK_TOKEN

CONF_EMAIL = "email"
CONF_PASSWORD = "password"  # noqa: S105  # a form field's name
CONF_TOTP = "totp"
CONF_HOME = "home"
CONF_NEW_HOME = "new_home"
HOME_NAME_MAX = 100  # the cloud's rule for names: at most 100 characters, no control characters

_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_EMAIL = TextSelector(TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username"))
_CREDENTIALS = {vol.Required(CONF_EMAIL): _EMAIL, vol.Required(CONF_PASSWORD): _PASSWORD}
# The cloud's error codes -> the flow's error keys (all prefixed: the broker has its own).
_ERRORS = {
    "invalid_credentials": "cloud_invalid_auth",
    "invalid_totp": "cloud_invalid_totp",
    "account_disabled": "cloud_account_disabled",
    "too_many_attempts": "cloud_too_many_attempts",
    "forbidden": "cloud_not_owner",
    "not_found": "cloud_home_not_found",
}


def _home_name_ok(name: str) -> bool:
    return len(name) <= HOME_NAME_MAX and all(ord(char) >= 32 for char in name)


def _error_key(err: CloudApiError) -> str:
    if isinstance(err, CannotConnect):
        LOGGER.debug("GreenNet Cloud not reachable: %s", err)
        return "cloud_cannot_connect"
    if err.code == "busy":
        return "cloud_busy"
    if (key := _ERRORS.get(err.code)) is not None:
        return key
    LOGGER.warning("GreenNet Cloud refused the link: %s (%s)", err.code, err.message)
    return "cloud_unknown"


class CloudLoginSteps(ConfigEntryBaseFlow):
    """Log in to GreenNet Cloud, asking for the TOTP code when the account wants one."""

    _cloud_url = ""
    _cloud_email = ""
    _cloud_password = ""
    _cloud_account: CloudAccount | None = None

    async def _async_cloud_login(self, totp: str | None = None) -> str | None:
        """Log in with the stored e-mail and password: None, `totp`, or an error key."""
        try:
            self._cloud_account = await CloudAccount.async_login(
                async_get_clientsession(self.hass),
                self._cloud_url,
                self._cloud_email,
                self._cloud_password,
                totp,
            )
        except AuthFailed as err:
            if err.code == "totp_required":
                return CONF_TOTP
            return _error_key(err)
        except CloudApiError as err:
            return _error_key(err)
        return None

    async def _async_cloud_credentials(self, user_input: dict[str, Any]) -> ConfigFlowResult | str:
        """Log in with a form's e-mail/password: the next step, or an error key."""
        self._cloud_email = str(user_input[CONF_EMAIL]).strip()
        self._cloud_password = str(user_input[CONF_PASSWORD])
        error = await self._async_cloud_login()
        if error == CONF_TOTP:
            return await self.async_step_cloud_totp()
        if error is not None:
            return error
        return await self._async_cloud_logged_in()

    async def async_step_cloud_totp(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The account has two-factor authentication: ask for the current code."""
        errors: dict[str, str] = {}
        if user_input is not None:
            error = await self._async_cloud_login(str(user_input[CONF_TOTP]).strip())
            if error is None:
                return await self._async_cloud_logged_in()
            errors["base"] = "cloud_invalid_totp" if error == CONF_TOTP else error
        return self.async_show_form(
            step_id="cloud_totp",
            data_schema=vol.Schema({vol.Required(CONF_TOTP): str}),
            errors=errors,
            description_placeholders={"url": self._cloud_url},
        )

    async def _async_cloud_logged_in(self) -> ConfigFlowResult:
        """What the flow does once logged in."""
        raise NotImplementedError

    async def _async_create_link(self, home_id: str) -> str | ConfigFlowResult:
        """A link token for `home_id` (the account is logged out afterwards), or an abort."""
        account = self._cloud_account
        assert account is not None
        name = f"Home Assistant ({self.hass.config.location_name})"
        try:
            return await account.async_create_link_token(home_id, name)
        except CloudApiError as err:
            return self.async_abort(reason=_error_key(err))
        finally:
            await account.async_logout()
            self._cloud_account = None

    def _link_data(self, home_id: str, token: str) -> dict[str, str]:
        return {CONF_CLOUD_URL: self._cloud_url, CONF_HOME_ID: home_id, CONF_LINK_TOKEN: token}

    @callback
    def async_remove(self) -> None:
        """The flow ended: a cloud session still open (the user closed the dialog half-way
        through) is logged out, as finishing or aborting the flow does."""
        if (account := self._cloud_account) is not None:
            self._cloud_account = None
            self.hass.async_create_task(
                account.async_logout(), "greennet cloud flow logout", eager_start=True
            )


class CloudLinkSteps(CloudLoginSteps, OptionsFlow):
    """Options-flow steps: link the hub to a cloud home, or unlink it."""

    _cloud_homes: list[CloudHome]

    async def async_step_cloud_link(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask where the cloud is and who the user is there."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                self._cloud_url = normalize_url(str(user_input[CONF_CLOUD_URL]))
            except ValueError:
                errors["base"] = "cloud_invalid_url"
            else:
                next_step = await self._async_cloud_credentials(user_input)
                if not isinstance(next_step, str):
                    return next_step
                errors["base"] = next_step
        schema = vol.Schema(
            {
                vol.Required(CONF_CLOUD_URL): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.URL)
                ),
                **_CREDENTIALS,
            }
        )
        return self.async_show_form(
            step_id="cloud_link",
            data_schema=self.add_suggested_values_to_schema(
                schema, {k: v for k, v in (user_input or {}).items() if k != CONF_PASSWORD}
            ),
            errors=errors,
        )

    async def _async_cloud_logged_in(self) -> ConfigFlowResult:
        assert self._cloud_account is not None
        try:
            self._cloud_homes = await self._cloud_account.async_homes()
        except CloudApiError as err:
            await self._cloud_account.async_logout()  # the flow ends: so does its session
            self._cloud_account = None
            return self.async_abort(reason=_error_key(err))
        return await self.async_step_cloud_home()

    async def async_step_cloud_home(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick one of the account's homes, or name a new one."""
        errors: dict[str, str] = {}
        if user_input is not None:
            new_name = str(user_input.get(CONF_NEW_HOME) or "").strip()
            home_id = user_input.get(CONF_HOME)
            if new_name and not _home_name_ok(new_name):
                errors["base"] = "cloud_home_name"
            elif new_name:
                assert self._cloud_account is not None
                try:
                    home_id = (await self._cloud_account.async_create_home(new_name)).id
                except CloudApiError as err:
                    errors["base"] = _error_key(err)
            elif not home_id:
                errors["base"] = "cloud_no_home"
            if not errors:
                return await self._async_finish_link(str(home_id))
        fields: dict[vol.Marker, Any] = {}
        if self._cloud_homes:
            options = [SelectOptionDict(value=h.id, label=h.name) for h in self._cloud_homes]
            fields[vol.Optional(CONF_HOME, default=self._cloud_homes[0].id)] = SelectSelector(
                SelectSelectorConfig(options=options)
            )
        fields[vol.Optional(CONF_NEW_HOME)] = str
        suggested = {} if self._cloud_homes else {CONF_NEW_HOME: self.hass.config.location_name}
        return self.async_show_form(
            step_id="cloud_home",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), suggested),
            errors=errors,
            description_placeholders={"url": self._cloud_url},
        )

    async def _async_finish_link(self, home_id: str) -> ConfigFlowResult:
        token = await self._async_create_link(home_id)
        if not isinstance(token, str):
            return token
        entry = self.config_entry
        self.hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_CLOUD: self._link_data(home_id, token)}
        )
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data=dict(entry.options))

    async def async_step_cloud_unlink(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm, revoke the token when the cloud is reachable, and forget the link."""
        entry = self.config_entry
        settings = link_settings(entry.data)
        assert settings is not None  # the menu offers unlinking only to a linked hub
        if user_input is None:
            return self.async_show_form(
                step_id="cloud_unlink",
                data_schema=vol.Schema({}),
                description_placeholders={"url": settings.url, "home_id": settings.home_id},
            )
        if entry.state is ConfigEntryState.LOADED and entry.runtime_data.cloud_link:
            # stopped first: the revocation's close (4001) must not ask for a new login
            await entry.runtime_data.cloud_link.async_stop()
        revoked = await async_revoke(self.hass, settings)
        data = {key: value for key, value in entry.data.items() if key != CONF_CLOUD}
        self.hass.config_entries.async_update_entry(entry, data=data)
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        if not revoked:
            return self.async_abort(
                reason="cloud_unlinked_not_revoked", description_placeholders={"url": settings.url}
            )
        return self.async_create_entry(data=dict(entry.options))


class CloudReauthSteps(CloudLoginSteps, ConfigFlow):
    """Config-flow steps: the cloud refused the link token; log in to get a new one."""

    async def async_step_cloud_reauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the cloud account again; the hub stays linked to the same home."""
        entry = self._get_reauth_entry()
        settings = link_settings(entry.data)
        if settings is None:
            return self.async_abort(reason="cloud_not_linked")  # unlinked meanwhile
        self._cloud_url = settings.url
        errors: dict[str, str] = {}
        if user_input is not None:
            next_step = await self._async_cloud_credentials(user_input)
            if not isinstance(next_step, str):
                return next_step
            errors["base"] = next_step
        return self.async_show_form(
            step_id="cloud_reauth",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(_CREDENTIALS), {CONF_EMAIL: self._cloud_email or None}
            ),
            errors=errors,
            description_placeholders={"url": settings.url, "hub": entry.title},
        )

    async def _async_cloud_logged_in(self) -> ConfigFlowResult:
        entry = self._get_reauth_entry()
        settings = link_settings(entry.data)
        assert settings is not None
        token = await self._async_create_link(settings.home_id)
        if not isinstance(token, str):
            return token
        return self.async_update_reload_and_abort(
            entry, data_updates={CONF_CLOUD: self._link_data(settings.home_id, token)}
        )
