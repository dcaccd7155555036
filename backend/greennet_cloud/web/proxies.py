"""The client address behind reverse proxies: X-Forwarded-For, believed only from the proxies
listed in `GREENNET_TRUSTED_PROXIES`.

aiohttp-remotes' `XForwardedFiltered` walks the header from the right, skipping trusted
hops, and takes the first address that is not one of them, so a client cannot choose its
own address by sending the header through a proxy that appends to it. On its own it reads
the header from any peer; this middleware hands it only requests whose TCP peer is one of
our proxies, and ignores the header on every other request (a client talking to us directly
could otherwise write any address into it and take a fresh throttle budget per request).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_remotes import XForwardedFiltered


def trusted_proxy_middleware(proxies: Iterable[str]) -> Middleware | None:
    """A middleware setting `request.remote` to the client behind `proxies` (None: none)."""
    networks = [ipaddress.ip_network(proxy, strict=False) for proxy in proxies]
    if not networks:
        return None
    forwarded = XForwardedFiltered(set(networks))

    def from_proxy(request: web.Request) -> bool:
        try:
            peer = ipaddress.ip_address(request.remote or "")
        except ValueError:
            return False
        if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
            peer = peer.ipv4_mapped
        return any(peer in network for network in networks)

    @web.middleware
    async def client_behind_proxies(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not from_proxy(request):
            return await handler(request)
        return await forwarded.middleware(request, handler)

    return client_behind_proxies
