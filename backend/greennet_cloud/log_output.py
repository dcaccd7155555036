"""Log output cheap enough for one access line per request.

With `logging`'s defaults, the access line cost about as much CPU as aiohttp's whole answer
to a request (bench/RESULTS.md, third pass): a stack walk for the caller, thread and
process lookups, `time.localtime` + `strftime` per record, and a `write` + `flush` system
call per line. What stays: one line per record, in order, in the same format. What changes:

- records carry no caller, thread or process information (the format uses none; these are
  the switches the logging documentation lists under "Optimization");
- the time stamp's seconds are formatted once per second;
- records emitted on the event loop's thread are written together once per loop turn (one
  system call for all the lines of that turn), before the loop handles the next events; a
  record from any other thread writes what is pending and itself at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TextIO


def lean_records() -> None:
    """Stop `logging` from recording callers, threads and processes (process-wide)."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.logAsyncioTasks = False  # type: ignore[attr-defined]


class SecondsOnceFormatter(logging.Formatter):
    """`logging.Formatter` whose `asctime` (default format) is built once per second."""

    MSEC_FORMAT = "%s,%03d"  # logging's own default

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second = -1
        self._text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return self.MSEC_FORMAT % (self._text, record.msecs)


class LoopTurnStreamHandler(logging.StreamHandler[TextIO]):
    """A stream handler writing the lines of one event-loop turn with one `write`."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._flush_on: asyncio.AbstractEventLoop | None = None  # a flush is scheduled there

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on a loop's thread: write now
            self.flush()
            return
        if self._flush_on is not loop:  # (a loop closed before its flush ran: schedule anew)
            self._flush_on = loop
            loop.call_soon(self.flush)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._flush_on = None
            if self._pending:
                try:
                    self.stream.write("".join(self._pending))
                finally:
                    self._pending.clear()
            super().flush()
