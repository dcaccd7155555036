"""API requests beyond the admission limit wait in arrival order (SQLAlchemy's asyncio pool
alone lets newcomers overtake waiters, which starved some requests past client timeouts)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from greennet_cloud.web.admission import api_admission


async def test_api_requests_past_the_limit_run_in_arrival_order(socket_enabled: None) -> None:
    running, peak, started = 0, 0, []
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        started.append(int(request.query["n"]))
        await release.wait()
        running -= 1
        return web.Response(text="ok")

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="up")

    app = web.Application(middlewares=[api_admission(2)])
    app.router.add_get("/api/v1/slow", handler)
    app.router.add_get("/healthz", health)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        calls = []
        for n in range(8):
            calls.append(asyncio.create_task(client.get(f"/api/v1/slow?n={n}")))
            await asyncio.sleep(0.01)  # arrive one after another
        assert (await client.get("/healthz")).status == 200  # not behind the gate
        assert started == [0, 1]
        release.set()
        replies = await asyncio.gather(*calls)
    assert [reply.status for reply in replies] == [200] * 8
    assert started == list(range(8))
    assert peak == 2
