"""Request values shared by several route modules."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from ..errors import InvalidInput
from ..models import Access, Device, Permission, Tariff
from ..services.devices import DeviceDetails
from ..services.homes import HomeChanges
from .body import choice, optional_string
from .keys import CLOCK, CONFIG
from .serialize import device_json


def client_address(request: web.Request) -> str:
    """The client's address (`web/proxies.py` has put it in `remote` behind our proxies)."""
    return request.remote or "unknown"


def device_out(request: web.Request, device: Device, access: Access) -> dict[str, Any]:
    """A device as JSON, `online` when it reported within the configured window."""
    window = timedelta(seconds=request.app[CONFIG].offline_after_seconds)
    return device_json(device, access, is_online(device, request.app[CLOCK](), window))


def is_online(device: Device, now: datetime, window: timedelta) -> bool:
    """Online: its hub said so, or it sent a sample, within `window`; a hub saying it went
    offline wins over older samples."""
    seen, said, said_at = device.last_seen_at, device.reported_online, device.state_at
    if said is not None and said_at is not None and (seen is None or said_at >= seen):
        return said and now - said_at <= window
    return seen is not None and now - seen <= window


def details_from(body: dict[str, Any]) -> DeviceDetails:
    """Optional name/model/location fields of a request body."""
    return DeviceDetails(
        name=optional_string(body, "name"),
        model=optional_string(body, "model"),
        location=optional_string(body, "location"),
    )


def home_changes(body: dict[str, Any]) -> HomeChanges:
    """Optional `name`, `timezone` and `tariff` (an object, or null to remove it)."""
    tariff: Tariff | None = None
    if isinstance(raw := body.get("tariff"), dict):
        price = raw.get("price_per_kwh")
        currency = raw.get("currency")
        if isinstance(price, bool) or not isinstance(price, int | float):
            raise InvalidInput("'tariff.price_per_kwh' must be a number", "invalid_tariff")
        if not isinstance(currency, str):
            raise InvalidInput("'tariff.currency' must be a string", "invalid_tariff")
        try:
            price = float(price)
        except OverflowError:
            price = math.inf
        tariff = Tariff(price_per_kwh=price, currency=currency)
    elif raw is not None:
        raise InvalidInput("'tariff' must be an object or null", "invalid_tariff")
    return HomeChanges(
        name=optional_string(body, "name"),
        timezone=optional_string(body, "timezone", max_length=64),
        tariff=tariff,
        clear_tariff="tariff" in body and raw is None,
    )


def permission_of(body: dict[str, Any]) -> Permission:
    """The required `permission` field of a share request."""
    permission = choice(body, "permission", Permission, required=True)
    assert permission is not None
    return permission
