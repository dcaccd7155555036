"""Relay commands waiting for their plug to report the state they asked for."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RelayConfirmations:
    """Pending relay commands per plug; a report of the wanted state resolves them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Nothing pending yet."""
        self._loop = loop
        self._pending: dict[str, list[tuple[bool, asyncio.Future[None]]]] = {}

    @contextmanager
    def expect(self, plug_id: str, on: bool) -> Iterator[asyncio.Future[None]]:
        """A future resolved when the plug reports `on`; forgotten when the block ends."""
        waiter = (on, self._loop.create_future())
        waiters = self._pending.setdefault(plug_id, [])
        waiters.append(waiter)
        try:
            yield waiter[1]
        finally:
            # Our own list: `fail_all` may have emptied the map meanwhile.
            waiters.remove(waiter)
            if not waiters and self._pending.get(plug_id) is waiters:
                del self._pending[plug_id]

    def observed(self, plug_id: str, on: bool) -> None:
        """The plug reported its relay (`relay` topic or telemetry)."""
        for want, future in self._pending.get(plug_id, ()):
            if want == on and not future.done():
                future.set_result(None)

    def fail_all(self, error: Callable[[], Exception]) -> None:
        """Every pending command fails with a fresh `error()` (the hub is stopping)."""
        for waiters in self._pending.values():
            for _, future in waiters:
                if not future.done():
                    future.set_exception(error())
        self._pending.clear()
