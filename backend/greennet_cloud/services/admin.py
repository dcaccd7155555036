"""Administration of accounts: list, change role, disable, delete; bootstrap the first admin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..db.engine import reading
from ..errors import Conflict, Forbidden, NotFound
from ..models import Role, User
from ..security.passwords import PasswordHasher, check_password_policy
from ..security.session_cache import SessionCache
from ..storage import recovery_codes as recovery_store
from ..storage import sessions as session_store
from ..storage import users as user_store
from .base import Principal, Service, new_id, normalize_email

if TYPE_CHECKING:  # password_checks imports this module's neighbours, not this module
    from .password_checks import PasswordChecks

# the columns that, cleared, turn two-factor off and forget its secret
TWO_FACTOR_CLEARED: dict[str, object] = {
    "totp_enabled": False,
    "totp_secret": None,
    "totp_last_step": None,
}


def require_admin(principal: Principal) -> None:
    """`Forbidden` unless the caller is an administrator."""
    if principal.user.role is not Role.ADMIN:
        raise Forbidden("administrators only", "forbidden")


class Administration(Service):
    """What administrators may do to other accounts."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, checks: PasswordChecks, sessions: SessionCache
    ) -> None:
        super().__init__(engine, clock)
        self.checks = checks
        self.sessions = sessions

    async def reset_two_factor(
        self,
        principal: Principal,
        user_id: str,
        password: str,
        second_factor: str | None,
        address: str,
    ) -> None:
        """Turn another account's two-factor off (lost phone and codes): its secret and
        recovery codes are forgotten and its sessions end. Re-authenticates the admin."""
        require_admin(principal)
        await self.checks.reauthenticate(principal, password, second_factor, address)
        now = self.now()
        async with self.engine.begin() as conn:
            if await user_store.get_user(conn, user_id) is None:
                raise NotFound("no such user", "not_found")
            await user_store.update_user(conn, user_id, now, **TWO_FACTOR_CLEARED)
            await recovery_store.delete_codes(conn, user_id)
            await session_store.revoke_sessions(conn, user_id, now, "admin_reset_totp")
        await self.sessions.invalidate_user(user_id)
        if self.checks.security is not None:
            await self.checks.security.two_factor_changed(user_id, False, by_admin=True)

    async def reset_password(
        self,
        principal: Principal,
        user_id: str,
        password: str,
        second_factor: str | None,
        new_password: str,
        address: str,
    ) -> None:
        """Give another account a new password (to hand over out of band); its sessions end.
        Re-authenticates the admin."""
        require_admin(principal)
        if user_id == principal.user_id:
            raise Conflict("change your own password with /auth/password", "self_change")
        await self.checks.reauthenticate(principal, password, second_factor, address)
        async with reading(self.engine).begin() as conn:
            target = await user_store.get_user(conn, user_id)
        if target is None:
            raise NotFound("no such user", "not_found")
        check_password_policy(new_password, target.email)
        new_hash = await self.checks.hasher.hash_off_loop(new_password)
        now = self.now()
        async with self.engine.begin() as conn:
            await user_store.update_user(conn, user_id, now, password_hash=new_hash)
            await session_store.revoke_sessions(conn, user_id, now, "admin_reset_password")
        await self.sessions.invalidate_user(user_id)
        if self.checks.security is not None:
            await self.checks.security.password_changed(user_id, "admin")

    async def list_users(self, principal: Principal) -> list[User]:
        """Every account."""
        require_admin(principal)
        async with reading(self.engine).begin() as conn:
            return await user_store.list_all_users(conn)

    async def get_user(self, principal: Principal, user_id: str) -> User:
        """One account."""
        require_admin(principal)
        async with reading(self.engine).begin() as conn:
            user = await user_store.get_user(conn, user_id)
        if user is None:
            raise NotFound("no such user", "not_found")
        return user

    async def update_user(
        self, principal: Principal, user_id: str, role: Role | None, disabled: bool | None
    ) -> User:
        """Change another account's role or disable/enable it (disabling ends its sessions)."""
        require_admin(principal)
        if user_id == principal.user_id:
            raise Conflict("administrators cannot change their own account here", "self_change")
        now = self.now()
        async with self.engine.begin() as conn:
            if await user_store.get_user(conn, user_id) is None:
                raise NotFound("no such user", "not_found")
            changes: dict[str, object] = {}
            if role is not None:
                changes["role"] = role.value
            if disabled is not None:
                changes["disabled"] = disabled
            if changes:
                await user_store.update_user(conn, user_id, now, **changes)
            if disabled:
                await session_store.revoke_sessions(conn, user_id, now, "disabled")
            user = await user_store.get_user(conn, user_id)
        await self.sessions.invalidate_user(user_id)
        assert user is not None
        return user

    async def delete_user(self, principal: Principal, user_id: str) -> None:
        """Delete another account and everything it owns."""
        require_admin(principal)
        if user_id == principal.user_id:
            raise Conflict("administrators cannot delete themselves", "self_change")
        async with self.engine.begin() as conn:
            if not await user_store.delete_user(conn, user_id):
                raise NotFound("no such user", "not_found")
        await self.sessions.invalidate_user(user_id)


async def create_admin(
    service: Service,
    hasher: PasswordHasher,
    email: str,
    password: str,
    *,
    promote: bool = False,
    sessions: SessionCache | None = None,
) -> tuple[User, bool]:
    """Create an administrator; return (user, created).

    An existing account is refused unless `promote`: with open registration anyone may have
    registered the address first and still hold a session. Promoting therefore also ends
    every session of the account, clears its two-factor setup (and recovery codes) and sets
    the new password, so only whoever runs this command holds the admin account afterwards.
    `sessions` is told to forget the account's cached sessions: the command line's reaches
    the serving processes over the bus on PostgreSQL; on SQLite they notice within their
    cache's few seconds.
    """
    email = normalize_email(email)
    check_password_policy(password, email)
    password_hash = await hasher.hash_off_loop(password)
    now = service.now()
    async with service.engine.begin() as conn:
        existing = await user_store.get_user_by_email(conn, email)
        if existing is None:
            user = await user_store.insert_user(
                conn,
                user_id=new_id(),
                email=email,
                password_hash=password_hash,
                role=Role.ADMIN,
                display_name=email.split("@", 1)[0][:100],
                now=now,
            )
            return user, True
        if not promote:
            raise Conflict(
                f"an account with {email} exists; pass --promote to make it an"
                " administrator (its sessions end and its two-factor setup is cleared)",
                "email_taken",
            )
        await user_store.update_user(
            conn,
            existing.id,
            now,
            role=Role.ADMIN.value,
            password_hash=password_hash,
            disabled=False,
            **TWO_FACTOR_CLEARED,
        )
        await recovery_store.delete_codes(conn, existing.id)
        await session_store.revoke_sessions(conn, existing.id, now, "promoted")
        promoted = await user_store.get_user(conn, existing.id)
    assert promoted is not None
    if sessions is not None:
        await sessions.invalidate_user(promoted.id)
    return promoted, False
