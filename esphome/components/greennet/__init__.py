"""GreenNet plug logic as an ESPHome external component.

The C++ lives in the headers next to this file (plain C++17, also compiled on its own
by tests/firmware); ESPHome copies them into every build that loads this component and
includes them in the lambdas' scope. The `greennet:` block carries the build-time
settings the logic needs: topic prefix, the meter as wired, and protection timing.
"""

import re

import esphome.codegen as cg
import esphome.config_validation as cv

CODEOWNERS = ["@greennet"]

CONF_PREFIX = "prefix"
CONF_SHUNT_RESISTANCE = "shunt_resistance"
CONF_MAX_CURRENT = "max_current"
CONF_MAX_VOLTAGE = "max_voltage"
CONF_VOLTAGE_FACTOR = "voltage_factor"
CONF_CURRENT_FACTOR = "current_factor"
CONF_SENSOR_TIMEOUT = "sensor_timeout"
CONF_INRUSH_GRACE = "inrush_grace"
CONF_INRUSH_HARD_FACTOR = "inrush_hard_factor"

# docs/protocol.md: one or more levels of [A-Za-z0-9_-], no wildcards.
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


def _topic_prefix(value: object) -> str:
    text = cv.string_strict(value)
    if not _PREFIX_RE.match(text):
        raise cv.Invalid("prefix: levels of letters, digits, '_' or '-' separated by '/'")
    return text


CONFIG_SCHEMA = cv.Schema(
    {
        cv.Optional(CONF_PREFIX, default="greennet"): _topic_prefix,
        cv.Required(CONF_SHUNT_RESISTANCE): cv.All(cv.resistance, cv.Range(min=0.0001, max=10.0)),
        cv.Required(CONF_MAX_CURRENT): cv.All(cv.current, cv.Range(min=0.01, max=100.0)),
        cv.Required(CONF_MAX_VOLTAGE): cv.All(cv.voltage, cv.Range(min=1.0, max=32.0)),
        cv.Optional(CONF_VOLTAGE_FACTOR, default=1.0): cv.float_range(min=0.5, max=2.0),
        cv.Optional(CONF_CURRENT_FACTOR, default=1.0): cv.float_range(min=0.5, max=2.0),
        # Relay opens after this long without a valid reading (sensor fault).
        cv.Optional(CONF_SENSOR_TIMEOUT, default="5s"): cv.All(
            cv.positive_time_period_milliseconds,
            cv.Range(min=cv.TimePeriod(seconds=2), max=cv.TimePeriod(seconds=60)),
        ),
        # Moderate overloads may last this long (0s: none may).
        cv.Optional(CONF_INRUSH_GRACE, default="0s"): cv.All(
            cv.positive_time_period_milliseconds, cv.Range(max=cv.TimePeriod(seconds=10))
        ),
        cv.Optional(CONF_INRUSH_HARD_FACTOR, default=1.5): cv.float_range(min=1.0, max=4.0),
    }
)


async def to_code(config: dict) -> None:
    """Configure greennet::plug() before any component's setup() runs."""
    cg.add_define("USE_GREENNET")
    meter = ", ".join(
        repr(float(config[key]))
        for key in (
            CONF_SHUNT_RESISTANCE,
            CONF_MAX_CURRENT,
            CONF_MAX_VOLTAGE,
            CONF_VOLTAGE_FACTOR,
            CONF_CURRENT_FACTOR,
        )
    )
    timeout_ms = config[CONF_SENSOR_TIMEOUT].total_milliseconds
    grace_ms = config[CONF_INRUSH_GRACE].total_milliseconds
    hard = float(config[CONF_INRUSH_HARD_FACTOR])
    prefix = cg.safe_exp(config[CONF_PREFIX])
    cg.add(
        cg.RawExpression(
            f"greennet::plug().configure({prefix}, greennet::MeterSetup{{{meter}}}, "
            f"{timeout_ms}, greennet::InrushPolicy{{{grace_ms}, {hard!r}}})"
        )
    )
