"""A real Mosquitto broker for tests: loopback only, free port, password file, no persistence.

With `tls=` it also listens with TLS on `tls_port` (same users), next to the plain `port`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
USERNAME = "greennet"
PASSWORD = "plug-test-secret"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mosquitto_binary() -> str:
    """Path of the mosquitto executable (installed by scripts/setup)."""
    for path in MOSQUITTO_PATHS:
        if Path(path).exists():
            return path
    found = shutil.which("mosquitto")
    if not found:
        raise RuntimeError("mosquitto not installed: run scripts/setup")
    return found


@dataclass(frozen=True)
class ServerCertificate:
    """PEM files of the broker's TLS certificate and its private key."""

    certfile: Path
    keyfile: Path


class Mosquitto:
    """Start, stop and restart a broker on fixed loopback ports."""

    def __init__(self, port: int | None = None, tls: ServerCertificate | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.tls_port = free_port() if tls else None
        self.username = USERNAME
        self.password = PASSWORD
        self._dir = Path(tempfile.mkdtemp(prefix="greennet-mosquitto-"))
        self._proc: subprocess.Popen[bytes] | None = None
        passwd = self._dir / "passwd"
        subprocess.run(
            ["mosquitto_passwd", "-b", "-c", str(passwd), USERNAME, PASSWORD],
            check=True,
            capture_output=True,
        )
        passwd.chmod(0o600)
        self.config = self._dir / "mosquitto.conf"
        self.config.write_text(
            "\n".join(
                [
                    "user root",  # as root it would drop to 'mosquitto' and lose our files
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous false",
                    f"password_file {passwd}",
                    "persistence false",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "max_packet_size 1048576",
                    "set_tcp_nodelay true",  # no Nagle stall behind a PUBACK (see bench/RESULTS.md)
                    *self._tls_listener(tls),
                    "",
                ]
            )
        )

    def _tls_listener(self, tls: ServerCertificate | None) -> list[str]:
        if tls is None:
            return []
        # Global options above (users, nodelay) apply to every listener.
        return [
            f"listener {self.tls_port} 127.0.0.1",
            f"certfile {tls.certfile}",
            f"keyfile {tls.keyfile}",
        ]

    def start(self) -> None:
        """Start and wait until the port accepts connections."""
        log = (self._dir / "mosquitto.log").open("ab")
        self._proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.config)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {(self._dir / 'mosquitto.log').read_text()}")
            try:
                for port in (self.port, self.tls_port):
                    if port is not None:
                        with socket.create_connection((self.host, port), timeout=0.2):
                            pass
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """Stop the broker (clients see their connection drop)."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def restart(self) -> None:
        """Stop and start on the same port (retained messages are lost: no persistence)."""
        self.stop()
        self.start()

    def change_password(self, password: str) -> None:
        """Give the broker user a new password and restart (clients are dropped)."""
        passwd = self._dir / "passwd"
        subprocess.run(
            ["mosquitto_passwd", "-b", str(passwd), self.username, password],
            check=True,
            capture_output=True,
        )
        self.restart()

    def cleanup(self) -> None:
        """Stop and remove the temporary files."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Mosquitto:
        """Start; leaving the block stops the broker and removes its files."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()
