"""GreenNet Cloud under load: authenticated reads at 200 concurrent connections, login cost.

Runs the real `greennet-cloud serve` process on SQLite and on PostgreSQL (Debian's server,
started here on loopback) and drives it from an aiohttp client in this process. The
baseline, measured in the same run against the same process, is `/healthz` (no auth, no
query), so the ratio shows what authentication + a scoped query cost.

    .venv/bin/python -m bench.backend_bench [--quick] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from greennet_demo.services import Process, cloud_bin, free_port, spawn, wait_http

from bench.harness import git_rev, machine_info, record_results, summary
from tests.backend.postgres import PostgresServer

EMAIL, PASSWORD = "bench@greennet.example", "bench-password-2026"


async def load(
    base: str, path: str, token: str | None, connections: int, seconds: float, max_requests: int
) -> dict[str, Any]:
    """`connections` clients hammering GET `path`; bounded in time and count."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal errors
            while time.monotonic() < deadline and len(latencies) < max_requests:
                t0 = time.perf_counter()
                async with session.get(base + path, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append((time.perf_counter() - t0) * 1000)

        t0 = time.monotonic()
        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.monotonic() - t0
    return {"rps": len(latencies) / elapsed, "errors": errors, **summary(latencies)}


async def login_cost(base: str, rounds: int) -> dict[str, float]:
    """Sequential logins (argon2id verify dominates), ms each."""
    out = []
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            t0 = time.perf_counter()
            async with session.post(
                base + "/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}
            ) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            out.append((time.perf_counter() - t0) * 1000)
    return summary(out)


async def run_one(db: str, connections: int, seconds: float, max_requests: int) -> dict[str, Any]:
    """One database: start the service, seed a user with a home, measure."""
    pg: PostgresServer | None = None
    proc: Process | None = None
    with tempfile.TemporaryDirectory(prefix=f"greennet-bench-{db}-") as tmp:
        try:
            args = [str(cloud_bin() / "greennet-cloud"), "serve", "--data-dir", tmp]
            if db == "postgresql":
                pg = PostgresServer()
                pg.start()
                args += ["--database-url", pg.create_database("bench")]
            port = free_port()
            proc = spawn("cloud", [*args, "--port", str(port)], Path(tmp))
            base = f"http://127.0.0.1:{port}"
            await wait_http(proc, base + "/healthz", 60)
            async with aiohttp.ClientSession() as session:
                account = {"email": EMAIL, "password": PASSWORD}
                async with session.post(base + "/api/v1/auth/register", json=account) as r:
                    assert r.status in (200, 201), await r.text()
                async with session.post(base + "/api/v1/auth/login", json=account) as r:
                    token = (await r.json())["access_token"]
                async with session.post(
                    base + "/api/v1/homes",
                    json={"name": "Bench home"},
                    headers={"Authorization": f"Bearer {token}"},
                ) as r:
                    assert r.status in (200, 201), await r.text()
            health = await load(base, "/healthz", None, connections, seconds, max_requests)
            homes = await load(base, "/api/v1/homes", token, connections, seconds, max_requests)
            login = await login_cost(base, 10)
            return {"db": db, "health": health, "homes": homes, "login": login}
        finally:
            if proc is not None:
                proc.stop()
            if pg is not None:
                pg.stop()


def report(results: list[dict[str, Any]], command: str, connections: int) -> str:
    """Markdown section for bench/RESULTS.md."""
    rows = [
        "| database | endpoint | req/s | p50 ms | p99 ms | errors | req/s vs /healthz |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        for name, key in (("GET /healthz (baseline)", "health"), ("GET /api/v1/homes", "homes")):
            f = r[key]
            rows.append(
                f"| {r['db']} | {name} | {f['rps']:.0f} | {f['p50']:.1f} | "
                f"{f['p99']:.1f} | {f['errors']} | {f['rps'] / r['health']['rps']:.2f} |"
            )
    logins = [
        f"{r['db']}: login p50 {r['login']['p50']:.0f} ms, p99 {r['login']['p99']:.0f} ms"
        for r in results
    ]
    return (
        f"### GreenNet Cloud: {connections} concurrent connections ({time.strftime('%Y-%m-%d')}"
        f", commit {git_rev()})\n\n{machine_info()}\n\n`{command}`\n\n"
        + "\n".join(rows)
        + "\n\nLogin (argon2id, OWASP cost 19 MiB / 2 passes, sequential): "
        + "; ".join(logins)
        + "\n"
    )


async def main() -> None:
    """Both databases; print (and optionally record) the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    connections = 200
    seconds, max_requests = (5.0, 5_000) if args.quick else (20.0, 50_000)
    results = [
        await run_one(db, connections, seconds, max_requests) for db in ("sqlite", "postgresql")
    ]
    text = report(results, "python -m bench.backend_bench " + " ".join(sys.argv[1:]), connections)
    record_results(text, args.write)


if __name__ == "__main__":
    asyncio.run(main())
