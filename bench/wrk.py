"""wrk (Debian's `wrk`), the load generator of the cloud benchmark: a C program on its own
thread, so the measuring costs the server little CPU (an asyncio client would take half the
2 cores from the server it measures)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reports (latencies in ms)."""

    requests: int
    rps: float
    p50: float
    p99: float
    timeouts: int
    socket_errors: int  # connect + read + write errors
    non_2xx: int

    @property
    def errors(self) -> int:
        """Every request that did not get a 2xx/3xx answer in time."""
        return self.timeouts + self.socket_errors + self.non_2xx


def wrk_binary() -> str:
    """Path of wrk; tells how to install it otherwise."""
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    return found


def parse(output: str) -> WrkResult:
    """Read wrk's `--latency` report."""
    latencies = {m[1]: float(m[2]) * _UNITS[m[3]] for m in _LATENCY.finditer(output)}
    requests = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not (requests and rps and {"50", "99"} <= set(latencies)):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    sockets = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    connect, read, write, timeouts = (int(n) for n in sockets.groups()) if sockets else (0,) * 4
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(requests[1]),
        rps=float(rps[1]),
        p50=latencies["50"],
        p99=latencies["99"],
        timeouts=timeouts,
        socket_errors=connect + read + write,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
    )


def command(
    url: str,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    post_json: str | None = None,
) -> tuple[list[str], Path | None]:
    """wrk's argv (one thread, `--latency`) and the Lua script it needs for a JSON POST."""
    args = [wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    script = None
    if post_json is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            body = post_json.replace("\\", "\\\\").replace("'", "\\'")
            handle.write(
                f"wrk.method = 'POST'\nwrk.body = '{body}'\n"
                "wrk.headers['Content-Type'] = 'application/json'\n"
            )
        script = Path(handle.name)
        args += ["-s", str(script)]
    return [*args, url], script


def run(
    url: str,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    post_json: str | None = None,
) -> WrkResult:
    """One wrk run to completion."""
    args, script = command(url, connections, seconds, headers, post_json)
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=True)
    finally:
        if script is not None:
            script.unlink()
    return parse(done.stdout)


class Background:
    """A wrk run beside another (the login flood while reads are measured)."""

    def __init__(self, url: str, connections: int, seconds: float, post_json: str) -> None:
        args, self._script = command(url, connections, seconds, post_json=post_json)
        self._proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)

    def result(self) -> WrkResult:
        """Wait for the run and read its report."""
        output, _ = self._proc.communicate(timeout=120)
        if self._script is not None:
            self._script.unlink()
        return parse(output)
