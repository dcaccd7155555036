"""Domain records returned by storage and services (plain data, no JSON, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of a plug, as on the wire: `ts` Unix ms, W, V, A, lifetime kWh."""

    ts: int
    power: float
    voltage: float
    current: float
    energy: float
    relay: bool
