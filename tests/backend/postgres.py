"""A real PostgreSQL server for tests: Debian's binaries, a temporary cluster, loopback only.

PostgreSQL refuses to run as root, so as root the cluster belongs to (and runs as) the
`postgres` system user that Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..broker import free_port


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/setup")
    return found[-1]


class PostgresServer:
    """initdb + postgres on a free 127.0.0.1 port; `url(db)` gives an asyncpg URL."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = "postgres"
        self._dir = Path(tempfile.mkdtemp(prefix="greennet-postgres-"))
        self._data = self._dir / "data"
        self._proc: subprocess.Popen[bytes] | None = None
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self._dir, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def start(self) -> None:
        """Create the cluster and wait until it accepts connections."""
        subprocess.run(
            [*self._as, _binary("initdb"), "-D", str(self._data), "-U", self.user,
             "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
            check=True, capture_output=True,
        )  # fmt: skip
        log = self._dir / "postgres.log"
        with log.open("ab") as out:
            self._proc = subprocess.Popen(
                [*self._as, _binary("postgres"), "-D", str(self._data),
                 "-h", self.host, "-p", str(self.port), "-k", str(self._dir),
                 "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=200"],
                stdout=out, stderr=out,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {log.read_text()}")
            ready = subprocess.run(
                [_binary("pg_isready"), "-h", self.host, "-p", str(self.port), "-U", self.user],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not start: {log.read_text()}")

    def create_database(self, name: str) -> str:
        """Create an empty database (with the server's own tools) and return its URL."""
        subprocess.run(
            [_binary("createdb"), "-h", self.host, "-p", str(self.port), "-U", self.user, name],
            check=True,
            capture_output=True,
        )
        return self.url(name)

    def url(self, database: str) -> str:
        """SQLAlchemy URL of `database` on this server."""
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """asyncpg DSN of `database`."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server and remove the cluster."""
        if self._proc is not None:
            subprocess.run(
                [*self._as, _binary("pg_ctl"), "stop", "-D", str(self._data), "-m", "fast"],
                capture_output=True,
                check=False,
                timeout=30,
            )
            self._proc.terminate()
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        shutil.rmtree(self._dir, ignore_errors=True)


async def terminate_other_backends(database_url: str, *, clients_only: bool = False) -> int:
    """End every other connection to the database at `database_url` (a SQLAlchemy URL), as
    an administrator or a failover would; how many were ended."""
    import asyncpg
    from sqlalchemy import make_url

    admin = await asyncpg.connect(
        make_url(database_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        killed: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND (NOT $1 OR backend_type = 'client backend')",
            clients_only,
        )
    finally:
        await admin.close()
    return killed
