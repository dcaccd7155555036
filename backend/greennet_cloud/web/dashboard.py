"""The web dashboard: static files under `/app/`, served with strict security headers.

The files are a fixed list (no directory lookup), so no request path can reach any other
file. The routes are not API endpoints and stay out of the OpenAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from .answers import json_response

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/app/"
ROUTE_NAME_PREFIX = "dashboard."

JS = "text/javascript; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# our JavaScript modules: the shell, shared pieces, then one per view
MODULES = (
    "app", "api", "dom", "router", "live", "socket", "auth", "relay", "share", "chart",
    "history", "totp", "thresholds", "remote", "homes", "home", "plug", "alerts",
    "notifications", "account", "admin",
)  # fmt: skip

# path under /app/ → content type. Each view is its own module; the page loads a view's
# module (and the vendored libraries) only when the view is first shown.
FILES: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "views.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
    **{f"{module}.js": JS for module in MODULES},
    "vendor/uPlot.esm.js": JS,
    "vendor/uPlot.min.css": "text/css; charset=utf-8",
    "vendor/uPlot.LICENSE.txt": TEXT,
    "vendor/qrcode-generator.mjs": JS,
    "vendor/qrcode-generator.LICENSE.txt": TEXT,
}


@dataclass(frozen=True, slots=True)
class Vendored:
    """A third-party file shipped unchanged from its npm package (see docs/backend.md)."""

    package: str
    version: str
    source: str  # path inside the npm package
    sha256: str
    licence: str  # the licence file served beside it


VENDORED: dict[str, Vendored] = {
    "vendor/uPlot.esm.js": Vendored(
        "uplot", "1.6.32", "dist/uPlot.esm.js",
        "5dd9b3281aa64b461b42d9945f6adb2649d346502b12281a9ae0d46599a80eba",
        "vendor/uPlot.LICENSE.txt",
    ),
    "vendor/uPlot.min.css": Vendored(
        "uplot", "1.6.32", "dist/uPlot.min.css",
        "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
        "vendor/uPlot.LICENSE.txt",
    ),
    "vendor/qrcode-generator.mjs": Vendored(
        "qrcode-generator", "2.0.4", "dist/qrcode.mjs",
        "ea91d7118a5395289170da848b7c6758b996163bfbccf312591ab65a4911b7c0",
        "vendor/qrcode-generator.LICENSE.txt",
    ),
}  # fmt: skip

# no inline script or style anywhere: everything the page runs or styles comes from FILES
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",  # revalidate, so an upgraded backend never runs old JS
}


def _file_handler(name: str, content_type: str) -> Handler:
    path = STATIC_DIR / name

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers={**SECURITY_HEADERS, "Content-Type": content_type})

    serve.__name__ = "dashboard_" + name.replace(".", "_").replace("/", "_")
    return serve


def api_operations(app: web.Application) -> list[str]:
    """Every API operation the app serves, as "METHOD /path/{param}", sorted."""
    return sorted(
        f"{route.method} {route.resource.canonical}"
        for route in app.router.routes()
        if route.resource is not None
        and route.method not in {"HEAD", "OPTIONS"}
        and route.resource.canonical.startswith("/api/")
        and not is_dashboard_route(route)
    )


async def _operations(request: web.Request) -> web.StreamResponse:
    """What this server offers, so the page shows only actions it can take (parts of the
    cloud arrive one by one). Small and public, like the OpenAPI document it mirrors."""
    return json_response(
        {"operations": api_operations(request.app)},
        headers=SECURITY_HEADERS,
    )


async def _to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(PREFIX, headers=SECURITY_HEADERS)


def add_dashboard(app: web.Application) -> None:
    """Serve the dashboard at `/app/` and send `/` and `/app` there."""
    router = app.router
    router.add_get("/", _to_dashboard, name=ROUTE_NAME_PREFIX + "root")
    router.add_get(PREFIX.rstrip("/"), _to_dashboard, name=ROUTE_NAME_PREFIX + "app")
    router.add_get(PREFIX + "operations.json", _operations, name=ROUTE_NAME_PREFIX + "operations")
    for name, content_type in FILES.items():
        path = PREFIX if name == "index.html" else PREFIX + name
        route_name = ROUTE_NAME_PREFIX + name.replace(".", "-").replace("/", "-")
        router.add_get(path, _file_handler(name, content_type), name=route_name)


def is_dashboard_route(route: web.AbstractRoute) -> bool:
    """Whether `route` belongs to the dashboard (and so not to the API document)."""
    name = route.resource.name if route.resource is not None else None
    return name is not None and name.startswith(ROUTE_NAME_PREFIX)
