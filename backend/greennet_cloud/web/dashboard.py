"""The web dashboard: static files under `/app/`, served with strict security headers.

The files are a fixed list (no directory lookup), so no request path can reach any other
file. The routes are not API endpoints and stay out of the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/app/"
ROUTE_NAME_PREFIX = "dashboard."

# file name → content type; part 2 adds its modules (live power, history chart) here
FILES: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "render.js": "text/javascript; charset=utf-8",
    "mail_links.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

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

    serve.__name__ = f"dashboard_{name.replace('.', '_')}"
    return serve


async def _to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(PREFIX, headers=SECURITY_HEADERS)


def add_dashboard(app: web.Application) -> None:
    """Serve the dashboard at `/app/` and send `/` and `/app` there."""
    router = app.router
    router.add_get("/", _to_dashboard, name=ROUTE_NAME_PREFIX + "root")
    router.add_get(PREFIX.rstrip("/"), _to_dashboard, name=ROUTE_NAME_PREFIX + "app")
    for name, content_type in FILES.items():
        path = PREFIX if name == "index.html" else PREFIX + name
        route_name = ROUTE_NAME_PREFIX + name.replace(".", "-")
        router.add_get(path, _file_handler(name, content_type), name=route_name)


def is_dashboard_route(route: web.AbstractRoute) -> bool:
    """Whether `route` belongs to the dashboard (and so not to the API document)."""
    name = route.resource.name if route.resource is not None else None
    return name is not None and name.startswith(ROUTE_NAME_PREFIX)
