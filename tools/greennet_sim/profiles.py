"""Load profiles: what an appliance behind a plug draws over time (watts).

Each profile is a pure function of simulated time and a random generator, so a
seed reproduces a run. Periods are real-world (minutes), not compressed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Final

LoadProfile = Callable[[float, random.Random], float]


def _noise(rng: random.Random, watts: float, fraction: float = 0.02) -> float:
    return max(0.0, watts * (1.0 + rng.gauss(0.0, fraction)))


def fridge(t: float, rng: random.Random) -> float:
    """Compressor cycle: 8 min on at ~90 W (start surge), 12 min off at ~1.5 W."""
    phase = t % 1200.0
    if phase < 3.0:
        return _noise(rng, 320.0, 0.05)  # inrush when the compressor starts
    if phase < 480.0:
        return _noise(rng, 90.0)
    return _noise(rng, 1.5, 0.1)


def kettle(t: float, rng: random.Random) -> float:
    """Idle, with a 3-minute 2 kW boil every 25 minutes."""
    return _noise(rng, 2000.0, 0.01) if t % 1500.0 < 180.0 else 0.0


def tv(t: float, rng: random.Random) -> float:
    """Watching for 40 minutes (brightness varies), then 20 minutes on standby."""
    if t % 3600.0 < 2400.0:
        return _noise(rng, 95.0 + 25.0 * math.sin(t / 37.0), 0.03)
    return _noise(rng, 0.6, 0.05)


def washing_machine(t: float, rng: random.Random) -> float:
    """A 60-minute programme every two hours: heat, wash, spin, then idle."""
    phase = t % 7200.0
    if phase < 900.0:
        return _noise(rng, 2100.0, 0.01)
    if phase < 2700.0:
        return _noise(rng, 180.0 + (120.0 if int(phase) % 60 < 10 else 0.0), 0.05)
    if phase < 3600.0:
        return _noise(rng, 420.0, 0.08)
    return _noise(rng, 1.2, 0.1)


def charger(t: float, rng: random.Random) -> float:
    """Phone charger: tapering charge over 90 minutes, then ~0.3 W idle."""
    phase = t % 14400.0
    if phase < 5400.0:
        return _noise(rng, 2.0 + 16.0 * math.exp(-phase / 1800.0), 0.03)
    return _noise(rng, 0.3, 0.1)


PROFILES: Final[dict[str, LoadProfile]] = {
    "fridge": fridge,
    "kettle": kettle,
    "tv": tv,
    "washing_machine": washing_machine,
    "charger": charger,
}
PROFILE_NAMES: Final = tuple(PROFILES)
