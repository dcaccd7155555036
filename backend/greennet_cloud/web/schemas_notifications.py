"""JSON Schemas of the notification and account mail bodies (part 3)."""

from __future__ import annotations

from typing import Any

from ..models import Channel, NotificationType, WebhookFormat
from ..services.notifier import APPLICABLE
from .schemas import EMAIL, MAYBE_TIME, PASSWORD, STR, TIME, array_of, request, response

NOTIFICATION_TYPE = {"type": "string", "enum": [kind.value for kind in NotificationType]}
WEBHOOK_FORMAT = {
    "type": "string",
    "enum": [value.value for value in WebhookFormat],
    "description": 'json: GreenNet\'s event; slack: {"text"}; ntfy: plain text + Title',
}
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
WEBHOOK_URL = {
    "type": "string",
    "maxLength": 2048,
    # what is accepted, conservatively: http(s), a DNS name, an optional port, no #fragment
    "pattern": rf"^https?://{_LABEL}(\.{_LABEL})*(:[1-9][0-9]{{0,3}})?(/[!-\"$-~]*)?$",
    "description": "http(s) URL; private, loopback and link-local targets are refused"
    " unless the service allows them (GREENNET_WEBHOOK_ALLOW_PRIVATE)",
}


def _channels(kind: NotificationType) -> dict[str, Any]:
    return {channel.value: {"type": "boolean"} for channel in APPLICABLE[kind]}


WEBHOOK = {"url": STR, "format": WEBHOOK_FORMAT, "created_at": TIME, "updated_at": TIME}
NOTIFICATION_SCHEMAS: dict[str, dict[str, Any]] = {
    "Notification": response(
        {
            "id": STR,
            "type": NOTIFICATION_TYPE,
            "title": STR,
            "body": STR,
            "data": {"type": "object"},
            "created_at": TIME,
            "read_at": MAYBE_TIME,
        }
    ),
    "NotificationList": array_of("Notification"),
    "UnreadCount": response({"unread": {"type": "integer", "minimum": 0}}),
    "MarkedRead": response({"marked": {"type": "integer", "minimum": 0}}),
    "NotificationPreferences": response(
        {
            "types": response({kind.value: response(_channels(kind)) for kind in NotificationType}),
            "available": response({channel.value: {"type": "boolean"} for channel in Channel}),
        }
    ),
    "NotificationPreferencesUpdate": request(
        {
            "types": {
                "type": "object",
                "properties": {
                    kind.value: {
                        "type": "object",
                        "properties": _channels(kind),
                        "additionalProperties": False,
                    }
                    for kind in NotificationType
                },
                "additionalProperties": False,
            }
        },
        ("types",),
    ),
    "Webhook": response(WEBHOOK),
    "NewWebhookSecret": response({**WEBHOOK, "secret": {"type": "string", "pattern": "^whsec_"}}),
    "WebhookUpdate": request({"url": WEBHOOK_URL, "format": WEBHOOK_FORMAT}, ("url",)),
    "EmailVerification": response({"email": STR, "verified": {"type": "boolean"}}),
    "TokenOnly": request({"token": {"type": "string", "maxLength": 200}}, ("token",)),
    "Status": response({"status": STR}),
    "PasswordResetRequest": request({"email": EMAIL}, ("email",)),
    "PasswordReset": request(
        {"token": {"type": "string", "maxLength": 200}, "new_password": PASSWORD},
        ("token", "new_password"),
    ),
    "LiveTicket": response(
        {
            "ticket": {"type": "string", "pattern": "^gnw_"},
            "expires_in": {"type": "integer", "minimum": 1},
            "url": STR,
        }
    ),  # fmt: skip
    "WebhookTestResult": response(
        {"delivered": {"type": "boolean"}, "error": {"type": ["string", "null"]}}
    ),
}
