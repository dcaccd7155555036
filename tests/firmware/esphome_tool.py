"""Running ESPHome (its own venv, see scripts/setup) on the firmware YAMLs."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "esphome"
# The plug's C++ as an ESPHome external component (headers + __init__.py).
COMPONENT = FIRMWARE / "components" / "greennet"
HOST_YAML = FIRMWARE / "test" / "greennet-host.yaml"
# The importable board files (what the ESPHome dashboard adopts) and their local builds.
LOCAL_YAMLS = sorted(FIRMWARE.glob("greennet-plug*-local.yaml"))
BOARD_YAMLS = sorted(set(FIRMWARE.glob("greennet-plug*.yaml")) - set(LOCAL_YAMLS))
# Build output of the host YAML; esphome/**/.esphome/ is git-ignored, so reruns reuse it.
HOST_PROGRAM = FIRMWARE / "test/.esphome/build/greennet/.pioenvs/greennet/program"


def esphome_executable() -> Path:
    """The `esphome` command of the ESPHome venv (GREENNET_ESPHOME_VENV overrides)."""
    venv = Path(os.environ.get("GREENNET_ESPHOME_VENV", ROOT / ".venv-esphome"))
    exe = venv / "bin" / "esphome"
    if not exe.exists():
        raise RuntimeError(f"{exe} missing: run scripts/setup (it creates the ESPHome venv)")
    return exe


def run_esphome(
    *args: str, cwd: Path, timeout: float = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `esphome <args>` (extra environment `env`) and capture its output (never raises
    on failure)."""
    env = {**os.environ, **(env or {}), "ESPHOME_NO_UPDATE_CHECK": "1", "PLATFORMIO_NO_ANSI": "1"}
    return subprocess.run(
        [str(esphome_executable()), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def staged_config(workdir: Path) -> Path:
    """Copy the firmware YAMLs next to a secrets.yaml made from secrets.example.yaml."""
    stage = workdir / "esphome"
    stage.mkdir(parents=True, exist_ok=True)
    for item in FIRMWARE.iterdir():
        if item.name in {".esphome", "secrets.yaml"}:
            continue
        if item.is_dir():
            shutil.copytree(item, stage / item.name, ignore=shutil.ignore_patterns(".esphome"))
        else:
            shutil.copy2(item, stage / item.name)
    shutil.copy2(FIRMWARE / "secrets.example.yaml", stage / "secrets.yaml")
    return stage


@dataclass(frozen=True)
class HostBuild:
    """The compiled host program and how long building it took."""

    program: Path
    seconds: float


def build_host_program() -> HostBuild:
    """`esphome compile` the host YAML in place (incremental when the build dir exists)."""
    started = time.monotonic()
    result = run_esphome("compile", HOST_YAML.name, cwd=HOST_YAML.parent)
    seconds = time.monotonic() - started
    if result.returncode != 0 or not HOST_PROGRAM.exists():
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        raise RuntimeError(f"host build failed ({result.returncode}):\n{tail}")
    return HostBuild(HOST_PROGRAM, seconds)
