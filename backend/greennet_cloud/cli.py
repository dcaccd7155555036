"""`greennet-cloud`: serve, migrate, create-admin. Flags override `GREENNET_*` variables."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from .bus import create_bus
from .clock import utcnow
from .config import Config, config_from_env
from .db.engine import create_engine
from .db.migrate import migrate
from .errors import DomainError
from .log_output import LoopTurnStreamHandler, SecondsOnceFormatter, lean_records
from .security.keyring import KEYRING_FILE, PURPOSES, KeyringError, write_keyring_file
from .security.passwords import PasswordHasher
from .security.session_cache import SessionCache
from .services.admin import create_admin
from .services.base import Service
from .services.totp_keys import accounts_sealed_with, reseal_totp_secrets
from .web.app import create_app
from .web.middleware import AccessLogger, MalformedRequestFilter, RequestIdFilter

_LOGGER = logging.getLogger("greennet_cloud")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greennet-cloud", description=__doc__)
    parser.add_argument("--log-level", default=os.environ.get("GREENNET_LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="data directory (default ./greennet-data)")
    common.add_argument("--database-url", help="sqlite+aiosqlite:///… or postgresql+asyncpg://…")
    serve = commands.add_parser("serve", parents=[common], help="run the HTTP service")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 8080)")
    commands.add_parser("migrate", parents=[common], help="apply database migrations")
    admin = commands.add_parser("create-admin", parents=[common], help="create an administrator")
    admin.add_argument("--email", required=True)
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    admin.add_argument(
        "--promote",
        action="store_true",
        help="make an existing account an administrator: its sessions end, its two-factor"
        " setup is cleared and it gets this password",
    )
    rotate = commands.add_parser(
        "rotate-key",
        parents=[common],
        help="add a new current key for one purpose to the keyring file (old keys stay)",
    )
    rotate.add_argument("purpose", choices=PURPOSES)
    rotate.add_argument("--key-id", help="the new key's id, e.g. 2026-12")
    rotate.add_argument("--retire", metavar="KEY_ID", help="instead: remove this (not current) key")
    commands.add_parser(
        "reseal-totp",
        parents=[common],
        help="seal every TOTP secret with the current totp_secret key (after rotate-key)",
    )
    return parser


def load_config(args: argparse.Namespace) -> Config:
    """Defaults, then environment, then flags."""
    config = config_from_env(os.environ)
    flags = {
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "data_dir": args.data_dir,
        "database_url": args.database_url,
    }
    return dataclasses.replace(config, **{k: v for k, v in flags.items() if v is not None})


def setup_logging(level: str) -> None:
    """Plain log lines, each with the request id of the request that caused it."""
    lean_records()
    handler = LoopTurnStreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(SecondsOnceFormatter(LOG_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("aiohttp.server").addFilter(MalformedRequestFilter())


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        config = load_config(args).resolve()
    except (ValueError, OSError) as err:
        sys.exit(f"greennet-cloud: configuration error: {err}")
    if args.command == "serve":
        serve(config)
    elif args.command == "rotate-key":
        sys.exit(rotate_key(config, args.purpose, args.key_id, args.retire))
    elif args.command == "reseal-totp":
        sys.exit(asyncio.run(_reseal_totp(config)))
    elif args.command == "migrate":
        asyncio.run(_migrate(config))
    else:
        password = _read_password(args.password_stdin)
        sys.exit(asyncio.run(_create_admin(config, args.email, password, promote=args.promote)))


def serving_app(config: Config) -> web.Application:
    """The app `serve` runs: `create_app`'s, with its startup heap frozen once started."""
    app = create_app(config)
    app.on_startup.append(freeze_startup_heap)  # after the database, bus and jobs start
    return app


async def freeze_startup_heap(_app: web.Application) -> None:
    """Move every object alive once the service has started (modules, SQLAlchemy's
    metadata, compiled statements, the app: about 120,000 containers) out of reach of the
    garbage collector's full collections.

    They live as long as the process, yet each full collection walked them all: about
    100 ms with the event loop stopped, every few tens of seconds under load, which was the
    slowest 1 % of live updates and ingest batches (bench/RESULTS.md). Afterwards a full
    collection walks only what was made since (2 ms). `gc.freeze` is the standard
    library's tool for this; only the serving process does it (tests create many apps).
    """
    gc.collect()
    gc.freeze()


def serve(config: Config) -> None:
    """Run until SIGINT/SIGTERM, then finish in-flight requests and close the database."""
    app = serving_app(config)
    web.run_app(
        app,
        host=config.host,
        port=config.port,
        access_log_class=AccessLogger,
        access_log=logging.getLogger("aiohttp.access") if config.access_log else None,
        shutdown_timeout=10,
        print=lambda _: print(
            f"GreenNet Cloud listening on http://{config.host}:{config.port}"
            f" (database: {config.resolved_database_url.split('://', 1)[0]})",
            flush=True,
        ),
    )


async def _migrate(config: Config) -> None:
    engine = create_engine(config.resolved_database_url)
    try:
        applied = await migrate(engine, config.keyring)
    finally:
        await engine.dispose()
    _LOGGER.info("applied migrations: %s", applied or "none (up to date)")


async def _create_admin(config: Config, email: str, password: str, *, promote: bool) -> int:
    engine = create_engine(config.resolved_database_url)
    # a promotion ends the account's sessions: tell the serving processes' session caches
    # (PostgreSQL NOTIFY; on SQLite no other process hears it and their entries age out)
    bus = create_bus(config.resolved_database_url)
    sessions = SessionCache(bus, utcnow, config.session_cache_seconds)
    try:
        await migrate(engine, config.keyring)
        hasher = PasswordHasher(config.password_hashing)
        user, created = await create_admin(
            Service(engine, utcnow), hasher, email, password, promote=promote, sessions=sessions
        )
    except DomainError as err:
        print(f"greennet-cloud: {err.message}", file=sys.stderr)
        return 1
    finally:
        await bus.close()
        await engine.dispose()
    if created:
        print(f"created administrator {user.email} ({user.id})")
    else:
        print(
            f"promoted administrator {user.email} ({user.id}): its sessions ended and its"
            " two-factor setup was cleared"
        )
    return 0


def rotate_key(config: Config, purpose: str, key_id: str | None, retire: str | None) -> int:
    """Write the keyring file with a new current key for `purpose` (or without `retire`).

    Without a keyring file yet, it starts from the keys the service uses now (derived from
    the signing secret, id `root`), so nothing that works today stops working.
    """
    assert config.keyring is not None
    path = config.keyring_file or config.data_dir / KEYRING_FILE
    try:
        if retire is not None:
            changed = config.keyring.retired(purpose, retire)
            if purpose == "totp_secret" and (still := asyncio.run(_sealed_with(config, retire))):
                raise KeyringError(
                    f"{still} account(s) have TOTP secrets sealed with {retire!r}: run"
                    " `greennet-cloud reseal-totp` first"
                )
        elif key_id is not None:
            changed = config.keyring.rotated(purpose, key_id)
        else:
            raise KeyringError("give --key-id for the new key (or --retire KEY_ID)")
    except KeyringError as err:
        print(f"greennet-cloud: {err}", file=sys.stderr)
        return 1
    write_keyring_file(path, changed)
    done = f"retired {purpose} key {retire}" if retire else f"{purpose} now signs with {key_id}"
    print(f"{done}; keyring written to {path} (restart every process with it)")
    return 0


async def _sealed_with(config: Config, key_id: str) -> int:
    engine = create_engine(config.resolved_database_url)
    try:
        await migrate(engine, config.keyring)
        return await accounts_sealed_with(engine, key_id)
    finally:
        await engine.dispose()


async def _reseal_totp(config: Config) -> int:
    """Seal every TOTP secret with the current key, so older `totp_secret` keys can retire."""
    assert config.keyring is not None
    engine = create_engine(config.resolved_database_url)
    try:
        await migrate(engine, config.keyring)
        outcome = await reseal_totp_secrets(engine, config.keyring, utcnow)
    finally:
        await engine.dispose()
    current = config.keyring.totp_secret.current.id
    print(f"re-sealed {outcome.resealed} TOTP secret(s) with key {current}")
    if outcome.unopenable:
        print(
            f"greennet-cloud: {outcome.unopenable} TOTP secret(s) are sealed with a key no longer"
            " in the keyring: those accounts need their two-factor reset",
            file=sys.stderr,
        )
        return 1
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if env := os.environ.get("GREENNET_ADMIN_PASSWORD"):
        return env
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat: ") != first:
        sys.exit("greennet-cloud: passwords do not match")
    return first
