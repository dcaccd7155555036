"""`greennet-sim`: run simulated GreenNet plugs against any MQTT broker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from . import protocol as p
from .fleet import Simulator, SimulatorConfig
from .profiles import PROFILE_NAMES


def build_parser() -> argparse.ArgumentParser:
    """Command-line options; every one has a GREENNET_SIM_* environment default."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="greennet-sim", description=__doc__)
    parser.add_argument("--count", type=int, default=int(env("GREENNET_SIM_COUNT", "5")))
    parser.add_argument("--broker", default=env("GREENNET_SIM_BROKER", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("GREENNET_SIM_PORT", "1883")))
    parser.add_argument("--username", default=env("GREENNET_SIM_USERNAME"))
    parser.add_argument("--password", default=env("GREENNET_SIM_PASSWORD"))
    parser.add_argument("--prefix", default=env("GREENNET_SIM_PREFIX", p.DEFAULT_PREFIX))
    parser.add_argument(
        "--interval", type=int, default=None, help="telemetry period in seconds (1..3600)"
    )
    parser.add_argument("--seed", type=int, default=int(env("GREENNET_SIM_SEED", "1")))
    parser.add_argument(
        "--state-file",
        type=Path,
        default=Path(env("GREENNET_SIM_STATE", "greennet-sim-state.json")),
        help="where lifetime energy and settings survive restarts",
    )
    parser.add_argument(
        "--profiles",
        default=",".join(PROFILE_NAMES),
        help=f"comma-separated load profiles, cycled over the plugs ({', '.join(PROFILE_NAMES)})",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> SimulatorConfig:
    """Validate options into a SimulatorConfig (argparse exits with a message on error)."""
    profiles = tuple(x for x in args.profiles.split(",") if x)
    if unknown := [x for x in profiles if x not in PROFILE_NAMES]:
        parser.error(f"unknown profile(s): {', '.join(unknown)}")
    if not 1 <= args.count <= 10_000:
        parser.error("--count must be 1..10000")
    if (
        args.interval is not None
        and not p.INTERVAL_RANGE[0] <= args.interval <= p.INTERVAL_RANGE[1]
    ):
        parser.error("--interval must be 1..3600")
    try:
        p.validate_prefix(args.prefix)
    except p.ProtocolError as err:
        parser.error(str(err))
    return SimulatorConfig(
        broker=args.broker,
        port=args.port,
        username=args.username,
        password=args.password,
        prefix=args.prefix,
        count=args.count,
        interval=args.interval,
        seed=args.seed,
        state_file=args.state_file,
        profiles=profiles or PROFILE_NAMES,
    )


async def run(config: SimulatorConfig) -> None:
    """Run until SIGINT/SIGTERM, then say offline and save state."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sim = Simulator(config)
    await sim.start()
    for plug in sim.plugs:
        logging.getLogger("greennet_sim").info("plug %s (%s)", plug.id, plug.profile)
    await stop.wait()
    await sim.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point of `greennet-sim`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(run(config_from_args(args, parser)))


if __name__ == "__main__":
    main()
