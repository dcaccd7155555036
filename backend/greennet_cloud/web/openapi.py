"""The OpenAPI 3.1 document, built from the same endpoint table the router is built from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .endpoints import Endpoint
from .schemas import SCHEMAS as CORE_SCHEMAS
from .schemas import ref
from .schemas_alerts import ALERT_SCHEMAS
from .schemas_link import LINK_SCHEMAS
from .schemas_notifications import NOTIFICATION_SCHEMAS

SCHEMAS = CORE_SCHEMAS | NOTIFICATION_SCHEMAS | ALERT_SCHEMAS | LINK_SCHEMAS

TITLE = "GreenNet Cloud API"
VERSION = "1.0.0"
ERROR_TEXT = {
    400: "Invalid input or malformed JSON",
    401: "Missing, invalid or revoked credentials",
    403: "Not allowed to do this",
    404: "No such object (or not visible to you)",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "The body is not application/json",
    429: "Too many attempts; wait Retry-After seconds",
    426: "Upgrade to a websocket required",
    502: "The hub answered with an error",
    503: "Service unavailable",
    504: "The hub did not answer in time",
}


def build_openapi(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    """The document for `endpoints`; every referenced schema must exist in `SCHEMAS`."""
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = {"Error"}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, used)
    missing = used - SCHEMAS.keys()
    if missing:
        raise ValueError(f"schemas referenced but not defined: {sorted(missing)}")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Accounts, homes, devices and sharing for GreenNet plugs.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "linkToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A home's HA link token (gnl_…)",
                },
                "deviceSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Signature",
                    "description": "hex HMAC-SHA256(ingest secret, raw body + X-Timestamp)",
                },
            },
        },
    }


def _operation(endpoint: Endpoint, used: set[str]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "security": (
            [{"bearerAuth": []}]
            if endpoint.auth
            else [{endpoint.security: []}]
            if endpoint.security
            else []
        ),
        "responses": {},
    }
    if endpoint.path_params:
        operation["parameters"] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 64},
            }
            for name in endpoint.path_params
        ]
    if endpoint.parameters:
        operation.setdefault("parameters", []).extend(
            {
                "name": param.name,
                "in": param.where,
                "required": param.required,
                "description": param.description,
                "schema": dict(param.schema),
            }
            for param in endpoint.parameters
        )
    if endpoint.request:
        used.add(endpoint.request)
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(endpoint.request)}},
        }
    for status, schema in endpoint.responses.items():
        answer: dict[str, Any] = {"description": "Success"}
        if schema is not None:
            used.add(schema)
            answer["content"] = {endpoint.produces: {"schema": ref(schema)}}
        operation["responses"][str(status)] = answer
    for status in endpoint.error_statuses():
        error: dict[str, Any] = {
            "description": ERROR_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": ref("Error")}},
        }
        if status == 429:
            error["headers"] = {
                "Retry-After": {
                    "description": "Seconds until another attempt is allowed",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        operation["responses"][str(status)] = error
    return operation
