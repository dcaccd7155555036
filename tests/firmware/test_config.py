"""ESPHome's own validator accepts every user-facing firmware YAML (and the host one)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .esphome_tool import BOARD_YAMLS, FIRMWARE, HOST_YAML, run_esphome, staged_config


def test_there_is_an_esp32_and_a_second_board() -> None:
    names = {path.name for path in BOARD_YAMLS}
    assert {"greennet-plug.yaml", "greennet-plug-c3.yaml"} <= names


@pytest.mark.parametrize("yaml_name", [path.name for path in BOARD_YAMLS])
def test_board_yaml_passes_esphome_config_with_example_secrets(
    yaml_name: str, tmp_path: Path
) -> None:
    stage = staged_config(tmp_path)
    result = run_esphome("config", yaml_name, cwd=stage, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Configuration is valid!" in output
    # Every secret the YAMLs use is in the example file (ESPHome would fail otherwise),
    # and the validated config keeps the plug MQTT-only without reboot loops.
    assert "reboot_timeout: 0s" in output


def test_host_yaml_passes_esphome_config() -> None:
    result = run_esphome("config", HOST_YAML.name, cwd=HOST_YAML.parent, timeout=120)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_real_secrets_file_is_git_ignored() -> None:
    result = subprocess.run(
        ["git", "check-ignore", "-q", "esphome/secrets.yaml"], cwd=FIRMWARE.parent, check=False
    )
    assert result.returncode == 0
