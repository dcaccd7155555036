"""SQLite: ingest's bulk writer never checkpoints the WAL in its commits (an fsync a busy
disk can hold for hundreds of ms); a thread of its own does, after its writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from greennet_cloud.web.keys import ENGINE, INGEST

from .api import Api
from .conftest import FakeClock
from .telemetry import household, ms, sample


async def test_ingest_batches_are_checkpointed_beside_the_writer(
    api: Api, clock: FakeClock, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no WAL file of ours to checkpoint")
    app = api.client.app
    assert app is not None
    ingest = app[INGEST]
    assert ingest.sqlite_writer is not None
    assert ingest.checkpoints is not None
    raw = ingest.sqlite_writer.raw_connection()
    try:
        assert raw.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    finally:
        raw.close()
    # the other connections keep SQLite's own checkpoints: the WAL stays bounded regardless
    async with app[ENGINE].connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 1000

    home = await household(api, "owner@example.com", ("greennet-0c0001", "greennet-0c0002"))
    database = Path(database_url.split("///", 1)[1])
    # the file as SQLite left it: none of our checkpoints has run yet
    size = database.stat().st_size
    before = ingest.checkpoints.done
    now = ms(clock.now)
    for second in range(20):  # batches while a checkpoint may be running: none waits for it
        samples = [sample(now - 60_000 + second * 1000, device_id=p.plug_id) for p in home.plugs]
        reply = await home.batch(api, samples)
        assert reply.status == 200, reply.body
    await ingest.checkpoints.idle()
    assert ingest.checkpoints.done > before
    # what the batches (and the account and home before them) wrote reached the file
    assert database.stat().st_size > size
