"""Backend fixtures: a real PostgreSQL for the session, a database per test, a movable clock,
and the app served on loopback with an API client.

This suite runs in the cloud venv (tests/backend/pytest.ini), without Home Assistant's test
plugin and its socket blocker; every server still listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from greennet_cloud import Config, create_app
from greennet_cloud.config import LoginThrottle, PasswordHashing, RegistrationThrottle
from greennet_cloud.security.passwords import PasswordHasher
from greennet_cloud.services.admin import create_admin
from greennet_cloud.services.base import Service
from greennet_cloud.web.keys import ENGINE
from selenium.webdriver.remote.webdriver import WebDriver

from .api import PASSWORD, Account, Api
from .dashboard_page import CHROMIUM, DashboardPage, start_chromium
from .live import FAST_ARGON2, LiveServer
from .mail import SmtpServer
from .postgres import PostgresServer

BACKENDS = ["sqlite", "postgresql"]
# the test client's peer address, as GREENNET_TRUSTED_PROXIES: it plays the reverse proxy
LOOPBACK = ("127.0.0.1",)
TEST_SECRET = "test-signing-secret-" + "x" * 40
# argon2id at test cost: the suite hashes hundreds of passwords
FAST_HASHING = PasswordHashing(time_cost=1, memory_cost_kib=256, parallelism=1)
_database_names = itertools.count()


class FakeClock:
    """A clock tests move by hand (never sleeps)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        """What the app waits with: time moves on at once (and the waits are kept)."""
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def socket_enabled() -> None:
    """No-op: the HA venv's socket blocker (pytest-socket) is absent from the cloud venv.

    Kept so tests that talk to real servers keep saying so, and run unchanged in either venv.
    """


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the whole run, started on first use."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, socket_enabled: None
) -> AsyncIterator[str]:
    """A fresh, empty database on SQLite or PostgreSQL (each test gets its own)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'greennet.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"greennet_test_{next(_database_names)}"
    admin = await asyncpg.connect(server.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield server.url(name)
    admin = await asyncpg.connect(server.dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def admin_account(api: Api, clock: FakeClock, email: str) -> Account:
    """An admin made the way `greennet-cloud create-admin` makes one, logged in."""
    app = api.client.app
    assert app is not None
    admin_user, _ = await create_admin(
        Service(app[ENGINE], clock), PasswordHasher(FAST_HASHING), email, PASSWORD
    )
    return await api.session(email, admin_user.id)


@pytest.fixture
def clock() -> FakeClock:
    """The app's time source."""
    return FakeClock()


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Config:
    """Test configuration: fast hashing, default login throttling, the per-test database.

    Tests register many accounts from one loopback address, so the registration limit is
    lifted here; test_registration_throttling.py sets it back to the default.
    """
    return Config(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret=TEST_SECRET,
        password_hashing=FAST_HASHING,
        login_throttle=LoginThrottle(),
        registration_throttle=RegistrationThrottle(per_address=1_000_000),
        max_body_bytes=64 * 1024,
        run_jobs=False,  # tests run jobs by hand (app[JOBS].run_job), with the test clock
    )


@pytest.fixture
async def api(config: Config, clock: FakeClock) -> AsyncIterator[Api]:
    """The app on a loopback port and a client for it."""
    app = create_app(config, clock=clock, sleep=clock.sleep)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Api(client)


type ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(config: Config, clock: FakeClock) -> AsyncIterator[ApiFactory]:
    """Start more apps on the same database, each with its own config changes."""
    clients: list[TestClient] = []  # type: ignore[type-arg]

    async def make(**changes: Any) -> Api:
        app = create_app(dataclasses.replace(config, **changes), clock=clock, sleep=clock.sleep)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return Api(client)

    yield make
    for client in clients:
        await client.close()


# --- the web dashboard in headless Chromium: one backend and one browser per test module ---

DASHBOARD_ENV = {
    **FAST_ARGON2,
    "GREENNET_SECRET": TEST_SECRET,
    "GREENNET_LOG_LEVEL": "WARNING",
    "GREENNET_REGISTER_PER_ADDRESS": "1000000",  # every test registers its own accounts
    "GREENNET_ROLLUP_INTERVAL": "0.5",  # history charts read rollups: make them at once
}


@pytest.fixture(scope="module")
def dashboard_server() -> Iterator[LiveServer]:
    """The real backend (`greennet-cloud serve`, SQLite) on a loopback port, per module.

    Skips only where Chromium itself is missing (CI installs it).
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup installs chromium)")
    server = LiveServer(env=dict(DASHBOARD_ENV))
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def browser(dashboard_server: LiveServer) -> Iterator[WebDriver]:
    """Headless Chromium at phone width, shared by a module's tests."""
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(
    browser: WebDriver, dashboard_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[DashboardPage]:
    """The dashboard with no session; its last state is saved as a screenshot artifact."""
    page = DashboardPage(browser, dashboard_server.base_url)
    page.reset()
    yield page
    page.screenshot(request.node.name)


@pytest.fixture
def smtp_server(socket_enabled: None) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback (aiosmtpd), stopped at the end whatever the test did;
    it refuses bounce@example.com for good (550)."""
    server = SmtpServer(refuse={"bounce@example.com"})
    server.start()
    try:
        yield server
    finally:
        server.stop()
