"""Password policy (OWASP ASVS 5) and argon2id hashing (argon2-cffi)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..config import PasswordHashing
from ..errors import InvalidInput, Unavailable
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


WORKER_NICENESS = 10


def _yield_to_requests() -> None:
    """Lower this hashing thread's CPU priority (Linux: per thread), so that under a login
    flood the scheduler serves the event loop, and with it every other request, first."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)


class PasswordHasher:
    """argon2id with configurable cost; verify never raises on a bad hash.

    The `*_off_loop` methods run on this hasher's own bounded workers (see `PasswordHashing`):
    services use those, never a general-purpose executor.
    """

    def __init__(self, cost: PasswordHashing) -> None:
        self._workers = ThreadPoolExecutor(
            cost.worker_threads, thread_name_prefix="argon2", initializer=_yield_to_requests
        )
        self._admission = cost.worker_threads + cost.max_waiting
        self._admitted = 0
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

    async def hash_off_loop(self, password: str) -> str:
        """`hash` on a password worker; `Unavailable` when too many wait already."""
        return await self._on_worker(self.hash, password)

    async def verify_off_loop(self, password_hash: str, password: str) -> bool:
        """`verify` on a password worker; `Unavailable` when too many wait already."""
        return await self._on_worker(self.verify, password_hash, password)

    async def _on_worker[T](self, func: Callable[..., T], *args: str) -> T:
        if self._admitted >= self._admission:
            raise Unavailable("too many password checks at once; retry in a moment")
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._workers, func, *args)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        """Let the workers go once they finish what they hold."""
        self._workers.shutdown(wait=False, cancel_futures=True)
