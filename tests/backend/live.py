"""`greennet-cloud serve` as a real subprocess on a free loopback port, from the cloud venv
(so the HA venv's tests, e.g. tests/e2e, start the cloud exactly as a user runs it)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from greennet_demo.services import cloud_bin

from ..broker import free_port

FAST_ARGON2 = {
    "GREENNET_ARGON2_TIME_COST": "1",
    "GREENNET_ARGON2_MEMORY_KIB": "256",
}


class LiveServer:
    """Runs the service until `stop()`; `base_url` is where it listens."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        cwd: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._own_dir = cwd is None
        self.cwd = cwd or Path(tempfile.mkdtemp(prefix="greennet-cloud-"))
        self.log = self.cwd / "server.log"
        # the cloud's own venv, never the caller's import path (another Python's packages)
        inherited = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.env = {**inherited, "GREENNET_PORT": str(self.port), **(env or {})}
        self._args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        """Start and wait for the "listening" log line."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(cloud_bin() / "greennet-cloud"), "serve", *self._args],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"greennet-cloud exited: {self.log.read_text()}")
            if f"listening on http://127.0.0.1:{self.port}" in self.log.read_text():
                return
            time.sleep(0.05)
        raise RuntimeError(f"greennet-cloud did not start: {self.log.read_text()}")

    def stop(self) -> int:
        """SIGTERM (graceful shutdown) and return the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired as err:
            where = _stacks(self.proc.pid)  # what it was doing when it would not stop
            self.proc.kill()
            self.proc.wait()
            log = self.log.read_text(errors="replace")[-4000:]
            raise AssertionError(
                f"greennet-cloud did not stop within 20 s of SIGTERM.\n"
                f"Its threads:\n{where}\nIts log:\n{log}"
            ) from err
        finally:
            self.proc = None

    def cleanup(self) -> None:
        """Stop if running and remove the working directory we made."""
        if self.proc is not None:
            self.stop()
        if self._own_dir:
            shutil.rmtree(self.cwd, ignore_errors=True)


def _stacks(pid: int) -> str:
    """Every thread's Python stack of process `pid` (py-spy, from the HA venv or PATH)."""
    repo_spy = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "py-spy"
    spy = str(repo_spy) if repo_spy.exists() else shutil.which("py-spy")
    if spy is None:
        return "(py-spy not found)"
    try:
        found = subprocess.run(
            [spy, "dump", "--pid", str(pid), "--locals"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"(py-spy failed: {err})"
    return found.stdout + found.stderr
