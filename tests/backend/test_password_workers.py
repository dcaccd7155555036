"""argon2 runs on a bounded set of workers: a login flood cannot take every core, and what
cannot even queue is refused at once (503, Retry-After) instead of waiting without bound."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading

import pytest
from greennet_cloud.config import Config, LoginThrottle, config_from_env
from greennet_cloud.security.passwords import WORKER_NICENESS, PasswordHasher

from .api import Api
from .conftest import FAST_HASHING, ApiFactory


async def test_a_login_flood_hashes_on_one_worker_and_refuses_what_cannot_queue(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await make_api(
        password_hashing=dataclasses.replace(FAST_HASHING, workers=1, max_waiting=2),
        # password checks are counted before argon2 runs: 8 in flight from one network
        # would meet the per-(account, network) limit before the worker queue is full
        login_throttle=LoginThrottle(per_account=100, per_address=100),
    )
    user = await api.account("flood@example.com")
    running, peak = 0, 0
    lock = threading.Lock()
    release = threading.Event()
    verify = PasswordHasher.verify

    def held_verify(self: PasswordHasher, password_hash: str, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(30)  # a hash that lasts until the flood has been sorted out
        try:
            return verify(self, password_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(PasswordHasher, "verify", held_verify)
    logins = [asyncio.create_task(api.login(user.email)) for _ in range(8)]
    # nothing can finish while the worker is held: whatever answers now was refused at once
    pending = set(logins)
    async with asyncio.timeout(30):
        while len(logins) - len(pending) < 5:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(0.2)  # a sixth early answer would show here
    assert sum(login.done() for login in logins) == 5
    release.set()
    replies = await asyncio.gather(*logins)
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


async def test_hashing_threads_run_at_a_lower_priority_than_requests(api: Api) -> None:
    await api.account("nice@example.com")  # registering and logging in hash on the workers
    workers = [t for t in threading.enumerate() if t.name.startswith("argon2")]
    assert workers
    for worker in workers:
        assert worker.native_id is not None
        niceness = os.getpriority(os.PRIO_PROCESS, worker.native_id)
        assert niceness == os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS
