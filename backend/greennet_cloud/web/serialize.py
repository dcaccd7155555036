"""Domain records → JSON-ready dicts (the shapes the OpenAPI schemas describe)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..models import (
    Access,
    Channel,
    Device,
    DeviceCredential,
    Home,
    LinkToken,
    LiveLink,
    Notification,
    NotificationType,
    Session,
    Share,
    User,
    Webhook,
)
from ..services.accounts import TokenPair


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a `Z`, or None."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def user_json(user: User) -> dict[str, Any]:
    """An account as its owner or an administrator sees it."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role.value,
        "disabled": user.disabled,
        "totp_enabled": user.totp_enabled,
        "created_at": timestamp(user.created_at),
    }


def tokens_json(pair: TokenPair) -> dict[str, Any]:
    """Login/refresh answer."""
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
    }


def home_json(home: Home, access: Access) -> dict[str, Any]:
    """A home and what the caller may do with it."""
    tariff = home.tariff
    return {
        "id": home.id,
        "name": home.name,
        "access": access.value,
        "created_at": timestamp(home.created_at),
        "timezone": home.timezone,
        "tariff": (
            {"price_per_kwh": tariff.price_per_kwh, "currency": tariff.currency} if tariff else None
        ),
    }


def device_json(device: Device, access: Access, online: bool = False) -> dict[str, Any]:
    """A device, what the caller may do with it, and whether it reported recently."""
    return {
        "id": device.id,
        "plug_id": device.plug_id,
        "home_id": device.home_id,
        "name": device.name,
        "model": device.model,
        "location": device.location,
        "access": access.value,
        "created_at": timestamp(device.created_at),
        "last_seen_at": timestamp(device.last_seen_at),
        "online": online,
        "relay": None if device.relay is None else ("ON" if device.relay else "OFF"),
        "tripped": device.tripped,
    }


def credential_json(credential: DeviceCredential, secret: str | None = None) -> dict[str, Any]:
    """An ingest credential; `secret` only in the answer that creates it."""
    data: dict[str, Any] = {
        "id": credential.id,
        "device_id": credential.device_id,
        "created_at": timestamp(credential.created_at),
        "revoked_at": timestamp(credential.revoked_at),
    }
    if secret is not None:
        data["secret"] = secret
    return data


def share_json(share: Share) -> dict[str, Any]:
    """A share of a home or a device."""
    return {
        "id": share.id,
        "email": share.grantee_email,
        "home_id": share.home_id,
        "device_id": share.device_id,
        "permission": share.permission.value,
        "created_at": timestamp(share.created_at),
    }


def link_json(
    link: LinkToken, token: str | None = None, live: LiveLink | None = None
) -> dict[str, Any]:
    """A link token, whether its hub is connected now (`live`: its live link); `token`
    only in the answer that creates it."""
    data: dict[str, Any] = {
        "id": link.id,
        "home_id": link.home_id,
        "name": link.name,
        "created_at": timestamp(link.created_at),
        "last_used_at": timestamp(link.last_used_at),
        "connected": live is not None,
        "connected_at": timestamp(live.connected_at) if live else None,
    }
    if token is not None:
        data["token"] = token
    return data


def notification_json(notification: Notification) -> dict[str, Any]:
    """A notification as its recipient sees it."""
    return {
        "id": notification.id,
        "type": notification.type.value,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data,
        "created_at": timestamp(notification.created_at),
        "read_at": timestamp(notification.read_at),
    }


def preferences_json(
    preferences: Mapping[NotificationType, Mapping[Channel, bool]],
    available: Mapping[Channel, bool],
) -> dict[str, Any]:
    """Channel choices per type, and which channels the service can deliver over."""
    return {
        "types": {
            kind.value: {channel.value: on for channel, on in channels.items()}
            for kind, channels in preferences.items()
        },
        "available": {channel.value: on for channel, on in available.items()},
    }


def webhook_json(webhook: Webhook, secret: str | None = None) -> dict[str, Any]:
    """A webhook; `secret` only in the answer that made it."""
    data: dict[str, Any] = {
        "url": webhook.url,
        "format": webhook.format.value,
        "created_at": timestamp(webhook.created_at),
        "updated_at": timestamp(webhook.updated_at),
    }
    if secret is not None:
        data["secret"] = secret
    return data


def session_json(session: Session, current_session_id: str) -> dict[str, Any]:
    """One of the caller's sessions; `current` marks the one this request belongs to."""
    return {
        "id": session.id,
        "created_at": timestamp(session.created_at),
        "last_used_at": timestamp(session.last_used_at),
        "expires_at": timestamp(session.expires_at),
        "current": session.id == current_session_id,
    }
