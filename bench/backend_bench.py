"""GreenNet Cloud under load, against aiohttp's own hello world measured in the same run.

Runs the real `greennet-cloud serve` (from .venv-cloud) on SQLite and on PostgreSQL (Debian's
server, started here on loopback) and loads it with wrk (`wrk -t1 -c200 -d10s`): `/healthz`,
the authenticated read `GET /api/v1/homes`, then the same read during a login flood (valid
logins, argon2id at the default cost) with the flood's own figures. `--profile` samples the
server with py-spy during the authenticated reads and prints its busiest functions.

    .venv-cloud/bin/python -m bench.backend_bench [--quick] [--profile] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from greennet_demo.services import Process, cloud_bin, free_port, spawn, wait_http

from bench import wrk
from bench.harness import CLK_TCK, cpu_seconds, git_rev, machine_info, record_results
from bench.profile import py_spy_top
from tests.backend.postgres import PostgresServer

EMAIL, PASSWORD = "bench@greennet.example", "bench-password-2026"
CONNECTIONS = 200
FLOOD_CONNECTIONS = 32


@dataclass
class Row:
    """One measured load: wrk's figures, the server's (and the database server's) CPU per
    request, and the machine's load average when it ended."""

    database: str
    load: str
    result: wrk.WrkResult
    cpu_ms_per_request: float
    db_cpu_ms_per_request: float | None = None
    load_average: float = 0.0


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid`, its live descendants and its reaped children (PostgreSQL: the
    postmaster and every backend, ended ones included)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(n) for n in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
        todo += children.get(current, [])
    return total


def postmaster_pid(pg: PostgresServer) -> int:
    """The PostgreSQL server's own pid (first line of postmaster.pid)."""
    return int((pg._data / "postmaster.pid").read_text().split()[0])


def measured(
    pid: int, url: str, seconds: float, db_pid: int | None = None, **kw: object
) -> tuple[wrk.WrkResult, float, float | None, float]:
    """wrk against `url`; the server's (and database's) CPU ms per answered request."""
    cpu0 = cpu_seconds(pid)
    db0 = tree_cpu_seconds(db_pid) if db_pid else 0.0
    result = wrk.run(url, CONNECTIONS, seconds, **kw)  # type: ignore[arg-type]
    answered = max(result.requests, 1)
    db_ms = (tree_cpu_seconds(db_pid) - db0) * 1000 / answered if db_pid else None
    return result, (cpu_seconds(pid) - cpu0) * 1000 / answered, db_ms, os.getloadavg()[0]


def hello_world(seconds: float, workdir: Path) -> Row:
    """aiohttp's hello world on the same aiohttp, same machine, same wrk."""
    port = free_port()
    args = [str(cloud_bin() / "python"), "-m", "bench.hello_world", str(port)]
    proc = spawn("hello", args, workdir)
    try:
        asyncio.run(wait_http(proc, f"http://127.0.0.1:{port}/", 30))
        url = f"http://127.0.0.1:{port}/"
        return Row("-", "aiohttp hello world (baseline)", *measured(proc.proc.pid, url, seconds))
    finally:
        proc.stop()


async def seed(base: str) -> str:
    """An account with a home; its access token."""
    account = {"email": EMAIL, "password": PASSWORD}
    async with aiohttp.ClientSession() as session:
        async with session.post(base + "/api/v1/auth/register", json=account) as r:
            assert r.status == 201, await r.text()
        async with session.post(base + "/api/v1/auth/login", json=account) as r:
            token = str((await r.json())["access_token"])
        async with session.post(
            base + "/api/v1/homes",
            json={"name": "Bench home"},
            headers={"Authorization": f"Bearer {token}"},
        ) as r:
            assert r.status == 201, await r.text()
    return token


def run_database(
    db: str, seconds: float, profile: bool, env: dict[str, str]
) -> tuple[list[Row], str]:
    """Start the cloud on `db`, measure each load; with `profile`, also a py-spy profile."""
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
            # PostgreSQL refuses to start without an explicit secret (issue #14, finding 5)
            env = {"GREENNET_SECRET": secrets.token_urlsafe(32), **env}
            proc = spawn("cloud", [*args, "--port", str(port)], Path(tmp), env)
            base = f"http://127.0.0.1:{port}"
            asyncio.run(wait_http(proc, base + "/healthz", 60))
            token = asyncio.run(seed(base))
            pid = proc.proc.pid
            db_pid = postmaster_pid(pg) if pg is not None else None
            auth = {"Authorization": f"Bearer {token}"}
            rows = [Row(db, "GET /healthz", *measured(pid, base + "/healthz", seconds, db_pid))]
            homes = base + "/api/v1/homes"
            rows.append(Row(db, "GET /api/v1/homes (authenticated)", *measured(
                pid, homes, seconds, db_pid, headers=auth)))  # fmt: skip
            top = ""
            if profile:  # before the login flood, whose queued logins outlive its wrk run
                top = py_spy_top(pid, lambda: wrk.run(homes, CONNECTIONS, seconds, headers=auth))
            login = json.dumps({"email": EMAIL, "password": PASSWORD})
            cpu0 = cpu_seconds(pid)
            flood = wrk.Background(
                base + "/api/v1/auth/login", FLOOD_CONNECTIONS, seconds + 2, login
            )
            time.sleep(1)  # the flood is under way before reads are measured
            during = wrk.run(homes, CONNECTIONS, seconds, headers=auth)
            flooded = flood.result()
            cpu = (cpu_seconds(pid) - cpu0) * 1000 / max(during.requests + flooded.requests, 1)
            load_average = os.getloadavg()[0]
            rows.append(Row(db, "GET /api/v1/homes during a login flood", during, cpu,
                            load_average=load_average))  # fmt: skip
            flood_load = f"POST /auth/login flood ({FLOOD_CONNECTIONS} conn.)"
            rows.append(Row(db, flood_load, flooded, cpu, load_average=load_average))
            return rows, top
        finally:
            if proc is not None:
                proc.stop()
            if pg is not None:
                pg.stop()


def report(rows: list[Row], profiles: dict[str, str], command: str, seconds: float) -> str:
    """Markdown section for bench/RESULTS.md."""
    hello = rows[0].result.rps
    lines = [
        "| database | load | req/s | x hello world | p50 ms | p99 ms | timeouts | errors "
        "| server CPU ms/req | database CPU ms/req | load avg |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        r = row.result
        lines.append(
            f"| {row.database} | {row.load} | {r.rps:.0f} | {r.rps / hello:.2f} | {r.p50:.1f} "
            f"| {r.p99:.1f} | {r.timeouts} | {r.socket_errors + r.non_2xx} "
            f"| {row.cpu_ms_per_request:.2f} "
            f"| {'-' if row.db_cpu_ms_per_request is None else f'{row.db_cpu_ms_per_request:.2f}'} "
            f"| {row.load_average:.1f} |"
        )
    text = (
        f"### GreenNet Cloud: wrk -t1 -c{CONNECTIONS} -d{seconds:g}s "
        f"({time.strftime('%Y-%m-%d')}, commit {git_rev()})\n\n{machine_info()}\n\n"
        f"`{command}`\n\n" + "\n".join(lines) + "\n\n"
        "errors: socket errors + non-2xx answers; timeouts: no answer within wrk's 2 s. "
        "Login flood: valid logins over "
        f"{FLOOD_CONNECTIONS} connections (the flood's CPU figure is shared with the reads).\n"
    )
    for db, top in profiles.items():
        text += f"\npy-spy, {db}, authenticated reads (share of samples, own time):\n\n{top}\n"
    return text


def main() -> None:
    """Hello world, then both databases; print (and optionally record) the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s per load instead of 10 s")
    parser.add_argument("--profile", action="store_true", help="py-spy the authenticated reads")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--env", nargs="*", default=[], metavar="NAME=VALUE", help="extra server environment"
    )
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 10.0
    with tempfile.TemporaryDirectory(prefix="greennet-bench-hello-") as tmp:
        rows = [hello_world(seconds, Path(tmp))]
    profiles: dict[str, str] = {}
    for db in args.databases:
        env = dict(item.split("=", 1) for item in args.env)
        measured_rows, top = run_database(db, seconds, args.profile, env)
        rows += measured_rows
        if top:
            profiles[db] = top
    command = ".venv-cloud/bin/python -m bench.backend_bench " + " ".join(sys.argv[1:])
    record_results(report(rows, profiles, command.strip(), seconds), args.write)


if __name__ == "__main__":
    main()
