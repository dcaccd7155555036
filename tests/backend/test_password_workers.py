"""argon2 runs on a bounded set of workers: a login flood cannot take every core, and what
cannot even queue is refused at once (503, Retry-After) instead of waiting without bound."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest
from greennet_cloud.config import Config, config_from_env
from greennet_cloud.security.passwords import PasswordHasher

from .conftest import FAST_HASHING, ApiFactory


async def test_a_login_flood_hashes_on_one_worker_and_refuses_what_cannot_queue(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await make_api(
        password_hashing=dataclasses.replace(FAST_HASHING, workers=1, max_waiting=2)
    )
    user = await api.account("flood@example.com")
    running, peak = 0, 0
    lock = threading.Lock()
    verify = PasswordHasher.verify

    def slow_verify(self: PasswordHasher, password_hash: str, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.2)  # a costly hash, so the flood overlaps
        try:
            return verify(self, password_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(PasswordHasher, "verify", slow_verify)
    replies = await asyncio.gather(*(api.login(user.email) for _ in range(8)))
    assert sorted(reply.status for reply in replies) == [200] * 3 + [503] * 5
    for reply in replies:
        if reply.status == 503:
            assert (reply.error, reply.headers["Retry-After"]) == ("busy", "1")
    assert peak == 1  # never two hashes at once
    assert (await api.login(user.email)).status == 200  # the flood passed, logins work


def test_workers_default_to_half_the_cores_and_are_configurable() -> None:
    assert Config().password_hashing.worker_threads >= 1
    config = config_from_env({"GREENNET_ARGON2_WORKERS": "3", "GREENNET_ARGON2_QUEUE": "7"})
    assert (config.password_hashing.worker_threads, config.password_hashing.max_waiting) == (3, 7)
    with pytest.raises(ValueError, match="GREENNET_ARGON2_WORKERS"):
        config_from_env({"GREENNET_ARGON2_WORKERS": "-1"}, Config(secret="s" * 40)).resolve()
