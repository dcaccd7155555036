"""Blueprint fixtures: our blueprints copied where HA's blueprint integration looks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant

BLUEPRINT_SRC = Path(__file__).resolve().parents[2] / "blueprints" / "automation" / "greennet"
BLUEPRINTS = sorted(p.name for p in BLUEPRINT_SRC.glob("*.yaml"))


@pytest.fixture
def blueprint_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Install the repository's blueprints into a config dir of this test's own (HA's test
    config dir is shared by every xdist worker)."""
    hass.config.config_dir = str(tmp_path)
    target = Path(hass.config.path("blueprints", "automation", "greennet"))
    target.mkdir(parents=True)
    for name in BLUEPRINTS:
        shutil.copy(BLUEPRINT_SRC / name, target / name)
    return target


# The integration's fixtures: HA harness + real Mosquitto + simulator, GreenNet entry loaded.
from ..integration.conftest import entry, fleet, short_backoff, sim, transport  # noqa: E402, F401
