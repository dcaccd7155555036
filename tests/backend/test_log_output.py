"""Log output (log_output.py): the same lines as `logging`'s own formatter and stream
handler, in order; on the event loop written once per loop turn, elsewhere at once."""

from __future__ import annotations

import asyncio
import io
import logging
import threading

from greennet_cloud.cli import LOG_FORMAT
from greennet_cloud.log_output import LoopTurnStreamHandler, SecondsOnceFormatter


class CountingStream(io.StringIO):
    """A text stream that counts its `write` calls."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def record(message: str, created: float) -> logging.LogRecord:
    made = logging.LogRecord("greennet_cloud.test", logging.INFO, __file__, 1, message, (), None)
    made.created, made.msecs = created, (created - int(created)) * 1000 // 1
    made.request_id = "req-1"
    return made


def test_lines_match_the_standard_formatter_across_seconds() -> None:
    standard, cached = logging.Formatter(LOG_FORMAT), SecondsOnceFormatter(LOG_FORMAT)
    for created in (1_764_624_615.123, 1_764_624_615.999, 1_764_624_616.0, 1_764_624_677.5):
        assert cached.format(record("hello", created)) == standard.format(record("hello", created))


async def test_on_the_loop_one_turns_lines_are_written_together_in_order() -> None:
    stream = CountingStream()
    handler = LoopTurnStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for n in range(5):
        handler.handle(record(f"line {n}", 1_764_624_615.0))
    assert stream.getvalue() == ""  # not before the loop turns
    await asyncio.sleep(0)
    assert stream.getvalue() == "".join(f"line {n}\n" for n in range(5))
    assert stream.writes == 1
    handler.handle(record("next turn", 1_764_624_615.0))
    await asyncio.sleep(0)
    assert stream.getvalue().endswith("line 4\nnext turn\n")
    assert stream.writes == 2


async def test_a_line_from_another_thread_writes_the_pending_ones_first() -> None:
    stream = CountingStream()
    handler = LoopTurnStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record("on the loop", 1_764_624_615.0))
    worker = threading.Thread(target=handler.handle, args=(record("from a worker", 0.0),))
    worker.start()
    worker.join()
    assert stream.getvalue() == "on the loop\nfrom a worker\n"  # at once, in order
    await asyncio.sleep(0)
    assert stream.getvalue() == "on the loop\nfrom a worker\n"


def test_without_a_loop_each_line_is_written_at_once() -> None:
    stream = CountingStream()
    handler = LoopTurnStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record("alone", 0.0))
    assert stream.getvalue() == "alone\n"


def test_a_loop_that_closed_before_its_flush_does_not_hold_later_lines() -> None:
    stream = CountingStream()
    handler = LoopTurnStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    first = asyncio.new_event_loop()

    def log_and_stop() -> None:
        handler.handle(record("first loop", 0.0))
        first.stop()  # before the turn that would have flushed

    first.call_soon(log_and_stop)
    first.run_forever()
    first.close()
    assert stream.getvalue() == ""

    async def log(message: str) -> None:
        handler.handle(record(message, 0.0))
        await asyncio.sleep(0)

    asyncio.run(log("second loop"))
    assert stream.getvalue() == "first loop\nsecond loop\n"
