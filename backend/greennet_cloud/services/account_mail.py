"""Account mail on the notification outbox: e-mail verification and password reset.

Tokens are random (256 bits), mailed once, stored as SHA-256 hashes, single use and short
lived (verification 24 h, reset 30 min); a new one voids the earlier ones. Asking for a
reset answers the same whether or not the address has an account, and is throttled the
same either way. A reset sets the password, proves the address, ends every session of the
account and tells its owner (a security notification).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock
from ..config import Config
from ..db.engine import reading
from ..errors import Conflict, InvalidInput, NotConfigured, Unauthenticated
from ..models import Channel, NotificationType, OutboxMessage, User
from ..security.passwords import PasswordHasher, check_password_policy
from ..security.session_cache import SessionCache
from ..security.tokens import hash_secret, new_secret
from ..storage import account_tokens as token_store
from ..storage import outbox as outbox_store
from ..storage import sessions as session_store
from ..storage import users as user_store
from . import share_invitations
from .base import Principal, Service, new_id, normalize_email
from .notifier import NotificationDraft, Notifier, Raised
from .throttle import Throttle, client_network

VERIFY_TTL = timedelta(hours=24)
RESET_TTL = timedelta(minutes=30)
VERIFY_PREFIX = "gnv"
RESET_PREFIX = "gnp"
MAIL_OFF = "this service sends no e-mail (no SMTP server is configured)"


class AccountMail(Service):
    """E-mail verification and password reset."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        config: Config,
        hasher: PasswordHasher,
        notifier: Notifier,
        sessions: SessionCache,
    ) -> None:
        super().__init__(engine, clock)
        self.config = config
        self.hasher = hasher
        self.notifier = notifier
        self.sessions = sessions
        self.resends = Throttle(3600, {"verify_mail": 5}, "too many verification mails; wait")
        self.resets = Throttle(
            3600,
            {"reset_address": 10, "reset_email": 3},
            "too many password reset requests; try again later",
        )

    # --- verification -------------------------------------------------------------------

    async def send_verification(self, user: User) -> bool:
        """Mail a verification link to a new account's address (nothing without SMTP)."""
        if not self.config.smtp.enabled:
            return False
        async with self.engine.begin() as conn:
            await self._queue_verification(conn, user.id, user.email, self.now())
        await self._wake()
        return True

    async def request_verification(self, principal: Principal) -> None:
        """Mail a new verification link to the caller's address."""
        self._require_mail()
        now = self.now()
        async with self.engine.begin() as conn:
            if await token_store.is_verified(conn, principal.user_id):
                raise Conflict("your address is verified already", "email_verified")
            await self.resends.take(conn, [f"verify_mail:{principal.user_id}"], now)
            user = await user_store.get_user(conn, principal.user_id)
            if user is None:
                raise Unauthenticated("account unavailable", "invalid_token")
            await self._queue_verification(conn, user.id, user.email, now)
        await self._wake()

    async def verify_email(self, token: str) -> None:
        """Mark the address a verification token was mailed to as verified; shares to it
        that were waiting as invitations begin now."""
        now = self.now()
        raised: list[Raised] = []
        async with self.engine.begin() as conn:
            claimed = await token_store.claim_token(
                conn, hash_secret(token), token_store.VERIFY_EMAIL, now
            )
            user = await user_store.get_user(conn, claimed.user_id) if claimed else None
            # a link for an address the account no longer has proves nothing about it
            if claimed is None or user is None or user.email != claimed.email:
                raise InvalidInput("this link is invalid, used or expired", "invalid_token")
            await token_store.mark_verified(conn, user.id, user.email, now)
            for share, thing in await share_invitations.accept_for(conn, user, now):
                draft = share_invitations.shared_draft(thing, share)
                raised.append(await self.notifier.notify(conn, [user.id], draft, now))
        for item in raised:
            await self.notifier.announce(item)

    async def verification_status(self, principal: Principal) -> bool:
        """Whether the caller's current address is verified."""
        async with reading(self.engine).begin() as conn:
            return await token_store.is_verified(conn, principal.user_id)

    # --- password reset -----------------------------------------------------------------

    async def request_password_reset(self, email: str, address: str) -> None:
        """Mail a reset link if the address has an account; the same answer either way."""
        self._require_mail()
        try:
            email = normalize_email(email)
        except InvalidInput:
            return  # no account can have it: the same silence
        now = self.now()
        network = client_network(address, self.config.throttle_ipv6_prefix)
        keys = [f"reset_address:{network}", f"reset_email:{hash_secret(email)[:32]}"]
        async with self.engine.begin() as conn:
            await self.resets.take(conn, keys, now)
            user = await user_store.get_user_by_email(conn, email)
            if user is not None and not user.disabled:
                token = new_secret(RESET_PREFIX)
                await token_store.insert_token(
                    conn, token_hash=hash_secret(token), user_id=user.id,
                    purpose=token_store.RESET_PASSWORD, email=user.email, now=now,
                    expires_at=now + RESET_TTL,
                )  # fmt: skip
                link = f"{self.config.base_url}/app/#reset-password={token}"
                await self._queue_mail(
                    conn, user.id, user.email, "reset_password", now,
                    "Reset your GreenNet password",
                    f"Someone (hopefully you) asked to reset the password of your GreenNet"
                    f" account.\n\nChoose a new password here within 30 minutes:\n{link}\n\n"
                    "The link works once. If you did not ask, ignore this mail: your password"
                    " stays as it is.\n",
                )  # fmt: skip
        await self._wake()

    async def reset_password(self, token: str, new_password: str) -> None:
        """Set a new password with a reset token; every session of the account ends."""
        now = self.now()
        async with reading(self.engine).begin() as conn:
            pending = await token_store.peek_token(
                conn, hash_secret(token), token_store.RESET_PASSWORD, now
            )
        if pending is None:
            raise InvalidInput("this link is invalid, used or expired", "invalid_token")
        check_password_policy(new_password, pending.email)
        new_hash = await self.hasher.hash_off_loop(new_password)
        raised: Raised | None = None
        async with self.engine.begin() as conn:
            claimed = await token_store.claim_token(
                conn, hash_secret(token), token_store.RESET_PASSWORD, now
            )
            user = await user_store.get_user(conn, claimed.user_id) if claimed else None
            if claimed is None or user is None or user.email != claimed.email or user.disabled:
                raise InvalidInput("this link is invalid, used or expired", "invalid_token")
            await user_store.update_user(conn, user.id, now, password_hash=new_hash)
            await session_store.revoke_sessions(conn, user.id, now, "password_reset")
            await token_store.mark_verified(conn, user.id, user.email, now)
            raised = await self.notifier.notify(
                conn,
                [user.id],
                NotificationDraft(
                    NotificationType.PASSWORD_CHANGED,
                    "Your GreenNet password was reset",
                    "Your password was reset with a link mailed to you, and every session was"
                    " signed out. If this was not you, reset it again now and check your"
                    " mailbox's security.",
                    {"how": "reset"},
                ),
                now,
            )
        await self.sessions.invalidate_user(user.id)  # other processes drop them at once
        await self.notifier.announce(raised)

    # --- helpers ------------------------------------------------------------------------

    async def _queue_verification(
        self, conn: AsyncConnection, user_id: str, email: str, now: datetime
    ) -> None:
        token = new_secret(VERIFY_PREFIX)
        await token_store.insert_token(
            conn, token_hash=hash_secret(token), user_id=user_id,
            purpose=token_store.VERIFY_EMAIL, email=email, now=now, expires_at=now + VERIFY_TTL,
        )  # fmt: skip
        link = f"{self.config.base_url}/app/#verify-email={token}"
        await self._queue_mail(
            conn, user_id, email, "verify_email", now, "Confirm your e-mail address for GreenNet",
            f"Please confirm that this is your address, so GreenNet may send you alerts:\n"
            f"{link}\n\nThe link works once, for 24 hours. If you did not sign up, ignore"
            " this mail.\n",
        )  # fmt: skip

    async def _queue_mail(
        self,
        conn: AsyncConnection,
        user_id: str,
        email: str,
        kind: str,
        now: datetime,
        subject: str,
        text: str,
    ) -> None:
        message = OutboxMessage(
            id=new_id(),
            user_id=user_id,
            channel=Channel.EMAIL,
            kind=kind,
            recipient=email,
            payload={"subject": subject, "text": text},
            created_at=now,
            attempts=0,
        )
        await outbox_store.enqueue(conn, [message])

    def _require_mail(self) -> None:
        if not self.config.smtp.enabled:
            raise NotConfigured(MAIL_OFF, "mail_unavailable")

    async def _wake(self) -> None:
        await self.notifier.announce(Raised(stored=[], queued=1))
