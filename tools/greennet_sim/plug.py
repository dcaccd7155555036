"""One simulated plug: relay, metering, energy and overload protection (no I/O)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from . import protocol as p
from .profiles import PROFILES

MODEL = "GreenNet Plug (simulated)"
SW_VERSION = "sim-1.0.0"
HW_VERSION = "sim"
MAINS_VOLTAGE = 230.0
# What the simulated meter measures (a 16 A plug): limits above are clamped, as the firmware
# clamps them, and reported as the plug's ceilings.
CURRENT_CEILING = 16.0
POWER_CEILING = 3680.0


@dataclass
class PlugState:
    """What a plug keeps across restarts (the simulator's flash)."""

    energy: float = 0.0
    relay: bool = True
    max_current: float = 10.0
    max_power: float = 2300.0
    interval: int = 10
    deadband: float = 0.0
    restore: p.RestoreMode = p.RestoreMode.LAST

    def to_json(self) -> dict[str, Any]:
        """Serializable form for the state file."""
        return {
            "energy": self.energy,
            "relay": self.relay,
            "max_current": self.max_current,
            "max_power": self.max_power,
            "interval": self.interval,
            "deadband": self.deadband,
            "restore": str(self.restore),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any], default: PlugState) -> PlugState:
        """Read back a state-file entry; anything unreadable keeps the default."""
        state = PlugState(**default.to_json())
        state.restore = p.RestoreMode(state.restore)
        try:
            energy = float(obj.get("energy", state.energy))
            if 0.0 <= energy <= p.ENERGY_RANGE[1]:
                state.energy = energy
            state.relay = bool(obj.get("relay", state.relay))
            state.max_current = float(obj.get("max_current", state.max_current))
            state.max_power = float(obj.get("max_power", state.max_power))
            state.interval = int(obj.get("interval", state.interval))
            state.deadband = float(obj.get("deadband", state.deadband))
            state.restore = p.RestoreMode(obj.get("restore", state.restore))
        except (TypeError, ValueError):
            pass
        return state


@dataclass
class SimulatedPlug:
    """A plug's behaviour; the fleet moves it through time and carries its messages."""

    index: int
    profile: str
    seed: int
    state: PlugState = field(default_factory=PlugState)
    tripped: bool = False
    rssi: int = -55
    load_override: float | None = None
    clock_synced: bool = True
    sim_time: float = 0.0
    uptime: float = 0.0
    power: float = 0.0
    current: float = 0.0
    voltage: float = MAINS_VOLTAGE
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed * 1009 + self.index)
        self.rssi = -45 - self._rng.randint(0, 30)
        # Spread the plugs over their profiles' periods so they don't move in step.
        self.sim_time = self._rng.uniform(0, 7200)
        tail = ((self.seed & 0xFF) << 16) | (self.index & 0xFFFF)
        self.mac = "02:47:4E:" + ":".join(f"{(tail >> s) & 0xFF:02X}" for s in (16, 8, 0))
        self.id = p.plug_id_from_mac(self.mac)
        self.name = f"Sim {self.profile.replace('_', ' ')} {self.index + 1}"

    # --- boot and persistence ---------------------------------------------

    def boot(self, saved: PlugState | None) -> None:
        """Power-on: take saved state and apply the restore mode to the relay."""
        if saved is not None:
            self.state = saved
        if self.state.restore is p.RestoreMode.ON:
            self.state.relay = True
        elif self.state.restore is p.RestoreMode.OFF:
            self.state.relay = False
        self.tripped = False
        self.uptime = 0.0
        self._measure()

    def set_load(self, watts: float | None) -> None:
        """Force the appliance's demand (None returns to the profile)."""
        self.load_override = watts
        self._measure()

    # --- physics ------------------------------------------------------------

    def _demand(self) -> float:
        if self.load_override is not None:
            return self.load_override
        return PROFILES[self.profile](self.sim_time, self._rng)

    def _measure(self) -> None:
        self.voltage = MAINS_VOLTAGE + self._rng.gauss(0.0, 1.5)
        self.power = self._demand() if self.state.relay else 0.0
        self.current = self.power / self.voltage

    def step(self, dt: float) -> p.PlugEvent | None:
        """Advance `dt` seconds; return an overload event if protection tripped."""
        # Energy integrates what flowed during the step (power measured at its start).
        self.state.energy += self.power * dt / 3_600_000.0
        self.sim_time += dt
        self.uptime += dt
        self._measure()
        return self.check_protection()

    def check_protection(self) -> p.PlugEvent | None:
        """Open the relay when current or power exceeds its limit."""
        if not self.state.relay:
            return None
        over_current = self.current > self.state.max_current
        over_power = self.power > self.state.max_power
        if not (over_current or over_power):
            return None
        event = p.PlugEvent(
            type=p.EventType.OVERLOAD_TRIP,
            data={
                "reason": "current" if over_current else "power",
                "current": round(self.current, 3),
                "power": round(self.power, 1),
            },
        )
        self.state.relay = False
        self.tripped = True
        self._measure()
        return event

    # --- commands -----------------------------------------------------------

    def apply_relay_command(self, command: str) -> bool:
        """Apply ON/OFF/TOGGLE; return True when the relay changed.

        A trip latches, as on the firmware: the relay stays open until a reset."""
        want = {p.ON: True, p.OFF: False}.get(command, not self.state.relay)
        if want == self.state.relay or (want and self.tripped):
            return False
        self.state.relay = want
        self._measure()
        return True

    def apply_protection_command(self, cmd: p.ProtectionCommand) -> None:
        """New limits (clamped to what the meter measures) and/or reset of a trip."""
        if cmd.max_current is not None:
            self.state.max_current = min(cmd.max_current, CURRENT_CEILING)
        if cmd.max_power is not None:
            self.state.max_power = min(cmd.max_power, POWER_CEILING)
        if cmd.reset:
            self.tripped = False

    def apply_config_command(self, cmd: p.ConfigCommand) -> None:
        """New reporting interval, deadband and/or restore mode."""
        if cmd.interval is not None:
            self.state.interval = cmd.interval
        if cmd.deadband is not None:
            self.state.deadband = cmd.deadband
        if cmd.restore is not None:
            self.state.restore = cmd.restore

    # --- messages -----------------------------------------------------------

    def info(self, ip: str = "127.0.0.1") -> p.PlugInfo:
        """The retained identity document."""
        return p.PlugInfo(
            id=self.id,
            name=self.name,
            model=MODEL,
            sw_version=SW_VERSION,
            hw_version=HW_VERSION,
            mac=self.mac,
            ip=ip,
            protocol=p.PROTOCOL_VERSION,
        )

    def telemetry(self) -> p.Telemetry:
        """The current measurement report."""
        return p.Telemetry(
            voltage=self.voltage,
            current=self.current,
            power=self.power,
            energy=self.state.energy,
            relay=self.state.relay,
            rssi=self.rssi,
            uptime=int(self.uptime),
            ts=int(time.time() * 1000) if self.clock_synced else None,
        )

    def protection(self) -> p.Protection:
        """The retained protection document."""
        return p.Protection(
            max_current=self.state.max_current,
            max_power=self.state.max_power,
            tripped=self.tripped,
            current_ceiling=CURRENT_CEILING,
            power_ceiling=POWER_CEILING,
        )

    def config(self) -> p.PlugConfig:
        """The retained config document."""
        return p.PlugConfig(
            interval=self.state.interval,
            deadband=self.state.deadband,
            restore=self.state.restore,
        )
