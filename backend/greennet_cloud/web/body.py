"""Reading JSON bodies and their fields; every problem is a 400 in the error shape."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from aiohttp import web

from ..errors import InvalidInput, UnsupportedMediaType

JSON_MEDIA_TYPE = "application/json"


async def read_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (the size limit applies while reading: 413).

    Only `Content-Type: application/json` is read (415 otherwise): a cross-site page can
    send a "simple" form or text/plain POST without asking, but not a JSON one, so it cannot
    spend a visitor's address on our per-address throttles.
    """
    if request.content_type != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(f"send the body as {JSON_MEDIA_TYPE}", "unsupported_media_type")
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the interpreter's stack ("[[[[…")
        raise InvalidInput("the body is not valid JSON", "invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", "invalid_json")
    return body


def string(body: dict[str, Any], name: str, *, max_length: int = 1000) -> str:
    """A required string field."""
    value = optional_string(body, name, max_length=max_length)
    if value is None:
        raise InvalidInput(f"'{name}' is required", "invalid_input")
    return value


def optional_string(body: dict[str, Any], name: str, *, max_length: int = 1000) -> str | None:
    """A string field that may be absent or null."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string", "invalid_input")
    if len(value) > max_length:
        raise InvalidInput(f"'{name}' is longer than {max_length} characters", "invalid_input")
    return value


def optional_bool(body: dict[str, Any], name: str) -> bool | None:
    """A boolean field that may be absent or null."""
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidInput(f"'{name}' must be true or false", "invalid_input")


def choice[E: StrEnum](
    body: dict[str, Any], name: str, kind: type[E], *, required: bool
) -> E | None:
    """A field holding one of an enum's values."""
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"'{name}' is required", "invalid_input")
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"'{name}' must be one of: {allowed}", "invalid_input") from None
