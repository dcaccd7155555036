"""Wiring of notification delivery into the app: the outbox worker and its senders, the
notifier services raise notifications with, and the webhook HTTP client's lifetime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..config import Config
from ..delivery.mail import MailSender
from ..delivery.outbox_worker import OutboxWorker
from ..delivery.senders import HomeAssistantSender
from ..delivery.webhook import WebhookSender, new_http_session
from ..models import Channel
from ..services.notifier import Notifier, Raised
from .keys import OUTBOX

WEBHOOK_HTTP = web.AppKey("webhook_http", aiohttp.ClientSession)


def add_delivery(
    app: web.Application, engine: AsyncEngine, clock: Clock, config: Config
) -> tuple[OutboxWorker, Notifier, WebhookSender]:
    """The outbox worker (run while the app runs), the notifier and the webhook sender."""
    assert config.keyring is not None
    worker = OutboxWorker(engine, clock, config.delivery)
    webhooks = WebhookSender(
        engine,
        clock,
        config.keyring.device_ingest,
        lambda: app[WEBHOOK_HTTP],
        allow_private=config.delivery.webhook_allow_private,
    )
    worker.register(Channel.WEBHOOK, webhooks)
    if config.smtp.enabled:
        worker.register(Channel.EMAIL, MailSender(config.smtp, clock, config.base_url))
    notifier = Notifier(config, lambda channel: channel in worker.senders)

    async def wake_worker(raised: Raised) -> None:
        if raised.queued:
            worker.wake()

    notifier.listen(wake_worker)
    app.cleanup_ctx.append(_run_delivery)
    return worker, notifier, webhooks


def deliver_to_home_assistant_with(app: web.Application, sender: HomeAssistantSender) -> None:
    """The Home Assistant channel's one hook (the HA link, issue #13, calls it at startup):
    from then on alerts go to each home's linked hub as its owner's preferences say."""
    app[OUTBOX].register(Channel.HOME_ASSISTANT, sender)


async def _run_delivery(app: web.Application) -> AsyncIterator[None]:
    config = app[OUTBOX].settings
    app[WEBHOOK_HTTP] = new_http_session(
        allow_private=config.webhook_allow_private, timeout_seconds=config.webhook_timeout_seconds
    )
    task = asyncio.create_task(app[OUTBOX].run(), name="greennet-outbox")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await app[WEBHOOK_HTTP].close()
