"""The demo's fallback MQTT broker: amqtt (pure Python) on loopback with one user.

Used by `scripts/demo` when Mosquitto is not installed (or `--broker amqtt`). Runs as its
own process so the demo starts and stops it exactly like Mosquitto:

    python -m greennet_demo.amqtt_broker --port 1883 --user greennet --password-file F

The password file holds the plain password (mode 0600, in the demo dir); it is hashed
with argon2 into amqtt's own user file at start, so amqtt never sees a plain text file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

from amqtt.broker import Broker
from pwdlib.hashers.argon2 import Argon2Hasher


def broker_config(port: int, users_file: Path) -> dict[str, Any]:
    """amqtt 0.12 configuration: one TCP listener on 127.0.0.1, file auth, no anonymous."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(users_file)},
        },
    }


def write_users_file(path: Path, username: str, password: str) -> None:
    """`user:argon2-hash`, the format of amqtt's FileAuthPlugin."""
    path.write_text(f"{username}:{Argon2Hasher().hash(password)}\n")
    path.chmod(0o600)


async def serve(port: int, username: str, password: str, workdir: Path) -> None:
    """Run the broker until SIGTERM or SIGINT."""
    users = workdir / "amqtt.users"
    write_users_file(users, username, password)
    broker = Broker(broker_config(port, users))
    await broker.start()
    print(f"amqtt listening on 127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    with contextlib.suppress(Exception):  # shutting down anyway; a failed goodbye is not news
        await broker.shutdown()


def main(argv: list[str] | None = None) -> None:
    """Entry point (`python -m greennet_demo.amqtt_broker`)."""
    parser = argparse.ArgumentParser(prog="greennet_demo.amqtt_broker", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    password = args.password_file.read_text().strip()
    asyncio.run(serve(args.port, args.user, password, args.password_file.parent))


if __name__ == "__main__":
    main()
