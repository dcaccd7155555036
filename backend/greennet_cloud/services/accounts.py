"""Accounts: register, login, refresh rotation with reuse detection, logout, passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..config import Config
from ..db.engine import reading, reading_each_statement
from ..errors import Conflict, DomainError, Forbidden, Unauthenticated
from ..models import Role, User
from ..security.passwords import PasswordHasher, check_password_policy
from ..security.session_cache import SessionCache
from ..security.tokens import AccessTokens, hash_secret, new_secret
from ..storage import sessions as session_store
from ..storage import users as user_store
from .base import Principal, Service, clean_name, new_id, normalize_email
from .throttle import (
    account_key,
    address_key,
    login_throttle,
    registration_key,
    registration_throttle,
)
from .totp import verify_totp

REFRESH_PREFIX = "gnr"


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What login and refresh hand out."""

    access_token: str
    refresh_token: str
    expires_in: int


class Accounts(Service):
    """Account lifecycle and authentication."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        config: Config,
        hasher: PasswordHasher,
        tokens: AccessTokens,
        sessions: SessionCache,
    ) -> None:
        super().__init__(engine, clock)
        self.config = config
        self.hasher = hasher
        self.tokens = tokens
        self.sessions = sessions
        self.throttle = login_throttle(config.login_throttle)
        self.registrations = registration_throttle(config.registration_throttle)

    async def register(
        self,
        email: str,
        password: str,
        address: str | None,
        role: Role = Role.USER,
        display_name: str = "",
    ) -> User:
        """Create an account after checking the password policy.

        `address` is the web client's; it may register only so many accounts per window
        (None: an operator's own tool, not throttled).
        """
        email = normalize_email(email)
        check_password_policy(password, email)
        name = clean_name(display_name or email.split("@", 1)[0], "display name")
        now = self.now()
        keys = (
            [] if address is None else [registration_key(address, self.config.throttle_ipv6_prefix)]
        )
        if keys:
            # refuse before the costly hash; the check under the write lock below decides
            async with reading(self.engine).begin() as conn:
                await self.registrations.check(conn, keys, now)
        password_hash = await self.hasher.hash_off_loop(password)
        taken: Conflict | None = None
        async with self.engine.begin() as conn:
            await self.registrations.take(conn, keys, now)
            try:
                user = await user_store.insert_user(
                    conn,
                    user_id=new_id(),
                    email=email,
                    password_hash=password_hash,
                    role=role,
                    display_name=name,
                    now=now,
                )
            except Conflict as err:
                taken = err  # counted all the same: probing for taken emails is throttled too
        if taken is not None:
            raise taken
        return user

    async def login(self, email: str, password: str, totp: str | None, address: str) -> TokenPair:
        """Check credentials (and TOTP when enabled), then start a session."""
        now = self.now()
        try:
            email = normalize_email(email)
            valid_email = True
        except DomainError:
            # no account can have it; still throttled, under a key safe to store
            email = "invalid:" + hash_secret(email)[:32]
            valid_email = False
        keys = [account_key(email), address_key(address, self.config.throttle_ipv6_prefix)]
        async with reading(self.engine).begin() as conn:
            await self.throttle.check(conn, keys, now)
            user = await user_store.get_user_by_email(conn, email) if valid_email else None
        password_ok = await self.hasher.verify_off_loop(
            user.password_hash if user else self.hasher.dummy_hash, password
        )
        failure: Unauthenticated | None = None
        totp_step: int | None = None
        if user is None or not password_ok:
            failure = Unauthenticated("wrong email or password", "invalid_credentials")
        elif user.totp_enabled and user.totp_secret:
            if not totp:
                # the password was right: ask for the code without counting a failure
                raise Unauthenticated("a two-factor code is required", "totp_required")
            totp_step = verify_totp(user.totp_secret, totp, now, user.totp_last_step)
            if totp_step is None:
                failure = Unauthenticated("wrong two-factor code", "invalid_totp")
        if failure is not None or user is None:
            async with self.engine.begin() as conn:
                await self.throttle.record(conn, keys, now)
            raise failure or Unauthenticated("wrong email or password", "invalid_credentials")
        if user.disabled:
            raise Forbidden("this account is disabled", "account_disabled")
        new_hash = None
        if self.hasher.needs_rehash(user.password_hash):
            new_hash = await self.hasher.hash_off_loop(password)
        async with self.engine.begin() as conn:
            await self.throttle.succeeded(conn, keys[0])
            changes: dict[str, object] = {}
            if totp_step is not None:
                changes["totp_last_step"] = totp_step
            if new_hash is not None:
                changes["password_hash"] = new_hash
            if changes:
                await user_store.update_user(conn, user.id, now, **changes)
            session_id = new_id()
            await session_store.create_session(
                conn,
                user_id=user.id,
                session_id=session_id,
                now=now,
                expires_at=now + timedelta(seconds=self.config.refresh_ttl_seconds),
            )
            refresh = new_secret(REFRESH_PREFIX)
            await session_store.add_refresh_token(
                conn, session_id=session_id, token_hash=hash_secret(refresh), now=now
            )
        if changes:  # other sessions' cached account (TOTP step, hash) is out of date
            await self.sessions.invalidate_user(user.id)
        return self._pair(user.id, session_id, refresh, now)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token. Presenting a used one revokes its whole session."""
        now = self.now()
        token_hash = hash_secret(refresh_token)
        failure: Unauthenticated | None = None
        async with self.engine.begin() as conn:
            found = await session_store.find_refresh_token(conn, token_hash)
            if found is None:
                raise Unauthenticated("unknown refresh token", "invalid_refresh_token")
            token, session = found
            if session.revoked_at is not None:
                raise Unauthenticated("this session was revoked", "session_revoked")
            if session.expires_at <= now:
                raise Unauthenticated("this session has expired", "session_expired")
            if token.used_at is not None or not await session_store.mark_refresh_token_used(
                conn, token_hash, now
            ):
                await session_store.revoke_session(conn, session.user_id, session.id, now, "reuse")
                failure = Unauthenticated(
                    "refresh token reused: the session is revoked", "refresh_token_reused"
                )
            else:
                user = await user_store.get_user(conn, session.user_id)
                if user is None or user.disabled:
                    raise Unauthenticated("account unavailable", "invalid_refresh_token")
                refresh = new_secret(REFRESH_PREFIX)
                await session_store.add_refresh_token(
                    conn, session_id=session.id, token_hash=hash_secret(refresh), now=now
                )
        if failure is not None:  # raised after commit so the revocation sticks
            await self.sessions.invalidate(session.id)
            raise failure
        return self._pair(session.user_id, session.id, refresh, now)

    async def logout(self, refresh_token: str) -> None:
        """Revoke the session of this refresh token (unknown tokens are ignored)."""
        now = self.now()
        async with self.engine.begin() as conn:
            found = await session_store.find_refresh_token(conn, hash_secret(refresh_token))
            if found is not None:
                _token, session = found
                await session_store.revoke_session(conn, session.user_id, session.id, now, "logout")
        if found is not None:
            await self.sessions.invalidate(found[1].id)

    async def logout_all(self, principal: Principal) -> None:
        """Revoke every session of the caller, this one included."""
        async with self.engine.begin() as conn:
            await session_store.revoke_user_sessions(
                conn, principal.user_id, self.now(), "logout_all"
            )
        await self.sessions.invalidate_user(principal.user_id)

    async def change_password(
        self, principal: Principal, current_password: str, new_password: str
    ) -> None:
        """Set a new password and revoke every other session of the caller."""
        now = self.now()
        user = principal.user
        key = [account_key(user.email)]
        async with reading(self.engine).begin() as conn:
            await self.throttle.check(conn, key, now)
        if not await self.hasher.verify_off_loop(user.password_hash, current_password):
            async with self.engine.begin() as conn:
                await self.throttle.record(conn, key, now)
            raise Unauthenticated("the current password is wrong", "invalid_credentials")
        check_password_policy(new_password, user.email)
        new_hash = await self.hasher.hash_off_loop(new_password)
        async with self.engine.begin() as conn:
            await user_store.update_user(conn, user.id, now, password_hash=new_hash)
            await session_store.revoke_user_sessions(
                conn, user.id, now, "password_changed", keep_session_id=principal.session_id
            )
        await self.sessions.invalidate_user(user.id)

    async def authenticate(self, access_token: str) -> Principal:
        """The caller behind a bearer token; its session must still be live (a live session
        found in the last few seconds is taken from the session cache)."""
        now = self.now()
        claims = self.tokens.verify(access_token, now)
        if cached := self.sessions.get(claims.session_id, claims.user_id):
            return cached
        generation = self.sessions.generation
        async with reading_each_statement(self.engine).begin() as conn:
            user = await user_store.get_user(conn, claims.user_id)
            session = await session_store.get_session(conn, claims.user_id, claims.session_id)
        if user is None or user.disabled:
            raise Unauthenticated("account unavailable", "invalid_token")
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise Unauthenticated("this session was revoked", "session_revoked")
        principal = Principal(user=user, session_id=session.id)
        self.sessions.put(principal, session.expires_at, generation)
        return principal

    async def update_profile(
        self, principal: Principal, display_name: str | None, email: str | None
    ) -> User:
        """Change the caller's display name and/or email."""
        changes: dict[str, object] = {}
        if display_name is not None:
            changes["display_name"] = clean_name(display_name, "display name")
        if email is not None:
            changes["email"] = normalize_email(email)
        async with self.engine.begin() as conn:
            if changes:
                await user_store.update_user(conn, principal.user_id, self.now(), **changes)
            user = await user_store.get_user(conn, principal.user_id)
        if changes:
            await self.sessions.invalidate_user(principal.user_id)
        if user is None:
            raise Unauthenticated("account unavailable", "invalid_token")
        return user

    def _pair(self, user_id: str, session_id: str, refresh: str, now: datetime) -> TokenPair:
        return TokenPair(
            access_token=self.tokens.issue(user_id, session_id, now),
            refresh_token=refresh,
            expires_in=self.tokens.ttl_seconds,
        )
