"""Sharing a home or a device: who it is shared with, granting and revoking (owner only).

Homes and devices share the same way; a `ShareTarget` says how the caller's access to one
is found and which share column points at it, so each rule is written once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock
from ..config import Config
from ..db.engine import reading
from ..errors import InvalidInput, NotFound
from ..models import Access, Permission, Share
from ..storage import shares as share_store
from ..storage import users as user_store
from ..storage.shares import ShareScope
from . import share_invitations
from .base import Principal, Service, new_id, normalize_email, require_access
from .notifier import Notifier, Raised
from .share_invitations import SharedThing, shared_draft

# the object (home or device) and the caller's access to it; `NotFound` when invisible
type VisibleTarget = Callable[[AsyncConnection, Principal, str], Awaitable[tuple[object, Access]]]


@dataclass(frozen=True, slots=True)
class ShareTarget:
    """A kind of thing that can be shared: a home or a device."""

    kind: str  # "home" / "device", as the error messages word it
    scope: ShareScope
    visible: VisibleTarget


async def grantee_for(
    conn: AsyncConnection, principal: Principal, email: str
) -> tuple[str | None, str]:
    """(id, email) of the account a share goes to (id None: no account has the address);
    never the caller."""
    email = normalize_email(email)
    grantee = await user_store.get_user_by_email(conn, email)
    if grantee is not None and grantee.id == principal.user_id:
        raise InvalidInput("you cannot share with yourself", "invalid_input")
    return (grantee.id if grantee else None), email


class Shares(Service):
    """The shares of one kind of target (the homes' or the devices')."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        target: ShareTarget,
        notifier: Notifier | None = None,
    ) -> None:
        super().__init__(engine, clock)
        self.target = target
        self.notifier = notifier
        # told who lost access after a share is revoked (the live socket drops subscriptions)
        self.access_listeners: list[Callable[[list[str]], Awaitable[None]]] = []

    async def list_shares(self, principal: Principal, target_id: str) -> list[Share]:
        """Who a home or device the caller owns is shared with (directly)."""
        async with reading(self.engine).begin() as conn:
            await self._require_owner(conn, principal, target_id, "see who this {} is shared with")
            shares = await share_store.list_shares(conn, self.target.scope, target_id)
            invited = await share_invitations.pending(
                conn, principal.user_id, self.target.scope, target_id, self.now()
            )
        return sorted([*shares, *invited], key=lambda share: (share.created_at, share.id))

    async def share(
        self, principal: Principal, target_id: str, email: str, permission: Permission
    ) -> Share:
        """Share a home or device the caller owns with another account (who is notified),
        or invite an address that has no account: the answer is the same."""
        raised: Raised | None = None
        async with self.engine.begin() as conn:
            found = await self._require_owner(conn, principal, target_id, "share this {}")
            grantee_id, grantee_email = await grantee_for(conn, principal, email)
            thing = self._thing(principal, found)
            if grantee_id is None:
                invited = await share_invitations.invite(
                    conn, self.notifier.config if self.notifier else Config(), thing=thing,
                    scope=self.target.scope, target_id=target_id, email=grantee_email,
                    permission=permission, now=self.now(),
                )  # fmt: skip
                raised = Raised(stored=[], queued=1)
            share = (
                invited
                if grantee_id is None
                else await share_store.insert_share(
                    conn,
                    share_id=new_id(),
                    grantee_id=grantee_id,
                    grantee_email=grantee_email,
                    permission=permission,
                    now=self.now(),
                    scope=self.target.scope,
                    target_id=target_id,
                )
            )
            if self.notifier is not None and grantee_id is not None:
                raised = await self.notifier.notify(
                    conn, [grantee_id], shared_draft(thing, share), self.now()
                )
        if raised is not None and self.notifier is not None:
            await self.notifier.announce(raised)
        return share

    def _thing(self, principal: Principal, found: object) -> SharedThing:
        return SharedThing(
            kind=self.target.kind,
            name=str(getattr(found, "name", "") or self.target.kind),
            sharer_id=principal.user_id,
            sharer_name=principal.user.display_name,
            sharer_email=principal.user.email,
        )

    async def unshare(self, principal: Principal, target_id: str, share_id: str) -> None:
        """Revoke a share of a home or device the caller owns (its holder's live
        subscriptions to it end)."""
        async with self.engine.begin() as conn:
            await self._require_owner(
                conn, principal, target_id, "change who this {} is shared with"
            )
            grantee = await share_store.delete_share(conn, share_id, self.target.scope, target_id)
            if grantee is None and not await share_invitations.withdraw(
                conn, principal.user_id, self.target.scope, target_id, share_id, self.now()
            ):
                raise NotFound("no such share", "not_found")
        if grantee is not None:
            for listener in self.access_listeners:
                await listener([grantee])

    async def _require_owner(
        self, conn: AsyncConnection, principal: Principal, target_id: str, action: str
    ) -> object:
        found, access = await self.target.visible(conn, principal, target_id)
        require_access(access, Access.OWNER, action.format(self.target.kind))
        return found
