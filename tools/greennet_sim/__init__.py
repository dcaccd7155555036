"""GreenNet plug simulator: N simulated plugs speaking MQTT contract v1."""

from .fleet import Simulator, SimulatorConfig
from .plug import SimulatedPlug

__all__ = ["SimulatedPlug", "Simulator", "SimulatorConfig"]
