"""`scripts/demo --headless` brings the whole system up and proves it works end to end."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_headless_passes_its_end_to_end_checks(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(REPO / "scripts" / "demo"), "--headless", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in (
        "ok: live power values change in Home Assistant",
        "reached plug",
        "ok: GreenNet Cloud answers the demo account",
        "demo: all checks passed",
    ):
        assert line in result.stdout, result.stdout


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
