"""The web dashboard: its routes and headers over HTTP, then in headless Chromium against the
real backend (login, two-factor step, homes and plugs, errors, refresh, logout)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pyotp
import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from greennet_cloud import Config, create_app
from greennet_cloud.web.dashboard import FILES, STATIC_DIR, is_dashboard_route

from .api import PASSWORD, Api
from .conftest import FAST_HASHING, TEST_SECRET
from .dashboard_page import CHROMIUM, PHONE, DashboardPage, LiveApi, start_chromium
from .live import FAST_ARGON2, LiveServer
from .telemetry import sample, signed_headers

TYPES = {
    "/app/": "text/html",
    "/app/app.js": "text/javascript",
    "/app/api.js": "text/javascript",
    "/app/render.js": "text/javascript",
    "/app/mail_links.js": "text/javascript",
    "/app/app.css": "text/css",
    "/app/favicon.svg": "image/svg+xml",
}
# raw request targets, sent byte for byte; none may reach a file outside FILES
TRAVERSALS = [
    "/app/../pyproject.toml",
    "/app/..%2f..%2f..%2fpyproject.toml",
    "/app/%2e%2e/%2e%2e/dashboard.py",
    "/app/%2e%2e%2fdashboard.py",
    "/app/..%5cdashboard.py",
    "/app/....//dashboard.py",
    "/app//etc/passwd",
    "/app/static/index.html",
    "/app/index.html%00.js",
    "/app/app.js%2f..%2f..%2fdashboard.py",
    "/app/APP.JS",
]


@pytest.fixture
async def client(tmp_path: Path, socket_enabled: None) -> AsyncIterator[Api]:
    """The app on loopback with a throwaway SQLite database."""
    config = Config(data_dir=tmp_path, secret=TEST_SECRET, password_hashing=FAST_HASHING)
    async with TestClient(TestServer(create_app(config), host="127.0.0.1")) as test_client:
        yield Api(test_client)


async def test_root_and_app_send_the_browser_to_the_dashboard(client: Api) -> None:
    for path in ("/", "/app"):
        async with client.client.get(path, allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"] == "/app/"
            assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("path", "content_type"), TYPES.items())
async def test_dashboard_files_have_their_type_and_the_security_headers(
    client: Api, path: str, content_type: str
) -> None:
    reply = await client.call("GET", path)
    assert reply.status == 200
    assert reply.headers["Content-Type"].split(";")[0] == content_type
    policy = [part.strip() for part in reply.headers["Content-Security-Policy"].split(";")]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe" not in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    assert reply.headers["X-Frame-Options"] == "DENY"


def test_every_packaged_static_file_is_served_and_only_those() -> None:
    assert {entry.name for entry in STATIC_DIR.iterdir()} == set(FILES)
    assert {("/app/" if name == "index.html" else f"/app/{name}") for name in FILES} == set(TYPES)


class _Markup(HTMLParser):
    """Collects what CSP would have to allow: inline code, inline style, off-site loads."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.labelled: set[str] = set()
        self.inputs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attributes.items():
            if name.startswith("on") or name == "style":
                self.problems.append(f"<{tag} {name}>")
            if name in {"src", "href", "action"} and value and re.match(r"^(\w+:|//)", value):
                self.problems.append(f"<{tag} {name}={value}> loads from elsewhere")
        if tag == "script" and "src" not in attributes:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "label":
            self.labelled.add(attributes.get("for") or "")
        if tag == "input":
            self.inputs.add(attributes.get("id") or "")


def test_the_page_needs_no_inline_code_and_labels_every_field() -> None:
    markup = _Markup()
    markup.feed((STATIC_DIR / "index.html").read_text())
    assert markup.problems == []
    assert markup.inputs == {"email", "password", "totp", "forgot-email", "new-password"}
    assert markup.inputs <= markup.labelled
    for script in STATIC_DIR.glob("*.js"):
        source = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{script.name} uses {sink}"


async def _raw_get(client: Api, target: str) -> tuple[int, bytes]:
    """Send `target` exactly as written (no client-side normalization)."""
    server = client.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize("target", TRAVERSALS)
async def test_paths_outside_the_dashboard_files_are_404(client: Api, target: str) -> None:
    status, body = await _raw_get(client, target)
    assert status == 404, body
    assert json.loads(body)["error"] == "not_found"
    assert b"[build-system]" not in body
    assert b"import" not in body
    assert b"root:" not in body


async def test_the_dashboard_stays_out_of_the_openapi_document(client: Api) -> None:
    document = (await client.call("GET", "/api/v1/openapi.json")).body
    assert not [path for path in document["paths"] if not path.startswith(("/api/", "/healthz"))]
    routes = client.client.app.router.routes()
    assert {route.resource.canonical for route in routes if is_dashboard_route(route)} >= {
        "/", "/app", "/app/", "/app/app.js"
    }  # fmt: skip


# --- in the browser ----------------------------------------------------------------------


@pytest.fixture
def chromium() -> None:
    """Skip the browser tests only where Chromium itself is missing (CI installs it)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup installs chromium)")


@pytest.fixture
def live(chromium: None, socket_enabled: None) -> Iterator[LiveServer]:
    """The real backend as a subprocess on a loopback port, with SQLite."""
    server = LiveServer(
        env={**FAST_ARGON2, "GREENNET_SECRET": TEST_SECRET, "GREENNET_LOG_LEVEL": "WARNING"}
    )
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def page(live: LiveServer) -> Iterator[DashboardPage]:
    """Headless Chromium at phone width, pointed at the live backend."""
    driver = start_chromium()
    try:
        yield DashboardPage(driver, live.base_url)
    finally:
        driver.quit()


def test_login_shows_homes_and_plugs_and_logout_ends_the_session(
    live: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(live.base_url)
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
    assert page.driver.current_url == live.base_url + "/app/"
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
    live: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(live.base_url)
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


def test_markup_in_api_text_is_shown_as_text(live: LiveServer, page: DashboardPage) -> None:
    api = LiveApi(live.base_url)
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
    live: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(live.base_url)
    token = api.account("fay@example.com")
    home = api.home(token, "Studio", {"greennet-c0ffee": {"name": "Espresso"}})
    totp = pyotp.TOTP(
        api.ok("POST", "/api/v1/auth/totp", {"current_password": PASSWORD}, token)["secret"]
    )
    confirmed_at = int(time.time())
    api.ok(
        "POST", "/api/v1/auth/totp/confirm",
        {"code": totp.at(confirmed_at), "current_password": PASSWORD}, token,
    )  # fmt: skip
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
    live: LiveServer, page: DashboardPage
) -> None:
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
    live: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(live.base_url)
    token = api.account("ivy@example.com")
    home_id = api.ok("POST", "/api/v1/homes", {"name": "Loft"}, token)["id"]
    paired = api.pair(token, home_id, "greennet-1e1e1e", {"name": "Router"})
    page.open()
    page.log_in("ivy@example.com")
    page.wait_for_homes()
    assert page.field("greennet-1e1e1e", "last-seen") == "never seen"
    assert page.field("greennet-1e1e1e", "status") == "offline"

    now_ms = int(time.time() * 1000)
    body = json.dumps({"samples": [sample(now_ms - 5000)]}).encode()
    headers = signed_headers(paired["device"]["id"], paired["credential"]["secret"], body, now_ms)
    reply = requests.post(live.base_url + "/api/v1/ingest", data=body, headers=headers, timeout=30)
    assert reply.json()["stored"] == 1, reply.text

    page.shown("#reload").click()
    page.wait.until(lambda _: page.field("greennet-1e1e1e", "last-seen") != "never seen")
    shown = page.find('[data-plug-id="greennet-1e1e1e"] [data-field="last-seen"] time')
    seen = datetime.fromisoformat(str(shown.get_attribute("datetime")).replace("Z", "+00:00"))
    assert seen == datetime.fromtimestamp((now_ms - 5000) / 1000, UTC)
    assert page.field("greennet-1e1e1e", "status") == "online"
    assert page.console_problems() == []
