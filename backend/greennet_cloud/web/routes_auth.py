"""`/api/v1/auth/*` and `/api/v1/users/me`: the caller's own account."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..services.accounts import ProfileChanges
from .answers import json_response
from .body import optional_string, read_object, string
from .endpoints import Endpoint, principal_of
from .keys import ACCOUNT_MAIL, ACCOUNTS, TWO_FACTOR
from .params import client_address
from .serialize import session_json, tokens_json, user_json

PASSWORD_MAX = 1000  # longer than the policy allows, so the policy answers, not the parser
CODE_MAX = 32  # a TOTP code, or a recovery code with its dashes


async def register(request: web.Request) -> web.Response:
    """Create an account (throttled per client address)."""
    body = await read_object(request)
    user = await request.app[ACCOUNTS].register(
        string(body, "email", max_length=254),
        string(body, "password", max_length=PASSWORD_MAX),
        client_address(request),
        invitation=optional_string(body, "invitation", max_length=100),
    )
    await request.app[ACCOUNT_MAIL].send_verification(user)
    return json_response(user_json(user), status=201)


async def login(request: web.Request) -> web.Response:
    """Email + password (+ TOTP) → access and refresh tokens."""
    body = await read_object(request)
    pair = await request.app[ACCOUNTS].login(
        string(body, "email", max_length=1000),
        string(body, "password", max_length=PASSWORD_MAX),
        optional_string(body, "totp", max_length=CODE_MAX),
        client_address(request),
    )
    return json_response(tokens_json(pair))


async def refresh(request: web.Request) -> web.Response:
    """Rotate a refresh token."""
    body = await read_object(request)
    pair = await request.app[ACCOUNTS].refresh(string(body, "refresh_token"))
    return json_response(tokens_json(pair))


async def logout(request: web.Request) -> web.Response:
    """End the session of a refresh token."""
    body = await read_object(request)
    await request.app[ACCOUNTS].logout(string(body, "refresh_token"))
    return web.Response(status=204)


async def logout_all(request: web.Request) -> web.Response:
    """End every session of the caller."""
    await request.app[ACCOUNTS].logout_all(principal_of(request))
    return web.Response(status=204)


async def list_sessions(request: web.Request) -> web.Response:
    """The caller's live sessions."""
    principal = principal_of(request)
    found = await request.app[ACCOUNTS].list_sessions(principal)
    return json_response([session_json(s, principal.session_id) for s in found])


async def revoke_session(request: web.Request) -> web.Response:
    """End one of the caller's sessions."""
    await request.app[ACCOUNTS].revoke_session(
        principal_of(request), request.match_info["session_id"]
    )
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    """Change the caller's password; other sessions end."""
    body = await read_object(request)
    await request.app[ACCOUNTS].change_password(
        principal_of(request),
        string(body, "current_password", max_length=PASSWORD_MAX),
        string(body, "new_password", max_length=PASSWORD_MAX),
        client_address(request),
        optional_string(body, "totp", max_length=CODE_MAX),
    )
    return web.Response(status=204)


def _reauth(body: dict[str, Any]) -> tuple[str, str | None]:
    """The re-authentication fields of a body: the current password, the second factor."""
    return (
        string(body, "current_password", max_length=PASSWORD_MAX),
        optional_string(body, "totp", max_length=CODE_MAX),
    )


async def totp_enroll(request: web.Request) -> web.Response:
    """Start two-factor enrollment (re-authenticates)."""
    body = await read_object(request)
    password, _code = _reauth(body)
    enrollment = await request.app[TWO_FACTOR].enroll(
        principal_of(request), password, client_address(request)
    )
    return json_response(
        {"secret": enrollment.secret, "otpauth_uri": enrollment.otpauth_uri}, status=201
    )


async def totp_confirm(request: web.Request) -> web.Response:
    """Finish two-factor enrollment with a code; answers the recovery codes (once)."""
    body = await read_object(request)
    password, _code = _reauth(body)
    codes = await request.app[TWO_FACTOR].confirm(
        principal_of(request), string(body, "code", max_length=CODE_MAX), password,
        client_address(request),
    )  # fmt: skip
    return json_response({"recovery_codes": codes})


async def totp_disable(request: web.Request) -> web.Response:
    """Turn two-factor off with the password and a current (or recovery) code."""
    body = await read_object(request)
    password, _code = _reauth(body)
    await request.app[TWO_FACTOR].disable(
        principal_of(request), string(body, "code", max_length=CODE_MAX), password,
        client_address(request),
    )  # fmt: skip
    return web.Response(status=204)


async def regenerate_recovery_codes(request: web.Request) -> web.Response:
    """New recovery codes; the old ones stop working."""
    body = await read_object(request)
    password, code = _reauth(body)
    codes = await request.app[TWO_FACTOR].regenerate_recovery_codes(
        principal_of(request), password, code, client_address(request)
    )
    return json_response({"recovery_codes": codes})


async def get_me(request: web.Request) -> web.Response:
    """The caller's profile."""
    return json_response(user_json(principal_of(request).user))


async def update_me(request: web.Request) -> web.Response:
    """Change the caller's display name or email."""
    body = await read_object(request)
    changes = ProfileChanges(
        display_name=optional_string(body, "display_name", max_length=1000),
        email=optional_string(body, "email", max_length=1000),
        current_password=optional_string(body, "current_password", max_length=PASSWORD_MAX),
        second_factor=optional_string(body, "totp", max_length=CODE_MAX),
    )
    principal = principal_of(request)
    user = await request.app[ACCOUNTS].update_profile(principal, changes, client_address(request))
    if user.email != principal.user.email:  # a new address: it needs its own confirmation
        await request.app[ACCOUNT_MAIL].send_verification(user)
    return json_response(user_json(user))


P = "/api/v1"
# fmt: off
ENDPOINTS = (
    Endpoint("POST", f"{P}/auth/register", register, "register", "Create an account", "auth",
             auth=False, request="Credentials", responses={201: "User"},
             errors=(403, 409, 429, 503)),
    Endpoint("POST", f"{P}/auth/login", login, "login", "Log in", "auth", auth=False,
             request="Login", responses={200: "TokenPair"}, errors=(401, 403, 429, 503)),
    Endpoint("POST", f"{P}/auth/refresh", refresh, "refresh", "Rotate a refresh token", "auth",
             auth=False, request="RefreshRequest", responses={200: "TokenPair"}, errors=(401,)),
    Endpoint("POST", f"{P}/auth/logout", logout, "logout", "End a session", "auth", auth=False,
             request="RefreshRequest", responses={204: None}),
    Endpoint("POST", f"{P}/auth/logout-all", logout_all, "logoutAll", "End every session",
             "auth", responses={204: None}),
    Endpoint("GET", f"{P}/auth/sessions", list_sessions, "listSessions",
             "Your live sessions (logins)", "auth", responses={200: "SessionList"}),
    Endpoint("DELETE", f"{P}/auth/sessions/{{session_id}}", revoke_session, "revokeSession",
             "End one of your sessions", "auth", responses={204: None}),
    Endpoint("POST", f"{P}/auth/password", change_password, "changePassword",
             "Change the password (ends other sessions)", "auth", request="PasswordChange",
             responses={204: None}, errors=(429, 503)),
    Endpoint("POST", f"{P}/auth/totp", totp_enroll, "enrollTotp",
             "Start TOTP enrollment (re-authenticates)", "auth", request="Reauth",
             responses={201: "TotpEnrollment"}, errors=(409, 429, 503)),
    Endpoint("POST", f"{P}/auth/totp/confirm", totp_confirm, "confirmTotp",
             "Enable TOTP with a code; answers the recovery codes", "auth",
             request="TotpConfirm", responses={200: "RecoveryCodes"}, errors=(403, 409, 429)),
    Endpoint("POST", f"{P}/auth/totp/disable", totp_disable, "disableTotp",
             "Disable TOTP (password and a code)", "auth", request="TotpConfirm",
             responses={204: None}, errors=(409, 429)),
    Endpoint("POST", f"{P}/auth/recovery-codes", regenerate_recovery_codes,
             "regenerateRecoveryCodes", "New recovery codes (re-authenticates)", "auth",
             request="Reauth", responses={200: "RecoveryCodes"}, errors=(409, 429)),
    Endpoint("GET", f"{P}/users/me", get_me, "getMe", "Your profile", "users",
             responses={200: "User"}),
    Endpoint("PATCH", f"{P}/users/me", update_me, "updateMe",
             "Change your profile (a new e-mail re-authenticates)", "users",
             request="ProfileUpdate", responses={200: "User"}, errors=(409, 429)),
)
# fmt: on
