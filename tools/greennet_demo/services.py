"""Start and stop the demo's processes: Mosquitto, GreenNet Cloud and Home Assistant."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def cloud_bin() -> Path:
    """Scripts of GreenNet Cloud's own venv (`scripts/setup` builds `.venv-cloud`), never HA's.

    `GREENNET_CLOUD_VENV` points elsewhere, as `scripts/setup` honours it too.
    """
    venv = Path(os.environ.get("GREENNET_CLOUD_VENV") or REPO / ".venv-cloud")
    if not (venv / "bin" / "greennet-cloud").exists():
        raise RuntimeError(f"GreenNet Cloud's venv {venv} is missing: run scripts/setup")
    return venv / "bin"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    """Whether something already listens on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Process:
    """A child process with its log file; stopped with SIGTERM, then SIGKILL."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        """Still running?"""
        return self.proc.poll() is None

    def tail(self, lines: int = 20) -> str:
        """Last lines of the log, for error messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, grace: float = 15.0) -> None:
        """Terminate and wait."""
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def spawn(name: str, args: list[str], logdir: Path, env: dict[str, str] | None = None) -> Process:
    """Start `args` with output to `<logdir>/<name>.log`."""
    logdir.mkdir(parents=True, exist_ok=True)
    log = logdir / f"{name}.log"
    handle = log.open("ab")
    proc = subprocess.Popen(
        args, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    return Process(name, proc, log)


def mosquitto_binary() -> str | None:
    """Mosquitto if installed (scripts/setup installs it when run as root)."""
    for path in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto"):
        if Path(path).exists():
            return path
    return shutil.which("mosquitto")


BROKERS = ("auto", "mosquitto", "amqtt")


def start_broker(
    choice: str, workdir: Path, port: int, username: str, password: str
) -> tuple[str, Process]:
    """The demo's MQTT broker: Mosquitto when installed, else amqtt (`choice` can force one)."""
    if choice not in BROKERS:
        raise ValueError(f"unknown broker {choice!r}")
    binary = mosquitto_binary()
    if choice == "mosquitto" or (choice == "auto" and binary is not None):
        if binary is None:
            raise RuntimeError(
                "Mosquitto is not installed: run scripts/setup as root, "
                "apt-get install mosquitto, or use --broker amqtt"
            )
        return "mosquitto", start_mosquitto(binary, workdir, port, username, password)
    return "amqtt", start_amqtt(workdir, port, username, password)


def start_amqtt(workdir: Path, port: int, username: str, password: str) -> Process:
    """The pure-Python amqtt broker on loopback with one user (see amqtt_broker.py)."""
    workdir.mkdir(parents=True, exist_ok=True)
    secret = workdir / "amqtt.password"
    secret.unlink(missing_ok=True)
    secret.touch(mode=0o600)
    secret.write_text(password)
    return spawn(
        "amqtt",
        [
            sys.executable,
            "-m",
            "greennet_demo.amqtt_broker",
            "--port",
            str(port),
            "--user",
            username,
            "--password-file",
            str(secret),
        ],
        workdir.parent / "logs",
    )


def start_mosquitto(binary: str, workdir: Path, port: int, username: str, password: str) -> Process:
    """Mosquitto on loopback with one user (password file made by mosquitto_passwd)."""
    workdir.mkdir(parents=True, exist_ok=True)
    passwd = workdir / "mosquitto.passwd"
    passwd.unlink(missing_ok=True)
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwd), username, password],
        check=True,
        capture_output=True,
    )
    passwd.chmod(0o600)
    conf = workdir / "mosquitto.conf"
    # set_tcp_nodelay: without it Mosquitto's PUBACK to HA holds back the plug's state
    # reply behind a delayed ACK (Nagle), adding ~40 ms to a relay round trip (bench/RESULTS.md).
    conf.write_text(
        f"user root\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {passwd}\npersistence false\nlog_dest stderr\n"
        "log_type error\nlog_type warning\nset_tcp_nodelay true\n"
    )
    if os.geteuid() != 0:
        conf.write_text(conf.read_text().replace("user root\n", ""))
    return spawn("mosquitto", [binary, "-c", str(conf)], workdir.parent / "logs")


def start_cloud(workdir: Path, port: int) -> Process:
    """GreenNet Cloud on SQLite in the demo dir, from its own venv."""
    return spawn(
        "cloud",
        [
            str(cloud_bin() / "greennet-cloud"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(workdir / "cloud"),
        ],
        workdir / "logs",
    )


HA_CONFIGURATION = """\
# Written by scripts/demo. A minimal Home Assistant with the GreenNet integration.
homeassistant:
  name: GreenNet demo
  unit_system: metric
  time_zone: UTC
  latitude: 52.52
  longitude: 13.40
  elevation: 34
  currency: EUR
  country: DE
http:
  server_host: 127.0.0.1
  server_port: {port}
frontend:
config:
logger:
  default: warning
  logs:
    custom_components.greennet: info
"""

# The Energy dashboard (the demo adds every plug's energy sensor) and the history it reads.
# The recorder writes every state change to its database, so benchmarks leave it out unless
# asked (bench/ha_bench.py --recorder): it is the same work for any integration's states.
HISTORY_CONFIGURATION = """\
energy:
recorder:
  purge_keep_days: 3
"""


ONBOARDING_SEED = {
    "version": 4,
    "minor_version": 1,
    "key": "onboarding",
    "data": {"done": ["core_config"]},
}


def prepare_ha_config(confdir: Path, port: int, history: bool = True) -> None:
    """Config dir with our integration linked in (re-runs keep .storage: users, entries).

    `history`: the recorder and the Energy dashboard, as the demo has them.
    """
    confdir.mkdir(parents=True, exist_ok=True)
    configuration = HA_CONFIGURATION.format(port=port)
    if history:
        configuration += HISTORY_CONFIGURATION
    (confdir / "configuration.yaml").write_text(configuration)
    # Onboarding's core-config step also starts met, radio_browser and google_translate,
    # whose packages this offline `--skip-pip` venv lacks: each would log an error. The
    # demo's configuration.yaml already holds the core config, so mark that step done.
    onboarding = confdir / ".storage" / "onboarding"
    if not onboarding.exists():
        onboarding.parent.mkdir(exist_ok=True)
        onboarding.write_text(json.dumps(ONBOARDING_SEED, indent=2))
        onboarding.chmod(0o600)
    components = confdir / "custom_components"
    components.mkdir(exist_ok=True)
    link = components / "greennet"
    if not link.is_symlink():
        if link.exists():
            shutil.rmtree(link)
        link.symlink_to(REPO / "custom_components" / "greennet")


def start_home_assistant(confdir: Path, logdir: Path) -> Process:
    """`hass -c <confdir>` with pip disabled (the venv already has everything)."""
    return spawn("home-assistant", [str(BIN / "hass"), "-c", str(confdir), "--skip-pip"], logdir)


async def wait_ready(
    process: Process,
    ready: Callable[[], Awaitable[bool]],
    what: str,
    timeout: float,
    interval: float = 0.5,
) -> None:
    """Poll `ready` until it says yes; fail if `process` dies or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        if await ready():
            return
        await asyncio.sleep(interval)
    raise RuntimeError(f"{process.name} did not {what} within {timeout:.0f} s:\n{process.tail()}")


async def wait_port(process: Process, port: int, timeout: float) -> None:
    """Until something accepts connections on 127.0.0.1:`port`, or the process dies."""

    async def listening() -> bool:
        return port_open(port)

    await wait_ready(process, listening, f"listen on {port}", timeout, interval=0.2)


async def wait_http(
    process: Process, url: str, timeout: float, ok: tuple[int, ...] = (200,)
) -> None:
    """Poll `url` until it answers with one of `ok` or the process dies."""
    async with aiohttp.ClientSession() as session:

        async def answers() -> bool:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    return resp.status in ok
            return False

        await wait_ready(process, answers, f"answer {url}", timeout)
