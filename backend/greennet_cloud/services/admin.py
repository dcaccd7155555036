"""Administration of accounts: list, change role, disable, delete; bootstrap the first admin."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..db.engine import reading
from ..errors import Conflict, Forbidden, NotFound
from ..models import Role, User
from ..security.passwords import PasswordHasher, check_password_policy
from ..security.session_cache import SessionCache
from ..storage import sessions as session_store
from ..storage import users as user_store
from .base import Principal, Service, new_id, normalize_email


def _require_admin(principal: Principal) -> None:
    if principal.user.role is not Role.ADMIN:
        raise Forbidden("administrators only", "forbidden")


class Administration(Service):
    """What administrators may do to other accounts."""

    def __init__(self, engine: AsyncEngine, clock: Clock, sessions: SessionCache) -> None:
        super().__init__(engine, clock)
        self.sessions = sessions

    async def list_users(self, principal: Principal) -> list[User]:
        """Every account."""
        _require_admin(principal)
        async with reading(self.engine).begin() as conn:
            return await user_store.list_all_users(conn)

    async def get_user(self, principal: Principal, user_id: str) -> User:
        """One account."""
        _require_admin(principal)
        async with reading(self.engine).begin() as conn:
            user = await user_store.get_user(conn, user_id)
        if user is None:
            raise NotFound("no such user", "not_found")
        return user

    async def update_user(
        self, principal: Principal, user_id: str, role: Role | None, disabled: bool | None
    ) -> User:
        """Change another account's role or disable/enable it (disabling ends its sessions)."""
        _require_admin(principal)
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
                await session_store.revoke_user_sessions(conn, user_id, now, "disabled")
            user = await user_store.get_user(conn, user_id)
        await self.sessions.invalidate_user(user_id)
        assert user is not None
        return user

    async def delete_user(self, principal: Principal, user_id: str) -> None:
        """Delete another account and everything it owns."""
        _require_admin(principal)
        if user_id == principal.user_id:
            raise Conflict("administrators cannot delete themselves", "self_change")
        async with self.engine.begin() as conn:
            if not await user_store.delete_user(conn, user_id):
                raise NotFound("no such user", "not_found")
        await self.sessions.invalidate_user(user_id)


async def create_admin(
    service: Service, hasher: PasswordHasher, email: str, password: str
) -> tuple[User, bool]:
    """Create an administrator, or promote an existing account; return (user, created)."""
    email = normalize_email(email)
    check_password_policy(password, email)
    password_hash = await hasher.hash_off_loop(password)
    now = service.now()
    async with service.engine.begin() as conn:
        existing = await user_store.get_user_by_email(conn, email)
        if existing is not None:
            await user_store.update_user(
                conn, existing.id, now, role=Role.ADMIN.value, password_hash=password_hash
            )
            user = await user_store.get_user(conn, existing.id)
            assert user is not None
            return user, False
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
