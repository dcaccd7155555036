"""`/api/v1/ingest`: telemetry from a plug (HMAC-signed) and from a linked HA hub (batch).

Routes stay thin: the raw body goes to the ingest service as bytes, because a signature
is checked over exactly the bytes received, before anything parses them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import Unauthenticated
from ..services.ingest import IngestReport
from .endpoints import Endpoint, Parameter, bearer_token
from .keys import INGEST


def report_json(report: IngestReport) -> dict[str, Any]:
    """Counts, and one entry per refused sample (its index in the request)."""
    return {
        "stored": report.stored,
        "duplicates": report.duplicates,
        "rejected": len(report.errors),
        "errors": [
            {"index": error.index, "error": error.code, "message": error.message}
            for error in report.errors
        ],
    }


async def ingest_from_device(request: web.Request) -> web.Response:
    """A plug's own samples, signed with its ingest secret."""
    headers = request.headers
    device_id = headers.get("X-Device-Id")
    timestamp = headers.get("X-Timestamp")
    signature = headers.get("X-Signature")
    raw = await request.read()  # the size limit applies here: 413
    report = await request.app[INGEST].from_device(device_id, timestamp, signature, raw)
    return web.json_response(report_json(report))


async def ingest_batch(request: web.Request) -> web.Response:
    """A batch from the Home Assistant hub linked to a home (its link token)."""
    try:
        token = bearer_token(request)
    except Unauthenticated:
        raise Unauthenticated("a link token is required", "invalid_link_token") from None
    raw = await request.read()
    report = await request.app[INGEST].from_hub(token, raw)
    return web.json_response(report_json(report))


_DEVICE_HEADERS = (
    Parameter(
        "X-Device-Id",
        {"type": "string", "format": "uuid"},
        "The device id the pairing answer returned",
        required=True,
        where="header",
    ),
    Parameter(
        "X-Timestamp",
        {"type": "string", "pattern": "^[0-9]{13}$"},
        "Unix milliseconds; within ±300 s of the server's clock",
        required=True,
        where="header",
    ),
    Parameter(
        "X-Signature",
        {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "hex HMAC-SHA256(ingest secret, raw body + X-Timestamp)",
        required=True,
        where="header",
    ),
)
# fmt: off
ENDPOINTS = (
    Endpoint("POST", "/api/v1/ingest/batch", ingest_batch, "ingestBatch",
             "Telemetry batch from a linked HA hub (link token)", "telemetry", auth=False,
             security="linkToken", request="IngestBatch", responses={200: "IngestReport"}),
    Endpoint("POST", "/api/v1/ingest", ingest_from_device, "ingestFromDevice",
             "Telemetry from a plug, HMAC-signed", "telemetry", auth=False,
             security="deviceSignature", request="IngestSamples",
             responses={200: "IngestReport"}, parameters=_DEVICE_HEADERS),
)
# fmt: on
