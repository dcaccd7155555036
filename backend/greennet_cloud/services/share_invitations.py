"""Sharing with an address that has no account: an invitation (the security part's
`invitations` table, kind "share") instead of `user_not_found`, so sharing never tells
anyone which addresses have accounts.

The sharer's answer and list look the same either way: an invitation is listed like a share
(with its own id, which the share keeps when it is accepted) and revoked the same way. The
address gets a mail; the share begins once someone who registered with that address has
confirmed it (the verification link proves they read its mail), not at registration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from ..config import Config
from ..errors import Conflict
from ..models import Channel, NotificationType, OutboxMessage, Permission, Share, User
from ..security.tokens import hash_secret, new_secret
from ..storage import invitations as invitation_store
from ..storage import outbox as outbox_store
from ..storage import shares as share_store
from ..storage.invitations import Invitation
from ..storage.shares import ShareScope
from .base import new_id
from .notifier import NotificationDraft

SHARE = "share"
INVITATION_TTL = timedelta(days=14)
TOKEN_PREFIX = "gni"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True, slots=True)
class SharedThing:
    """What is shared, and by whom, as invitations and notifications word it."""

    kind: str  # home / device
    name: str
    sharer_id: str
    sharer_name: str
    sharer_email: str


def shared_draft(thing: SharedThing, share: Share) -> NotificationDraft:
    """The `share_received` notification of a share."""
    what = "see" if share.permission is Permission.READ else "see and switch"
    return NotificationDraft(
        type=NotificationType.SHARE_RECEIVED,
        title=f"{thing.sharer_name} shared the {thing.kind} “{thing.name}” with you",
        body=f"{thing.sharer_name} ({thing.sharer_email}) shared the {thing.kind}"
        f" “{thing.name}” with you: you can now {what} it in GreenNet.",
        data={
            "share_id": share.id,
            f"{thing.kind}_id": share.home_id or share.device_id,
            "permission": share.permission.value,
            "shared_by": thing.sharer_id,
        },
    )


def _as_share(invitation: Invitation) -> Share:
    details = json.loads(invitation.details)
    target = details["target_id"]
    return Share(
        id=invitation.id,
        grantee_id="",  # no account yet
        grantee_email=invitation.email or "",
        home_id=target if details["scope"] == "home_id" else None,
        device_id=target if details["scope"] == "device_id" else None,
        permission=Permission(details["permission"]),
        created_at=invitation.created_at,
    )


async def invite(
    conn: AsyncConnection,
    config: Config,
    *,
    thing: SharedThing,
    scope: ShareScope,
    target_id: str,
    email: str,
    permission: Permission,
    now: datetime,
) -> Share:
    """Invite `email` to a share (and mail it when mail is configured)."""
    if any(
        item.grantee_email == email
        for item in await pending(conn, thing.sharer_id, scope, target_id, now)
    ):
        raise Conflict("already shared with this user", "share_exists")
    invitation = Invitation(
        id=new_id(),
        kind=SHARE,
        email=email,
        details=json.dumps(
            {
                "scope": scope,
                "target_id": target_id,
                "permission": permission.value,
                "kind": thing.kind,
                "name": thing.name,
                "sharer_name": thing.sharer_name,
                "sharer_email": thing.sharer_email,
            }
        ),  # fmt: skip
        created_by=thing.sharer_id,
        created_at=now,
        expires_at=now + INVITATION_TTL,
        accepted_at=None,
    )
    # the mail carries no token: the share begins when the address is confirmed
    await invitation_store.insert_invitation(
        conn, invitation, hash_secret(new_secret(TOKEN_PREFIX))
    )
    if config.smtp.enabled:
        text = (
            f"{thing.sharer_name} ({thing.sharer_email}) shared the {thing.kind} “{thing.name}”"
            f" with you on GreenNet, the energy monitor for smart plugs.\n\nCreate an account with"
            f" this address at {config.base_url}/app/ and confirm the address with the link we"
            " then mail you: the share appears as soon as it is confirmed. This invitation"
            " lasts 14 days. If you do not know the sender, ignore this mail.\n"
        )
        await outbox_store.enqueue(conn, [OutboxMessage(
            id=new_id(), user_id=thing.sharer_id, channel=Channel.EMAIL, kind="share_invitation",
            recipient=email, payload={"subject": f"{thing.sharer_name} shared a GreenNet"
                                      f" {thing.kind} with you", "text": text},
            created_at=now, attempts=0,
        )])  # fmt: skip
    return _as_share(invitation)


async def pending(
    conn: AsyncConnection, owner_id: str, scope: ShareScope, target_id: str, now: datetime
) -> list[Share]:
    """Open invitations to share one home or device, as shares."""
    found = await invitation_store.list_open_invitations(conn, SHARE, now, created_by=owner_id)
    shares = [_as_share(invitation) for invitation in found]
    return [share for share in shares if (share.home_id or share.device_id) == target_id
            and (scope == "home_id") == (share.home_id is not None)]  # fmt: skip


async def withdraw(
    conn: AsyncConnection, owner_id: str, scope: ShareScope, target_id: str, share_id: str,
    now: datetime,
) -> bool:  # fmt: skip
    """Withdraw an open invitation to this home or device."""
    if not any(
        item.id == share_id for item in await pending(conn, owner_id, scope, target_id, now)
    ):
        return False
    return await invitation_store.delete_open_invitation(conn, SHARE, share_id, owner_id)


async def accept_for(
    conn: AsyncConnection, user: User, now: datetime
) -> list[tuple[Share, SharedThing]]:
    """Turn the open share invitations to `user`'s (just confirmed) address into shares."""
    accepted = await invitation_store.accept_open_for_email(conn, SHARE, user.email, now, user.id)
    made = []
    for invitation in accepted:
        details = json.loads(invitation.details)
        invited = _as_share(invitation)
        if invitation.created_by == user.id:
            continue  # shared with an address that then became the sharer's own
        try:
            share = await share_store.insert_share(
                conn, share_id=invitation.id, grantee_id=user.id, grantee_email=user.email,
                permission=invited.permission, now=now, scope=details["scope"],
                target_id=details["target_id"],
            )  # fmt: skip
        except Conflict:
            continue  # shared with the account directly meanwhile
        thing = SharedThing(details["kind"], details["name"], invitation.created_by,
                            details["sharer_name"], details["sharer_email"])  # fmt: skip
        made.append((share, thing))
    return made
