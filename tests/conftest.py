"""Shared fixtures. The HA test plugin puts its own `custom_components` first on the
path; importing ours here makes HA find the GreenNet integration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import custom_components.greennet  # noqa: F401

from .broker import Mosquitto

# GreenNet Cloud's suite runs in its own venv (.venv-cloud, tests/backend/pytest.ini)
collect_ignore = ["backend"]


@pytest.fixture
def mosquitto(socket_enabled: None) -> Iterator[Mosquitto]:
    """A fresh real broker per test, torn down after."""
    with Mosquitto() as broker:
        yield broker
