"""The few GreenNet Cloud REST calls linking needs: log in, pick a home, make a link token.

The session is HA's shared aiohttp session (inject-websession); the account session it
opens lives only as long as the link flow and is logged out at its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from . import const
from .protocol import LINK_PATH

API = "/api/v1"


class CloudApiError(Exception):
    """The cloud answered with an error (`code` from its JSON body) or not at all."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message


class CannotConnect(CloudApiError):
    """No answer from the cloud (DNS, refused, TLS, timeout, not a GreenNet Cloud)."""

    def __init__(self, message: str) -> None:
        super().__init__("cannot_connect", message)


class AuthFailed(CloudApiError):
    """The cloud refused the credentials (`code`: invalid_credentials, totp_required, ...)."""


@dataclass(frozen=True, slots=True)
class CloudHome:
    """A home of the account, and the caller's access to it."""

    id: str
    name: str
    access: str


def normalize_url(text: str) -> str:
    """The cloud's base URL without a trailing slash (ValueError when not http(s)://host)."""
    url = URL(text.strip())
    if url.scheme not in ("http", "https") or not url.host or url.query_string or url.fragment:
        raise ValueError(f"not a cloud address: {text!r}")
    return str(url.with_path(url.path.rstrip("/"))).rstrip("/")


def link_url(base: str) -> str:
    """The websocket address of the link (ws:// for http://, wss:// for https://)."""
    url = URL(base)
    return str(url.with_scheme("wss" if url.scheme == "https" else "ws")) + LINK_PATH


async def _call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None = None,
    json: dict[str, Any] | None = None,
) -> Any:
    """One request; the JSON answer, or CloudApiError with the cloud's error code."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with session.request(
            method,
            url,
            json=json,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=const.REQUEST_TIMEOUT),
        ) as resp:
            body = await resp.json(content_type=None) if resp.status != 204 else None
            if resp.status < 400:
                return body
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        raise CannotConnect(f"{method} {url}: {err!r}") from err
    code = body.get("error") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(code, str):
        raise CannotConnect(f"{method} {url}: HTTP {resp.status} without a GreenNet error")
    error = AuthFailed if resp.status in (401, 403, 429) else CloudApiError
    raise error(code, str(message or ""))


class CloudAccount:
    """A logged-in account session (only during a link flow)."""

    def __init__(
        self, session: aiohttp.ClientSession, base: str, access: str, refresh: str
    ) -> None:
        """Use `async_login` to make one."""
        self._session = session
        self.base = base
        self._access = access
        self._refresh = refresh

    @classmethod
    async def async_login(
        cls,
        session: aiohttp.ClientSession,
        base: str,
        email: str,
        password: str,
        totp: str | None = None,
    ) -> CloudAccount:
        """Log in; AuthFailed('totp_required') asks for the two-factor code."""
        body: dict[str, Any] = {"email": email, "password": password}
        if totp:
            body["totp"] = totp
        answer = await _call(session, "POST", f"{base}{API}/auth/login", json=body)
        try:
            return cls(session, base, str(answer["access_token"]), str(answer["refresh_token"]))
        except (KeyError, TypeError) as err:
            raise CannotConnect(f"unexpected login answer from {base}") from err

    async def async_homes(self) -> list[CloudHome]:
        """Homes this account owns (only an owner may link a hub)."""
        answer = await _call(self._session, "GET", f"{self.base}{API}/homes", token=self._access)
        return [
            CloudHome(str(home["id"]), str(home["name"]), str(home["access"]))
            for home in answer
            if isinstance(home, dict) and home.get("access") == "owner"
        ]

    async def async_create_home(self, name: str) -> CloudHome:
        """A new home owned by this account."""
        url = f"{self.base}{API}/homes"
        home = await _call(self._session, "POST", url, token=self._access, json={"name": name})
        return CloudHome(str(home["id"]), str(home["name"]), "owner")

    async def async_create_link_token(self, home_id: str, name: str) -> str:
        """A new link token for `home_id` (the cloud shows it in this answer only)."""
        answer = await _call(
            self._session,
            "POST",
            f"{self.base}{API}/homes/{home_id}/link-tokens",
            token=self._access,
            json={"name": name},
        )
        return str(answer["token"])

    async def async_logout(self) -> None:
        """End the session; failing to is harmless (it expires), so errors are swallowed."""
        try:
            await _call(
                self._session,
                "POST",
                f"{self.base}{API}/auth/logout",
                json={"refresh_token": self._refresh},
            )
        except CloudApiError:
            return


async def async_revoke_link_token(session: aiohttp.ClientSession, base: str, token: str) -> None:
    """Revoke the link token with itself (`DELETE /api/v1/link`); CloudApiError if not done.

    An unknown or already revoked token counts as done: the cloud no longer takes it.
    """
    try:
        await _call(session, "DELETE", f"{base}{LINK_PATH}", token=token)
    except AuthFailed as err:
        if err.code not in ("invalid_link_token", "unauthenticated"):
            raise
