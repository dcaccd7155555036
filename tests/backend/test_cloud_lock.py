"""GreenNet Cloud is its own deployable: hashed locks that pin exactly pyproject's `cloud`
extra, tests on the deployed versions, and no Home Assistant anywhere in them."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = REPO / "backend" / "requirements.lock"
DEV_LOCK = REPO / "backend" / "requirements-dev.lock"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


@dataclass(frozen=True)
class Pin:
    """One locked package: version, hashes, and why it is there (`# via` lines)."""

    version: str
    hashes: int
    via: tuple[str, ...]


def read_lock(path: Path) -> dict[str, Pin]:
    """Packages of a `uv pip compile --generate-hashes` lock, by canonical name."""
    pins: dict[str, Pin] = {}
    blocks = re.split(r"\n(?=\S)", path.read_text())
    for block in blocks:
        if block.startswith("#") or not block.strip():
            continue
        match = _PIN.match(block)
        assert match, f"{path.name}: not an exact pin: {block.splitlines()[0]}"
        via = re.findall(r"#\s+(?:via\s+)?([^#\n]+?)\s*$", block, re.MULTILINE)
        pins[canonicalize_name(match["name"])] = Pin(
            match["version"], block.count("--hash=sha256:"), tuple(v for v in via if v != "via")
        )
    return pins


def cloud_extra() -> list[Requirement]:
    """pyproject's `cloud` extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(spec) for spec in project["optional-dependencies"]["cloud"]]


def test_runtime_lock_pins_exactly_the_cloud_extra_within_its_floors() -> None:
    lock = read_lock(RUNTIME_LOCK)
    wanted = {canonicalize_name(req.name): req for req in cloud_extra()}
    direct = {name for name, pin in lock.items() if "greennet (pyproject.toml)" in pin.via}
    assert direct == set(wanted), "regenerate with backend/lock"
    for name, req in wanted.items():
        assert req.specifier.contains(lock[name].version), (name, lock[name].version)


def test_every_locked_package_is_hashed_and_none_is_home_assistant() -> None:
    for path in (RUNTIME_LOCK, DEV_LOCK):
        lock = read_lock(path)
        assert {"aiohttp", "sqlalchemy", "alembic", "aiohttp-remotes"} <= set(lock)
        assert not [name for name in lock if name.startswith(("homeassistant", "pytest-home"))]
        assert not [name for name, pin in lock.items() if pin.hashes == 0], path.name


def test_the_dev_venv_tests_the_deployed_versions() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    differing = {
        name: (pin.version, dev[name].version if name in dev else None)
        for name, pin in runtime.items()
        if name not in dev or dev[name].version != pin.version
    }
    assert not differing


def test_this_suite_runs_on_the_locked_versions() -> None:
    """Fails in a stale or foreign venv: run scripts/setup (it rebuilds .venv-cloud)."""
    stale = {}
    for name, pin in read_lock(DEV_LOCK).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a platform-specific dependency (e.g. colorama on Windows)
        if installed != pin.version:
            stale[name] = (installed, pin.version)
    assert not stale
