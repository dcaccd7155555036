"""scripts/coverage_floor.py: the per-module gate of the quality scale's test-coverage rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "coverage_floor.py"


def report(**percent: float) -> str:
    """A `coverage json` report of the given modules (only the fields the gate reads)."""
    files = {
        f"custom_components/greennet/{name}.py": {"summary": {"percent_covered": value}}
        for name, value in percent.items()
    }
    return json.dumps({"files": files})


def gate(text: str, floor: str = "95") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), floor], input=text, capture_output=True, text=True
    )


def test_every_module_at_or_above_the_floor_passes() -> None:
    result = gate(report(hub=95.0, sensor=100.0))
    assert (result.returncode, result.stdout) == (0, "")


def test_one_module_below_the_floor_fails_and_is_named() -> None:
    result = gate(report(hub=99.0, sensor=94.99, switch=80.0))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "custom_components/greennet/sensor.py: 94.9 % line+branch coverage, below 95 %",
        "custom_components/greennet/switch.py: 80.0 % line+branch coverage, below 95 %",
    ]


@pytest.mark.parametrize("text", [report(), "not json"])
def test_a_report_that_measured_nothing_fails(text: str) -> None:
    assert gate(text).returncode != 0
