"""Headless Chromium driving the web dashboard, and a blocking client for seeding the live
backend it talks to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as visible
from selenium.webdriver.support.ui import WebDriverWait

from .api import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE = (390, 844)  # a common phone viewport, CSS pixels
WAIT_SECONDS = 20
REFRESH_KEY = "greennet.refresh_token"  # the dashboard's sessionStorage key (api.js)
LOADED = re.compile(r"^\d+ homes?, \d+ plugs?$")  # the status line once homes are shown


def start_chromium() -> WebDriver:
    """Headless Chromium at phone width, with its console log readable."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--no-first-run", "--disable-extensions",
                     f"--window-size={PHONE[0]},{PHONE[1]}"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_window_size(*PHONE)  # headless Chromium widens a narrow --window-size
    return driver


class DashboardPage:
    """What a person does on the dashboard, with explicit waits for what they would see."""

    def __init__(self, driver: WebDriver, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url
        # a re-render replaces elements under a running check: look again, do not fail
        self.wait = WebDriverWait(
            driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
        )

    def open(self) -> None:
        """Go to the backend's root, which sends the browser to the dashboard."""
        self.driver.get(self.base_url + "/")

    def find(self, css: str) -> WebElement:
        """The one element matching `css`."""
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        """Every element matching `css`."""
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def shown(self, css: str) -> WebElement:
        """Wait until the element is visible."""
        element: WebElement = self.wait.until(
            visible.visibility_of_element_located((By.CSS_SELECTOR, css))
        )
        return element

    def wait_hidden(self, css: str) -> None:
        """Wait until the element is not visible."""
        self.wait.until(visible.invisibility_of_element_located((By.CSS_SELECTOR, css)))

    def type_into(self, css: str, text: str) -> None:
        """Clear a visible field and type `text`."""
        field = self.shown(css)
        field.clear()
        field.send_keys(text)

    def log_in(self, email: str, password: str = PASSWORD) -> None:
        """Fill the login form and submit it."""
        self.type_into("#email", email)
        self.type_into("#password", password)
        self.shown("#login-submit").click()

    def enter_code(self, code: str) -> None:
        """Fill the two-factor step and submit it."""
        self.type_into("#totp", code)
        self.shown("#totp-submit").click()

    def wait_for_homes(self) -> None:
        """Wait until the dashboard has loaded and rendered the homes."""
        self.shown("#dashboard")
        self.wait.until(lambda _: LOADED.match(self.find("#status").text))

    def error(self) -> str:
        """Wait for the error line and return its text."""
        return self.shown("#error").text

    def wait_for_error(self, text: str) -> None:
        """Wait until the error line shows `text`."""
        self.wait.until(visible.text_to_be_present_in_element((By.CSS_SELECTOR, "#error"), text))

    def log_out(self) -> None:
        """Press "Log out" and wait for the login form."""
        self.shown("#logout").click()
        self.shown("#login-form")

    def home_titles(self) -> list[str]:
        """Home headings in page order."""
        return [element.text for element in self.all("#homes section.home > h3")]

    def plug_names(self, home_id: str) -> list[str]:
        """Plug names shown in one home's section."""
        section = f'#homes section[data-home-id="{home_id}"]'
        return [element.text for element in self.all(f"{section} .plug-name")]

    def field(self, plug_id: str, name: str) -> str:
        """One field of a plug card, e.g. `model` or `last-seen`."""
        return self.find(f'[data-plug-id="{plug_id}"] [data-field="{name}"]').text

    def session_token(self) -> Any:
        """The refresh token the page keeps in sessionStorage (None when logged out)."""
        return self.driver.execute_script(f"return sessionStorage.getItem('{REFRESH_KEY}')")

    def console_problems(self) -> list[str]:
        """Browser console errors and CSP reports since the last call."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]
        ]


@dataclass
class LiveApi:
    """Blocking JSON calls to a live backend, for seeding and for checks beside the browser."""

    base_url: str

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> requests.Response:
        """One request (JSON body, bearer token when given)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(
            method, self.base_url + path, json=body, headers=headers, timeout=30
        )

    def ok(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """A call that must succeed; its JSON answer."""
        reply = self.call(method, path, body, token)
        assert reply.status_code < 300, (path, reply.status_code, reply.text)
        return reply.json() if reply.content else None

    def account(self, email: str, password: str = PASSWORD) -> str:
        """Register and log in; the access token."""
        self.ok("POST", "/api/v1/auth/register", {"email": email, "password": password})
        tokens = self.ok("POST", "/api/v1/auth/login", {"email": email, "password": password})
        return str(tokens["access_token"])

    def home(self, token: str, name: str, plugs: dict[str, dict[str, str]]) -> str:
        """A home with plugs (plug id → name/model/location); the home id."""
        home_id = str(self.ok("POST", "/api/v1/homes", {"name": name}, token)["id"])
        for plug_id, details in plugs.items():
            self.pair(token, home_id, plug_id, details)
        return home_id

    def pair(
        self, token: str, home_id: str, plug_id: str, details: dict[str, str] | None = None
    ) -> Any:
        """Pair a plug into a home (pairing code, then /devices/pair): device + credential."""
        code = self.ok("POST", f"/api/v1/homes/{home_id}/pairing-codes", None, token)["code"]
        body = {"code": code, "device_id": plug_id, **(details or {})}
        return self.ok("POST", "/api/v1/devices/pair", body)
