"""Account settings and administration in the dashboard (headless Chromium, real backend):
TOTP enrolled by decoding the QR code the page draws, then used to log in; password change;
profile; log out everywhere; the admin's user list."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import zxingcpp
from PIL import Image
from selenium.webdriver.common.by import By

from .api import PASSWORD
from .dashboard_page import DashboardPage, LiveApi, create_admin
from .live import LiveServer

NEW_PASSWORD = "a completely different passphrase"


def _decoded_qr(page: DashboardPage) -> str:
    """What a phone's camera reads from the QR code on screen (zxing-cpp on a screenshot)."""
    qr = page.shown("svg.qr")
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", qr)
    png = qr.screenshot_as_png
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return str(barcode.text)


def _codes(secret: str) -> list[str]:
    """Three codes the server takes one after the other, without waiting: each step is
    accepted once, and the previous, current and next step are all valid now."""
    now = int(time.time()) // 30
    return [pyotp.TOTP(secret).at(step * 30) for step in (now - 1, now, now + 1)]


def test_two_factor_is_enrolled_from_the_qr_code_and_then_asked_at_login(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    api.account("rae@example.com")
    page.open("account")
    page.log_in("rae@example.com")
    page.wait_for_view("account-title")
    assert page.find("#totp-state").text.startswith("Off")
    assert page.unreachable_by_keyboard() == []

    page.type_into("#totp-enrol-password", PASSWORD)  # re-authentication
    page.find("#totp-enrol-form button[type=submit]").click()
    uri = _decoded_qr(page)
    assert page.focused_id() == "totp-confirm-code"
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert "rae@example.com" in unquote(parsed.path)
    secret = parse_qs(parsed.query)["secret"][0]
    typed = page.find("#totp-secret").text.replace(" ", "")
    assert typed == secret  # the key to type by hand is the one in the QR code
    assert not page.scrolls_sideways()
    page.screenshot("totp-enrolment")

    confirm, log_in, disable = _codes(secret)
    page.type_into("#totp-confirm-code", confirm)
    page.find("#totp-confirm-form button[type=submit]").click()
    page.wait.until(lambda _: page.find("#totp-state").text.startswith("On"))
    assert api.log_in("rae@example.com").json()["error"] == "totp_required"

    page.log_out()
    page.log_in("rae@example.com")
    page.shown("#totp-form")
    page.enter_code(log_in)
    page.wait_for_homes()  # logging in again starts at the homes list
    page.go("account")
    page.wait_for_view("account-title")
    assert page.find("#totp-state").text.startswith("On")

    page.type_into("#totp-disable-password", PASSWORD)
    page.type_into("#totp-disable-code", disable)
    page.find("#totp-disable-form button[type=submit]").click()
    page.wait.until(lambda _: page.find("#totp-state").text.startswith("Off"))
    assert api.log_in("rae@example.com").status_code == 200
    assert page.console_problems(http_errors_expected=True) == []  # the login's totp_required


def test_a_password_change_takes_the_new_password_and_ends_other_sessions(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    api.account("sam@example.com")
    other = api.log_in("sam@example.com").json()["refresh_token"]
    page.open("account")
    page.log_in("sam@example.com")
    page.wait_for_view("account-title")

    page.type_into("#current-password", PASSWORD)
    page.type_into("#new-password", NEW_PASSWORD)
    page.type_into("#repeat-password", NEW_PASSWORD + " typo")
    page.find("#password-form button[type=submit]").click()
    assert page.driver.execute_script(
        "return document.querySelector('#repeat-password').validationMessage"
    )
    assert api.log_in("sam@example.com").status_code == 200  # nothing was sent

    page.type_into("#repeat-password", NEW_PASSWORD)
    page.find("#password-form button[type=submit]").click()
    page.wait.until(lambda _: "Password changed" in page.find("#status").text)
    assert api.log_in("sam@example.com").status_code == 401
    assert api.log_in("sam@example.com", NEW_PASSWORD).status_code == 200
    ended = api.call("POST", "/api/v1/auth/refresh", {"refresh_token": other})
    assert ended.status_code == 401

    page.type_into("#profile-name", "Sam <b>Kay</b>")
    page.find("#profile-form button[type=submit]").click()
    page.wait.until(lambda _: page.find("#whoami").text.startswith("Sam <b>Kay</b>"))
    assert page.console_problems(http_errors_expected=True) == []


def test_log_out_everywhere_ends_this_and_every_other_session(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    api.account("tia@example.com")
    other = api.log_in("tia@example.com").json()["refresh_token"]
    page.open("account")
    page.log_in("tia@example.com")
    page.wait_for_view("account-title")
    mine = page.session_token()
    page.find("#logout-all").click()
    page.shown("dialog button.danger").click()
    page.shown("#login-form")
    assert page.session_token() is None
    for token in (mine, other):
        ended = api.call("POST", "/api/v1/auth/refresh", {"refresh_token": token})
        assert ended.status_code == 401


def test_the_admin_lists_accounts_and_disables_one(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    create_admin(dashboard_server, "root@example.com")
    api.account("uma@example.com")
    page.open()
    page.log_in("uma@example.com")
    page.wait_for_homes()
    assert not page.find("#nav-admin").is_displayed()  # not for users
    page.log_out()

    page.log_in("root@example.com")
    page.wait_for_homes()
    page.shown("#nav-admin").click()
    page.wait_for_view("admin-title")
    users = api.ok(
        "GET", "/api/v1/users", token=api.log_in("root@example.com").json()["access_token"]
    )
    shown = [element.text.removesuffix(" (you)") for element in page.all("#users .user h3")]
    assert shown == [user["email"] for user in users]
    assert not page.scrolls_sideways()
    assert page.unreachable_by_keyboard() == []
    page.screenshot("admin-users")

    uma = next(user for user in users if user["email"] == "uma@example.com")
    card = page.find(f'[data-user-id="{uma["id"]}"]')
    card.find_element(By.XPATH, ".//button[text()='Disable']").click()
    page.wait.until(
        lambda _: page.find(f'[data-user-id="{uma["id"]}"] [data-field="status"]').text
        == "disabled"
    )
    refused = api.log_in("uma@example.com")
    assert (refused.status_code, refused.json()["error"]) == (403, "account_disabled")

    page.find(f"#role-{uma['id']}").send_keys("g")  # keyboard choice: guest
    page.find(f'[data-user-id="{uma["id"]}"]').find_element(
        By.XPATH, ".//button[text()='Set role']"
    ).click()
    page.wait.until(lambda _: "guest" in page.find("#status").text)
    root = api.log_in("root@example.com").json()["access_token"]
    assert api.ok("GET", f"/api/v1/users/{uma['id']}", token=root)["role"] == "guest"
    assert page.console_problems() == []


def test_a_session_revoked_from_the_list_is_logged_out_in_its_own_tab(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    token = api.account("ivo@example.com")
    first_tab = page.driver.current_window_handle
    page.open("account")
    page.log_in("ivo@example.com")
    page.wait_for_view("account-title")

    page.driver.switch_to.new_window("tab")  # a tab of its own: its own sessionStorage
    page.open()
    page.log_in("ivo@example.com")
    page.wait_for_homes()
    other_tab = page.driver.current_window_handle
    other_refresh = page.session_token()
    sessions = api.ok("GET", "/api/v1/auth/sessions", token=token)
    newest = max(sessions, key=lambda session: session["created_at"])  # the other tab's

    page.driver.switch_to.window(first_tab)
    page.find("#reload").click()
    page.wait_for_view("account-title")
    rows = page.all("#sessions [data-session-id]")
    assert {row.get_attribute("data-session-id") for row in rows} == {s["id"] for s in sessions}
    assert sum("This session" in row.text for row in rows) == 1
    assert not page.scrolls_sideways()
    page.screenshot("sessions")
    page.find(f'#sessions [data-session-id="{newest["id"]}"] button').click()
    page.shown("dialog button.danger").click()
    page.wait.until(lambda _: not page.all(f'#sessions [data-session-id="{newest["id"]}"]'))
    refused = api.call("POST", "/api/v1/auth/refresh", {"refresh_token": other_refresh})
    assert refused.status_code == 401

    page.driver.switch_to.window(other_tab)  # its live socket closed: back to the login form
    page.shown("#login-form")
    page.wait_for_error("Your session ended")
    assert page.session_token() is None
    page.driver.close()
    page.driver.switch_to.window(first_tab)
    assert page.find("#account-title").is_displayed()  # this tab's session lives on
    assert page.console_problems(http_errors_expected=True) == []


def test_the_admin_sets_a_password_and_resets_two_factor_after_re_authenticating(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    create_admin(dashboard_server, "boss@example.com")
    user = api.account("lea@example.com")
    reauth = {"current_password": PASSWORD}
    secret = api.ok("POST", "/api/v1/auth/totp", reauth, user)["secret"]
    code = pyotp.TOTP(secret).now()
    api.ok("POST", "/api/v1/auth/totp/confirm", {"code": code, **reauth}, user)
    page.open("admin")
    page.log_in("boss@example.com")
    page.wait_for_view("admin-title")
    card = f'[data-user-id="{api.ok("GET", "/api/v1/users/me", token=user)["id"]}"]'

    page.find(card).find_element(By.XPATH, ".//button[text()='Reset two-factor…']").click()
    page.type_into("#reset-two-factor-password", "not my password")
    page.find("#reset-two-factor-form button[type=submit]").click()
    page.wait.until(lambda _: page.find("#reset-two-factor-form .error").text != "")
    page.type_into("#reset-two-factor-password", PASSWORD)
    page.find("#reset-two-factor-form button[type=submit]").click()
    page.wait_hidden("dialog")
    page.wait.until(lambda _: "Two-factor of lea@example.com is off" in page.find("#status").text)
    assert api.log_in("lea@example.com").status_code == 200  # no code asked any more

    page.find(card).find_element(By.XPATH, ".//button[text()='Set password…']").click()
    page.type_into("#user-new-password", NEW_PASSWORD)
    page.type_into("#reset-password-password", PASSWORD)
    page.find("#reset-password-form button[type=submit]").click()
    page.wait_hidden("dialog")
    assert api.log_in("lea@example.com", NEW_PASSWORD).status_code == 200
    assert api.log_in("lea@example.com").status_code == 401
    assert page.console_problems(http_errors_expected=True) == []
