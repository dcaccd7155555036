"""Password policy (OWASP ASVS 5) and argon2id hashing (argon2-cffi)."""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..config import PasswordHashing
from ..errors import InvalidInput
from .common_passwords import COMMON_PASSWORDS
from .passwords_policy import MAX_LENGTH, MIN_LENGTH


def check_password_policy(password: str, email: str = "") -> None:
    """Raise `InvalidInput` unless the password is 8-128 characters and not a common one.

    No composition rules (ASVS 5 2.1.9); any printable Unicode is allowed.
    """
    # length counts the code points the user typed; normalization only feeds the list check
    normalized = unicodedata.normalize("NFKC", password)
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_LENGTH} characters", "weak_password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"password must be at most {MAX_LENGTH} characters", "weak_password")
    folded = normalized.casefold()
    if folded in COMMON_PASSWORDS:
        raise InvalidInput("password is too common", "weak_password")
    if email and folded in {email.casefold(), email.split("@", 1)[0].casefold()}:
        raise InvalidInput("password must not be the email address", "weak_password")


class PasswordHasher:
    """argon2id with configurable cost; verify never raises on a bad hash."""

    def __init__(self, cost: PasswordHashing) -> None:
        self._argon2 = _Argon2(
            time_cost=cost.time_cost,
            memory_cost=cost.memory_cost_kib,
            parallelism=cost.parallelism,
            type=Type.ID,
        )
        # verified against when the account does not exist, so timing does not reveal it
        self.dummy_hash = self._argon2.hash("greennet-no-such-account")

    def hash(self, password: str) -> str:
        """A new salted argon2id hash."""
        return self._argon2.hash(unicodedata.normalize("NFKC", password))

    def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches `password_hash`."""
        try:
            return self._argon2.verify(password_hash, unicodedata.normalize("NFKC", password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
