"""`…/energy`: energy (and cost) per local day or month, of a device or a whole home."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from ..errors import InvalidInput
from ..services.energy import EnergyReport
from .answers import json_response
from .endpoints import Endpoint, Parameter, principal_of
from .keys import ENERGY


def _date(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a date (YYYY-MM-DD)", "invalid_input") from None


def report_json(report: EnergyReport) -> dict[str, Any]:
    """Periods with kWh (and cost when the home has a tariff)."""
    tariff = report.tariff
    return {
        "period": report.period,
        "timezone": report.timezone,
        "currency": tariff.currency if tariff else None,
        "price_per_kwh": tariff.price_per_kwh if tariff else None,
        "total_kwh": report.total_kwh,
        "total_cost": (
            None if tariff is None else round(sum(p.cost or 0.0 for p in report.periods), 6)
        ),
        "truncated": report.truncated,
        "periods": [
            {"start": item.start.isoformat(), "energy_kwh": item.energy_kwh, "cost": item.cost}
            for item in report.periods
        ],
    }


async def device_energy(request: web.Request) -> web.Response:
    """Energy of one device per local day or month."""
    report = await request.app[ENERGY].for_device(
        principal_of(request), request.match_info["device_id"],
        request.query.get("period", "day"), _date(request, "from"), _date(request, "to"),
    )  # fmt: skip
    return json_response(report_json(report))


async def home_energy(request: web.Request) -> web.Response:
    """Energy of a whole home per local day or month."""
    report = await request.app[ENERGY].for_home(
        principal_of(request), request.match_info["home_id"],
        request.query.get("period", "day"), _date(request, "from"), _date(request, "to"),
    )  # fmt: skip
    return json_response(report_json(report))


_PARAMS = (
    Parameter("period", {"type": "string", "enum": ["day", "month"], "default": "day"},
              "Local days or calendar months of the home's time zone"),
    Parameter("from", {"type": "string", "format": "date"},
              "First day (local); default 30 days / 12 months before `to`"),
    Parameter("to", {"type": "string", "format": "date"}, "Last day (local, inclusive); today"),
)  # fmt: skip
# fmt: off
ENDPOINTS = (
    Endpoint("GET", "/api/v1/devices/{device_id}/energy", device_energy, "getDeviceEnergy",
             "Energy and cost of a device per local day or month", "telemetry",
             responses={200: "EnergyReport"}, parameters=_PARAMS),
    Endpoint("GET", "/api/v1/homes/{home_id}/energy", home_energy, "getHomeEnergy",
             "Energy and cost of a home per local day or month", "telemetry",
             responses={200: "EnergyReport"}, parameters=_PARAMS),
)
# fmt: on
