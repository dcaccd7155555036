"""aiohttp's own hello world (its documentation's first server): the cloud benchmark's
baseline, run in the cloud venv so both use the same aiohttp.

    .venv-cloud/bin/python -m bench.hello_world PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    """The whole application."""
    return web.Response(text="Hello, world")


def main() -> None:
    """Serve on 127.0.0.1:PORT until SIGTERM."""
    app = web.Application()
    app.add_routes([web.get("/", hello)])
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
