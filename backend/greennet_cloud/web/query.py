"""Query-string values; each has a JSON Schema for the OpenAPI document beside its parser,
and every problem is a 400 in the error shape."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aiohttp import web

from ..errors import InvalidInput

BOOLEAN_SCHEMA: dict[str, Any] = {"type": "string", "enum": ["true", "false"]}
TIME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 with a time zone, e.g. 2026-11-24T08:00:00Z",
}


def limit_schema(maximum: int, default: int) -> dict[str, Any]:
    """Schema of a page size."""
    return {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}


def enum_schema(kind: type[StrEnum]) -> dict[str, Any]:
    """Schema of a query value that is one of an enum's values."""
    return {"type": "string", "enum": [member.value for member in kind]}


def query_int(request: web.Request, name: str, default: int, lowest: int, highest: int) -> int:
    """An integer parameter within [lowest, highest]."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be an integer", "invalid_input") from None
    if not lowest <= value <= highest:
        raise InvalidInput(f"'{name}' must be from {lowest} to {highest}", "invalid_input")
    return value


def query_bool(request: web.Request, name: str) -> bool:
    """`true` / `false` (absent: false)."""
    raw = request.query.get(name, "false")
    if raw not in {"true", "false"}:
        raise InvalidInput(f"'{name}' must be true or false", "invalid_input")
    return raw == "true"


def query_time(request: web.Request, name: str) -> datetime | None:
    """An ISO 8601 time with a zone, as UTC."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be an ISO 8601 time", "invalid_input") from None
    if value.tzinfo is None:
        raise InvalidInput(f"'{name}' needs a time zone (e.g. Z)", "invalid_input")
    return value.astimezone(UTC)


def query_choice[E: StrEnum](request: web.Request, name: str, kind: type[E]) -> E | None:
    """One of an enum's values, or None when absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"'{name}' must be one of: {allowed}", "invalid_input") from None
