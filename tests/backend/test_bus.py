"""The process-wide bus: every subscriber in every process hears each message, on SQLite
(in-process hub) and on PostgreSQL (LISTEN/NOTIFY, two buses standing for two processes)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from greennet_cloud.bus import MAX_MESSAGE_BYTES, Bus, Message, create_bus
from sqlalchemy.engine import make_url

from .postgres import terminate_other_backends

CHANNEL = "greennet_test"
type BusFactory = Callable[[], Awaitable[Bus]]


@pytest.fixture
async def buses(database_url: str) -> AsyncIterator[BusFactory]:
    """Started buses on the test database (one per simulated process)."""
    made: list[Bus] = []

    async def make() -> Bus:
        bus = create_bus(database_url)
        await bus.start()
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


async def listening(bus: Bus, channel: str = CHANNEL) -> asyncio.Queue[Message]:
    """A queue that collects what `bus` delivers on `channel`."""
    queue: asyncio.Queue[Message] = asyncio.Queue()
    await bus.subscribe(channel, queue.put_nowait)
    return queue


async def next_message(queue: asyncio.Queue[Message]) -> Message:
    return await asyncio.wait_for(queue.get(), timeout=5)


def raw_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def test_a_message_reaches_every_subscriber_in_every_process(buses: BusFactory) -> None:
    here, there = await buses(), await buses()
    heard_here, heard_there, also_there = (
        await listening(here),
        await listening(there),
        await listening(there),
    )
    await here.publish(CHANNEL, {"session": "s-1"})
    for queue in (heard_here, heard_there, also_there):
        assert await next_message(queue) == {"session": "s-1"}


async def test_messages_arrive_in_publish_order_and_only_on_their_channel(
    buses: BusFactory,
) -> None:
    here, there = await buses(), await buses()
    heard = await listening(there)
    other = await listening(there, "greennet_other")
    for n in range(20):
        await here.publish(CHANNEL, {"n": n})
    assert [(await next_message(heard))["n"] for _ in range(20)] == list(range(20))
    assert other.empty()


async def test_many_messages_published_at_once_arrive_in_order_in_every_process(
    buses: BusFactory,
) -> None:
    here, there = await buses(), await buses()
    heard_here, heard_there = await listening(here), await listening(there)
    big = "x" * (MAX_MESSAGE_BYTES - 100)  # each near the limit: sent as separate messages
    await here.publish_many(CHANNEL, [{"n": n, "fill": big} for n in range(12)])
    await here.publish_many(CHANNEL, [])
    for queue in (heard_here, heard_there):
        assert [(await next_message(queue))["n"] for _ in range(12)] == list(range(12))
    with pytest.raises(ValueError, match="over"):
        await here.publish_many(CHANNEL, [{"n": 0}, {"fill": big + "x" * 100}])
    await asyncio.sleep(0.2)
    assert heard_there.empty()  # a refused message sends none of its batch


async def test_a_cancelled_subscription_hears_nothing_more(buses: BusFactory) -> None:
    here = await buses()
    cancelled: list[Message] = []
    subscription = await here.subscribe(CHANNEL, cancelled.append)
    kept = await listening(here)
    subscription.cancel()
    subscription.cancel()  # idempotent
    await here.publish(CHANNEL, {"n": 1})
    assert await next_message(kept) == {"n": 1}
    assert cancelled == []


async def test_bad_channels_and_oversized_messages_are_refused(buses: BusFactory) -> None:
    here = await buses()
    for channel in ("", "Upper", "has space", "x" * 64, "semi;colon"):
        with pytest.raises(ValueError, match="channel"):
            await here.publish(channel, {})
        with pytest.raises(ValueError, match="channel"):
            await here.subscribe(channel, lambda _message: None)
    with pytest.raises(ValueError, match="bytes"):
        await here.publish(CHANNEL, {"blob": "x" * MAX_MESSAGE_BYTES})
    heard = await listening(here)
    await here.publish(CHANNEL, {"blob": "x" * (MAX_MESSAGE_BYTES - 20)})
    assert len((await next_message(heard))["blob"]) == MAX_MESSAGE_BYTES - 20


async def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    buses: BusFactory, caplog: pytest.LogCaptureFixture
) -> None:
    here = await buses()

    def explode(_message: Message) -> None:
        raise RuntimeError("subscriber bug")

    await here.subscribe(CHANNEL, explode)
    heard = await listening(here)
    await here.publish(CHANNEL, {"n": 1})
    assert await next_message(heard) == {"n": 1}
    assert "subscriber of greennet_test failed" in caplog.text


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_malformed_notify_is_dropped_with_one_log_line(
    buses: BusFactory, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    here = await buses()
    heard = await listening(here)
    stranger = await asyncpg.connect(raw_dsn(database_url))
    try:
        for payload in ("not json", "[1, 2]", '"a string"'):
            await stranger.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
    finally:
        await stranger.close()
    await here.publish(CHANNEL, {"n": 1})
    assert await next_message(heard) == {"n": 1}
    assert heard.empty()
    dropped = [r for r in caplog.records if "dropped a malformed message" in r.getMessage()]
    assert len(dropped) == 3
    assert all(r.levelno == logging.WARNING for r in dropped)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_dropped_connection_is_reopened_and_the_gap_reported(
    buses: BusFactory, database_url: str
) -> None:
    here, there = await buses(), await buses()
    heard = await listening(there)
    gaps: asyncio.Queue[None] = asyncio.Queue()
    await there.subscribe("greennet_other", lambda _m: None, lambda: gaps.put_nowait(None))
    killed = await terminate_other_backends(database_url)
    assert killed == 2  # each bus holds one dedicated connection
    await asyncio.wait_for(gaps.get(), timeout=10)  # `there` reconnected, lost messages told
    await here.publish(CHANNEL, {"after": "reconnect"})  # `here` reconnects to publish
    assert await next_message(heard) == {"after": "reconnect"}
