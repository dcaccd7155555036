"""`/api/v1/notifications`: the caller's notifications, channel preferences and webhook."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import InvalidInput
from ..models import Channel, NotificationType, WebhookFormat
from .answers import json_response
from .body import choice, read_object, string
from .endpoints import Endpoint, Parameter, principal_of
from .keys import NOTIFICATIONS
from .query import BOOLEAN_SCHEMA, TIME_SCHEMA, limit_schema, query_bool, query_int, query_time
from .serialize import notification_json, preferences_json, webhook_json

PAGE = 50
MAX_PAGE = 200


async def list_notifications(request: web.Request) -> web.Response:
    """The caller's notifications, newest first."""
    found = await request.app[NOTIFICATIONS].list_notifications(
        principal_of(request),
        unread_only=query_bool(request, "unread"),
        before=query_time(request, "before"),
        limit=query_int(request, "limit", PAGE, 1, MAX_PAGE),
    )
    return json_response([notification_json(notification) for notification in found])


async def unread_count(request: web.Request) -> web.Response:
    """How many notifications are unread."""
    count = await request.app[NOTIFICATIONS].unread_count(principal_of(request))
    return json_response({"unread": count})


async def mark_read(request: web.Request) -> web.Response:
    """Mark one notification read."""
    notification = await request.app[NOTIFICATIONS].mark_read(
        principal_of(request), request.match_info["notification_id"]
    )
    return json_response(notification_json(notification))


async def mark_all_read(request: web.Request) -> web.Response:
    """Mark every notification read."""
    marked = await request.app[NOTIFICATIONS].mark_all_read(principal_of(request))
    return json_response({"marked": marked})


async def get_preferences(request: web.Request) -> web.Response:
    """Which types go over which channels."""
    service = request.app[NOTIFICATIONS]
    preferences = await service.preferences(principal_of(request))
    return json_response(preferences_json(preferences, service.available_channels()))


async def update_preferences(request: web.Request) -> web.Response:
    """Turn channels on or off per type."""
    service = request.app[NOTIFICATIONS]
    body = await read_object(request)
    preferences = await service.update_preferences(principal_of(request), _changes(body))
    return json_response(preferences_json(preferences, service.available_channels()))


def _changes(body: dict[str, Any]) -> dict[NotificationType, dict[Channel, bool]]:
    types = body.get("types")
    if not isinstance(types, dict):
        raise InvalidInput("'types' must be an object of types", "invalid_input")
    changes: dict[NotificationType, dict[Channel, bool]] = {}
    for type_name, channels in types.items():
        kind = choice({"type": type_name}, "type", NotificationType, required=True)
        assert kind is not None
        if not isinstance(channels, dict):
            raise InvalidInput(f"'types.{type_name}' must be an object", "invalid_input")
        changes[kind] = {}
        for channel_name, on in channels.items():
            channel = choice({"channel": channel_name}, "channel", Channel, required=True)
            assert channel is not None
            if not isinstance(on, bool):
                raise InvalidInput(
                    f"'types.{type_name}.{channel_name}' must be true or false", "invalid_input"
                )
            changes[kind][channel] = on
    return changes


async def get_webhook(request: web.Request) -> web.Response:
    """The caller's webhook (never its secret)."""
    webhook = await request.app[NOTIFICATIONS].get_webhook(principal_of(request))
    return json_response(webhook_json(webhook))


async def set_webhook(request: web.Request) -> web.Response:
    """Set the webhook URL and format; the secret is shown when it is first made."""
    body = await read_object(request)
    settings = await request.app[NOTIFICATIONS].set_webhook(
        principal_of(request),
        string(body, "url", max_length=2048),
        choice(body, "format", WebhookFormat, required=False),
    )
    return json_response(
        webhook_json(settings.webhook, settings.secret),
        status=201 if settings.secret is not None else 200,
    )


async def rotate_webhook_secret(request: web.Request) -> web.Response:
    """A new signing secret, shown once."""
    settings = await request.app[NOTIFICATIONS].rotate_webhook_secret(principal_of(request))
    return json_response(webhook_json(settings.webhook, settings.secret), status=201)


async def delete_webhook(request: web.Request) -> web.Response:
    """Remove the webhook."""
    await request.app[NOTIFICATIONS].delete_webhook(principal_of(request))
    return web.Response(status=204)


async def test_webhook(request: web.Request) -> web.Response:
    """Send a signed test event now."""
    outcome = await request.app[NOTIFICATIONS].test_webhook(principal_of(request))
    return json_response({"delivered": outcome.delivered, "error": outcome.error})


N = "/api/v1/notifications"
W = f"{N}/webhook"
# fmt: off
ENDPOINTS = (
    Endpoint("GET", N, list_notifications, "listNotifications", "Your notifications, newest first",
             "notifications", responses={200: "NotificationList"},
             parameters=(
                 Parameter("unread", BOOLEAN_SCHEMA, "true: only unread ones"),
                 Parameter("before", TIME_SCHEMA, "Only older than this (to page)"),
                 Parameter("limit", limit_schema(MAX_PAGE, PAGE), "At most this many"),
             )),
    Endpoint("GET", f"{N}/unread-count", unread_count, "countUnreadNotifications",
             "How many notifications are unread", "notifications",
             responses={200: "UnreadCount"}),
    Endpoint("POST", f"{N}/read-all", mark_all_read, "markAllNotificationsRead",
             "Mark every notification read", "notifications", responses={200: "MarkedRead"}),
    Endpoint("GET", f"{N}/preferences", get_preferences, "getNotificationPreferences",
             "Which notification types go over which channels", "notifications",
             responses={200: "NotificationPreferences"}),
    Endpoint("PATCH", f"{N}/preferences", update_preferences, "updateNotificationPreferences",
             "Turn channels on or off per type", "notifications",
             request="NotificationPreferencesUpdate",
             responses={200: "NotificationPreferences"}),
    Endpoint("GET", W, get_webhook, "getWebhook", "Your webhook (never its secret)",
             "notifications", responses={200: "Webhook"}, errors=(404,)),
    Endpoint("PUT", W, set_webhook, "setWebhook",
             "Set your webhook URL and format (the secret is shown when first made)",
             "notifications", request="WebhookUpdate",
             responses={200: "Webhook", 201: "NewWebhookSecret"}),
    Endpoint("DELETE", W, delete_webhook, "deleteWebhook", "Remove your webhook",
             "notifications", responses={204: None}, errors=(404,)),
    Endpoint("POST", f"{W}/secret", rotate_webhook_secret, "rotateWebhookSecret",
             "A new webhook signing secret, shown once", "notifications",
             responses={201: "NewWebhookSecret"}, errors=(404,)),
    Endpoint("POST", f"{W}/test", test_webhook, "testWebhook",
             "Send a signed test event to your webhook now", "notifications",
             responses={200: "WebhookTestResult"}, errors=(404, 429)),
    Endpoint("POST", N + "/{notification_id}/read", mark_read, "markNotificationRead",
             "Mark a notification read", "notifications", responses={200: "Notification"}),
)
# fmt: on
