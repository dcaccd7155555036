"""Devices: claim (pairing code, the device's credentials, or the linked hub), rename,
remove; ingest credentials; device shares.

A device enters a home only with proof: a pairing code the owner made for that home, the
device's own ingest credentials (moving it into the caller's home), or the announcement of
the Home Assistant hub linked to the home (`claim_announced`, called by the HA link). The
plug id is unique within a home only, so no answer tells anyone what other homes hold.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock
from ..config import Config
from ..db.engine import reading
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from ..models import Access, Device, DeviceCredential, LinkToken
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
        assert config.keyring is not None
        self._ingest_keys = config.keyring.device_ingest
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

    async def claim_with_credentials(
        self,
        principal: Principal,
        home_id: str,
        device_id: str,
        secret: str,
        details: DeviceDetails,
    ) -> tuple[Device, IssuedCredential]:
        """Move a device into a home the caller owns, proven by its current ingest secret.

        The old credentials are revoked and a new one is issued (the old home's owner held
        the secret); the device's own shares end. Unknown device and wrong secret give the
        same answer, so the call cannot probe for ids.
        """
        async with self.engine.begin() as conn:
            _home, access = await visible_home(conn, principal, home_id)
            require_access(access, Access.OWNER, "add plugs to this home")
            device = await self._proven_device(conn, device_id, secret)
            if device.home_id != home_id:
                clash = await device_store.find_in_home(conn, home_id, device.plug_id)
                if clash is not None:
                    raise Conflict("this plug is already in this home", "device_exists")
                await device_store.move_device(conn, device.id, home_id)
            values = self._detail_values(details)
            if values.get("name") == "":
                values["name"] = device.plug_id  # an empty name resets to the plug id
            if values:
                await device_store.update_device(conn, principal.user_id, device.id, values)
            await device_store.revoke_credentials(conn, device.id, self.now())
            issued = await self._issue(conn, device)
            moved, _access = await visible_device(conn, principal, device.id)
        return moved, issued

    async def claim_announced(
        self, link: LinkToken, plug_id: str, details: DeviceDetails
    ) -> tuple[Device, bool]:
        """The device for a plug the hub linked to `link.home_id` sees; added when new.

        For the HA link (it authenticates the hub by its link token first): the hub that
        sees the plug on its broker is the proof. A plug id another home already holds is
        refused (`Forbidden`, `plug_refused`) without saying why or where: seeing a plug on a
        broker does not take it from a home that claimed it (its owner removes it, or hands
        over its credentials). Returns (device, created).
        """
        check_plug_id(plug_id)
        async with self.engine.begin() as conn:
            found = await device_store.find_in_home(conn, link.home_id, plug_id)
            if found is not None:
                return found, False
            if await device_store.plug_held_elsewhere(conn, link.home_id, plug_id):
                raise Forbidden("this plug cannot be added to this home", "plug_refused")
            device = await device_store.insert_device(
                conn, self._new_device(link.home_id, plug_id, details)
            )
        return device, True

    async def _proven_device(self, conn: AsyncConnection, device_id: str, secret: str) -> Device:
        refused = Unauthenticated(
            "unknown device or wrong device secret", "invalid_device_credentials"
        )
        device = await device_store.find_device(conn, device_id)
        if device is None:
            raise refused
        for credential in await device_store.list_credentials(conn, device_id, active_only=True):
            expected = self.ingest_secret(device, credential)
            if expected is not None and hmac.compare_digest(
                expected.encode(), secret.encode("utf-8", "replace")
            ):
                return device
        raise refused

    async def pair(
        self, code: str, device_id: str, details: DeviceDetails, address: str
    ) -> tuple[Device, IssuedCredential]:
        """Add a plug to the home a valid pairing code was made for (the code is the key)."""
        now = self.now()
        keys = [pairing_key(address, self.ipv6_prefix)]
        code_hash = hash_secret(normalize_pairing_code(code))
        async with self.engine.begin() as conn:
            # the guess is counted before the code is looked up, under the key's lock
            attempt = await self.pair_throttle.take(conn, keys, now)
        async with self.engine.begin() as conn:
            home_id = await device_store.claim_pairing_code(conn, code_hash, now)
            if home_id is not None:
                device = await device_store.insert_device(
                    conn, self._new_device(home_id, device_id, details)
                )
                issued = await self._issue(conn, device)
                await self.pair_throttle.release(conn, attempt)
        if home_id is None:
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
        values = self._detail_values(details)
        async with self.engine.begin() as conn:
            device, access = await visible_device(conn, principal, device_id)
            require_access(access, Access.OWNER, "change this device")
            if values.get("name") == "":
                values["name"] = device.plug_id  # an empty name resets to the plug id
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
            device, access = await visible_device(conn, principal, device_id)
            require_access(access, Access.OWNER, "change this device's credentials")
            await device_store.revoke_credentials(conn, device_id, self.now())
            return await self._issue(conn, device)

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

    def ingest_secret(self, device: Device, credential: DeviceCredential) -> str | None:
        """The HMAC key of a credential (for verifying device ingest); None once the keyring
        no longer holds the device-ingest key it was derived with (the credential is dead).
        Every derivation goes through here. It is keyed by the plug id, which never changes,
        so secrets issued before devices had a surrogate key still verify."""
        key = self._ingest_keys.get(credential.key_id)
        if key is None:
            return None
        return ingest_secret(key.material, device.plug_id, credential.nonce)

    @staticmethod
    def _detail_values(details: DeviceDetails) -> dict[str, str]:
        return {
            field: clean_name(value, field, allow_empty=True)
            for field, value in (
                ("name", details.name),
                ("model", details.model),
                ("location", details.location),
            )
            if value is not None
        }

    async def _issue(self, conn: AsyncConnection, device: Device) -> IssuedCredential:
        credential = DeviceCredential(
            id=new_id(),
            device_id=device.id,
            nonce=secrets.token_hex(16),
            key_id=self._ingest_keys.current.id,
            created_at=self.now(),
            revoked_at=None,
        )
        await device_store.insert_credential(conn, credential)
        secret = self.ingest_secret(device, credential)
        assert secret is not None  # made with the current key
        return IssuedCredential(credential=credential, secret=secret)

    def _new_device(self, home_id: str, plug_id: str, details: DeviceDetails) -> Device:
        return Device(
            id=new_id(),
            seq=0,  # assigned by the database
            plug_id=check_plug_id(plug_id),
            home_id=home_id,
            name=clean_name(details.name or "", "name", allow_empty=True) or plug_id,
            model=clean_name(details.model or "", "model", allow_empty=True),
            location=clean_name(details.location or "", "location", allow_empty=True),
            created_at=self.now(),
            last_seen_at=None,
        )
