"""Repair issues the integration raises in Home Assistant's issue registry."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from . import protocol as p
from .const import DOMAIN, ISSUE_UNSUPPORTED_PROTOCOL, LOGGER


def _issue_id(plug_id: str) -> str:
    return f"{ISSUE_UNSUPPORTED_PROTOCOL}_{plug_id}"


def async_sync_protocol_issue(hass: HomeAssistant, info: p.PlugInfo) -> None:
    """Raise a repair issue while a plug speaks a protocol version we do not; clear it after."""
    if info.supported:
        ir.async_delete_issue(hass, DOMAIN, _issue_id(info.id))
        return
    LOGGER.warning("GreenNet plug %s speaks unsupported protocol %s", info.id, info.protocol)
    ir.async_create_issue(
        hass,
        DOMAIN,
        _issue_id(info.id),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_UNSUPPORTED_PROTOCOL,
        translation_placeholders={
            "plug": info.name,
            "plug_id": info.id,
            "version": str(info.protocol),
            "supported": str(p.PROTOCOL_VERSION),
        },
    )


def async_delete_plug_issues(hass: HomeAssistant, plug_id: str) -> None:
    """Forget the issues of a removed plug."""
    ir.async_delete_issue(hass, DOMAIN, _issue_id(plug_id))
