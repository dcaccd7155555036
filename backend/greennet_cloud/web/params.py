"""Request values shared by several route modules."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..models import Permission
from ..services.devices import DeviceDetails
from .body import choice, optional_string


def client_address(request: web.Request) -> str:
    """The client's address (`web/proxies.py` has put it in `remote` behind our proxies)."""
    return request.remote or "unknown"


def details_from(body: dict[str, Any]) -> DeviceDetails:
    """Optional name/model/location fields of a request body."""
    return DeviceDetails(
        name=optional_string(body, "name"),
        model=optional_string(body, "model"),
        location=optional_string(body, "location"),
    )


def permission_of(body: dict[str, Any]) -> Permission:
    """The required `permission` field of a share request."""
    permission = choice(body, "permission", Permission, required=True)
    assert permission is not None
    return permission
