"""`/api/v1/auth/verify-email` and `/api/v1/auth/password-reset`: account mail."""

from __future__ import annotations

from aiohttp import web

from .answers import json_response
from .body import read_object, string
from .endpoints import Endpoint, principal_of
from .keys import ACCOUNT_MAIL
from .params import client_address
from .routes_auth import PASSWORD_MAX

RESET_ANSWER = "if an account has this address, a reset link is on its way"


async def verification_status(request: web.Request) -> web.Response:
    """Whether the caller's address is verified."""
    principal = principal_of(request)
    verified = await request.app[ACCOUNT_MAIL].verification_status(principal)
    return json_response({"email": principal.user.email, "verified": verified})


async def resend_verification(request: web.Request) -> web.Response:
    """Mail a new verification link."""
    await request.app[ACCOUNT_MAIL].request_verification(principal_of(request))
    return json_response({"status": "sent"}, status=202)


async def verify_email(request: web.Request) -> web.Response:
    """Confirm an address with the token from the mailed link."""
    body = await read_object(request)
    await request.app[ACCOUNT_MAIL].verify_email(string(body, "token", max_length=200))
    return web.Response(status=204)


async def request_password_reset(request: web.Request) -> web.Response:
    """Mail a reset link (the same answer whether or not the address has an account)."""
    body = await read_object(request)
    await request.app[ACCOUNT_MAIL].request_password_reset(
        string(body, "email", max_length=1000), client_address(request)
    )
    return json_response({"status": RESET_ANSWER}, status=202)


async def reset_password(request: web.Request) -> web.Response:
    """Set a new password with the token from the mailed link; every session ends."""
    body = await read_object(request)
    await request.app[ACCOUNT_MAIL].reset_password(
        string(body, "token", max_length=200),
        string(body, "new_password", max_length=PASSWORD_MAX),
    )
    return web.Response(status=204)


P = "/api/v1/auth"
# fmt: off
ENDPOINTS = (
    Endpoint("GET", f"{P}/verify-email", verification_status, "getEmailVerification",
             "Whether your e-mail address is verified", "auth",
             responses={200: "EmailVerification"}),
    Endpoint("POST", f"{P}/verify-email", verify_email, "verifyEmail",
             "Confirm an address with the mailed token", "auth", auth=False,
             request="TokenOnly", responses={204: None}),
    Endpoint("POST", f"{P}/verify-email/resend", resend_verification, "resendVerification",
             "Mail a new verification link", "auth", responses={202: "Status"},
             errors=(409, 429, 503)),
    Endpoint("POST", f"{P}/password-reset/request", request_password_reset,
             "requestPasswordReset", "Mail a password reset link", "auth", auth=False,
             request="PasswordResetRequest", responses={202: "Status"}, errors=(429, 503)),
    Endpoint("POST", f"{P}/password-reset", reset_password, "resetPasswordWithToken",
             "Set a new password with the mailed token (every session ends)", "auth",
             auth=False, request="PasswordReset", responses={204: None}),
)
# fmt: on
