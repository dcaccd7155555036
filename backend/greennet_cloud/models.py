"""Domain records returned by storage and services (plain data, no JSON, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple


class Role(StrEnum):
    """Account roles: admins manage users, guests only read what is shared with them."""

    ADMIN = "admin"
    USER = "user"
    GUEST = "guest"


class Permission(StrEnum):
    """What a share grants."""

    CONTROL = "control"
    READ = "read"


class Access(StrEnum):
    """What the caller may do with a home or device."""

    OWNER = "owner"
    CONTROL = "control"
    READ = "read"

    @property
    def rank(self) -> int:
        """Higher grants more."""
        return {"read": 1, "control": 2, "owner": 3}[self.value]


@dataclass(frozen=True, slots=True)
class User:
    """An account."""

    id: str
    email: str
    password_hash: str
    role: Role
    display_name: str
    disabled: bool
    totp_secret: str | None
    totp_enabled: bool
    totp_last_step: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    """One login; its refresh tokens rotate inside it."""

    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime  # last login or refresh (idle timeout)


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A stored refresh token (hash only)."""

    token_hash: str
    session_id: str
    created_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Tariff:
    """What a kWh costs in a home."""

    price_per_kwh: float
    currency: str


@dataclass(frozen=True, slots=True)
class Home:
    """A place with plugs, owned by one user; energy days start at midnight in `timezone`."""

    id: str
    owner_id: str
    name: str
    created_at: datetime
    timezone: str = "UTC"
    tariff: Tariff | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """A plug in a home. `id` is its public id (a UUID); `plug_id` the protocol id
    (`greennet-xxxxxx`), unique within the home; `seq` the key its telemetry rows carry."""

    id: str
    seq: int
    plug_id: str
    home_id: str
    name: str
    model: str
    location: str
    created_at: datetime
    last_seen_at: datetime | None
    # what the linked HA hub last reported (None: never); see `DeviceState`
    relay: bool | None = None
    tripped: bool | None = None
    reported_online: bool | None = None
    state_at: datetime | None = None
    link_token_id: str | None = None  # the hub link that announced the plug


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A plug's state as its hub reports it: None leaves a field as it was."""

    online: bool | None = None
    relay: bool | None = None
    tripped: bool | None = None


@dataclass(frozen=True, slots=True)
class DeviceCredential:
    """A per-device ingest credential; the secret itself is derived, never stored."""

    id: str
    device_id: str
    nonce: str
    key_id: str  # the keyring's device-ingest key the secret is derived with
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Share:
    """A home or a device shared with another user."""

    id: str
    grantee_id: str
    grantee_email: str
    home_id: str | None
    device_id: str | None
    permission: Permission
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LinkToken:
    """A revocable token a Home Assistant hub uses to link to a home (hash only)."""

    id: str
    home_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NotificationType(StrEnum):
    """What a notification is about; users choose channels per type."""

    ALERT_RAISED = "alert_raised"
    ALERT_RESOLVED = "alert_resolved"
    SHARE_RECEIVED = "share_received"
    NEW_LOGIN = "security_new_login"
    PASSWORD_CHANGED = "security_password_changed"  # noqa: S105 (a type name)
    TOTP_CHANGED = "security_totp_changed"


class Channel(StrEnum):
    """Where a notification goes."""

    IN_APP = "in_app"
    EMAIL = "email"
    WEBHOOK = "webhook"
    # the Home Assistant hub linked to the device's home (delivered by the HA link)
    HOME_ASSISTANT = "home_assistant"


class WebhookFormat(StrEnum):
    """The body a webhook receives; every format is signed the same way."""

    JSON = "json"  # GreenNet's event object (n8n, custom receivers)
    SLACK = "slack"  # {"text": …}: Slack, Mattermost, Rocket.Chat, Discord's /slack
    NTFY = "ntfy"  # plain text with a Title header: an ntfy topic URL


@dataclass(frozen=True, slots=True)
class Notification:
    """A message for one user, kept in the app until they read it."""

    id: str
    user_id: str
    type: NotificationType
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class Webhook:
    """A user's webhook; its signing secret is derived from a keyring key (`key_id`, of the
    `device_ingest` purpose: the keys that derive per-object HMAC secrets) and `nonce`."""

    user_id: str
    url: str
    format: WebhookFormat
    nonce: str
    key_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message waiting to be (or already) sent over one external channel."""

    id: str
    user_id: str
    channel: Channel
    kind: str  # a NotificationType, or an account mail kind
    recipient: str  # an email address; the user id for webhooks; a home id for HA
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


class Metric(StrEnum):
    """What a threshold watches."""

    POWER = "power"  # W
    CURRENT = "current"  # A
    VOLTAGE = "voltage"  # V
    ENERGY_TODAY = "energy_today"  # kWh since local midnight in the home's time zone
    OFFLINE = "offline"  # no data for `duration_seconds`


class Direction(StrEnum):
    """Which side of the value is out of range."""

    ABOVE = "above"
    BELOW = "below"


class RepeatPolicy(StrEnum):
    """How often an alert that stays active (and unacknowledged) is notified again."""

    ONCE = "once"  # once per episode
    HOURLY = "hourly"  # again at most every hour
    DAILY = "daily"  # again at most every day


class AlertState(StrEnum):
    """active → acknowledged → resolved (active → resolved directly too)."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window, in the home's time zone, when alerts notify nobody (they are still
    raised and listed); `start` > `end` spans midnight."""

    start: str  # "HH:MM"
    end: str  # "HH:MM"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A rule on one device's readings. `value` and `direction` are unused for offline."""

    id: str
    device_id: str
    name: str
    metric: Metric
    direction: Direction
    value: float
    hysteresis: float
    duration_seconds: int
    repeat: RepeatPolicy
    quiet_hours: QuietHours | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    # evaluation state: when the condition started to hold (None: in range); `armed` False
    # after a manual resolve while out of range, until a reading is back in range
    pending_since: datetime | None = None
    armed: bool = True


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One step in an alert's history; `user_id` None: the service did it."""

    at: datetime
    kind: str  # raised / notified / reminded / acknowledged / resolved
    user_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class Alert:
    """One episode of a threshold's condition holding."""

    id: str
    threshold_id: str | None  # None once the threshold was deleted
    device_id: str
    home_id: str
    metric: Metric
    direction: Direction
    limit: float
    state: AlertState
    value: float | None  # what raised it (None for offline)
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None  # None with `resolved_at`: resolved automatically
    last_notified_at: datetime | None
    history: tuple[AlertEvent, ...] = ()


class Sample(NamedTuple):
    """One reading of a plug, as on the wire: `ts` Unix ms, W, V, A, lifetime kWh.

    A named tuple, not a frozen dataclass like the records above: millions are made (every
    sample ingested, every raw row read back or exported) and a frozen dataclass takes
    about four times as long to build (bench/RESULTS.md, telemetry)."""

    ts: int
    power: float
    voltage: float
    current: float
    energy: float
    relay: bool


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One remote command in a home's audit trail. `result` None: no outcome recorded (the
    process that sent it stopped first)."""

    id: str
    home_id: str
    device_id: str | None  # None once the device is removed
    plug_id: str
    user_id: str | None  # None once the sender's account is deleted
    user_email: str | None
    action: str
    params: dict[str, object]
    created_at: datetime
    finished_at: datetime | None
    result: str | None
    state: dict[str, object] | None


@dataclass(frozen=True, slots=True)
class LiveLink:
    """A live HA link: the node (process) and connection holding a link token's websocket."""

    token_id: str
    home_id: str
    node_id: str
    connection_id: str
    connected_at: datetime
    heartbeat_at: datetime
