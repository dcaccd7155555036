"""A webhook receiver for tests: a real HTTP server on loopback that checks each request's
signature the way the docs tell third parties to (Standard Webhooks), independently of the
service's own code, and can answer errors or be slow on demand."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


def standard_webhooks_valid(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """docs/backend.md, "Verifying webhook signatures", written out by hand."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(now - int(timestamp)) > 300:
        return False
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(f"v1,{expected}", offered)
        for offered in headers["webhook-signature"].split()
    )


@dataclass
class Delivery:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    peer_port: int


@dataclass
class WebhookReceiver:
    """Records deliveries; `status` is what it answers, `delay` how long it takes."""

    status: int = 204
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    deliveries: list[Delivery] = field(default_factory=list)
    server: TestServer | None = None
    url: str = ""

    async def start(self) -> str:
        """Serve on a free loopback port; return the webhook URL."""
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        self.url = str(self.server.make_url("/hook"))
        return self.url

    async def close(self) -> None:
        """Stop serving."""
        if self.server is not None:
            await self.server.close()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.deliveries.append(Delivery(dict(request.headers), body, int(peer[1]) if peer else 0))
        return web.Response(status=self.status, headers=self.headers)

    def ids(self) -> list[str]:
        """The webhook-id of every delivery, in arrival order."""
        return [delivery.headers["webhook-id"] for delivery in self.deliveries]
