"""Wiring of live updates into the app: the ticket route and the socket route, the
publishers (ingest, alerts, notifications, access changes), the hub's lifetime and the
`availability` job that announces devices going quiet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from ..db.engine import reading
from ..services.alerts import AlertChange
from ..services.live import LiveEvents, LiveTickets, notification_message
from ..services.notifier import Raised
from ..storage import live as live_store
from .endpoints import Endpoint, Parameter, principal_of
from .keys import (
    ALERT_NEWS,
    BUS,
    CLOCK,
    CONFIG,
    DEVICES,
    ENGINE,
    HOMES,
    JOBS,
    LIVE_EVENTS,
    LIVE_HUB,
    LIVE_TICKETS,
    NOTIFIER,
)
from .live_hub import LiveHub
from .serialize_alerts import alert_json

AVAILABILITY_JOB = "availability"
AVAILABILITY_SECONDS = 30.0


async def issue_ticket(request: web.Request) -> web.Response:
    """A single-use ticket that opens the live socket (30 s)."""
    ticket, ttl = await request.app[LIVE_TICKETS].issue(principal_of(request))
    return web.json_response(
        {"ticket": ticket, "expires_in": ttl, "url": f"/api/v1/ws?ticket={ticket}"}, status=201
    )


async def live_socket(request: web.Request) -> web.StreamResponse:
    """The live websocket (see docs/backend.md, "Live updates")."""
    return await request.app[LIVE_HUB].handle(request)


# fmt: off
ENDPOINTS = (
    Endpoint("POST", "/api/v1/ws/tickets", issue_ticket, "issueLiveTicket",
             "A single-use ticket (30 s) that opens the live websocket", "live",
             responses={201: "LiveTicket"}),
    Endpoint("GET", "/api/v1/ws", live_socket, "openLiveSocket",
             "The live websocket: upgrade with a ticket; messages in docs/backend.md", "live",
             auth=False, responses={101: None}, errors=(401, 403),
             parameters=(Parameter("ticket", {"type": "string", "maxLength": 200},
                                   "From POST /api/v1/ws/tickets; single use", required=True),)),
)
# fmt: on


def add_live(app: web.Application) -> None:
    """Create the hub and publishers and hook them to what produces updates."""
    config, engine, clock = app[CONFIG], app[ENGINE], app[CLOCK]
    tickets = LiveTickets(engine, clock)
    events = LiveEvents(app[BUS])
    hub = LiveHub(engine, tickets, config.live_settings)
    app[LIVE_TICKETS] = tickets
    app[LIVE_EVENTS] = events
    app[LIVE_HUB] = hub

    async def on_alert(change: AlertChange) -> None:
        await events.alert(change, alert_json(change.alert))

    async def on_raised(raised: Raised) -> None:
        await events.notifications(
            raised, [notification_message(notification) for notification in raised.stored]
        )

    app[ALERT_NEWS].listeners.append(on_alert)
    app[HOMES].shares.access_listeners.append(events.access_changed)
    app[DEVICES].shares.access_listeners.append(events.access_changed)
    app[NOTIFIER].listen(on_raised)

    async def announce_quiet_devices() -> None:
        now = clock()
        window = timedelta(seconds=config.offline_after_seconds)
        async with reading(engine).begin() as conn:
            quiet = await live_store.devices_gone_quiet(
                # twice the interval: a late run misses nobody; saying "offline" twice is harmless
                conn,
                now - window - timedelta(seconds=2 * AVAILABILITY_SECONDS),
                now - window,
            )
        for device_id, home_id, last_seen_ms in quiet:
            await events.availability(device_id, home_id, False, last_seen_ms)

    app[JOBS].register(AVAILABILITY_JOB, AVAILABILITY_SECONDS, announce_quiet_devices)

    async def run(app: web.Application) -> AsyncIterator[None]:
        await hub.start(app[BUS])
        yield

    app.cleanup_ctx.append(run)
    app.on_shutdown.append(lambda _app: hub.close_all())
