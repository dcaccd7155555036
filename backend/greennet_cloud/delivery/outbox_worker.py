"""The outbox worker: claims due messages, sends them, and records the outcome. Every
process runs one; they share the work through the database (see storage/outbox.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..config import Delivery
from ..models import Channel, OutboxMessage
from ..services.base import new_id
from ..storage import outbox as outbox_store
from ..tasks import gather_all
from .senders import DeliveryFailed, Sender

_LOGGER = logging.getLogger(__name__)
KEEP_FINISHED = timedelta(days=7)
PURGE_EVERY_SECONDS = 3600.0


class OutboxWorker:
    """Sends what the outbox holds, once, with retries and backoff."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        settings: Delivery,
        senders: Mapping[Channel, Sender] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.senders: dict[Channel, Sender] = dict(senders or {})
        self._wake = asyncio.Event()
        self._last_purge = 0.0

    def register(self, channel: Channel, sender: Sender) -> None:
        """Deliver `channel` with `sender` from now on (messages queued before wait for it)."""
        self.senders[channel] = sender

    def wake(self) -> None:
        """Look for due messages now instead of at the next poll."""
        self._wake.set()

    async def process_due(self) -> int:
        """Claim one batch of due messages and try each once; return how many were tried."""
        if not self.senders:
            return 0
        now = self.clock()
        claim_id = new_id()
        async with self.engine.begin() as conn:
            batch = await outbox_store.claim_due(
                conn,
                now=now,
                lease_until=now + timedelta(seconds=self.settings.lease_seconds),
                claim_id=claim_id,
                channels=self.senders,
                limit=self.settings.batch_size,
            )
        if batch:
            await gather_all(*(self._deliver(message, claim_id) for message in batch))
        return len(batch)

    async def drain(self) -> int:
        """Process batches until nothing is due; return how many messages were tried."""
        total = 0
        while tried := await self.process_due():
            total += tried
        return total

    async def run(self) -> None:
        """Deliver until cancelled: on every wake-up and at least every poll interval."""
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                await self.drain()
                if loop.time() - self._last_purge >= PURGE_EVERY_SECONDS:
                    await self._purge()
                    self._last_purge = loop.time()
            except (SQLAlchemyError, OSError) as err:
                _LOGGER.warning("outbox: database unavailable, retrying: %s", err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.poll_seconds)

    async def _deliver(self, message: OutboxMessage, claim_id: str) -> None:
        sender = self.senders[message.channel]
        try:
            # a send never outlives half its lease, so no other process can take it meanwhile
            async with asyncio.timeout(self.settings.lease_seconds / 2):
                await sender.send(message)
        except TimeoutError:
            await self._failed(message, claim_id, DeliveryFailed("timed out"))
            return
        except DeliveryFailed as failed:
            await self._failed(message, claim_id, failed)
            return
        except Exception:
            _LOGGER.exception("outbox: %s sender crashed on %s", message.channel, message.id)
            await self._failed(message, claim_id, DeliveryFailed("internal error"))
            return
        async with self.engine.begin() as conn:
            kept = await outbox_store.finish(
                conn, message.id, claim_id, state=outbox_store.SENT, now=self.clock()
            )
        if not kept:
            _LOGGER.warning("outbox: message %s was sent after its claim had lapsed", message.id)

    async def _failed(self, message: OutboxMessage, claim_id: str, failed: DeliveryFailed) -> None:
        now = self.clock()
        delay = min(
            self.settings.retry_base_seconds * 2 ** max(0, message.attempts - 1),
            self.settings.retry_max_seconds,
        )
        if failed.retry_after is not None:
            delay = min(max(delay, failed.retry_after), self.settings.retry_max_seconds)
        retry_at = now + timedelta(seconds=delay)
        too_old = retry_at - message.created_at > timedelta(
            seconds=self.settings.give_up_after_seconds
        )
        async with self.engine.begin() as conn:
            if failed.permanent or too_old:
                await outbox_store.finish(
                    conn,
                    message.id,
                    claim_id,
                    state=outbox_store.FAILED,
                    now=now,
                    error=failed.reason,
                )
            else:
                await outbox_store.retry_later(
                    conn, message.id, claim_id, at=retry_at, error=failed.reason
                )
        if failed.permanent or too_old:
            _LOGGER.warning(
                "outbox: gave up on %s message %s for user %s after %d attempt(s): %s",
                message.channel,
                message.id,
                message.user_id,
                message.attempts,
                failed.reason,
            )
        else:
            _LOGGER.info(
                "outbox: %s message %s failed (attempt %d), retry in %d s: %s",
                message.channel,
                message.id,
                message.attempts,
                delay,
                failed.reason,
            )

    async def _purge(self) -> None:
        async with self.engine.begin() as conn:
            purged = await outbox_store.purge_finished(conn, self.clock() - KEEP_FINISHED)
        if purged:
            _LOGGER.info("outbox: purged %d finished messages", purged)
