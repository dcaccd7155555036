"""A plug flashed from a board file is adopted in the ESPHome dashboard: the dashboard
writes a small config that imports the board file's `import_url` as a remote package,
adds Wi-Fi secrets and an API key, and builds from it. This test does exactly that, with
ESPHome's own import code, against this checkout served as the repository at the
release tag: git's `url.<base>.insteadOf` sends ESPHome's clones of
https://github.com/greennet/greennet.git to a local repository, so `esphome config`
validates offline what an adopter's dashboard would fetch."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .esphome_tool import BOARD_YAMLS, FIRMWARE, esphome_executable, run_esphome
from .firmware_yaml import load

REPOSITORY = "https://github.com/greennet/greennet.git"
WIFI_SECRETS = 'wifi_ssid: "MyWiFi"\nwifi_password: "wifi-password"\n'


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def serve_repository(firmware: Path, ref: str, workdir: Path) -> Path:
    """A git repository holding `firmware` as its esphome/ folder, with `ref` (a tag)
    on that commit."""
    repo = workdir / "greennet"
    shutil.copytree(
        firmware,
        repo / "esphome",
        ignore=shutil.ignore_patterns(".esphome", "secrets.yaml", "__pycache__"),
    )
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "release", cwd=repo)
    git("tag", ref, cwd=repo)
    return repo


def dashboard_adopts(board: Path, workdir: Path) -> Path:
    """The config the dashboard writes when adopting a plug running `board`'s firmware:
    esphome.components.dashboard_import.import_config with the advertised import URL."""
    import_url = load(board)["substitutions"]["import_url"]
    adopted = workdir / "greennet-a1b2c3.yaml"
    script = (
        "import sys\n"
        "from esphome.components.dashboard_import import import_config\n"
        "import_config(sys.argv[1], 'greennet-a1b2c3', 'Kitchen plug', 'greennet.plug',"
        " sys.argv[2], encryption=True)\n"
    )
    python = esphome_executable().with_name("python")
    subprocess.run([str(python), "-c", script, str(adopted), import_url], check=True)
    (workdir / "secrets.yaml").write_text(WIFI_SECRETS)
    return adopted


def adopt_and_validate(board: Path, firmware: Path, workdir: Path) -> tuple[str, str, int]:
    """(adopted YAML, `esphome config` output, return code) for `board` served from
    `firmware` at the tag its import_url names."""
    import_url = load(board)["substitutions"]["import_url"]
    ref = import_url.rsplit("@", 1)[1]
    repo = serve_repository(firmware, ref, workdir / "remote")
    config_dir = workdir / "dashboard"
    config_dir.mkdir()
    adopted = dashboard_adopts(board, config_dir)
    offline_github = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.file://{repo}.insteadOf",
        "GIT_CONFIG_VALUE_0": REPOSITORY,
        "GIT_TERMINAL_PROMPT": "0",
    }
    result = run_esphome("config", adopted.name, cwd=config_dir, timeout=300, env=offline_github)
    return adopted.read_text(), result.stdout + result.stderr, result.returncode


@pytest.mark.parametrize("board", BOARD_YAMLS, ids=lambda path: path.name)
def test_dashboard_adoption_validates_with_only_wifi_secrets(board: Path, tmp_path: Path) -> None:
    adopted, output, returncode = adopt_and_validate(board, FIRMWARE, tmp_path)

    # What the dashboard wrote: the board file as a named remote package, Wi-Fi secrets.
    assert f"greennet.plug: github://greennet/greennet/esphome/{board.name}@v" in adopted
    assert set(re.findall(r"!secret (\w+)", adopted)) == {"wifi_ssid", "wifi_password"}
    assert returncode == 0, output[-4000:]
    assert "Configuration is valid!" in output
    # The C++ came from the repository at the board's release tag, as an external component.
    tag = load(board)["substitutions"]["import_url"].rsplit("@", 1)[1]
    assert f"url: {REPOSITORY}\n      ref: {tag}\n      type: git\n" in output
    assert re.search(r"^greennet:\n  prefix: greennet\n", output, re.M)
    # The plug works with Wi-Fi and a broker address; the API key is the adopted one.
    assert "broker: homeassistant.local" in output
    key = re.search(r"key: (\S{44})\n", adopted)
    assert key
    assert key.group(1) in output
    assert "name: greennet-a1b2c3" in output
