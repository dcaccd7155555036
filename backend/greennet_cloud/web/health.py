"""Database reachability for `/healthz`, probed at most once a second."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..db.engine import reading_each_statement

_LOGGER = logging.getLogger(__name__)
PROBE_SECONDS = 1.0


class DatabaseHealth:
    """Whether the database answers, asked at most once per `PROBE_SECONDS` however often
    load balancers call: concurrent callers share one probe."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._checked_at = -PROBE_SECONDS
        self._healthy = False
        self._probe_task: asyncio.Task[bool] | None = None

    async def healthy(self) -> bool:
        """The last answer if fresh, else a new probe's."""
        if time.monotonic() - self._checked_at < PROBE_SECONDS:
            return self._healthy
        if self._probe_task is None:
            self._probe_task = asyncio.get_running_loop().create_task(self._probe())
        task = self._probe_task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done() and self._probe_task is task:
                self._probe_task = None

    async def _probe(self) -> bool:
        try:
            async with reading_each_statement(self._engine).connect() as conn:
                await conn.execute(text("SELECT 1"))
            healthy = True
        except (SQLAlchemyError, OSError) as err:
            _LOGGER.warning("health check: database unreachable: %s", err)
            healthy = False
        self._healthy, self._checked_at = healthy, time.monotonic()
        return healthy
