"""Accounts: register, login, refresh rotation with reuse detection, logout, passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock, Sleep, real_sleep
from ..config import Config
from ..db.engine import reading
from ..db.fast_reads import fast_reads
from ..errors import Conflict, DomainError, Forbidden, NotFound, Unauthenticated
from ..models import Role, Session, User
from ..security.passwords import PasswordHasher, check_password_policy
from ..security.session_cache import SessionCache
from ..security.tokens import AccessTokens, hash_secret, invalid_access_token, new_secret
from ..storage import invitations as invitation_store
from ..storage import sessions as session_store
from ..storage import users as user_store
from .base import Principal, clean_name, new_id, normalize_email
from .invitations import REGISTRATION
from .password_checks import PasswordChecks
from .throttle import (
    registration_key,
    registration_throttle,
)

REFRESH_PREFIX = "gnr"


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What a caller may change about their account (None: leave it)."""

    display_name: str | None = None
    email: str | None = None
    current_password: str | None = None  # needed to change the e-mail
    second_factor: str | None = None  # TOTP or recovery code, when two-factor is on


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What login and refresh hand out."""

    access_token: str
    refresh_token: str
    expires_in: int


class Accounts(PasswordChecks):
    """Account lifecycle and authentication."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        config: Config,
        hasher: PasswordHasher,
        tokens: AccessTokens,
        sessions: SessionCache,
        sleep: Sleep = real_sleep,
    ) -> None:
        super().__init__(engine, clock, config, hasher, sleep)
        self.tokens = tokens
        self.sessions = sessions
        self.registrations = registration_throttle(config.registration_throttle)

    async def register(
        self,
        email: str,
        password: str,
        address: str | None,
        role: Role = Role.USER,
        display_name: str = "",
        invitation: str | None = None,
    ) -> User:
        """Create an account after checking the password policy.

        `address` is the web client's; it may register only so many accounts per window
        (None: an operator's own tool, not throttled). `GREENNET_REGISTRATION` decides who
        may: anyone (`open`), holders of an unused invitation (`invite`, for its e-mail
        address if it names one), nobody (`closed`).
        """
        mode = self.config.registration
        if mode == "closed":
            raise Forbidden("registration is closed on this server", "registration_closed")
        if mode == "invite" and not invitation:
            raise Forbidden("registration needs an invitation", "invitation_required")
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
            if taken is None and mode == "invite":
                await self._accept_invitation(conn, invitation or "", user)
        if taken is not None:
            raise taken
        return user

    async def _accept_invitation(self, conn: AsyncConnection, token: str, user: User) -> None:
        """Spend the registration invitation `token` on `user` (rolls the account back if
        it is not an open invitation for this address)."""
        found = await invitation_store.claim_invitation(
            conn, REGISTRATION, hash_secret(token), self.now(), user.id
        )
        if found is None or (found.email is not None and found.email != user.email):
            raise Forbidden(
                "this invitation is unknown, used, expired or for another address",
                "invalid_invitation",
            )

    async def login(self, email: str, password: str, totp: str | None, address: str) -> TokenPair:
        """Check credentials (and TOTP when enabled), then start a session."""
        try:
            email = normalize_email(email)
            valid_email = True
        except DomainError:
            # no account can have it; still throttled, under a key safe to store
            email = "invalid:" + hash_secret(email)[:32]
            valid_email = False
        keys = self.password_keys(email, address)
        attempt = await self.take_password_attempt(keys)
        now = self.now()
        async with reading(self.engine).begin() as conn:
            user = await user_store.get_user_by_email(conn, email) if valid_email else None
        password_ok = await self.hasher.verify_off_loop(
            user.password_hash if user else self.hasher.dummy_hash, password
        )
        if user is None or not password_ok:
            raise Unauthenticated("wrong email or password", "invalid_credentials")
        if user.totp_enabled and not totp:
            # the password was right: ask for the code without counting a failure
            async with self.engine.begin() as conn:
                await self.throttle.release(conn, attempt)
            raise Unauthenticated("a two-factor code is required", "totp_required")
        if user.disabled:
            raise Forbidden("this account is disabled", "account_disabled")
        new_hash = None
        if self.hasher.needs_rehash(user.password_hash):
            new_hash = await self.hasher.hash_off_loop(password)
        async with self.engine.begin() as conn:
            if user.totp_enabled and not await self.second_factor_ok(conn, user, totp or ""):
                # wrong, or a parallel login spent this code first: it is single use
                failure = Unauthenticated("wrong two-factor code", "invalid_totp")
            else:
                failure = None
                await self.throttle.release(conn, attempt)
                await self.throttle.succeeded(conn, [keys[0], keys[2]])
                if new_hash is not None:
                    await user_store.update_user(conn, user.id, now, password_hash=new_hash)
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
        if failure is None and (new_hash is not None or user.totp_enabled):
            # other sessions' cached account (TOTP step, hash) is out of date
            await self.sessions.invalidate_user(user.id)
        if failure is not None:
            raise failure
        if self.security is not None:
            await self.security.signed_in(user.id, address)
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
            if self.is_idle(session, now):
                await session_store.revoke_sessions(
                    conn, session.user_id, now, "idle", only=session.id
                )
                failure = Unauthenticated("this session was idle too long", "session_expired")
            elif token.used_at is not None or not await session_store.mark_refresh_token_used(
                conn, token_hash, now
            ):
                await session_store.revoke_sessions(
                    conn, session.user_id, now, "reuse", only=session.id
                )
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
                await session_store.touch_session(conn, session.id, now)
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
                await session_store.revoke_sessions(
                    conn, session.user_id, now, "logout", only=session.id
                )
        if found is not None:
            await self.sessions.invalidate(found[1].id)

    async def logout_all(self, principal: Principal) -> None:
        """Revoke every session of the caller, this one included."""
        async with self.engine.begin() as conn:
            await session_store.revoke_sessions(conn, principal.user_id, self.now(), "logout_all")
        await self.sessions.invalidate_user(principal.user_id)

    async def change_password(
        self,
        principal: Principal,
        current_password: str,
        new_password: str,
        address: str,
        second_factor: str | None = None,
    ) -> None:
        """Set a new password (after re-authentication) and end every other session."""
        user = principal.user
        check_password_policy(new_password, user.email)
        await self.reauthenticate(principal, current_password, second_factor, address)
        new_hash = await self.hasher.hash_off_loop(new_password)
        now = self.now()
        async with self.engine.begin() as conn:
            await user_store.update_user(conn, user.id, now, password_hash=new_hash)
            await session_store.revoke_sessions(
                conn, user.id, now, "password_changed", keep=principal.session_id
            )
        await self.sessions.invalidate_user(user.id)
        if self.security is not None:
            await self.security.password_changed(user.id, "changed")

    async def authenticate(self, access_token: str) -> Principal:
        """The caller behind a bearer token; its session must still be live (a live session
        found in the last few seconds is taken from the session cache)."""
        now = self.now()
        claims = self.tokens.verify(access_token, now)
        if cached := self.sessions.get(claims.session_id, claims.user_id):
            return cached
        generation = self.sessions.generation
        reads = fast_reads(self.engine)
        user = await user_store.get_user(reads, claims.user_id)
        session = await session_store.get_session(reads, claims.user_id, claims.session_id)
        if user is None or user.disabled:
            raise invalid_access_token()
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise invalid_access_token()
        if self.is_idle(session, now):
            raise invalid_access_token()
        principal = Principal(user=user, session_id=session.id)
        self.sessions.put(principal, session.expires_at, generation)
        return principal

    def is_idle(self, session: Session, now: datetime) -> bool:
        """Whether `session` went unused (no login or refresh) for the idle timeout."""
        return now - session.last_used_at >= timedelta(seconds=self.config.idle_timeout_seconds)

    async def list_sessions(self, principal: Principal) -> list[Session]:
        """The caller's live sessions (the current one among them)."""
        now = self.now()
        async with reading(self.engine).begin() as conn:
            found = await session_store.list_live_sessions(conn, principal.user_id, now)
        return [session for session in found if not self.is_idle(session, now)]

    async def revoke_session(self, principal: Principal, session_id: str) -> None:
        """End one of the caller's sessions (any of them, the current one included)."""
        async with self.engine.begin() as conn:
            ended = await session_store.revoke_sessions(
                conn, principal.user_id, self.now(), "revoked", only=session_id
            )
        if not ended:
            raise NotFound("no such session", "not_found")
        await self.sessions.invalidate(session_id)

    async def update_profile(
        self, principal: Principal, changes: ProfileChanges, address: str
    ) -> User:
        """Change the caller's display name and/or e-mail.

        A new e-mail address is where the account is reached and logged into: changing it
        takes re-authentication and ends every other session.
        """
        values: dict[str, object] = {}
        if changes.display_name is not None:
            values["display_name"] = clean_name(changes.display_name, "display name")
        new_email = normalize_email(changes.email) if changes.email is not None else None
        if new_email is not None and new_email != principal.user.email:
            if changes.current_password is None:
                raise Unauthenticated(
                    "changing the e-mail address needs current_password", "reauth_required"
                )
            await self.reauthenticate(
                principal, changes.current_password, changes.second_factor, address
            )
            values["email"] = new_email
        now = self.now()
        async with self.engine.begin() as conn:
            if values:
                await user_store.update_user(conn, principal.user_id, now, **values)
            if "email" in values:
                await session_store.revoke_sessions(
                    conn, principal.user_id, now, "email_changed", keep=principal.session_id
                )
            user = await user_store.get_user(conn, principal.user_id)
        if changes:
            await self.sessions.invalidate_user(principal.user_id)
        if user is None:
            raise invalid_access_token()
        return user

    def _pair(self, user_id: str, session_id: str, refresh: str, now: datetime) -> TokenPair:
        return TokenPair(
            access_token=self.tokens.issue(user_id, session_id, now),
            refresh_token=refresh,
            expires_in=self.tokens.ttl_seconds,
        )
