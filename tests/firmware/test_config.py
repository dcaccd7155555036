"""ESPHome's own validator accepts the local build of every board (example secrets) and
the host build. The importable board files are validated as the dashboard adopts them
in test_adoption.py (they fetch the component from a release tag)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .esphome_tool import FIRMWARE, HOST_YAML, LOCAL_YAMLS, run_esphome, staged_config


def validated(stage: Path, yaml_name: str) -> str:
    """`esphome config` output (the validated YAML); fails the test on any error or warning."""
    result = run_esphome("config", yaml_name, cwd=stage, timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Configuration is valid!" in output
    assert "WARNING" not in output, [line for line in output.splitlines() if "WARNING" in line]
    return output


@pytest.mark.parametrize("yaml_name", [path.name for path in LOCAL_YAMLS])
def test_local_build_passes_esphome_config_with_example_secrets(
    yaml_name: str, tmp_path: Path
) -> None:
    output = validated(staged_config(tmp_path), yaml_name)
    # The plug stays MQTT-only without reboot loops, and drops commands queued offline.
    assert output.count("reboot_timeout: 0s") == 2  # api and mqtt
    assert "clean_session: true" in output
    # The usual diagnostics (uptime, Wi-Fi signal, restart, safe mode) made it in.
    for platform in ("uptime", "wifi_signal", "restart", "safe_mode"):
        assert f"platform: {platform}" in output, platform
    # Both DevKits log to UART0, which their USB-to-UART bridge is wired to (on the C3
    # ESPHome would pick the chip's own USB-Serial-JTAG, pins the DevKitM-1 leaves unused).
    assert "hardware_uart: UART0" in output
    assert "USB_SERIAL_JTAG" not in output


def test_host_yaml_passes_esphome_config() -> None:
    result = run_esphome("config", HOST_YAML.name, cwd=HOST_YAML.parent, timeout=120)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_real_secrets_file_is_git_ignored() -> None:
    result = subprocess.run(
        ["git", "check-ignore", "-q", "esphome/secrets.yaml"], cwd=FIRMWARE.parent, check=False
    )
    assert result.returncode == 0
