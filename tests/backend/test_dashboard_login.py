"""The web dashboard in headless Chromium against the real backend: login, the two-factor
step, homes and plugs, errors, markup shown as text, refresh, logout."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
import requests
from selenium.webdriver.remote.webdriver import WebDriver

from .api import PASSWORD
from .conftest import DASHBOARD_ENV, TEST_SECRET
from .dashboard_page import PHONE, DashboardPage, LiveApi
from .live import LiveServer
from .telemetry import sample, signed_headers


def test_login_shows_homes_and_plugs_and_logout_ends_the_session(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    ada = api.account("ada@example.com")
    maple = api.home(ada, "Maple Street", {
        "greennet-a1b2c3": {"name": "Kettle", "model": "GN-1", "location": "Kitchen"},
        "greennet-d4e5f6": {"name": "Desk lamp"},
    })  # fmt: skip
    cabin = api.home(ada, "Cabin", {})
    bo = api.account("bo@example.com")
    flat = api.home(bo, "Bo's flat", {"greennet-0f0f0f": {"name": "Heater"}})
    share = {"email": "ada@example.com", "permission": "read"}
    api.ok("POST", f"/api/v1/homes/{flat}/shares", share, bo)

    page.open()
    assert page.driver.current_url == dashboard_server.base_url + "/app/"
    page.log_in("ada@example.com")
    page.wait_for_homes()

    titles = page.home_titles()
    assert set(titles[:2]) == {"Maple Street", "Cabin"}
    assert titles[2:] == ["Bo's flat"]
    assert set(page.plug_names(maple)) == {"Kettle", "Desk lamp"}
    assert page.plug_names(flat) == ["Heater"]
    assert page.field("greennet-a1b2c3", "id") == "greennet-a1b2c3"
    assert page.field("greennet-a1b2c3", "model") == "GN-1"
    assert page.field("greennet-a1b2c3", "location") == "Kitchen"
    assert page.field("greennet-d4e5f6", "last-seen") == "never seen"
    assert "No plugs in this home yet" in page.find(f'[data-home-id="{cabin}"] .empty').text
    assert page.find(f'[data-home-id="{flat}"] .badge').text == "Shared with you: view only"
    assert "ada@example.com" in page.find("#whoami").text
    page.screenshot("homes-list")  # docs/dashboard.png
    assert page.driver.execute_script("return window.innerWidth") <= PHONE[0]
    assert page.driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
    ), "the dashboard scrolls sideways at phone width"

    refresh_token = page.session_token()
    assert refresh_token
    page.log_out()
    assert page.session_token() is None
    assert page.all("#homes > *") == []
    revoked = api.call("POST", "/api/v1/auth/refresh", {"refresh_token": refresh_token})
    assert (revoked.status_code, revoked.json()["error"]) == (401, "session_revoked")
    assert page.console_problems() == []


def test_a_wrong_password_shows_the_api_message_and_the_right_one_logs_in(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    api.account("cy@example.com")
    wrong = {"email": "cy@example.com", "password": "not the password at all"}
    expected = api.call("POST", "/api/v1/auth/login", wrong).json()["message"]

    page.open()
    page.log_in("cy@example.com", "not the password at all")
    assert page.error() == expected
    assert not page.find("#dashboard").is_displayed()

    page.log_in("cy@example.com")
    page.wait_for_homes()
    page.wait_hidden("#error")
    assert "You have no homes yet" in page.shown("#no-homes").text
    csp = [problem for problem in page.console_problems() if "Content Security" in problem]
    assert csp == []


def test_markup_in_api_text_is_shown_as_text(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    token = api.account("eve@example.com")
    evil = "<img src=x onerror=\"document.title='pwned'\">"
    home = api.home(token, "<b>Bold</b> & <script>document.title='pwned'</script>", {
        "greennet-bad001": {"name": evil, "location": "<i>attic</i>"},
    })  # fmt: skip
    api.ok("PATCH", "/api/v1/users/me", {"display_name": "<u>Eve</u>"}, token)

    page.open()
    page.log_in("eve@example.com")
    page.wait_for_homes()

    assert page.plug_names(home) == [evil]
    assert page.home_titles() == ["<b>Bold</b> & <script>document.title='pwned'</script>"]
    assert page.field("greennet-bad001", "location") == "<i>attic</i>"
    assert page.find("#whoami").text.startswith("<u>Eve</u>")
    assert page.all("main img, main b, main i, main u, main script, #whoami *") == []
    assert page.driver.title == "GreenNet Cloud"


def test_two_factor_login_asks_for_the_code_on_a_second_step(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    token = api.account("fay@example.com")
    home = api.home(token, "Studio", {"greennet-c0ffee": {"name": "Espresso"}})
    reauth = {"current_password": PASSWORD}  # two-factor changes re-authenticate
    totp = pyotp.TOTP(api.ok("POST", "/api/v1/auth/totp", reauth, token)["secret"])
    confirmed_at = int(time.time())
    confirm = {"code": totp.at(confirmed_at), **reauth}
    api.ok("POST", "/api/v1/auth/totp/confirm", confirm, token)
    wrong = {"email": "fay@example.com", "password": PASSWORD, "totp": "000000"}
    expected = api.call("POST", "/api/v1/auth/login", wrong).json()["message"]

    page.open()
    page.log_in("fay@example.com")
    page.shown("#totp-form")
    assert not page.find("#login-form").is_displayed()
    assert page.driver.switch_to.active_element.get_attribute("id") == "totp"
    page.enter_code("000000")
    page.wait_for_error(expected)

    # the step after the one used to confirm: never replayed, and within the ±1 step window
    page.enter_code(totp.at((confirmed_at // 30 + 1) * 30))
    page.wait_for_homes()
    assert page.plug_names(home) == ["Espresso"]
    page.wait_hidden("#error")


def test_reloads_and_rejected_access_tokens_are_carried_by_the_refresh_token(
    browser: WebDriver, request: pytest.FixtureRequest
) -> None:
    live = LiveServer(env=dict(DASHBOARD_ENV))  # its own server: the test restarts it
    live.start()
    request.addfinalizer(live.cleanup)
    page = DashboardPage(browser, live.base_url)
    page.reset()
    api = LiveApi(live.base_url)
    token = api.account("gus@example.com")
    home = api.home(token, "Garage", {"greennet-0a0b0c": {"name": "Compressor"}})
    page.open()
    page.log_in("gus@example.com")
    page.wait_for_homes()
    first = page.session_token()

    # a reload forgets the in-memory access token; three parallel calls share one refresh
    page.driver.refresh()
    page.wait_for_homes()
    second = page.session_token()
    assert second not in {None, first}
    assert not page.find("#login").is_displayed()

    # a new signing secret makes the page's access token invalid; its refresh token is not
    live.stop()
    live.log.rename(live.log.with_name("before-restart.log"))
    live.env["GREENNET_SECRET"] = TEST_SECRET + "-rotated"
    live.start()
    fresh = LiveApi(live.base_url).ok(
        "POST", "/api/v1/auth/login", {"email": "gus@example.com", "password": PASSWORD}
    )["access_token"]
    LiveApi(live.base_url).pair(fresh, home, "greennet-0d0e0f", {"name": "Lamp"})
    page.shown("#reload").click()
    page.wait.until(lambda _: "Lamp" in page.plug_names(home))
    assert page.session_token() not in {None, second}
    assert not page.find("#error").is_displayed()


def test_a_plug_shows_when_it_last_reported_through_real_ingest(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    paired = logged_in_with_a_plug(dashboard_server, page, "ivy@example.com", "greennet-1e1e1e")
    assert page.field("greennet-1e1e1e", "last-seen") == "never seen"
    assert page.field("greennet-1e1e1e", "status") == "offline"

    now_ms = int(time.time() * 1000)
    report_at(dashboard_server, paired, now_ms - 5000)

    card = page.find('[data-plug-id="greennet-1e1e1e"]')
    page.driver.execute_script("arguments[0].dataset.marker = 'drawn once'", card)
    page.shown("#reload").click()
    page.wait.until(lambda _: page.field("greennet-1e1e1e", "last-seen") != "never seen")
    # the new values were written into the card on screen, not into a list drawn anew
    assert card.get_attribute("data-marker") == "drawn once"
    assert shown_time(page, "greennet-1e1e1e") == datetime.fromtimestamp(
        (now_ms - 5000) / 1000, UTC
    )
    assert page.field("greennet-1e1e1e", "status") == "online"
    assert page.console_problems() == []


def test_a_reload_bringing_the_time_the_websocket_showed_leaves_it_as_drawn(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    # The device list spells times in microseconds, the websocket in milliseconds: the
    # same instant was redrawn on every reload (and a test holding the node saw it go).
    paired = logged_in_with_a_plug(dashboard_server, page, "joy@example.com", "greennet-2f2f2f")
    page.wait.until(lambda _: page.find("#live-state").text == "Live")

    now_ms = int(time.time() * 1000) // 1000 * 1000 - 877  # with a fraction of a second
    report_at(dashboard_server, paired, now_ms)
    page.wait.until(lambda _: page.field("greennet-2f2f2f", "last-seen") != "never seen")
    live_time = '[data-plug-id="greennet-2f2f2f"] [data-field="last-seen"] time'
    page.driver.execute_script(
        "document.querySelector(arguments[0]).dataset.marker = 'live'", live_time
    )
    rendered = 'return performance.getEntriesByName("greennet:homes-rendered").length'
    before = page.driver.execute_script(rendered)
    page.shown("#reload").click()
    page.wait.until(lambda _: page.driver.execute_script(rendered) > before)
    assert (
        page.driver.execute_script(
            "return document.querySelector(arguments[0]).dataset.marker ?? null", live_time
        )
        == "live"
    )
    assert shown_time(page, "greennet-2f2f2f") == datetime.fromtimestamp(now_ms / 1000, UTC)
    assert page.console_problems() == []


def logged_in_with_a_plug(
    server: LiveServer, page: DashboardPage, email: str, plug_id: str
) -> dict[str, Any]:
    """A new account with one home and one paired plug, logged in on the page; the pairing."""
    api = LiveApi(server.base_url)
    token = api.account(email)
    home_id = api.ok("POST", "/api/v1/homes", {"name": "Home"}, token)["id"]
    paired: dict[str, Any] = api.pair(token, home_id, plug_id, {"name": "Plug"})
    page.open()
    page.log_in(email)
    page.wait_for_homes()
    return paired


def report_at(server: LiveServer, paired: dict[str, Any], ts_ms: int) -> None:
    """One reading of the paired plug at `ts_ms`, through the real ingest endpoint."""
    body = json.dumps({"samples": [sample(ts_ms)]}).encode()
    sent_ms = int(time.time() * 1000)
    headers = signed_headers(paired["device"]["id"], paired["credential"]["secret"], body, sent_ms)
    url = server.base_url + "/api/v1/ingest"
    reply = requests.post(url, data=body, headers=headers, timeout=30)
    assert reply.json()["stored"] == 1, reply.text


def shown_time(page: DashboardPage, plug_id: str) -> datetime:
    """The instant a plug's last-seen field shows (read in one step: the node may change)."""
    text = page.driver.execute_script(
        "return document.querySelector(arguments[0])?.getAttribute('datetime') ?? ''",
        f'[data-plug-id="{plug_id}"] [data-field="last-seen"] time',
    )
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def test_a_visitor_creates_an_account_and_is_logged_in(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    page.open()
    page.shown("#login-form")
    assert page.unreachable_by_keyboard() == []
    page.find("#show-signup").click()
    page.wait.until(lambda _: page.focused_id() == "signup-email")
    page.press("zoe@example.com")
    page.type_into("#signup-password", PASSWORD)
    page.type_into("#signup-repeat", PASSWORD + "!")
    page.find("#signup-form button[type=submit]").click()
    assert page.driver.execute_script(
        "return document.querySelector('#signup-repeat').validationMessage"
    )
    assert LiveApi(dashboard_server.base_url).log_in("zoe@example.com").status_code == 401

    page.type_into("#signup-repeat", PASSWORD)
    page.find("#signup-form button[type=submit]").click()
    page.wait_for_homes()
    assert "zoe@example.com" in page.find("#whoami").text
    assert LiveApi(dashboard_server.base_url).log_in("zoe@example.com").status_code == 200
    page.log_out()
    assert page.find("#show-signup").is_displayed()
    assert page.console_problems(http_errors_expected=True) == []
