"""Time source. Injected everywhere so tests move time instead of sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

type Clock = Callable[[], datetime]
# waits that throttling imposes; tests pass one that moves their clock instead of sleeping
type Sleep = Callable[[float], Awaitable[None]]
real_sleep: Sleep = asyncio.sleep


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
