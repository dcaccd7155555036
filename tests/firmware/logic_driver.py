"""The firmware's C++ (esphome/components/greennet/*.h) compiled on its own with g++ into
tests/firmware/codec_driver.cpp, run as one long-lived process per test session."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .esphome_tool import COMPONENT

DRIVER_SOURCE = Path(__file__).with_name("codec_driver.cpp")


def compile_driver(program: Path) -> None:
    """Build the driver with warnings as errors (a second or two)."""
    subprocess.run(
        [
            *("g++", "-std=gnu++20", "-O1", "-Wall", "-Wextra", "-Werror"),
            *("-I", str(COMPONENT), str(DRIVER_SOURCE), "-o", str(program)),
        ],
        check=True,
    )


class Driver:
    """The compiled driver as a long-running process, one answer line per case."""

    def __init__(self, program: Path) -> None:
        self._proc = subprocess.Popen(
            [str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )

    def ask(self, case: bytes | str) -> str:
        """Send one case (see codec_driver.cpp), return its answer line."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write(case.encode() if isinstance(case, str) else case)
        self._proc.stdin.flush()
        return self._proc.stdout.readline().decode().rstrip("\n")

    def command(self, channel: str, payload: bytes) -> str:
        """Parse a command payload as it arrived on `channel`."""
        return self.ask(f"C {channel}\n{len(payload)}\n".encode() + payload + b"\n")

    def close(self) -> None:
        """End the process (its stdin closes, it exits)."""
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(5)
