"""Sharing a home or a device: who it is shared with, granting and revoking (owner only).

Homes and devices share the same way; a `ShareTarget` says how the caller's access to one
is found and which share column points at it, so each rule is written once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock
from ..db.engine import reading
from ..errors import InvalidInput, NotFound
from ..models import Access, NotificationType, Permission, Share
from ..storage import shares as share_store
from ..storage import users as user_store
from ..storage.shares import ShareScope
from .base import Principal, Service, new_id, normalize_email, require_access
from .notifier import NotificationDraft, Notifier, Raised

# the object (home or device) and the caller's access to it; `NotFound` when invisible
type VisibleTarget = Callable[[AsyncConnection, Principal, str], Awaitable[tuple[object, Access]]]


@dataclass(frozen=True, slots=True)
class ShareTarget:
    """A kind of thing that can be shared: a home or a device."""

    kind: str  # "home" / "device", as the error messages word it
    scope: ShareScope
    visible: VisibleTarget


async def grantee_for(conn: AsyncConnection, principal: Principal, email: str) -> tuple[str, str]:
    """(id, email) of the account a share goes to; never the caller."""
    email = normalize_email(email)
    grantee = await user_store.get_user_by_email(conn, email)
    if grantee is None:
        raise NotFound("no account with this email", "user_not_found")
    if grantee.id == principal.user_id:
        raise InvalidInput("you cannot share with yourself", "invalid_input")
    return grantee.id, grantee.email


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
            return await share_store.list_shares(conn, self.target.scope, target_id)

    async def share(
        self, principal: Principal, target_id: str, email: str, permission: Permission
    ) -> Share:
        """Share a home or device the caller owns with another account (who is notified)."""
        raised: Raised | None = None
        async with self.engine.begin() as conn:
            found = await self._require_owner(conn, principal, target_id, "share this {}")
            grantee_id, grantee_email = await grantee_for(conn, principal, email)
            share = await share_store.insert_share(
                conn,
                share_id=new_id(),
                grantee_id=grantee_id,
                grantee_email=grantee_email,
                permission=permission,
                now=self.now(),
                scope=self.target.scope,
                target_id=target_id,
            )
            if self.notifier is not None:
                raised = await self.notifier.notify(
                    conn, [grantee_id], self._shared_draft(principal, found, share), self.now()
                )
        if raised is not None and self.notifier is not None:
            await self.notifier.announce(raised)
        return share

    def _shared_draft(self, principal: Principal, found: object, share: Share) -> NotificationDraft:
        name = str(getattr(found, "name", "") or self.target.kind)
        sharer = principal.user.display_name
        kind = self.target.kind
        what = "see" if share.permission is Permission.READ else "see and switch"
        return NotificationDraft(
            type=NotificationType.SHARE_RECEIVED,
            title=f"{sharer} shared the {kind} “{name}” with you",
            body=f"{sharer} ({principal.user.email}) shared the {kind} “{name}” with you: you"
            f" can now {what} it in GreenNet.",
            data={
                "share_id": share.id,
                f"{kind}_id": share.home_id or share.device_id,
                "permission": share.permission.value,
                "shared_by": principal.user_id,
            },
        )

    async def unshare(self, principal: Principal, target_id: str, share_id: str) -> None:
        """Revoke a share of a home or device the caller owns (its holder's live
        subscriptions to it end)."""
        async with self.engine.begin() as conn:
            await self._require_owner(
                conn, principal, target_id, "change who this {} is shared with"
            )
            grantee = await share_store.delete_share(conn, share_id, self.target.scope, target_id)
            if grantee is None:
                raise NotFound("no such share", "not_found")
        for listener in self.access_listeners:
            await listener([grantee])

    async def _require_owner(
        self, conn: AsyncConnection, principal: Principal, target_id: str, action: str
    ) -> object:
        found, access = await self.target.visible(conn, principal, target_id)
        require_access(access, Access.OWNER, action.format(self.target.kind))
        return found
