"""`scripts/demo --headless` brings the whole system up and proves it works end to end."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


# Errors in HA's log that the demo must not cause: GreenNet's own, failed config entries or
# flows, and unhandled task exceptions. (HA's optional-library notices, e.g. libturbojpeg,
# are the machine's business.)
DEMO_MUST_NOT_LOG = re.compile(
    r"(ERROR|CRITICAL) \([^)]*\) \[(custom_components\.greennet[.\w]*|"
    r"homeassistant\.config_entries|homeassistant)\]"
)


@pytest.mark.parametrize("broker", ["auto", "amqtt"])
def test_demo_headless_passes_its_end_to_end_checks(tmp_path: Path, broker: str) -> None:
    demo = tmp_path / "demo"
    result = subprocess.run(
        [str(REPO / "scripts" / "demo"), "--headless", "--broker", broker, "--dir", str(demo)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected_broker = "amqtt" if broker == "amqtt" else "mosquitto"
    for line in (
        f"MQTT broker ({expected_broker})",
        "ok: live power values change in Home Assistant",
        "reached plug",
        "ok: GreenNet Cloud answers the demo account (5 plugs in Demo home)",
        "ok: GreenNet Cloud serves its web dashboard",
        "ok: Home Assistant is linked: 5 plugs live in GreenNet Cloud",
        "through the cloud API (confirmed by the plug)",
        "ok: the Energy dashboard shows the 5 plugs' energy sensors",
        "demo: all checks passed",
    ):
        assert line in result.stdout, result.stdout
    ha_log = (demo / "ha" / "home-assistant.log").read_text()
    assert "GreenNet" in ha_log or "greennet" in ha_log  # the log is the one HA wrote for us
    errors = [line for line in ha_log.splitlines() if DEMO_MUST_NOT_LOG.search(line)]
    assert not errors, "\n".join(errors)


def test_demo_refuses_a_taken_port(tmp_path: Path, socket_enabled: None) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                str(REPO / "scripts" / "demo"),
                "--headless",
                "--ha-port",
                str(port),
                "--dir",
                str(tmp_path / "demo"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port} (ha) is taken" in result.stderr
