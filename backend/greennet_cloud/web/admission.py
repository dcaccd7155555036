"""API requests in arrival order once the database pool is busy.

SQLAlchemy's asyncio pool hands connections out through an `asyncio.Queue`, which is not
fair under contention: a newcomer can take the connection a woken waiter was promised, and
that waiter queues again at the back. At 200 connections on a 10-connection pool some
requests waited past any client's timeout (bench/RESULTS.md). An `asyncio.Semaphore` is
FIFO: API requests beyond `limit` wait there, in order, so few ever contend for the pool.
`limit` stays above the pool (and the password workers' queue) so that requests busy with
something else, such as a login waiting for argon2, do not hold reads back.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

LONG_LIVED = frozenset({"/api/v1/link"})


def api_admission(limit: int) -> Middleware:
    """A middleware letting at most `limit` `/api/` requests run at once, the rest in order."""
    gate = asyncio.Semaphore(limit)

    @web.middleware
    async def admission(request: web.Request, handler: Handler) -> web.StreamResponse:
        # a websocket (the HA link) lives for hours: it must not hold a place in the queue
        if not request.path.startswith("/api/") or request.path in LONG_LIVED:
            return await handler(request)
        async with gate:
            return await handler(request)

    return admission
