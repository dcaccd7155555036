"""The dashboard's live and remote side in headless Chromium, against the real backend and a
test hub on the Home Assistant link (threaded_hub.py): a power value and online state
changing over the websocket after a login with the two-factor step, the relay toggle
pending then confirmed (by mouse and by keyboard), an offline plug's and an offline hub's
503 as clear messages, the command trail, a trip reported by the hub and reset from the plug
page, a threshold made on the page raising an alert that is acknowledged there, and the
notifications' unread count."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pyotp
import pytest
from selenium.webdriver.common.keys import Keys

from .api import PASSWORD
from .dashboard_page import DashboardPage, LiveApi
from .hub import SimPlug
from .live import LiveServer
from .threaded_hub import ThreadedHub

# one server per module, and a plug belongs to one home: each test's hub has its own plugs
PLUG_NUMBERS = itertools.count(0xA1A100)
OWNERS = itertools.count(1)


class LinkedOwner:
    """An owner's home, linked to a test hub that sees a kettle (online) and a heater
    (offline)."""

    def __init__(self, server: LiveServer, email: str) -> None:
        self.api = LiveApi(server.base_url)
        self.email = email
        self.token = self.api.account(email)
        self.home = self.api.ok("POST", "/api/v1/homes", {"name": "Maple Street"}, self.token)["id"]
        link = self.api.ok("POST", f"/api/v1/homes/{self.home}/link-tokens", {}, self.token)
        self.kettle_plug = f"greennet-{next(PLUG_NUMBERS):06x}"
        self.heater_plug = f"greennet-{next(PLUG_NUMBERS):06x}"  # offline on the hub's broker
        self.hub = ThreadedHub(server.base_url, link["token"], [
            SimPlug(self.kettle_plug, name="Kettle"),
            SimPlug(self.heater_plug, name="Heater", online=False),
        ])  # fmt: skip
        self.kettle = self.api.device_id(self.token, self.kettle_plug)
        self.heater = self.api.device_id(self.token, self.heater_plug)

    @staticmethod
    def relay_button(device_id: str) -> str:
        """The css of a plug's relay toggle on the homes list."""
        return f'[data-plug-id] [data-relay="{device_id}"]'


@pytest.fixture
def owner(dashboard_server: LiveServer) -> Iterator[LinkedOwner]:
    linked = LinkedOwner(dashboard_server, f"owner{next(OWNERS)}@example.com")
    try:
        yield linked
    finally:
        linked.hub.close()


def wait_live(page: DashboardPage) -> None:
    """Wait until the page's websocket is open (the "Live" indicator)."""
    page.wait.until(lambda _: page.find("#live-state").text == "Live")


def test_after_the_two_factor_step_live_power_changes_without_a_reload(
    owner: LinkedOwner, page: DashboardPage
) -> None:
    reauth = {"current_password": PASSWORD}
    secret = owner.api.ok("POST", "/api/v1/auth/totp", reauth, owner.token)["secret"]
    totp = pyotp.TOTP(secret)
    confirmed_at = int(time.time())
    owner.api.ok("POST", "/api/v1/auth/totp/confirm", {"code": totp.at(confirmed_at), **reauth},
                 owner.token)  # fmt: skip

    owner.api.ok("PATCH", "/api/v1/users/me", {"display_name": "Ada"}, owner.token)
    page.open()
    page.log_in(owner.email)
    page.shown("#totp-form")
    page.enter_code(totp.at((confirmed_at // 30 + 1) * 30))  # a step not used yet
    page.wait_for_homes()
    wait_live(page)
    card = page.find(f'[data-plug-id="{owner.kettle_plug}"]')
    page.driver.execute_script("arguments[0].dataset.marker = 'drawn once'", card)
    assert page.field(owner.kettle_plug, "power") == "—"

    owner.hub.send_readings(
        owner.kettle_plug, power=12.5, voltage=230.0, current=0.054, energy=1.0, relay="OFF"
    )
    page.wait.until(lambda _: page.field(owner.kettle_plug, "power") == "12.5 W")
    assert page.field(owner.kettle_plug, "status") == "online"
    owner.hub.send_readings(
        owner.kettle_plug, power=1834.2, voltage=229.0, current=8.0, energy=1.1, relay="ON"
    )
    page.wait.until(lambda _: page.field(owner.kettle_plug, "power") == "1,834.2 W")
    # written into the card on screen: the list was not drawn again
    assert (
        page.find(f'[data-plug-id="{owner.kettle_plug}"]').get_attribute("data-marker")
        == "drawn once"
    )
    assert page.field(owner.heater_plug, "status") == "offline"
    owner.hub.send_state(owner.kettle_plug, online=False)  # Home Assistant: it left the broker
    page.wait.until(lambda _: page.field(owner.kettle_plug, "status") == "offline")
    owner.hub.send_state(owner.kettle_plug, online=True)
    page.wait.until(lambda _: page.field(owner.kettle_plug, "status") == "online")
    assert not page.scrolls_sideways()
    page.screenshot("live-power")  # docs/dashboard.png
    # the login's first answer is the API's 401 totp_required; nothing else
    assert page.console_problems(http_errors_expected=True) == []


def test_the_relay_toggle_is_pending_until_the_plug_confirms_and_offline_plugs_say_so(
    owner: LinkedOwner, page: DashboardPage
) -> None:
    page.open()
    page.log_in(owner.email)
    page.wait_for_homes()
    wait_live(page)
    kettle = owner.relay_button(owner.kettle)
    owner.hub.send_state(owner.kettle_plug, online=True, relay="OFF")  # pushed over the websocket
    page.wait.until(lambda _: page.find(kettle).get_attribute("data-state") == "off")
    assert page.find(kettle).text == "Off"

    owner.hub.hold()  # the plug takes its time: the page shows the command pending
    page.find(kettle).click()
    page.wait.until(lambda _: page.find(kettle).get_attribute("data-state") == "pending")
    assert page.find(kettle).text == "Switching…"
    assert page.find(kettle).get_attribute("aria-busy") == "true"
    (command,) = owner.hub.wait_for_commands(1)
    assert (command["plug_id"], command["action"], command["value"]) == (
        owner.kettle_plug,
        "relay",
        "ON",
    )
    page.screenshot("relay-pending")
    assert owner.hub.plug(owner.kettle_plug).relay is False
    owner.hub.release()
    page.wait.until(lambda _: page.find(kettle).get_attribute("data-state") == "on")
    assert page.find(kettle).text == "On"
    assert page.find(kettle).get_attribute("aria-pressed") == "true"
    assert owner.hub.plug(owner.kettle_plug).relay is True

    # by keyboard: Tab to the toggle, Enter switches it back off
    page.tab_to(kettle).send_keys(Keys.ENTER)
    page.wait.until(lambda _: page.find(kettle).get_attribute("data-state") == "off")
    assert owner.hub.plug(owner.kettle_plug).relay is False
    assert [one["value"] for one in owner.hub.wait_for_commands(2)] == ["ON", "OFF"]

    # the plug is offline on the hub's broker: the API's 503, said next to the toggle
    offline = owner.api.call(
        "POST", f"/api/v1/devices/{owner.heater}/relay", {"state": "ON"}, owner.token
    )
    assert (offline.status_code, offline.json()["error"]) == (503, "plug_offline")
    heater = owner.relay_button(owner.heater)
    page.find(heater).click()
    message = f'[data-plug-id="{owner.heater_plug}"] .relay-error'
    said = "Not switched: the plug is offline: Home Assistant cannot reach it."
    page.wait.until(lambda _: page.find(message).text == said)
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", page.find(message))
    assert page.find(heater).get_attribute("data-state") != "pending"
    page.screenshot("relay-plug-offline")

    # the hub itself goes away: the same, with the hub's reason
    owner.hub.close()
    gone = owner.api.call(
        "POST", f"/api/v1/devices/{owner.kettle}/relay", {"state": "ON"}, owner.token
    )
    assert (gone.status_code, gone.json()["error"]) == (503, "hub_offline")
    page.find(kettle).click()
    kettle_message = f'[data-plug-id="{owner.kettle_plug}"] .relay-error'
    said = "Not switched: this home's Home Assistant is not connected to GreenNet Cloud right now."
    page.wait.until(lambda _: page.find(kettle_message).text == said)
    page.screenshot("relay-hub-offline")
    assert page.find(kettle).get_attribute("data-state") == "off"  # the last confirmed state

    # the owner reads who switched what on the home's page
    page.go(f"homes/{owner.home}")
    page.wait_for_view("home-title")
    page.wait.until(lambda _: len(page.all("[data-list=commands] [data-command-id]")) >= 4)
    trail = page.find("[data-list=commands]").text
    assert "Relay ON" in trail
    assert "Relay OFF" in trail
    assert not page.scrolls_sideways()
    assert page.console_problems(http_errors_expected=True) == []


def test_a_threshold_made_on_the_page_raises_an_alert_acknowledged_there(
    owner: LinkedOwner, page: DashboardPage
) -> None:
    owner.hub.send_readings(
        owner.kettle_plug, power=100.0, voltage=230.0, current=0.4, energy=1.0, relay="OFF"
    )
    page.open(f"plugs/{owner.kettle}")
    page.log_in(owner.email)
    page.wait_for_view("plug-title")
    wait_live(page)
    assert not page.find("#unread").is_displayed()

    # the plug trips at home: Home Assistant reports it, the page says so; reset remotely
    assert page.find("#protection-state").text == "Not known yet."  # nothing reported
    owner.hub.plug(owner.kettle_plug).tripped = True
    owner.hub.send_state(owner.kettle_plug, online=True, relay="OFF", tripped=True)
    page.wait.until(lambda _: page.find("#protection-state").text.startswith("Tripped"))
    page.find("#protection-reset").click()
    page.wait.until(lambda _: page.find("#protection-state").text == "Not tripped.")
    assert owner.hub.plug(owner.kettle_plug).tripped is False
    (reset,) = owner.hub.wait_for_commands(1)
    assert (reset["action"], reset.get("reset")) == ("protection", True)

    # the editor, by keyboard: open it, then fill and submit
    page.tab_to("#thresholds-title ~ details summary").send_keys(Keys.ENTER)
    page.type_into("#threshold-name", "Kettle left on")
    page.find("#threshold-metric").send_keys("p")  # Power (W)
    page.find("#threshold-direction").send_keys("a")  # Above
    page.type_into("#threshold-value", "1000")
    page.find("#threshold-value").send_keys(Keys.ENTER)
    page.wait.until(lambda _: "Power above 1000 W" in page.find("[data-list=thresholds]").text)
    (threshold,) = owner.api.ok("GET", f"/api/v1/devices/{owner.kettle}/thresholds",
                                token=owner.token)  # fmt: skip
    assert (threshold["metric"], threshold["direction"], threshold["value"]) == (
        "power",
        "above",
        1000,
    )
    assert threshold["name"] == "Kettle left on"
    assert not page.scrolls_sideways()

    # a reading above it raises an alert: the unread count follows over the websocket
    owner.hub.send_readings(
        owner.kettle_plug, power=1834.0, voltage=230.0, current=8.0, energy=1.1, relay="ON"
    )
    page.wait.until(lambda _: page.find("#unread").text == "1")
    assert page.find("#nav-notifications").get_attribute("aria-label") == (
        "Notifications, 1 unread"
    )

    page.find("#nav-alerts").click()
    page.wait_for_view("alerts-title")
    page.wait.until(lambda _: len(page.all("#alerts [data-alert-id]")) == 1)
    alert = page.find("#alerts [data-alert-id]")
    alert_id = alert.get_attribute("data-alert-id")
    assert "Power above 1000 W (was 1834 W)" in alert.text
    assert page.unreachable_by_keyboard() == []
    page.screenshot("alert-active")
    page.tab_to(f'[data-alert-id="{alert_id}"] button').send_keys(Keys.ENTER)  # Acknowledge
    page.wait.until(lambda _: not page.all(f'#alerts [data-alert-id="{alert_id}"]'))  # not active
    (acknowledged,) = owner.api.ok("GET", "/api/v1/alerts", token=owner.token)
    assert (acknowledged["id"], acknowledged["state"]) == (alert_id, "acknowledged")
    page.find("#alert-state-acknowledged").click()
    page.wait.until(
        lambda _: page.find(f'[data-alert-id="{alert_id}"] [data-field=state]').text
        == "acknowledged"
    )

    page.find("#nav-notifications").click()
    page.wait_for_view("notifications-title")
    page.wait.until(lambda _: len(page.all(".notification.unread")) == 1)
    page.find(".notification.unread button").click()  # Mark read
    page.wait.until(lambda _: not page.find("#unread").is_displayed())
    unread = owner.api.ok("GET", "/api/v1/notifications/unread-count", token=owner.token)
    assert unread["unread"] == 0
    assert not page.scrolls_sideways()
    # the notifications page asks for the webhook, which answers 404 while none is set
    assert page.console_problems(http_errors_expected=True) == []
