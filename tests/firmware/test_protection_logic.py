"""The plug's protection logic (esphome/components/greennet/greennet_protection.h and the
command filter in greennet_logic.h), compiled with g++ and checked case by case against
the rules in docs/firmware.md. test_host_plug.py runs the same code inside the firmware."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .logic_driver import Driver

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The boards' INA219: 0.1 ohm shunt, saturating at 3.2 A, rated 26 V.
SHUNT, MAX_I, MAX_V = 0.1, 3.2, 26.0


def reading(driver: Driver, bus: float, shunt: float, factors: tuple[float, float] = (1, 1)):
    """(voltage, current, power, valid, reversed) from greennet::read_meter."""
    setup = f"{SHUNT} {MAX_I} {MAX_V} {factors[0]} {factors[1]}"
    v, i, w, valid, reversed_ = driver.ask(f"R {setup} {bus!r} {shunt!r}\n").split()
    return float(v), float(i), float(w), valid == "1", reversed_ == "1"


def test_power_is_volts_times_amps_over_the_whole_range(driver: Driver) -> None:
    """ESPHome's own power value wraps negative above 32767 steps of 1.96 mW (64.2 W);
    the plug computes V x I instead, so up to the meter's maximum power stays right."""
    for step in range(0, 33):
        amps = min(step * 0.1, MAX_I)
        for volts in (0.0, 5.0, 12.0, 20.0, 24.0, MAX_V):
            v, i, w, valid, _ = reading(driver, volts, amps * SHUNT)
            assert valid
            assert math.isclose(i, amps, abs_tol=1e-9)
            assert math.isclose(w, volts * amps, rel_tol=1e-9, abs_tol=1e-9)
            assert w >= 0
    # The top of the range, where the old reading was -0.9x of the truth.
    assert math.isclose(reading(driver, MAX_V, MAX_I * SHUNT)[2], 83.2, rel_tol=1e-9)


def test_calibration_factors_scale_voltage_current_and_power(driver: Driver) -> None:
    v, i, w, _, _ = reading(driver, 12.0, 0.1, factors=(1.01, 0.98))
    assert (v, i) == pytest.approx((12.12, 0.98))
    assert w == pytest.approx(12.12 * 0.98)


def test_a_reversed_shunt_is_metered_by_magnitude_and_flagged(driver: Driver) -> None:
    _, i, w, valid, reversed_ = reading(driver, 24.0, -0.25)
    assert (i, w, valid, reversed_) == (pytest.approx(2.5), pytest.approx(60.0), True, True)
    # A few mA of negative offset at no load is noise, not a reversed shunt.
    assert reading(driver, 24.0, -0.0003)[4] is False


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_a_reading_that_is_not_finite_is_not_valid(driver: Driver, bad: str) -> None:
    assert reading(driver, float(bad), 0.1)[3] is False
    assert reading(driver, 12.0, float(bad))[3] is False


def limits(driver: Driver, shunt: float, max_i: float, max_v: float, mc: float, mp: float):
    """(clamped current limit, clamped power limit, current ceiling, power ceiling)."""
    answer = driver.ask(f"L {shunt} {max_i} {max_v} {mc!r} {mp!r}\n").split()
    return tuple(float(x) for x in answer)


def test_limits_are_clamped_to_what_the_meter_measures(driver: Driver) -> None:
    # 0.95 of the range, floored to the limit steps (0.01 A, 1 W).
    assert limits(driver, SHUNT, MAX_I, MAX_V, 100, 25000) == (3.04, 79.0, 3.04, 79.0)
    assert limits(driver, SHUNT, MAX_I, MAX_V, 3.0, 75) == (3.0, 75.0, 3.04, 79.0)
    assert limits(driver, SHUNT, MAX_I, MAX_V, 0.05, 0.5) == (0.1, 1.0, 3.04, 79.0)
    # A 0.01 ohm shunt for 32 A: the contract's own maxima still bound the limits.
    assert limits(driver, 0.01, 32, MAX_V, 100, 25000) == (30.4, 790.0, 30.4, 790.0)
    assert limits(driver, 0.001, 320, 32, 200, 30000) == (100.0, 9728.0, 304.0, 9728.0)


def overload(driver: Driver, grace_ms: int, steps: list[tuple[bool, float, float, int]]) -> str:
    """Trip decisions ("-" none, "I" current, "P" power) for readings (relay, A, W, dt ms)
    against a 2 A / 40 W limit on the boards' meter, hard factor 1.5."""
    case = " ".join(f"{int(r)} {i!r} {w!r} {dt}" for r, i, w, dt in steps)
    return driver.ask(f"O {MAX_I} {MAX_V} {grace_ms} 1.5 2.0 40.0 {len(steps)} {case}\n")


def test_without_grace_the_first_reading_over_a_limit_trips(driver: Driver) -> None:
    assert overload(driver, 0, [(True, 1.9, 20, 0), (True, 2.01, 20, 1000)]) == "- I"
    assert overload(driver, 0, [(True, 1.0, 40.5, 0)]) == "P"
    assert overload(driver, 0, [(False, 5.0, 100, 0)]) == "-"  # relay open: nothing flows


def test_a_moderate_overload_may_last_the_grace_period(driver: Driver) -> None:
    moderate = (True, 2.5, 30.0, 1000)  # over 2 A, under the hard 3 A
    assert overload(driver, 2000, [moderate, moderate, moderate]) == "- - I"
    # Back under the limit within the grace: no trip, and the next overload starts afresh.
    ok = (True, 1.5, 30.0, 1000)
    assert overload(driver, 2000, [moderate, ok, moderate, moderate, moderate]) == "- - - - I"
    # Opening the relay ends it too.
    assert overload(driver, 2000, [moderate, (False, 0, 0, 1000), moderate, moderate]) == "- - - -"


def test_a_hard_overload_trips_on_its_first_reading_despite_the_grace(driver: Driver) -> None:
    assert overload(driver, 5000, [(True, 3.01, 30.0, 0)]) == "I"  # over 1.5 x 2 A
    assert overload(driver, 5000, [(True, 1.0, 60.5, 0)]) == "P"  # over 1.5 x 40 W
    assert overload(driver, 5000, [(True, 2.5, 30.0, 0), (True, 3.5, 30.0, 100)]) == "- I"
    assert overload(driver, 5000, [(True, math.inf, 0.0, 0)]) == "I"


def test_readings_at_the_edge_of_the_meter_trip_at_once(driver: Driver) -> None:
    """With the limit at the meter's ceiling (3.04 A / 79 W) a saturated reading (3.2 A)
    is beyond what grace may excuse."""
    case = f"O {MAX_I} {MAX_V} 5000 1.5 3.04 79 1 1 3.2 10.0 0\n"
    assert driver.ask(case) == "I"


def test_a_missing_reading_never_trips(driver: Driver) -> None:
    assert overload(driver, 0, [(True, math.nan, math.nan, 0)]) == "-"


NUMBERS = st.floats(-200, 30000) | st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf])


@SETTINGS
@given(relay=st.booleans(), i=NUMBERS, w=NUMBERS, mc=st.floats(0.1, 100), mp=st.floats(1, 25000))
def test_trip_decision_uses_magnitudes(
    driver: Driver, relay: bool, i: float, w: float, mc: float, mp: float
) -> None:
    expected = "NONE"
    if relay and abs(i) > mc:
        expected = "CURRENT"
    elif relay and abs(w) > mp:
        expected = "POWER"
    assert driver.ask(f"X {int(relay)} {i!r} {w!r} {mc!r} {mp!r}\n") == expected


def watchdog(driver: Driver, timeout_ms: int, steps: list[tuple[str, int]]) -> list[str]:
    """Per step "trusted stale reported-now may-close" as 0/1 digits."""
    case = " ".join(f"{event} {dt}" for event, dt in steps)
    return driver.ask(f"W {timeout_ms} {len(steps)} {case}\n").split()


def test_the_relay_may_close_only_with_a_recent_valid_reading(driver: Driver) -> None:
    # Boot: no reading yet -> not trusted, not yet a fault; the first reading trusts it.
    assert watchdog(driver, 3000, [("t", 500), ("r", 500), ("t", 2000)]) == [
        "0000",
        "1001",
        "1001",
    ]


def test_no_reading_for_the_timeout_is_a_fault_reported_once(driver: Driver) -> None:
    steps = [("r", 0), ("t", 2999), ("t", 1), ("t", 1000), ("t", 1000), ("r", 500), ("t", 3000)]
    assert watchdog(driver, 3000, steps) == [
        "1001",  # reading
        "1001",  # 2.999 s later: still trusted
        "0110",  # 3 s: stale, report the fault
        "0100",  # still stale, reported already
        "0100",
        "1001",  # a valid reading ends the fault
        "0110",  # a new fault is a new report
    ]


def test_a_meter_missing_at_boot_is_a_fault_after_the_timeout(driver: Driver) -> None:
    assert watchdog(driver, 3000, [("t", 1000), ("t", 2000), ("t", 1000)]) == [
        "0000",
        "0110",
        "0100",
    ]


def toggles(driver: Driver, gaps_ms: list[int]) -> str:
    return driver.ask(f"D {len(gaps_ms)} {' '.join(map(str, gaps_ms))}\n")


def test_a_second_toggle_within_two_seconds_is_a_redelivery(driver: Driver) -> None:
    assert toggles(driver, [0, 50, 1900]) == "1 0 0"  # both within 2 s of the first
    assert toggles(driver, [0, 2000, 2000]) == "1 1 1"
    assert toggles(driver, [0, 1500, 600]) == "1 0 1"  # 2.1 s after the applied one
