"""Signed webhooks: the body for the user's chosen format, Standard Webhooks signature
headers, and a connection that reaches only public addresses (no SSRF into the service's
own network) unless private targets are allowed by configuration."""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
from collections.abc import Callable
from email.header import Header
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

from ..clock import Clock
from ..db.engine import reading
from ..models import OutboxMessage, Webhook, WebhookFormat
from ..security.keyring import KeySet
from ..security.webhook_signature import signed_headers, signing_key
from ..storage import notifications as notification_store
from .senders import DeliveryFailed

USER_AGENT = "GreenNet-Cloud-Webhook/1"
MAX_URL = 2048
TRANSIENT_STATUSES = {408, 425, 429}


class WebhookUrlRefused(ValueError):
    """The URL is not one GreenNet will post to."""


def check_url(url: str, *, allow_private: bool) -> URL:
    """A parsed http(s) URL with a host; IP literals must be public unless allowed."""
    if len(url) > MAX_URL:
        raise WebhookUrlRefused(f"the URL is longer than {MAX_URL} characters")
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        raise WebhookUrlRefused("not a URL") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host or parsed.fragment:
        raise WebhookUrlRefused("the URL must be http:// or https:// with a host, no #fragment")
    if any(ord(char) < 33 for char in url):
        raise WebhookUrlRefused("the URL must not contain spaces or control characters")
    try:
        address = ipaddress.ip_address(parsed.host)
    except ValueError:
        return parsed  # a name: checked again when it is resolved, at every send
    if not allow_private and not _public(address):
        raise WebhookUrlRefused("the URL points to a private, loopback or link-local address")
    return parsed


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global


class PublicOnlyResolver(AbstractResolver):
    """Resolves with getaddrinfo (in a thread), then drops every non-public address, so a
    name that points (or is re-pointed) into a private network cannot be reached."""

    def __init__(self) -> None:
        self._resolver = ThreadedResolver()  # getaddrinfo, as the default connector does

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Public addresses of `host`; `OSError` when it has none."""
        found = await self._resolver.resolve(host, port, family)
        public = [entry for entry in found if _public(ipaddress.ip_address(entry["host"]))]
        if not public:
            raise OSError(errno.EHOSTUNREACH, f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._resolver.close()


def new_http_session(*, allow_private: bool, timeout_seconds: float) -> aiohttp.ClientSession:
    """The client session webhooks are posted with (proxy variables ignored)."""
    # getaddrinfo in a thread either way: aiohttp's default picks aiodns when installed
    resolver = ThreadedResolver() if allow_private else PublicOnlyResolver()
    connector = aiohttp.TCPConnector(resolver=resolver, limit=50)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


def render(webhook_format: WebhookFormat, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """Body and content headers of `event` (an outbox webhook payload) in `webhook_format`."""
    title = str(event.get("title", ""))
    message = str(event.get("message", ""))
    link = str(event.get("url", ""))
    if webhook_format is WebhookFormat.SLACK:
        text = f"*{title}*\n{message}" + (f"\n<{link}|Open GreenNet>" if link else "")
        return json.dumps({"text": text}).encode(), {"Content-Type": "application/json"}
    if webhook_format is WebhookFormat.NTFY:
        headers = {"Content-Type": "text/plain; charset=utf-8", "Title": _header_text(title)}
        if str(event.get("type", "")).startswith("alert_raised"):
            headers["Tags"] = "warning"
            headers["Priority"] = "high"
        if link:
            headers["Click"] = link
        return message.encode(), headers
    return json.dumps(event, separators=(",", ":")).encode(), {"Content-Type": "application/json"}


def _header_text(text: str) -> str:
    """RFC 2047-encode non-ASCII header text (ntfy decodes it)."""
    if text.isascii():
        return text.replace("\r", " ").replace("\n", " ")
    return Header(text, "utf-8").encode()


class WebhookSender:
    """Posts outbox webhook messages to the user's current webhook, signed."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        keys: KeySet,
        session: Callable[[], aiohttp.ClientSession],
        *,
        allow_private: bool,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.keys = keys
        self._session = session
        self.allow_private = allow_private

    async def send(self, message: OutboxMessage) -> None:
        """POST the event; 2xx is success, 408/425/429/5xx and network errors are retried."""
        async with reading(self.engine).begin() as conn:
            webhook = await notification_store.get_webhook(conn, message.recipient)
        if webhook is None:
            raise DeliveryFailed("the webhook was removed", permanent=True)
        await self.post(webhook, message.id, message.payload)

    async def post(self, webhook: Webhook, message_id: str, event: dict[str, Any]) -> None:
        """Sign and POST one event to `webhook`."""
        try:
            url = check_url(webhook.url, allow_private=self.allow_private)
        except WebhookUrlRefused as err:
            raise DeliveryFailed(str(err), permanent=True) from None
        body, headers = render(webhook.format, event)
        ring_key = self.keys.get(webhook.key_id)
        if ring_key is None:
            raise DeliveryFailed(
                "the webhook's key was retired: rotate the webhook secret", permanent=True
            )
        key = signing_key(ring_key.material, webhook.user_id, webhook.nonce)
        headers |= signed_headers(key, message_id, int(self.clock().timestamp()), body)
        try:
            async with self._session().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
                await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
            # ValueError: a name the IDNA codec refuses (a label or the whole name too long)
            raise DeliveryFailed(f"webhook unreachable: {err or type(err).__name__}") from None
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            raise DeliveryFailed(
                f"webhook answered {status}: redirects are not followed", permanent=True
            )
        transient = status >= 500 or status in TRANSIENT_STATUSES
        raise DeliveryFailed(
            f"webhook answered {status}", permanent=not transient, retry_after=retry_after
        )


def _retry_after(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())
