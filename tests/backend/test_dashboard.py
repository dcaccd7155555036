"""The web dashboard over HTTP: routes, content types, security headers, path handling, the
vendored libraries and what the markup needs from the CSP. Browser tests are in
test_dashboard_*.py."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from greennet_cloud import Config, create_app
from greennet_cloud.web.dashboard import FILES, STATIC_DIR, VENDORED, is_dashboard_route

from .api import Api
from .conftest import FAST_HASHING, TEST_SECRET

TYPES = {
    "/app/": "text/html",
    "/app/app.js": "text/javascript",
    "/app/api.js": "text/javascript",
    "/app/plug.js": "text/javascript",
    "/app/app.css": "text/css",
    "/app/favicon.svg": "image/svg+xml",
    "/app/vendor/uPlot.esm.js": "text/javascript",
    "/app/vendor/uPlot.min.css": "text/css",
    "/app/vendor/qrcode-generator.mjs": "text/javascript",
    "/app/vendor/uPlot.LICENSE.txt": "text/plain",
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
    packaged = {path.relative_to(STATIC_DIR).as_posix() for path in STATIC_DIR.rglob("*")}
    assert {name for name in packaged if (STATIC_DIR / name).is_file()} == set(FILES)
    assert {("/app/" if name == "index.html" else f"/app/{name}") for name in FILES} >= set(TYPES)


async def test_every_listed_file_is_served_with_the_headers(client: Api) -> None:
    for name in FILES:
        reply = await client.call("GET", "/app/" if name == "index.html" else f"/app/{name}")
        assert reply.status == 200, name
        assert reply.headers["Content-Security-Policy"].startswith("default-src 'self'"), name


def test_vendored_libraries_are_the_published_files_with_their_licences() -> None:
    for name, vendored in VENDORED.items():
        content = (STATIC_DIR / name).read_bytes()
        assert hashlib.sha256(content).hexdigest() == vendored.sha256, f"{name} was changed"
        assert vendored.licence in FILES
        text = (STATIC_DIR / vendored.licence).read_text()
        assert f"{vendored.package} {vendored.version} (npm), {vendored.source}" in text
        assert "MIT" in text
        assert "Permission is hereby granted" in text


def test_pages_load_nothing_from_elsewhere() -> None:
    for name in FILES:
        if not name.endswith((".js", ".mjs", ".css", ".html")) or name.startswith("vendor/"):
            continue
        source = (STATIC_DIR / name).read_text()
        assert not re.search(r"(?:https?:)?//(?!www\.w3\.org/2000/svg)[\w.-]+\.\w+/", source), name


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
    assert markup.inputs == {"email", "password", "totp"}
    assert markup.inputs <= markup.labelled
    for script in STATIC_DIR.glob("*.js"):  # ours; the vendored files are checked by hash
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


async def test_the_operations_list_is_the_openapi_documents_operations(client: Api) -> None:
    document = (await client.call("GET", "/api/v1/openapi.json")).body
    documented = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method in item
    }
    reply = await client.call("GET", "/app/operations.json")
    assert reply.status == 200
    assert reply.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert set(reply.body["operations"]) == documented
    assert "GET /api/v1/homes/{home_id}" in reply.body["operations"]
    assert len(reply.body["operations"]) == len(documented)  # no duplicates


async def test_the_dashboard_stays_out_of_the_openapi_document(client: Api) -> None:
    document = (await client.call("GET", "/api/v1/openapi.json")).body
    assert not [path for path in document["paths"] if not path.startswith(("/api/", "/healthz"))]
    routes = client.client.app.router.routes()
    assert {route.resource.canonical for route in routes if is_dashboard_route(route)} >= {
        "/", "/app", "/app/", "/app/app.js"
    }  # fmt: skip
