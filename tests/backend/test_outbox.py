"""The outbox shared by several app instances on one database: every message is sent
exactly once and the work is shared (FOR UPDATE SKIP LOCKED on PostgreSQL); backoff grows
and is capped; an undeliverable message is given up after the configured time; a settings
mistake that could send twice is refused at startup."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from greennet_cloud import Config
from greennet_cloud.config import Delivery
from greennet_cloud.models import Channel, NotificationType, OutboxMessage
from greennet_cloud.services.notifier import NotificationDraft
from greennet_cloud.storage import outbox as outbox_store
from greennet_cloud.web.keys import ENGINE, NOTIFIER, OUTBOX

from .api import Account, Api
from .conftest import ApiFactory, FakeClock
from .notifying import app_of, eventually, eventually_async, outbox_of, states
from .webhook_receiver import WebhookReceiver

W = "/api/v1/notifications/webhook"


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncIterator[WebhookReceiver]:
    """A webhook receiver on loopback that takes a little while to answer."""
    found = WebhookReceiver(delay=0.05)
    await found.start()
    yield found
    await found.close()


class CountingSender:
    """Passes every message to the app's real webhook sender and counts what it sent."""

    def __init__(self, api: Api) -> None:
        self.real = app_of(api)[OUTBOX].senders[Channel.WEBHOOK]
        self.sent: list[str] = []
        app_of(api)[OUTBOX].register(Channel.WEBHOOK, self)

    async def send(self, message: OutboxMessage) -> None:
        await self.real.send(message)
        self.sent.append(message.id)


async def queue_silently(api: Api, user: Account, count: int, clock: FakeClock) -> None:
    """Raise `count` notifications without waking any worker (as another process would)."""
    app = app_of(api)
    async with app[ENGINE].begin() as conn:
        for number in range(count):
            draft = NotificationDraft(
                NotificationType.SHARE_RECEIVED, f"Message {number}", "body", {"n": number}
            )
            await app[NOTIFIER].notify(conn, [user.id], draft, clock())


async def test_two_instances_share_the_outbox_and_send_each_message_once(
    make_api: ApiFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    settings = Delivery(webhook_allow_private=True, batch_size=5, poll_seconds=60)
    first = await make_api(delivery=settings)
    second = await make_api(delivery=settings)
    user = await first.account("user@example.com")
    hooked = await first.call("PUT", W, token=user.access, json_body={"url": receiver.url})
    assert hooked.status == 201
    counters = [CountingSender(first), CountingSender(second)]
    await queue_silently(first, user, 60, clock)

    app_of(first)[OUTBOX].wake()
    app_of(second)[OUTBOX].wake()
    await eventually(lambda: len(receiver.deliveries) >= 60, what="60 deliveries")

    async def all_sent() -> bool:
        return await states(first, user.id) == ["sent"] * 60

    await eventually_async(all_sent, what="every message recorded as sent")
    clock.advance(3600)
    for api in (first, second):
        await app_of(api)[OUTBOX].drain()
    received = Counter(receiver.ids())
    assert len(received) == 60
    assert set(received.values()) == {1}, [i for i, n in received.items() if n > 1]
    assert len(counters[0].sent) + len(counters[1].sent) == 60
    assert counters[0].sent, "both instances should have taken a share"
    assert counters[1].sent, "both instances should have taken a share"
    assert set(counters[0].sent).isdisjoint(counters[1].sent)


async def test_backoff_doubles_up_to_the_cap_and_a_message_is_given_up_in_the_end(
    make_api: ApiFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    api = await make_api(
        delivery=Delivery(webhook_allow_private=True, retry_base_seconds=10,
                          retry_max_seconds=40, give_up_after_seconds=200, poll_seconds=60),
    )  # fmt: skip
    user = await api.account("user@example.com")
    await api.call("PUT", W, token=user.access, json_body={"url": receiver.url})
    receiver.status = 500
    await queue_silently(api, user, 1, clock)
    start = clock()
    waits = []
    worker = app_of(api)[OUTBOX]
    while True:
        assert await worker.drain() == 1
        [entry] = await outbox_of(api, user.id)
        if entry.state != "pending":
            break
        async with app_of(api)[ENGINE].connect() as conn:
            due = await outbox_store.next_due(conn, [Channel.WEBHOOK])
        assert due is not None
        waits.append(int((due - clock()).total_seconds()))
        assert await worker.drain() == 0  # not due before its time
        clock.advance(waits[-1])
    # 10+20+40+40+40+40 = 190 s; the next retry (230 s) would be past give-up (200 s)
    assert waits == [10, 20, 40, 40, 40, 40]
    assert entry.state == "failed"
    assert entry.last_error == "webhook answered 500"
    assert (clock() - start).total_seconds() == sum(waits) <= 200
    assert len(receiver.deliveries) == len(waits) + 1


async def test_a_retry_after_from_the_receiver_is_honoured(
    make_api: ApiFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    api = await make_api(delivery=Delivery(webhook_allow_private=True, poll_seconds=60))
    user = await api.account("user@example.com")
    await api.call("PUT", W, token=user.access, json_body={"url": receiver.url})
    receiver.status = 429
    receiver.headers = {"Retry-After": "600"}
    await queue_silently(api, user, 1, clock)
    await app_of(api)[OUTBOX].drain()
    clock.advance(599)
    assert await app_of(api)[OUTBOX].drain() == 0
    clock.advance(1)
    receiver.status = 200
    assert await app_of(api)[OUTBOX].drain() == 1
    assert await states(api, user.id) == ["sent"]


def test_a_lease_shorter_than_two_send_timeouts_is_refused(tmp_path: object) -> None:
    config = Config(secret="s" * 40, delivery=Delivery(lease_seconds=50))
    with pytest.raises(ValueError, match="lease"):
        config.resolve()
    assert dataclasses.replace(config, delivery=Delivery(lease_seconds=60)).resolve()


class StallingSender:
    """Never finishes a send; once cancelled, the first send winds down at once and the
    others take a moment (as a send closing a database connection does)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.wound_down: list[str] = []

    async def send(self, message: OutboxMessage) -> None:
        self.started.append(message.id)
        first = len(self.started) == 1
        try:
            await asyncio.Event().wait()
        finally:
            if not first:
                await asyncio.sleep(0.05)
            self.wound_down.append(message.id)


async def test_stopping_the_worker_mid_batch_waits_for_every_send_to_wind_down(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    # asyncio.gather returned at the first cancelled send and left the others running after
    # the app had closed its database: one test run hung for ever at its loop's close.
    api = await make_api(delivery=Delivery(webhook_allow_private=True, batch_size=5))
    user = await api.account("stall@example.com")
    hooked = await api.call("PUT", W, token=user.access, json_body={"url": "http://127.0.0.1:9/"})
    assert hooked.status == 201
    sender = StallingSender()
    worker = app_of(api)[OUTBOX]
    worker.register(Channel.WEBHOOK, sender)
    await queue_silently(api, user, 3, clock)
    batch = asyncio.create_task(worker.process_due())
    await eventually(lambda: len(sender.started) == 3, what="three sends under way")
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    assert sorted(sender.wound_down) == sorted(sender.started)
