"""Repair flows: the cloud backlog's overflow report is acknowledged by the user."""

from __future__ import annotations

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.core import HomeAssistant


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Acknowledging the report removes it; the next overflow counts afresh."""
    return ConfirmRepairFlow()
