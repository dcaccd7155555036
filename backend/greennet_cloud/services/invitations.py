"""Registration invitations: while `GREENNET_REGISTRATION=invite`, administrators hand out
single-use, expiring tokens and registering takes one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from ..db.engine import reading
from ..errors import InvalidInput, NotFound
from ..security.tokens import hash_secret, new_secret
from ..storage import invitations as invitation_store
from ..storage.invitations import Invitation
from .admin import require_admin
from .base import Principal, Service, new_id, normalize_email

REGISTRATION = "registration"
INVITATION_PREFIX = "gni"
MAX_TTL_DAYS = 30


@dataclass(frozen=True, slots=True)
class NewInvitation:
    """An invitation and its token, shown once."""

    invitation: Invitation
    token: str


class Invitations(Service):
    """Registration invitations (administrators only)."""

    async def create(self, principal: Principal, email: str | None, ttl_days: int) -> NewInvitation:
        """A new invitation, for one e-mail address or for whoever holds the token."""
        require_admin(principal)
        if not 1 <= ttl_days <= MAX_TTL_DAYS:
            raise InvalidInput(f"ttl_days must be from 1 to {MAX_TTL_DAYS}", "invalid_input")
        now = self.now()
        invitation = Invitation(
            id=new_id(),
            kind=REGISTRATION,
            email=normalize_email(email) if email else None,
            details=json.dumps({}),
            created_by=principal.user_id,
            created_at=now,
            expires_at=now + timedelta(days=ttl_days),
            accepted_at=None,
        )
        token = new_secret(INVITATION_PREFIX)
        async with self.engine.begin() as conn:
            await invitation_store.insert_invitation(conn, invitation, hash_secret(token))
        return NewInvitation(invitation=invitation, token=token)

    async def list_open(self, principal: Principal) -> list[Invitation]:
        """Registration invitations not used yet and not expired."""
        require_admin(principal)
        async with reading(self.engine).begin() as conn:
            return await invitation_store.list_open_invitations(conn, REGISTRATION, self.now())

    async def withdraw(self, principal: Principal, invitation_id: str) -> None:
        """Withdraw an unused invitation."""
        require_admin(principal)
        async with self.engine.begin() as conn:
            if not await invitation_store.delete_open_invitation(conn, REGISTRATION, invitation_id):
                raise NotFound("no such open invitation", "not_found")
