"""Awaiting several coroutines at once without leaving any of them behind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


async def gather_all[T](*awaitables: Awaitable[T]) -> list[T]:
    """`asyncio.gather`, but every awaitable has finished when this returns or raises.

    Plain `gather` returns at the first exception, and when it is cancelled, at the first
    child whose cancellation completes: the others keep running unowned. An outbox send
    left that way was still closing its database connection after the app had disposed of
    the engine, and waited for ever (a test run hung at its event loop's close). Here every
    child is waited for, then the first exception, if any, is raised (a cancellation of
    this call included).
    """
    results: list[Any] = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
