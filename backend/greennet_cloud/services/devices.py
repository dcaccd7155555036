"""Devices: register, pair by code, rename, remove; ingest credentials; device shares."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock
from ..config import Config
from ..db.engine import reading
from ..errors import InvalidInput, NotFound, Unauthenticated
from ..models import Access, Device, DeviceCredential
from ..protocol import PLUG_ID_RE
from ..security.tokens import hash_secret, ingest_secret
from ..storage import devices as device_store
from .base import (
    Principal,
    Service,
    clean_name,
    effective_access,
    new_id,
    require_access,
)
from .homes import normalize_pairing_code, visible_home
from .notifier import Notifier
from .shares import Shares, ShareTarget
from .throttle import login_throttle, pairing_key


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A new ingest credential and its secret, shown once."""

    credential: DeviceCredential
    secret: str


@dataclass(frozen=True, slots=True)
class DeviceDetails:
    """Fields a caller may set on a device."""

    name: str | None = None
    model: str | None = None
    location: str | None = None


def check_plug_id(device_id: str) -> str:
    """A protocol plug id (`greennet-` + 6 lower-case hex digits)."""
    if not PLUG_ID_RE.fullmatch(device_id):
        raise InvalidInput("device id must look like greennet-1a2b3c", "invalid_device_id")
    return device_id


async def visible_device(
    conn: AsyncConnection, principal: Principal, device_id: str
) -> tuple[Device, Access]:
    """The device if the caller may see it (else `NotFound`), with the caller's access."""
    found = await device_store.get_device(conn, principal.user_id, device_id)
    if found is None:
        raise NotFound("no such device", "not_found")
    device, access = found
    return device, effective_access(access, principal.user)


DEVICE = ShareTarget("device", "device_id", visible_device)


class Devices(Service):
    """Use cases around devices."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, config: Config, notifier: Notifier | None = None
    ) -> None:
        super().__init__(engine, clock)
        assert config.secret is not None
        self._server_secret = config.secret
        self.pair_throttle = login_throttle(config.login_throttle)
        self.ipv6_prefix = config.throttle_ipv6_prefix
        self.shares = Shares(engine, clock, DEVICE, notifier)

    async def list_devices(
        self, principal: Principal, home_id: str | None = None
    ) -> list[tuple[Device, Access]]:
        """Devices the caller may see, optionally in one (visible) home."""
        async with reading(self.engine).begin() as conn:
            if home_id is not None:
                await visible_home(conn, principal, home_id)
            found = await device_store.list_devices(conn, principal.user_id, home_id)
        return [(device, effective_access(access, principal.user)) for device, access in found]

    async def add_device(
        self, principal: Principal, home_id: str, device_id: str, details: DeviceDetails
    ) -> tuple[Device, IssuedCredential]:
        """Register a plug in a home the caller owns; returns its first ingest credential."""
        device = self._new_device(home_id, device_id, details)
        async with self.engine.begin() as conn:
            _home, access = await visible_home(conn, principal, home_id)
            require_access(access, Access.OWNER, "add plugs to this home")
            await device_store.insert_device(conn, device)
            issued = await self._issue(conn, device.id)
        return device, issued

    async def pair(
        self, code: str, device_id: str, details: DeviceDetails, address: str
    ) -> tuple[Device, IssuedCredential]:
        """Add a plug to the home a valid pairing code was made for (the code is the key)."""
        now = self.now()
        keys = [pairing_key(address, self.ipv6_prefix)]
        code_hash = hash_secret(normalize_pairing_code(code))
        async with self.engine.begin() as conn:
            await self.pair_throttle.check(conn, keys, now)
            home_id = await device_store.claim_pairing_code(conn, code_hash, now)
            if home_id is not None:
                device = self._new_device(home_id, device_id, details)
                await device_store.insert_device(conn, device)
                issued = await self._issue(conn, device.id)
        if home_id is None:
            async with self.engine.begin() as conn:
                await self.pair_throttle.record(conn, keys, now)
            raise Unauthenticated("unknown or expired pairing code", "invalid_pairing_code")
        return device, issued

    async def get_device(self, principal: Principal, device_id: str) -> tuple[Device, Access]:
        """One device the caller may see."""
        async with reading(self.engine).begin() as conn:
            return await visible_device(conn, principal, device_id)

    async def update_device(
        self, principal: Principal, device_id: str, details: DeviceDetails
    ) -> tuple[Device, Access]:
        """Rename or relocate a device the caller owns."""
        values = {
            field: clean_name(value, field, allow_empty=True)
            for field, value in (
                ("name", details.name),
                ("model", details.model),
                ("location", details.location),
            )
            if value is not None
        }
        if values.get("name") == "":
            values["name"] = device_id  # an empty name resets to the plug id
        async with self.engine.begin() as conn:
            _device, access = await visible_device(conn, principal, device_id)
            require_access(access, Access.OWNER, "change this device")
            if values:
                await device_store.update_device(conn, principal.user_id, device_id, values)
            return await visible_device(conn, principal, device_id)

    async def delete_device(self, principal: Principal, device_id: str) -> None:
        """Remove a device the caller owns."""
        async with self.engine.begin() as conn:
            _device, access = await visible_device(conn, principal, device_id)
            require_access(access, Access.OWNER, "remove this device")
            await device_store.delete_device(conn, principal.user_id, device_id)

    async def list_credentials(
        self, principal: Principal, device_id: str
    ) -> list[DeviceCredential]:
        """Ingest credentials of a device the caller owns (never their secrets)."""
        async with reading(self.engine).begin() as conn:
            _device, access = await visible_device(conn, principal, device_id)
            require_access(access, Access.OWNER, "see this device's credentials")
            return await device_store.list_credentials(conn, device_id)

    async def rotate_credential(self, principal: Principal, device_id: str) -> IssuedCredential:
        """Issue a new ingest credential and revoke the previous ones."""
        async with self.engine.begin() as conn:
            _device, access = await visible_device(conn, principal, device_id)
            require_access(access, Access.OWNER, "change this device's credentials")
            await device_store.revoke_credentials(conn, device_id, self.now())
            return await self._issue(conn, device_id)

    async def revoke_credential(
        self, principal: Principal, device_id: str, credential_id: str
    ) -> None:
        """Revoke one ingest credential of a device the caller owns."""
        async with self.engine.begin() as conn:
            _device, access = await visible_device(conn, principal, device_id)
            require_access(access, Access.OWNER, "change this device's credentials")
            if not await device_store.revoke_credentials(
                conn, device_id, self.now(), credential_id
            ):
                raise NotFound("no such active credential", "not_found")

    def ingest_secret(self, credential: DeviceCredential) -> str:
        """The HMAC key of a credential (for verifying device ingest)."""
        return ingest_secret(self._server_secret, credential.device_id, credential.nonce)

    async def _issue(self, conn: AsyncConnection, device_id: str) -> IssuedCredential:
        credential = DeviceCredential(
            id=new_id(),
            device_id=device_id,
            nonce=secrets.token_hex(16),
            created_at=self.now(),
            revoked_at=None,
        )
        await device_store.insert_credential(conn, credential)
        return IssuedCredential(credential=credential, secret=self.ingest_secret(credential))

    def _new_device(self, home_id: str, device_id: str, details: DeviceDetails) -> Device:
        return Device(
            id=check_plug_id(device_id),
            home_id=home_id,
            name=clean_name(details.name or "", "name", allow_empty=True) or device_id,
            model=clean_name(details.model or "", "model", allow_empty=True),
            location=clean_name(details.location or "", "location", allow_empty=True),
            created_at=self.now(),
            last_seen_at=None,
        )
