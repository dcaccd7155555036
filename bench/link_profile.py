"""Where a remote command's cloud time goes: the real app in this process (real routes,
services and database), a test hub answering like the HA integration does (the plug's new
`state` first, then the `command_result`), sequential `POST /devices/{id}/relay` TOGGLEs
under cProfile. Prints the CPU and wall time per command and the busiest functions.

Hub and client share the process with the server, so their share of the profile is
visible too (aiohttp client, the test hub): read the greennet_cloud rows.

    .venv-cloud/bin/python -m bench.link_profile [--commands 500] [--postgres] [--no-state]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from greennet_cloud import Config, create_app

from bench.harness import percentile
from tests.backend.conftest import FAST_HASHING, TEST_SECRET
from tests.backend.hub import SimPlug, TestHub
from tests.backend.postgres import PostgresServer

PLUGS = [f"greennet-cf{n:04x}" for n in range(5)]
EMAIL, PASSWORD = "profile@greennet.example", "profile-password-2026"


class IntegrationLikeHub(TestHub):
    """Answers a command as the integration does: the plug's listener reports its new state
    (`state`) before the command's own `command_result` goes out."""

    __test__ = False
    send_state = True

    async def _answer(self, command: dict[str, Any]) -> None:
        result = await self.answer(command)
        if result is None or self.ws is None or self.ws.closed:
            return
        if self.send_state and result.get("ok"):
            plug = self.plugs[command["plug_id"]]
            await self.send(
                "state",
                plug_id=plug.plug_id,
                online=True,
                relay="ON" if plug.relay else "OFF",
                tripped=plug.tripped,
                ts=int(time.time() * 1000),
            )
        await self.send("command_result", reply_to=command["id"], **result)


async def call(
    session: aiohttp.ClientSession, method: str, url: str, token: str = "", body: Any = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, json=body, headers=headers) as reply:
        assert reply.status < 300, (url, reply.status, await reply.text())
        return await reply.json() if reply.content_length else None


async def run(
    database_url: str | None, data_dir: Path, commands: int, send_state: bool, profiled: bool
) -> str:
    config = Config(
        data_dir=data_dir,
        database_url=database_url,
        secret=TEST_SECRET,
        password_hashing=FAST_HASHING,
        run_jobs=False,
    )
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        base = str(server.make_url(""))
        async with aiohttp.ClientSession() as session:
            account = {"email": EMAIL, "password": PASSWORD}
            await call(session, "POST", base + "/api/v1/auth/register", body=account)
            token = (await call(session, "POST", base + "/api/v1/auth/login", body=account))[
                "access_token"
            ]
            home = await call(session, "POST", base + "/api/v1/homes", token, {"name": "P"})
            link = await call(
                session, "POST", f"{base}/api/v1/homes/{home['id']}/link-tokens", token, {}
            )
            hub = IntegrationLikeHub(
                session, base + "/api/v1/link", link["token"], [SimPlug(p) for p in PLUGS]
            )
            hub.send_state = send_state
            await hub.connect()
            device_id = (await hub.announce())["devices"][PLUGS[0]]
            url = f"{base}/api/v1/devices/{device_id}/relay"
            for _ in range(20):
                await call(session, "POST", url, token, {"state": "TOGGLE"})
            profile = cProfile.Profile()
            wall: list[float] = []
            cpu0 = time.process_time()
            if profiled:
                profile.enable()
            for _ in range(commands):
                start = time.perf_counter()
                answer = await call(session, "POST", url, token, {"state": "TOGGLE"})
                wall.append((time.perf_counter() - start) * 1000)
                assert answer["relay"] == ("ON" if hub.plugs[PLUGS[0]].relay else "OFF")
            profile.disable()
            cpu = (time.process_time() - cpu0) * 1000 / commands
            await asyncio.sleep(0.2)  # the last `state` is stored
            await hub.close()
    finally:
        await server.close()
    head = (
        f"{commands} commands: wall p50 {percentile(wall, 50):.1f} / p99 "
        f"{percentile(wall, 99):.1f} ms; process CPU {cpu:.2f} ms per command "
        f"(server, hub and client together{', under cProfile' if profiled else ''})\n"
    )
    if not profiled:
        return head
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats("greennet_cloud", 30)
    return head + out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--no-state", action="store_true", help="the hub sends no `state`")
    parser.add_argument("--no-profile", action="store_true", help="timings only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="greennet-link-profile-") as tmp:
        pg: PostgresServer | None = None
        if args.postgres:
            pg = PostgresServer()
            pg.start()
        try:
            url = pg.create_database("profile") if pg else None
            print(
                asyncio.run(
                    run(
                        url,
                        Path(tmp) / "data",
                        args.commands,
                        not args.no_state,
                        not args.no_profile,
                    )
                )
            )
        finally:
            if pg is not None:
                pg.stop()


if __name__ == "__main__":
    main()
