"""What every service shares: the engine, the clock, the acting user and access rules."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..errors import Forbidden, InvalidInput
from ..models import Access, Role, User

EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]+$")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: the account and the session its token belongs to."""

    user: User
    session_id: str

    @property
    def user_id(self) -> str:
        """The caller's account id."""
        return self.user.id


class Service:
    """Base for services: a database engine and a clock."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def now(self) -> datetime:
        """The injected current time."""
        return self.clock()


def new_id() -> str:
    """A fresh random identifier."""
    return str(uuid.uuid4())


def normalize_email(email: str) -> str:
    """Trimmed, lower-case email; `InvalidInput` when it does not look like one."""
    normalized = email.strip().lower()
    if len(normalized) > 254 or not EMAIL_RE.fullmatch(normalized):
        raise InvalidInput("not a valid email address", "invalid_email")
    return normalized


def clean_name(value: str, what: str, *, allow_empty: bool = False) -> str:
    """A trimmed display name of at most 100 characters."""
    cleaned = value.strip()
    if not cleaned and not allow_empty:
        raise InvalidInput(f"{what} must not be empty", "invalid_input")
    if len(cleaned) > 100:
        raise InvalidInput(f"{what} must be at most 100 characters", "invalid_input")
    if any(ord(char) < 32 for char in cleaned):
        raise InvalidInput(f"{what} must not contain control characters", "invalid_input")
    return cleaned


def effective_access(access: Access, user: User) -> Access:
    """Guests only ever read, whatever a share says."""
    return Access.READ if user.role is Role.GUEST else access


def require_access(access: Access, needed: Access, action: str) -> None:
    """`Forbidden` unless `access` is at least `needed`."""
    if access.rank < needed.rank:
        raise Forbidden(f"you may not {action}", "forbidden")
