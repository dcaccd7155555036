"""The links GreenNet mails land on the dashboard, through a real SMTP server: headless
Chromium asks for a reset from the login form, opens the mailed reset link, sets a new
password and logs in with it; a verification link confirms the address; the tokens leave
the address bar at once; a used link shows the API's message; a home shared with an
address that has no account reaches it once it signs up and confirms the address."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from .api import PASSWORD
from .conftest import DASHBOARD_ENV
from .dashboard_page import CHROMIUM, DashboardPage, LiveApi
from .live import LiveServer
from .mail import SmtpServer

NEW_PASSWORD = "a fresh passphrase for ada"


@pytest.fixture(scope="module")
def module_smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback (aiosmtpd) for this module's backend."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dashboard_server(module_smtp: SmtpServer) -> Iterator[LiveServer]:
    """The real backend mailing to the test SMTP server, its links pointing at itself."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup installs chromium)")
    server = LiveServer(env={
        **DASHBOARD_ENV,
        "GREENNET_SMTP_HOST": module_smtp.host, "GREENNET_SMTP_PORT": str(module_smtp.port),
        "GREENNET_SMTP_SECURITY": "none",
    })  # fmt: skip
    server.env["GREENNET_PUBLIC_URL"] = server.base_url
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def mailed_link(smtp: SmtpServer, address: str, fragment: str, count: int) -> str:
    """The token of the newest `#<fragment>=` link once `count` mails reached `address`."""
    deadline = time.monotonic() + 20
    while len(smtp.to(address)) < count:
        assert time.monotonic() < deadline, f"no mail number {count} to {address}"
        time.sleep(0.05)
    return smtp.link_token(address, fragment)


def test_a_forgotten_password_is_reset_through_the_mailed_link(
    dashboard_server: LiveServer, page: DashboardPage, module_smtp: SmtpServer
) -> None:
    api = LiveApi(dashboard_server.base_url)
    api.account("ada@example.com")
    mailed_link(module_smtp, "ada@example.com", "verify-email", 1)

    page.open()
    page.shown("#show-forgot").click()
    page.type_into("#forgot-email", "ada@example.com")
    page.find("#forgot-form button[type=submit]").click()
    page.wait.until(lambda _: "reset link is on its way" in page.find("#status").text)
    token = mailed_link(module_smtp, "ada@example.com", "reset-password", 2)

    page.driver.get(f"{dashboard_server.base_url}/app/#reset-password={token}")  # a hash change
    page.shown("#reset-form")
    assert token not in page.driver.current_url  # the token left the address bar
    assert page.focused_id() == "reset-password"
    page.type_into("#reset-password", "password")  # refused by the policy: shown as is
    page.type_into("#reset-repeat", "password")
    page.find("#reset-form button[type=submit]").click()
    refusal = page.shown("#reset-form .error").text
    assert "password" in refusal
    refused = page.console_problems()  # the browser logs the 400 itself; nothing else
    assert len(refused) == 1
    assert "password-reset" in refused[0]
    assert api.log_in("ada@example.com").status_code == 200  # nothing changed yet

    page.type_into("#reset-password", NEW_PASSWORD)
    page.type_into("#reset-repeat", NEW_PASSWORD)
    page.find("#reset-form button[type=submit]").click()
    page.wait.until(lambda _: "every session ended" in page.find("#status").text)
    page.shown("#login-form")
    assert api.log_in("ada@example.com").status_code == 401
    page.log_in("ada@example.com", NEW_PASSWORD)
    page.wait_for_homes()
    assert page.console_problems() == []

    # the link works once: opened again, the API's refusal is shown in the form
    page.log_out()
    page.driver.get(f"{dashboard_server.base_url}/app/#reset-password={token}")
    page.type_into("#reset-password", PASSWORD + " again")
    page.type_into("#reset-repeat", PASSWORD + " again")
    page.find("#reset-form button[type=submit]").click()
    assert "invalid, used or expired" in page.shown("#reset-form .error").text
    assert api.log_in("ada@example.com", NEW_PASSWORD).status_code == 200


def test_a_verification_link_confirms_the_address(
    dashboard_server: LiveServer, page: DashboardPage, module_smtp: SmtpServer
) -> None:
    api = LiveApi(dashboard_server.base_url)
    token = api.account("bo@example.com")
    assert api.ok("GET", "/api/v1/auth/verify-email", token=token)["verified"] is False
    link = mailed_link(module_smtp, "bo@example.com", "verify-email", 1)
    page.driver.get(f"{dashboard_server.base_url}/app/#verify-email={link}")  # a page load
    page.wait.until(lambda _: "address is verified" in page.find("#status").text)
    assert link not in page.driver.current_url
    assert api.ok("GET", "/api/v1/auth/verify-email", token=token)["verified"] is True
    page.shown("#login-form")  # logged out: the login form follows
    page.driver.get(f"{dashboard_server.base_url}/app/#verify-email={link}")  # used
    page.wait_for_error("invalid, used or expired")
    assert link not in page.driver.current_url


def test_a_home_shared_with_an_address_without_account_reaches_it_after_sign_up(
    dashboard_server: LiveServer, page: DashboardPage, module_smtp: SmtpServer
) -> None:
    api = LiveApi(dashboard_server.base_url)
    owner = api.account("cy@example.com")
    home = api.home(owner, "Cabin", {"greennet-c4c4c4": {"name": "Heater"}})
    page.open(f"homes/{home}")
    page.log_in("cy@example.com")
    page.wait_for_view("home-title")
    page.find("#share-home").click()
    assert "invited by mail" in page.shown("#share-email-hint").text
    page.type_into("#share-email", "dee@example.com")  # no account at this address
    page.find("#share-form button[type=submit]").click()
    page.wait_hidden("dialog")
    page.wait.until(lambda _: "dee@example.com" in page.find('[data-list="home-shares"]').text)
    deadline = time.monotonic() + 20
    while not module_smtp.to("dee@example.com"):
        assert time.monotonic() < deadline, "no invitation mailed"
        time.sleep(0.05)
    (invitation,) = module_smtp.to("dee@example.com")
    assert "Cabin" in invitation.get_content()
    page.log_out()
    assert page.driver.current_url.endswith("/app/#/")  # the next account starts at its homes

    # the invitee signs up on the dashboard: nothing shared until the address is confirmed
    page.find("#show-signup").click()
    page.type_into("#signup-email", "dee@example.com")
    page.type_into("#signup-password", PASSWORD)
    page.type_into("#signup-repeat", PASSWORD)
    page.find("#signup-form button[type=submit]").click()
    page.wait_for_homes()
    assert page.home_titles() == []
    link = mailed_link(module_smtp, "dee@example.com", "verify-email", 2)
    page.driver.get(f"{dashboard_server.base_url}/app/#verify-email={link}")  # a hash change
    page.wait.until(lambda _: "address is verified" in page.find("#status").text)
    page.wait.until(lambda _: page.find("#unread").text == "1")  # share_received, live
    page.find("#reload").click()
    page.wait.until(lambda _: page.home_titles() == ["Cabin"])
    assert page.find(f'[data-home-id="{home}"] .badge').text == "Shared with you: can switch"
    assert page.plug_names(home) == ["Heater"]
    assert not page.scrolls_sideways()
    assert page.console_problems(http_errors_expected=True) == []
