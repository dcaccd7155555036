"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from ..bus import create_bus
from ..clock import Clock, utcnow
from ..config import Config
from ..db.engine import create_engine
from ..db.migrate import migrate
from ..jobs import JobRunner
from ..security.passwords import PasswordHasher
from ..security.session_cache import SessionCache
from ..security.tokens import AccessTokens
from ..services.accounts import Accounts
from ..services.admin import Administration
from ..services.devices import Devices
from ..services.energy import EnergyReports
from ..services.history import Histories
from ..services.homes import Homes
from ..services.ingest import Ingest, bus_publisher
from ..services.retention import Retention
from ..services.rollups import Rollups
from ..services.totp import TwoFactor
from . import (
    routes_auth,
    routes_devices,
    routes_energy,
    routes_history,
    routes_homes,
    routes_ingest,
    routes_meta,
    routes_users,
)
from .admission import api_admission
from .dashboard import add_dashboard
from .endpoints import Endpoint, add_endpoints
from .health import DatabaseHealth
from .keys import (
    ACCOUNTS,
    ADMINISTRATION,
    BUS,
    CLOCK,
    CONFIG,
    DEVICES,
    ENERGY,
    ENGINE,
    HEALTH,
    HISTORIES,
    HOMES,
    INGEST,
    JOBS,
    OPENAPI,
    PASSWORD_HASHER,
    SESSION_CACHE,
    TWO_FACTOR,
)
from .middleware import error_middleware, request_id_middleware
from .openapi import build_openapi

_LOGGER = logging.getLogger(__name__)
ADMISSION_PER_CONNECTION = 4  # API requests in flight per pooled database connection

# order matters: literal paths (/users/me, /devices/pair) before their {id} siblings
ENDPOINTS: tuple[Endpoint, ...] = (
    *routes_meta.ENDPOINTS,
    *routes_auth.ENDPOINTS,
    *routes_users.ENDPOINTS,
    *routes_homes.ENDPOINTS,
    *routes_devices.ENDPOINTS,
    *routes_ingest.ENDPOINTS,
    *routes_history.ENDPOINTS,
    *routes_energy.ENDPOINTS,
)


def create_app(config: Config, *, clock: Clock = utcnow) -> web.Application:
    """Build the GreenNet Cloud app. The database opens on startup and closes on cleanup."""
    config = config.resolve()
    assert config.secret is not None
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[
            request_id_middleware,
            error_middleware,
            api_admission(ADMISSION_PER_CONNECTION * config.database_pool_size),
        ],
    )
    engine = create_engine(config.resolved_database_url, config.database_pool_size)
    hasher = PasswordHasher(config.password_hashing)
    tokens = AccessTokens(config.secret, config.issuer, config.audience, config.access_ttl_seconds)
    bus = create_bus(config.resolved_database_url)
    sessions = SessionCache(bus, clock, config.session_cache_seconds)
    app[CONFIG] = config
    app[CLOCK] = clock
    app[ENGINE] = engine
    app[BUS] = bus
    app[SESSION_CACHE] = sessions
    app[PASSWORD_HASHER] = hasher
    app[ACCOUNTS] = Accounts(engine, clock, config, hasher, tokens, sessions)
    app[TWO_FACTOR] = TwoFactor(engine, clock, sessions)
    app[ADMINISTRATION] = Administration(engine, clock, sessions)
    app[HOMES] = Homes(engine, clock, config.pairing_ttl_seconds)
    app[DEVICES] = Devices(engine, clock, config)
    app[HEALTH] = DatabaseHealth(engine)
    app[INGEST] = Ingest(engine, clock, config, app[DEVICES])
    app[INGEST].listeners.append(bus_publisher(bus))
    app[HISTORIES] = Histories(engine, clock)
    app[ENERGY] = EnergyReports(engine, clock)
    app[JOBS] = JobRunner(engine, clock)
    app[JOBS].register(
        "rollups", config.retention.rollup_interval_seconds, Rollups(engine, clock).run
    )
    app[JOBS].register(
        "retention",
        config.retention.retention_interval_seconds,
        Retention(engine, clock, config.retention).apply,
    )
    app[OPENAPI] = build_openapi(ENDPOINTS)
    add_endpoints(app, ENDPOINTS)
    add_dashboard(app)
    app.cleanup_ctx.append(_database)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    """Migrate on startup (when enabled), start the bus and the job runner; stop all on cleanup."""
    engine = app[ENGINE]
    try:
        if app[CONFIG].auto_migrate:
            applied = await migrate(engine)
            if applied:
                _LOGGER.info("database migrated to revision %s", applied[-1])
        await app[BUS].start()
        await app[SESSION_CACHE].start()
        if app[CONFIG].run_jobs:
            app[JOBS].start()
        yield
    finally:
        await app[JOBS].stop()
        app[INGEST].close()
        await app[BUS].close()
        app[PASSWORD_HASHER].close()
        await engine.dispose()
