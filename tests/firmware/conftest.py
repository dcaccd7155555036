"""Firmware fixtures: the host build is compiled once per test session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from .esphome_tool import HostBuild, build_host_program
from .host_plug import HostPlug

_BUILD_SECONDS: list[float] = []


@pytest.fixture(scope="session")
def host_build() -> HostBuild:
    """The compiled host program (ESPHome's own host compiler; incremental on reruns)."""
    build = build_host_program()
    _BUILD_SECONDS.append(build.seconds)
    return build


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how long the firmware host build took (CI time matters)."""
    for seconds in _BUILD_SECONDS:
        terminalreporter.write_line(f"greennet firmware: host build took {seconds:.1f} s")


@pytest.fixture
async def start_plug(
    host_build: HostBuild, tmp_path: Path, socket_enabled: None
) -> AsyncIterator[Callable[[], Awaitable[HostPlug]]]:
    """Factory for runs of the host plug sharing one "flash" (preferences) directory;
    every run is stopped at the end of the test."""
    runs: list[HostPlug] = []

    async def start() -> HostPlug:
        plug = HostPlug(host_build.program, tmp_path / "prefs")
        runs.append(plug)
        await plug.start()
        return plug

    yield start
    for plug in runs:
        await plug.stop()
