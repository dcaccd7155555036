"""Registration by invitation in the dashboard (headless Chromium, a backend with
GREENNET_REGISTRATION=invite): the admin makes an invitation link, a visitor opens it and
creates an account with it; without one, sign-up is refused with the API's message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .api import PASSWORD
from .conftest import DASHBOARD_ENV
from .dashboard_page import CHROMIUM, DashboardPage, LiveApi, create_admin
from .live import LiveServer


@pytest.fixture(scope="module")
def dashboard_server() -> Iterator[LiveServer]:
    """A backend where only invited people may register."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup installs chromium)")
    server = LiveServer(env={**DASHBOARD_ENV, "GREENNET_REGISTRATION": "invite"})
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def test_an_invitation_link_from_the_admin_lets_one_visitor_register(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    create_admin(dashboard_server, "root@example.com")
    page.open()
    page.find("#show-signup").click()  # no invitation: the API says no
    page.type_into("#signup-email", "ned@example.com")
    page.type_into("#signup-password", PASSWORD)
    page.type_into("#signup-repeat", PASSWORD)
    page.find("#signup-form button[type=submit]").click()
    refused = api.call("POST", "/api/v1/auth/register",
                       {"email": "ned@example.com", "password": PASSWORD})  # fmt: skip
    assert refused.status_code == 403, refused.text
    page.wait.until(lambda _: page.find("#signup-form .error").text == refused.json()["message"])

    page.find("#auth-flow button.secondary").click()  # back to the login form
    page.log_in("root@example.com")
    page.wait_for_homes()
    page.go("admin")
    page.wait_for_view("admin-title")
    assert "No open invitations." in page.find('[data-list="invitations"]').text
    page.type_into("#invitation-email", "ned@example.com")
    page.find("#invitation-form button[type=submit]").click()
    link = page.shown("#invitation-link").text
    assert link.startswith(f"{dashboard_server.base_url}/app/#invitation=")
    assert "ned@example.com" in page.find('[data-list="invitations"]').text
    assert not page.scrolls_sideways()
    assert page.unreachable_by_keyboard() == []
    page.screenshot("invitations")
    page.log_out()

    page.driver.get(link)
    page.wait.until(lambda _: page.focused_id() == "signup-email")
    assert "#invitation=" not in page.driver.current_url
    assert page.find("#signup-invitation").get_attribute("value") == link.split("=", 1)[1]
    page.press("ned@example.com")
    page.type_into("#signup-password", PASSWORD)
    page.type_into("#signup-repeat", PASSWORD)
    page.find("#signup-form button[type=submit]").click()
    page.wait_for_homes()
    assert "ned@example.com" in page.find("#whoami").text
    root = api.log_in("root@example.com").json()["access_token"]
    assert api.ok("GET", "/api/v1/invitations", token=root) == []  # used up
    assert page.console_problems(http_errors_expected=True) == []
