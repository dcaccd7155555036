"""JSON answers, encoded with orjson (several times faster than the standard library's
encoder per answer, bench/RESULTS.md): the same documents, compactly written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

_OPTIONS = orjson.OPT_NON_STR_KEYS  # int keys become strings, as with json.dumps


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """`data` as an `application/json` (UTF-8) answer, like `web.json_response`."""
    return web.Response(
        body=orjson.dumps(data, option=_OPTIONS),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )
