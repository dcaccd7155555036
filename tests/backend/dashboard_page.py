"""Headless Chromium driving the web dashboard, and a blocking client for seeding the live
backend it talks to."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from greennet_demo.services import cloud_bin
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as visible
from selenium.webdriver.support.ui import WebDriverWait

from .api import PASSWORD
from .live import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE = (390, 844)  # a common phone viewport, CSS pixels
WAIT_SECONDS = 20
REFRESH_KEY = "greennet.refresh_token"  # the dashboard's sessionStorage key (api.js)
LOADED = re.compile(r"^\d+ homes?, \d+ plugs?$")  # the status line once homes are shown
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
# what a keyboard user must be able to reach: every visible control in the header and page
CONTROLS = ", ".join((
    "header a[href]", "header button", "main a[href]", "main button", "main input", "main select",
    "main summary", "dialog button", "dialog input", "dialog select",
))  # fmt: skip
# a 4xx/5xx answer the test asked for shows in the console as a failed resource load
HTTP_ERROR = re.compile(
    r"/api/v1/\S* - Failed to load resource: the server responded with a status of [45]\d\d"
)


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

    def open(self, route: str = "") -> None:
        """Go to the backend's root, which sends the browser to the dashboard (and a route)."""
        self.driver.get(self.base_url + "/" + (f"app/#/{route}" if route else ""))

    def reset(self) -> None:
        """Forget the session and the console of an earlier test in this browser."""
        self.driver.get(self.base_url + "/healthz")
        self.driver.execute_script("sessionStorage.clear()")
        self.driver.get("about:blank")
        self.driver.get_log("browser")

    def go(self, route: str) -> None:
        """Follow an in-page address (as a link would) and wait for its heading to get focus."""
        self.driver.execute_script("location.hash = arguments[0]", f"#/{route}")

    def wait_for_view(self, title_id: str) -> WebElement:
        """Wait until a view's heading is shown and focused (the view has rendered)."""
        heading = self.shown(f"#{title_id}")
        self.wait.until(lambda _: self.focused_id() == title_id)
        return heading

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
        return [element.text for element in self.all("#homes section.home .home-head h3")]

    def plug_names(self, home_id: str) -> list[str]:
        """Plug names shown in one home's section."""
        section = f'#homes section[data-home-id="{home_id}"]'
        return [element.text for element in self.all(f"{section} .plug-name")]

    def field(self, plug_id: str, name: str) -> str:
        """One field of a plug card, e.g. `model` or `last-seen`."""
        return self.find(f'[data-plug-id="{plug_id}"] [data-field="{name}"]').text

    def focused_id(self) -> str:
        """The id of the element with keyboard focus ("" when it has none)."""
        return str(self.driver.execute_script("return document.activeElement?.id ?? ''"))

    def scrolls_sideways(self) -> bool:
        """Whether the page is wider than the window (a phone user would scroll sideways)."""
        return bool(
            self.driver.execute_script(
                "return document.documentElement.scrollWidth > window.innerWidth"
                " || document.body.scrollWidth > window.innerWidth"
            )
        )

    def unreachable_by_keyboard(self, limit: int = 200) -> list[str]:
        """Visible controls that Tab never reaches, walking focus from the top of the page.

        A group of radio buttons is one stop (Tab reaches the checked one, arrows the rest).
        """
        controls = self.driver.execute_script(
            """
            const all = [...document.querySelectorAll(arguments[0])]
              .filter((node) => node.checkVisibility() && !node.disabled);
            all.forEach((node, index) => {
              node.dataset.kb = node.type === "radio" ? `radio:${node.name}` : String(index);
            });
            document.activeElement?.blur();
            return new Set(all.map((node) => node.dataset.kb)).size;
            """,
            CONTROLS,
        )
        reached: set[str] = set()
        body = self.find("body")
        body.send_keys(Keys.TAB)
        for _ in range(limit):
            index = self.driver.execute_script("return document.activeElement?.dataset.kb ?? null")
            if index is not None:
                if index in reached and len(reached) == controls:
                    break
                reached.add(index)
            self.driver.switch_to.active_element.send_keys(Keys.TAB)
        missing: list[str] = self.driver.execute_script(
            """
            return [...document.querySelectorAll('[data-kb]')]
              .filter((node) => !arguments[0].includes(node.dataset.kb))
              .map((node) => node.outerHTML.slice(0, 120));
            """,
            sorted(reached),
        )
        return missing

    def press(self, *keys: str) -> None:
        """Type keys into whatever has focus."""
        self.driver.switch_to.active_element.send_keys(*keys)

    def tab_to(self, css: str, limit: int = 200) -> WebElement:
        """Press Tab until the element matching `css` has focus (as a keyboard user would)."""
        target = self.shown(css)
        for _ in range(limit):
            if self.driver.switch_to.active_element == target:
                return target
            self.press(Keys.TAB)
        raise AssertionError(f"Tab never reached {css}")

    def screenshot(self, name: str) -> Path:
        """Save what the browser shows as test-artifacts/dashboard/<name>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def session_token(self) -> Any:
        """The refresh token the page keeps in sessionStorage (None when logged out)."""
        return self.driver.execute_script(f"return sessionStorage.getItem('{REFRESH_KEY}')")

    def console_problems(self, *, http_errors_expected: bool = False) -> list[str]:
        """Browser console errors and CSP reports since the last call.

        With `http_errors_expected`, API answers of 4xx/5xx that the test provoked (shown
        by Chromium as failed resource loads) are not problems; script errors and CSP
        violations always are.
        """
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if (entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"])
            and not (http_errors_expected and HTTP_ERROR.search(entry["message"]))
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

    def log_in(
        self, email: str, password: str = PASSWORD, totp: str | None = None
    ) -> requests.Response:
        """POST /auth/login (any answer)."""
        body = {"email": email, "password": password, **({"totp": totp} if totp else {})}
        return self.call("POST", "/api/v1/auth/login", body)

    def device_id(self, token: str, plug_id: str) -> str:
        """The API's id of the caller's device with this plug id."""
        for device in self.ok("GET", "/api/v1/devices", token=token):
            if device.get("plug_id", device["id"]) == plug_id:
                return str(device["id"])
        raise AssertionError(f"{plug_id} is not among the caller's devices")

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


def create_admin(server: LiveServer, email: str, password: str = PASSWORD) -> None:
    """`greennet-cloud create-admin` against the live server's data directory."""
    subprocess.run(
        [str(cloud_bin() / "greennet-cloud"), "create-admin", "--email", email, "--password-stdin"],
        input=password.encode(), cwd=server.cwd, env=server.env, check=True, capture_output=True,
    )  # fmt: skip
