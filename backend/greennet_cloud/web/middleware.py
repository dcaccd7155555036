"""Request ids and the one error shape: `{"error": code, "message": text}`, never a traceback."""

from __future__ import annotations

import contextvars
import itertools
import logging
import re
import secrets

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..errors import (
    BadGateway,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotConfigured,
    NotFound,
    Offline,
    PayloadTooLarge,
    Throttled,
    TimedOut,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from .answers import json_response
from .keys import REQUEST_ID

_LOGGER = logging.getLogger(__name__)
REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# ids only correlate log lines, so a random per-process prefix and a counter do (uuid4 made a
# getrandom() system call per request)
_ID_PREFIX = secrets.token_hex(8)
_id_counter = itertools.count(1)

STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    Throttled: 429,
    UnsupportedMediaType: 415,
    Unavailable: 503,
    NotConfigured: 503,
    Offline: 503,
    BadGateway: 502,
    TimedOut: 504,
}
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON error in the one shape every failure uses."""
    return json_response({"error": code, "message": message}, status=status, headers=headers)


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What every request gets, in one layer (each middleware is one more coroutine per
    request): an id (echoed, and on every log line it causes), the one error shape for
    domain errors and HTTP exceptions (anything unexpected is logged), and
    `Cache-Control: no-store` on API answers: tokens, secrets and personal data must never
    sit in a browser's or a proxy's cache (ASVS 14.3)."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = (
        incoming
        if _REQUEST_ID_RE.fullmatch(incoming)
        else f"{_ID_PREFIX}{next(_id_counter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"
    )
    request[REQUEST_ID] = request_id
    request_id_var.set(request_id)
    try:
        response = await handler(request)
    except Exception as err:
        response = _error_answer(request, err)  # (re-raises redirects and the like)
    response.headers[REQUEST_ID_HEADER] = request_id
    if request.path.startswith(API_PREFIX):
        response.headers["Cache-Control"] = "no-store"
    return response


API_PREFIX = "/api/"


def _error_answer(request: web.Request, err: Exception) -> web.StreamResponse:
    """Map a domain error or HTTP exception to the error shape; log anything unexpected
    (called from the `except` block, so the traceback is at hand)."""
    if isinstance(err, DomainError):
        headers: dict[str, str] = {}
        status = next(s for kind, s in STATUS_OF.items() if isinstance(err, kind))
        if isinstance(err, Throttled | Unavailable):
            headers["Retry-After"] = str(err.retry_after)
        elif isinstance(err, Unauthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="greennet"'
        return error_response(status, err.code, err.message, headers)
    if isinstance(err, web.HTTPException):
        if err.status < 400:
            raise err
        headers = {key: value for key, value in err.headers.items() if key in {"Allow"}}
        code = HTTP_CODES.get(err.status, "http_error")
        message = (
            err.reason if err.text is None or err.text.startswith(str(err.status)) else err.text
        )
        return error_response(err.status, code, message, headers)
    if isinstance(err, OperationalError | InterfaceError | PoolTimeout | OSError):
        return _database_unavailable(request, err)
    if isinstance(err, DBAPIError) and err.connection_invalidated:
        # the pool found the server gone and starts afresh
        return _database_unavailable(request, err)
    _LOGGER.exception("unhandled error in %s %s", request.method, request.path)
    return error_response(500, "internal_error", "internal server error")


def _database_unavailable(request: web.Request, err: Exception) -> web.Response:
    """503 the client may retry at once: the database is unreachable or overloaded."""
    _LOGGER.warning("database unavailable in %s %s: %s", request.method, request.path, err)
    return error_response(
        503, "database_unavailable", "the database is unavailable; retry", {"Retry-After": "1"}
    )


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class MalformedRequestFilter(logging.Filter):
    """aiohttp logs every request its parser refuses as an ERROR with a traceback that
    quotes the offending bytes (a header line may hold a token). Anyone can send those: make
    each one line at WARNING, with the parser's reason and none of the request's bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and error.code == 400:
            reason = str(error.message).split("\n", 1)[0].strip().rstrip(":")
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "refused a malformed HTTP request from %s: %s"
            record.args = (peer, reason)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class AccessLogger(AbstractAccessLogger):
    """One access line per request, with its request id (never headers or bodies)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        request_id = request.get(REQUEST_ID, "-")
        self.logger.info(
            '%s "%s %s" %s %.1fms',
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
            extra={"request_id": request_id},
        )
