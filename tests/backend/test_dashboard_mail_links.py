"""The links GreenNet mails land on the dashboard: headless Chromium asks for a reset from
the login form, opens the mailed reset link, sets a new password and logs in with it; a
verification link confirms the address; the tokens leave the address bar at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from .conftest import TEST_SECRET
from .dashboard_page import CHROMIUM, DashboardPage, LiveApi, start_chromium
from .live import FAST_ARGON2, LiveServer
from .mail import SmtpServer

NEW_PASSWORD = "a fresh passphrase for ada"


@pytest.fixture
def live(smtp_server: SmtpServer, socket_enabled: None) -> Iterator[LiveServer]:
    """The real backend mailing to a test SMTP server."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup installs chromium)")
    server = LiveServer(env={
        **FAST_ARGON2, "GREENNET_SECRET": TEST_SECRET, "GREENNET_LOG_LEVEL": "WARNING",
        "GREENNET_SMTP_HOST": smtp_server.host, "GREENNET_SMTP_PORT": str(smtp_server.port),
        "GREENNET_SMTP_SECURITY": "none",
    })  # fmt: skip
    server.env["GREENNET_PUBLIC_URL"] = server.base_url
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def page(live: LiveServer) -> Iterator[DashboardPage]:
    driver = start_chromium()
    try:
        yield DashboardPage(driver, live.base_url)
    finally:
        driver.quit()


def mailed_link(smtp: SmtpServer, address: str, fragment: str, count: int) -> str:
    deadline = time.monotonic() + 20
    while len(smtp.to(address)) < count:
        assert time.monotonic() < deadline, f"no mail number {count} to {address}"
        time.sleep(0.05)
    return smtp.link_token(address, fragment)


def test_a_forgotten_password_is_reset_through_the_mailed_link(
    live: LiveServer, page: DashboardPage, smtp_server: SmtpServer
) -> None:
    api = LiveApi(live.base_url)
    api.account("ada@example.com")
    mailed_link(smtp_server, "ada@example.com", "verify-email", 1)

    page.open()
    page.shown("#forgot").click()
    page.type_into("#forgot-email", "ada@example.com")
    page.shown("#forgot-submit").click()
    page.wait.until(lambda _: "reset link is on its way" in page.find("#status").text)
    token = mailed_link(smtp_server, "ada@example.com", "reset-password", 2)

    page.driver.get(f"{live.base_url}/app/#reset-password={token}")  # same tab: a hash change
    page.shown("#mail-link")
    assert "#" not in page.driver.current_url  # the token left the address bar
    page.type_into("#new-password", "password")  # refused by the policy: shown as is
    page.shown("#reset-submit").click()
    assert "password" in page.error()
    refused = page.console_problems()  # the browser logs the 400 itself; nothing else
    assert len(refused) == 1
    assert "password-reset" in refused[0]
    page.type_into("#new-password", NEW_PASSWORD)
    page.shown("#reset-submit").click()
    page.wait.until(lambda _: "Your password is set" in page.find("#status").text)
    page.log_in("ada@example.com", NEW_PASSWORD)
    page.wait_for_homes()
    assert page.console_problems() == []


def test_a_verification_link_confirms_the_address(
    live: LiveServer, page: DashboardPage, smtp_server: SmtpServer
) -> None:
    api = LiveApi(live.base_url)
    token = api.account("bo@example.com")
    link = mailed_link(smtp_server, "bo@example.com", "verify-email", 1)
    page.driver.get(f"{live.base_url}/app/#verify-email={link}")  # a fresh tab: a page load
    page.wait.until(lambda _: "address is confirmed" in page.find("#status").text)
    assert "#" not in page.driver.current_url
    assert api.ok("GET", "/api/v1/auth/verify-email", token=token)["verified"] is True
    page.driver.get(f"{live.base_url}/app/#verify-email={link}")  # used: the API says so
    assert "invalid, used or expired" in page.error()
