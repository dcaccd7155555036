"""`/api/v1/users`: account administration (admins only)."""

from __future__ import annotations

from aiohttp import web

from ..models import Role
from .answers import json_response
from .body import choice, optional_bool, optional_string, read_object, string
from .endpoints import Endpoint, principal_of
from .keys import ADMINISTRATION
from .params import client_address
from .routes_auth import CODE_MAX, PASSWORD_MAX
from .serialize import user_json


async def list_users(request: web.Request) -> web.Response:
    """Every account."""
    users = await request.app[ADMINISTRATION].list_users(principal_of(request))
    return json_response([user_json(user) for user in users])


async def get_user(request: web.Request) -> web.Response:
    """One account."""
    user = await request.app[ADMINISTRATION].get_user(
        principal_of(request), request.match_info["user_id"]
    )
    return json_response(user_json(user))


async def update_user(request: web.Request) -> web.Response:
    """Change an account's role or disable it."""
    body = await read_object(request)
    user = await request.app[ADMINISTRATION].update_user(
        principal_of(request),
        request.match_info["user_id"],
        choice(body, "role", Role, required=False),
        optional_bool(body, "disabled"),
    )
    return json_response(user_json(user))


async def reset_two_factor(request: web.Request) -> web.Response:
    """Turn an account's two-factor off (it lost its phone and codes)."""
    body = await read_object(request)
    await request.app[ADMINISTRATION].reset_two_factor(
        principal_of(request), request.match_info["user_id"],
        string(body, "current_password", max_length=PASSWORD_MAX),
        optional_string(body, "totp", max_length=CODE_MAX), client_address(request),
    )  # fmt: skip
    return web.Response(status=204)


async def reset_password(request: web.Request) -> web.Response:
    """Give an account a new password; its sessions end."""
    body = await read_object(request)
    await request.app[ADMINISTRATION].reset_password(
        principal_of(request), request.match_info["user_id"],
        string(body, "current_password", max_length=PASSWORD_MAX),
        optional_string(body, "totp", max_length=CODE_MAX),
        string(body, "new_password", max_length=PASSWORD_MAX), client_address(request),
    )  # fmt: skip
    return web.Response(status=204)


async def delete_user(request: web.Request) -> web.Response:
    """Delete an account and everything it owns."""
    await request.app[ADMINISTRATION].delete_user(
        principal_of(request), request.match_info["user_id"]
    )
    return web.Response(status=204)


P = "/api/v1"
# fmt: off
ENDPOINTS = (
    Endpoint("GET", f"{P}/users", list_users, "listUsers", "List accounts (admin)", "users",
             responses={200: "UserList"}, errors=(403,)),
    Endpoint("GET", f"{P}/users/{{user_id}}", get_user, "getUser", "One account (admin)",
             "users", responses={200: "User"}, errors=(403,)),
    Endpoint("PATCH", f"{P}/users/{{user_id}}", update_user, "updateUser",
             "Change role or disable (admin)", "users", request="UserAdminUpdate",
             responses={200: "User"}, errors=(403, 409)),
    Endpoint("POST", f"{P}/users/{{user_id}}/reset-two-factor", reset_two_factor,
             "resetTwoFactor", "Turn an account's two-factor off (admin, re-authenticates)",
             "users", request="Reauth", responses={204: None}, errors=(403, 429)),
    Endpoint("POST", f"{P}/users/{{user_id}}/reset-password", reset_password,
             "resetPassword", "Set an account's password (admin, re-authenticates)", "users",
             request="AdminPasswordReset", responses={204: None}, errors=(403, 409, 429)),
    Endpoint("DELETE", f"{P}/users/{{user_id}}", delete_user, "deleteUser",
             "Delete an account (admin)", "users", responses={204: None}, errors=(403, 409)),
)
# fmt: on
