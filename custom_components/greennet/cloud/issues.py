"""Repair issues of the cloud link (the backlog's overflow issue lives with the backlog)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from ..const import DOMAIN
from ..hub import GreenNetConfigEntry
from .const import ISSUE_UNSUPPORTED_LINK


def _issue_id(entry: GreenNetConfigEntry) -> str:
    return f"{ISSUE_UNSUPPORTED_LINK}_{entry.entry_id}"


def async_raise_unsupported_issue(
    hass: HomeAssistant, entry: GreenNetConfigEntry, url: str
) -> None:
    """The cloud closed the link with 4000: it does not speak our protocol version."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        _issue_id(entry),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_UNSUPPORTED_LINK,
        translation_placeholders={"hub": entry.title, "url": url},
    )


def async_clear_unsupported_issue(hass: HomeAssistant, entry: GreenNetConfigEntry) -> None:
    """The cloud welcomed the link again."""
    ir.async_delete_issue(hass, DOMAIN, _issue_id(entry))
