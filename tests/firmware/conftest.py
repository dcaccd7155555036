"""Firmware fixtures: the host build and the logic driver are compiled once per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from .esphome_tool import HostBuild, build_host_program
from .host_plug import HostPlug
from .logic_driver import Driver, compile_driver

_BUILD_SECONDS: list[float] = []


@pytest.fixture(scope="session")
def host_build() -> HostBuild:
    """The compiled host program (ESPHome's own host compiler; incremental on reruns)."""
    build = build_host_program()
    _BUILD_SECONDS.append(build.seconds)
    return build


@pytest.fixture(scope="session")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    """The headers compiled with g++ into codec_driver.cpp, one process for the session."""
    program = tmp_path_factory.mktemp("driver") / "driver"
    compile_driver(program)
    proc = Driver(program)
    yield proc
    proc.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist (`--dist loadgroup`), every firmware test runs on one worker: the host
    build compiles in place, once, and two workers must not build it at the same time."""
    firmware = Path(__file__).parent
    for item in items:
        if firmware in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("firmware"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how long the firmware host build took (CI time matters)."""
    for seconds in _BUILD_SECONDS:
        terminalreporter.write_line(f"greennet firmware: host build took {seconds:.1f} s")


@pytest.fixture
async def start_plug(
    host_build: HostBuild, tmp_path: Path, socket_enabled: None
) -> AsyncIterator[Callable[..., Awaitable[HostPlug]]]:
    """Factory for runs of the host plug sharing one "flash" (preferences) directory;
    every run is stopped at the end of the test. Keyword `env` adds to its environment."""
    runs: list[HostPlug] = []

    async def start(env: dict[str, str] | None = None) -> HostPlug:
        plug = HostPlug(host_build.program, tmp_path / "prefs")
        runs.append(plug)
        await plug.start(env)
        return plug

    yield start
    for plug in runs:
        await plug.stop()
