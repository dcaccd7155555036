"""Live HA links: which node (process) holds the websocket of each link token.

One row per live link. The holding node refreshes `heartbeat_at` of its rows; readers only
believe rows fresher than the expiry, so the rows of a crashed node stop routing at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import link_tokens, live_links
from ..models import LiveLink


def _live_link(row: Row[Any]) -> LiveLink:
    return LiveLink(
        token_id=row.token_id,
        home_id=row.home_id,
        node_id=row.node_id,
        connection_id=row.connection_id,
        connected_at=row.connected_at,
        heartbeat_at=row.heartbeat_at,
    )


async def claim(
    conn: AsyncConnection,
    *,
    token_id: str,
    home_id: str,
    node_id: str,
    connection_id: str,
    now: datetime,
) -> LiveLink | None:
    """Make this connection the holder of the token's link; return the holder it replaces."""
    if conn.dialect.name == "postgresql":
        # claims of one token queue here (SQLite's BEGIN IMMEDIATE already serializes them)
        await conn.execute(
            select(link_tokens.c.id).where(link_tokens.c.id == token_id).with_for_update()
        )
    row = (await conn.execute(select(live_links).where(live_links.c.token_id == token_id))).first()
    values = {
        "home_id": home_id,
        "node_id": node_id,
        "connection_id": connection_id,
        "connected_at": now,
        "heartbeat_at": now,
        "hub_id": None,
        "sw_version": None,
        "ha_version": None,
    }
    if row is None:
        await conn.execute(live_links.insert().values(token_id=token_id, **values))
        return None
    await conn.execute(update(live_links).where(live_links.c.token_id == token_id).values(**values))
    return _live_link(row)


async def note_hello(
    conn: AsyncConnection,
    token_id: str,
    connection_id: str,
    *,
    hub_id: str,
    sw_version: str,
    ha_version: str,
) -> None:
    """Keep what the hub said about itself in its hello (diagnostics)."""
    await conn.execute(
        update(live_links)
        .where(live_links.c.token_id == token_id, live_links.c.connection_id == connection_id)
        .values(hub_id=hub_id, sw_version=sw_version, ha_version=ha_version)
    )


async def release(conn: AsyncConnection, token_id: str, connection_id: str) -> None:
    """Forget a link that ended (unless a newer connection already holds the token)."""
    await conn.execute(
        delete(live_links).where(
            live_links.c.token_id == token_id, live_links.c.connection_id == connection_id
        )
    )


async def release_node(conn: AsyncConnection, node_id: str) -> None:
    """Forget every link of a node that stops."""
    await conn.execute(delete(live_links).where(live_links.c.node_id == node_id))


async def heartbeat(conn: AsyncConnection, node_id: str, now: datetime) -> dict[str, str]:
    """Refresh the node's rows; return them as {token id: connection id}."""
    await conn.execute(
        update(live_links).where(live_links.c.node_id == node_id).values(heartbeat_at=now)
    )
    rows = await conn.execute(
        select(live_links.c.token_id, live_links.c.connection_id).where(
            live_links.c.node_id == node_id
        )
    )
    return {row.token_id: row.connection_id for row in rows}


async def drop_expired(conn: AsyncConnection, before: datetime) -> int:
    """Delete rows whose node stopped refreshing them (it crashed or lost the database)."""
    result = await conn.execute(delete(live_links).where(live_links.c.heartbeat_at < before))
    return result.rowcount


async def live_links_of_home(
    conn: AsyncConnection, home_id: str, fresh_after: datetime
) -> list[LiveLink]:
    """The believable live links of a home, newest first."""
    rows = await conn.execute(
        select(live_links)
        .where(live_links.c.home_id == home_id, live_links.c.heartbeat_at >= fresh_after)
        .order_by(live_links.c.connected_at.desc())
    )
    return [_live_link(row) for row in rows]


async def holders_of_tokens(conn: AsyncConnection, token_ids: set[str]) -> dict[str, LiveLink]:
    """The rows of these tokens, whoever holds them."""
    if not token_ids:
        return {}
    rows = await conn.execute(
        select(live_links).where(live_links.c.token_id.in_(sorted(token_ids)))
    )
    return {row.token_id: _live_link(row) for row in rows}
