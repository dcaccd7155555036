"""Homes in the dashboard (headless Chromium, real backend): create and rename with the
keyboard only, Home Assistant link tokens with copyable instructions, the share dialog,
pairing codes, a plug's details, phone width and keyboard reach on every page."""

from __future__ import annotations

import re

from selenium.webdriver.common.keys import Keys

from .dashboard_page import DashboardPage, LiveApi
from .live import LiveServer

LINK_TOKEN = re.compile(r"Link token: (\S+)")


def _owner(
    server: LiveServer, email: str, plugs: dict[str, dict[str, str]]
) -> tuple[LiveApi, str, str]:
    api = LiveApi(server.base_url)
    token = api.account(email)
    return api, token, api.home(token, "Maple Street", plugs)


def test_a_home_is_created_and_renamed_with_the_keyboard_only(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    token = api.account("kim@example.com")
    page.open()
    page.log_in("kim@example.com")
    page.wait_for_homes()
    assert page.unreachable_by_keyboard() == []

    page.find("body").send_keys(Keys.TAB)
    page.tab_to("#new-home").send_keys(Keys.ENTER)
    page.wait.until(lambda _: page.focused_id() == "new-home-name")
    page.press("Lake house", Keys.ENTER)
    page.wait_for_view("home-title")
    assert page.find("#home-title").text == "Lake house"
    (home,) = api.ok("GET", "/api/v1/homes", token=token)
    assert home["name"] == "Lake house"
    assert page.driver.current_url.endswith(f"#/homes/{home['id']}")

    page.tab_to("#home-name")
    page.press(Keys.CONTROL, "a")
    page.press("Lake cabin", Keys.ENTER)
    page.wait.until(lambda _: page.find("#home-title").text == "Lake cabin")
    assert api.ok("GET", f"/api/v1/homes/{home['id']}", token=token)["name"] == "Lake cabin"
    assert not page.scrolls_sideways()
    assert page.unreachable_by_keyboard() == []
    page.screenshot("home-page")

    page.go("")  # back to the list: the new name is there
    page.wait.until(lambda _: page.home_titles() == ["Lake cabin"])
    assert page.console_problems() == []


def test_a_link_token_comes_with_copyable_instructions_and_can_be_revoked(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api, token, home = _owner(dashboard_server, "lou@example.com", {})
    page.driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": dashboard_server.base_url,
        "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
    })  # fmt: skip
    page.open(f"homes/{home}")
    page.log_in("lou@example.com")
    page.wait_for_view("home-title")
    assert "No Home Assistant is linked" in page.find('[data-list="link-tokens"]').text

    page.type_into("#link-token-name", "Home Assistant in the hall")
    page.find("#link-token-form button[type=submit]").click()
    instructions = page.shown("#link-instructions").text
    assert page.focused_id() == "link-instructions"
    secret = LINK_TOKEN.search(instructions)
    assert secret is not None, instructions
    assert f"Cloud address: {dashboard_server.base_url}" in instructions
    assert f"Home id: {home}" in instructions
    assert "Link to GreenNet Cloud" in instructions
    (listed,) = api.ok("GET", f"/api/v1/homes/{home}/link-tokens", token=token)
    assert listed["name"] == "Home Assistant in the hall"
    assert secret.group(1) not in str(listed)  # the API never shows it again
    page.wait.until(  # the list is redrawn after the instructions appear
        lambda _: "Home Assistant in the hall" in page.find('[data-list="link-tokens"]').text
    )

    page.find("#copy-link-instructions").click()
    page.wait.until(lambda _: "Copied" in page.find("#status").text)
    copied = page.driver.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], (e) => arguments[0](String(e)))"
    )
    assert copied == instructions
    assert not page.scrolls_sideways()
    page.screenshot("link-token")

    page.find(f'[data-token-id="{listed["id"]}"] button').click()
    page.shown("dialog button.danger").click()
    page.wait.until(
        lambda _: "No Home Assistant is linked" in page.find('[data-list="link-tokens"]').text
    )
    assert api.ok("GET", f"/api/v1/homes/{home}/link-tokens", token=token) == []
    assert page.driver.execute_script("return document.querySelector('#link-instructions')") is None
    assert page.console_problems() == []


def test_a_pairing_code_made_on_the_page_pairs_a_plug(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api, token, home = _owner(dashboard_server, "max@example.com", {})
    page.open(f"homes/{home}")
    page.log_in("max@example.com")
    page.wait_for_view("home-title")
    page.tab_to("#pairing-title ~ .actions button").send_keys(Keys.ENTER)
    code = page.shown("#pairing-code code").text
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
    paired = api.call(
        "POST", "/api/v1/devices/pair", {"code": code, "device_id": "greennet-abc123"}
    )
    assert paired.status_code == 201, paired.text
    devices = api.ok("GET", f"/api/v1/homes/{home}/devices", token=token)
    assert [device.get("plug_id", device["id"]) for device in devices] == ["greennet-abc123"]


def test_homes_and_plugs_are_shared_and_unshared_through_the_share_dialog(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api, token, home = _owner(
        dashboard_server, "nia@example.com", {"greennet-5a5a5a": {"name": "Fridge"}}
    )
    guest = api.account("oto@example.com")
    page.open(f"homes/{home}")
    page.log_in("nia@example.com")
    page.wait_for_view("home-title")
    assert page.find('[data-list="home-shares"]').text == "Not shared with anyone."

    page.find("#share-home").click()
    page.wait.until(lambda _: page.focused_id() == "share-email")
    page.press(Keys.ESCAPE)  # a dialog closes with Escape and gives focus back
    page.wait_hidden("dialog")
    assert page.focused_id() == "share-home"
    page.press(Keys.ENTER)
    page.wait.until(lambda _: page.focused_id() == "share-email")
    page.press("nobody@example.com", Keys.ENTER)  # no account: invited, listed like a share
    page.wait_hidden("dialog")
    page.wait.until(lambda _: "nobody@example.com" in page.find('[data-list="home-shares"]').text)
    page.find("#share-home").click()
    page.press("nobody@example.com", Keys.ENTER)  # shared already: the API's message
    again = api.call("POST", f"/api/v1/homes/{home}/shares",
                     {"email": "nobody@example.com", "permission": "read"}, token)  # fmt: skip
    page.wait.until(
        lambda _: page.find("dialog #share-form .error").text == again.json()["message"]
    )
    page.type_into("#share-email", "oto@example.com")
    page.find("#share-permission").send_keys("v")  # keyboard choice: "View only (read)"
    page.find("#share-form button[type=submit]").click()
    page.wait_hidden("dialog")
    page.wait.until(lambda _: "oto@example.com" in page.find('[data-list="home-shares"]').text)
    assert "View only (read)" in page.find('[data-list="home-shares"]').text
    assert [
        (one["name"], one["access"]) for one in api.ok("GET", "/api/v1/homes", token=guest)
    ] == [("Maple Street", "read")]
    assert page.focused_id() == "share-home"  # focus went back to the opener
    assert not page.scrolls_sideways()

    for left in (1, 0):  # the invitation and the share
        page.find('[data-list="home-shares"] button').click()
        page.shown("dialog button.danger").click()
        page.wait.until(lambda _, left=left: len(page.all("[data-share-id]")) == left)
    page.wait.until(
        lambda _: page.find('[data-list="home-shares"]').text == "Not shared with anyone."
    )
    assert api.ok("GET", f"/api/v1/homes/{home}/shares", token=token) == []
    assert api.ok("GET", "/api/v1/homes", token=guest) == []

    page.go(f"plugs/{api.device_id(token, 'greennet-5a5a5a')}")
    page.wait_for_view("plug-title")
    page.find("#share-device").click()
    page.type_into("#share-email", "oto@example.com")
    page.find("#share-form button[type=submit]").click()
    page.wait.until(lambda _: "oto@example.com" in page.find('[data-list="device-shares"]').text)
    (shared,) = api.ok("GET", "/api/v1/devices", token=guest)
    assert (shared.get("plug_id", shared["id"]), shared["access"]) == ("greennet-5a5a5a", "control")
    assert page.console_problems(http_errors_expected=True) == []


def test_a_plug_page_saves_its_details_and_is_read_only_for_a_viewer(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api, token, home = _owner(
        dashboard_server, "pat@example.com", {"greennet-7b7b7b": {"name": "Dryer"}}
    )
    viewer = api.account("quin@example.com")
    api.ok(
        "POST",
        f"/api/v1/homes/{home}/shares",
        {"email": "quin@example.com", "permission": "read"},
        token,
    )
    dryer = api.device_id(token, "greennet-7b7b7b")
    page.open(f"plugs/{dryer}")
    page.log_in("pat@example.com")
    page.wait_for_view("plug-title")
    assert page.unreachable_by_keyboard() == []
    assert not page.scrolls_sideways()
    page.type_into("#plug-name", "Tumble dryer")
    page.type_into("#plug-location", "Basement")
    page.find("#plug-details-form button[type=submit]").click()
    page.wait.until(lambda _: page.find("#plug-title").text == "Tumble dryer")
    saved = api.ok("GET", f"/api/v1/devices/{dryer}", token=token)
    assert (saved["name"], saved["location"]) == ("Tumble dryer", "Basement")
    page.screenshot("plug-page")

    page.log_out()
    page.log_in("quin@example.com")
    page.wait_for_homes()  # a new login starts at the homes list
    page.go(f"plugs/{dryer}")
    page.wait_for_view("plug-title")
    assert page.find("#plug-title").text == "Tumble dryer"
    assert page.all("#plug-details-form, #share-device, #credentials-title") == []
    assert "View only" in page.find(".live-card").text
    assert viewer
    assert page.console_problems() == []
