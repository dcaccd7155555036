"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Middleware
from sqlalchemy.exc import SQLAlchemyError

from ..bus import create_bus
from ..clock import Clock, Sleep, real_sleep, utcnow
from ..config import Config
from ..db.engine import create_engine
from ..db.fast_reads import close_fast_reads, fast_reads
from ..db.migrate import migrate
from ..jobs import JobRunner
from ..link.hub import HubLink
from ..link.node import LinkNode
from ..link.notifications import HubNotifications
from ..link.remote import RemoteControl
from ..security.passwords import PasswordHasher
from ..security.session_cache import SessionCache
from ..security.tokens import AccessTokens
from ..services.account_mail import AccountMail
from ..services.accounts import Accounts
from ..services.admin import Administration
from ..services.alert_evaluation import AlertEvaluation
from ..services.alerts import AlertNews, Alerts
from ..services.device_states import DeviceStates
from ..services.devices import Devices
from ..services.energy import EnergyReports
from ..services.history import Histories
from ..services.homes import Homes
from ..services.ingest import Ingest, bus_publisher
from ..services.invitations import Invitations
from ..services.notifications import Notifications
from ..services.retention import Retention
from ..services.rollups import Rollups
from ..services.security_events import SecurityEvents
from ..services.thresholds import Thresholds
from ..services.throttle import sweep_expired_attempts
from ..services.totp import TwoFactor
from . import (
    routes_account_mail,
    routes_alerts,
    routes_auth,
    routes_devices,
    routes_energy,
    routes_history,
    routes_homes,
    routes_ingest,
    routes_invitations,
    routes_link,
    routes_meta,
    routes_notifications,
    routes_remote,
    routes_users,
)
from .admission import api_admission
from .alerting import add_alerting
from .dashboard import add_dashboard
from .delivery import add_delivery, deliver_to_home_assistant_with
from .endpoints import Endpoint, add_endpoints
from .health import DatabaseHealth
from .keys import (
    ACCOUNT_MAIL,
    ACCOUNTS,
    ADMINISTRATION,
    ALERT_NEWS,
    ALERTS,
    BUS,
    CLOCK,
    CONFIG,
    DEVICE_STATES,
    DEVICES,
    ENERGY,
    ENGINE,
    HEALTH,
    HISTORIES,
    HOMES,
    HUB_LINK,
    INGEST,
    INVITATIONS,
    JOBS,
    LINK_NODE,
    NOTIFICATIONS,
    NOTIFIER,
    OPENAPI,
    OUTBOX,
    PASSWORD_HASHER,
    REMOTE,
    SESSION_CACHE,
    TWO_FACTOR,
)
from .live import ENDPOINTS as LIVE_ENDPOINTS
from .live import add_live
from .middleware import request_middleware
from .openapi import build_openapi
from .proxies import trusted_proxy_middleware

_LOGGER = logging.getLogger(__name__)
ADMISSION_PER_CONNECTION = 4  # API requests in flight per pooled database connection

# order matters: literal paths (/users/me, /devices/pair) before their {id} siblings
ENDPOINTS: tuple[Endpoint, ...] = (
    *routes_meta.ENDPOINTS,
    *routes_auth.ENDPOINTS,
    *routes_users.ENDPOINTS,
    *routes_invitations.ENDPOINTS,
    *routes_homes.ENDPOINTS,
    *routes_devices.ENDPOINTS,
    *routes_ingest.ENDPOINTS,
    *routes_history.ENDPOINTS,
    *routes_energy.ENDPOINTS,
    *routes_account_mail.ENDPOINTS,
    *routes_notifications.ENDPOINTS,
    *routes_alerts.ENDPOINTS,
    *LIVE_ENDPOINTS,
    *routes_link.ENDPOINTS,
    *routes_remote.ENDPOINTS,
)


def create_app(
    config: Config, *, clock: Clock = utcnow, sleep: Sleep = real_sleep
) -> web.Application:
    """Build the GreenNet Cloud app. The database opens on startup and closes on cleanup.

    `clock` and `sleep` are injected so tests move time instead of waiting for it.
    """
    config = config.resolve()
    assert config.keyring is not None
    middlewares: list[Middleware] = [request_middleware]
    if (behind_proxies := trusted_proxy_middleware(config.trusted_proxies)) is not None:
        middlewares.append(behind_proxies)  # inside request_middleware: a bad header is a 400
    middlewares.append(api_admission(ADMISSION_PER_CONNECTION * config.database_pool_size))
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=middlewares)
    engine = create_engine(config.resolved_database_url, config.database_pool_size)
    fast_reads(engine, config.database_read_connections)  # sized before any request uses it
    hasher = PasswordHasher(config.password_hashing)
    tokens = AccessTokens(
        config.keyring.access_token, config.issuer, config.audience, config.access_ttl_seconds
    )
    bus = create_bus(config.resolved_database_url)
    sessions = SessionCache(bus, clock, config.session_cache_seconds)
    app[CONFIG] = config
    app[CLOCK] = clock
    app[ENGINE] = engine
    app[BUS] = bus
    app[SESSION_CACHE] = sessions
    app[PASSWORD_HASHER] = hasher
    app[ACCOUNTS] = Accounts(engine, clock, config, hasher, tokens, sessions, sleep)
    app[TWO_FACTOR] = TwoFactor(engine, clock, app[ACCOUNTS], sessions)
    app[ADMINISTRATION] = Administration(engine, clock, app[ACCOUNTS], sessions)
    app[INVITATIONS] = Invitations(engine, clock)
    app.cleanup_ctx.append(_database)  # first: delivery (added below) needs the database
    app.cleanup_ctx.append(_throttle_sweeper)
    outbox, notifier, webhooks = add_delivery(app, engine, clock, config)
    app[OUTBOX] = outbox
    app[NOTIFIER] = notifier
    app[HOMES] = Homes(engine, clock, config.pairing_ttl_seconds, notifier)
    app[DEVICES] = Devices(engine, clock, config, notifier)
    app[HEALTH] = DatabaseHealth(engine)
    app[INGEST] = Ingest(engine, clock, config, app[DEVICES])
    app[INGEST].listeners.append(bus_publisher(bus))
    app[HISTORIES] = Histories(engine, clock)
    app[ENERGY] = EnergyReports(engine, clock)
    app[JOBS] = JobRunner(engine, clock)
    app[JOBS].register(
        "rollups",
        config.retention.rollup_interval_seconds,
        Rollups(engine, clock, app[INGEST].write_turns, app[INGEST].sqlite_writer).run,
    )
    app[JOBS].register(
        "retention",
        config.retention.retention_interval_seconds,
        Retention(engine, clock, config.retention).apply,
    )
    app[NOTIFICATIONS] = Notifications(
        engine, clock, notifier, webhooks, config.delivery.webhook_tests_per_hour
    )
    app[ACCOUNT_MAIL] = AccountMail(engine, clock, config, hasher, notifier, sessions)
    app[ACCOUNTS].security = SecurityEvents(engine, clock, notifier, config.throttle_ipv6_prefix)
    news = AlertNews(notifier)
    app[ALERT_NEWS] = news
    app[ALERTS] = Alerts(engine, clock, news)
    add_alerting(app, Thresholds(engine, clock), AlertEvaluation(engine, clock, news))
    add_live(app)
    app[DEVICE_STATES] = DeviceStates(engine, clock, bus)
    app[HUB_LINK] = HubLink(engine, clock, app[DEVICES], app[INGEST], app[DEVICE_STATES])
    app[LINK_NODE] = LinkNode(engine, clock, bus, config.link)
    app[REMOTE] = RemoteControl(engine, clock, app[LINK_NODE], app[DEVICE_STATES])
    app[HOMES].link_token_listeners.append(app[LINK_NODE].tokens_ended)
    deliver_to_home_assistant_with(app, HubNotifications(app[LINK_NODE]))
    app.on_shutdown.append(_close_links)
    app[OPENAPI] = build_openapi(ENDPOINTS)
    add_endpoints(app, ENDPOINTS)
    add_dashboard(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    """Migrate on startup (when enabled), start the bus and the job runner; stop all on cleanup."""
    engine = app[ENGINE]
    try:
        if app[CONFIG].auto_migrate:
            applied = await migrate(engine, app[CONFIG].keyring)
            if applied:
                _LOGGER.info("database migrated to revision %s", applied[-1])
        await app[BUS].start()
        await app[SESSION_CACHE].start()
        await app[LINK_NODE].start()
        if app[CONFIG].run_jobs:
            app[JOBS].start()
        yield
    finally:
        await app[LINK_NODE].stop()
        await app[JOBS].stop()
        app[INGEST].close()
        await app[BUS].close()
        app[PASSWORD_HASHER].close()
        await close_fast_reads(engine)
        await engine.dispose()


async def _close_links(app: web.Application) -> None:
    """On shutdown, before waiting for handlers: close the hubs' links (1001), so they
    reconnect to another process instead of holding this one open."""
    await app[LINK_NODE].close_all()


THROTTLE_SWEEP_SECONDS = 600


async def _throttle_sweeper(app: web.Application) -> AsyncIterator[None]:
    """Every 10 minutes, forget throttle attempts older than the longest window (requests
    only prune the keys they touch, so keys nobody comes back to would stay forever)."""
    config = app[CONFIG]
    window = timedelta(
        seconds=max(
            config.login_throttle.window_seconds, config.registration_throttle.window_seconds
        )
    )

    async def sweep_forever() -> None:
        while True:
            await asyncio.sleep(THROTTLE_SWEEP_SECONDS)
            try:
                async with app[ENGINE].begin() as conn:
                    await sweep_expired_attempts(conn, app[CLOCK](), window)
            except (SQLAlchemyError, OSError) as err:
                _LOGGER.warning("throttle sweep failed (retried later): %s", err)

    task = asyncio.create_task(sweep_forever(), name="greennet-throttle-sweep")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
