// GreenNet plug protection, shared by the ESP32 firmware and the host test build:
// what the meter can measure, how a reading becomes volts/amps/watts, the overload
// decision (with an optional inrush grace), the meter watchdog (sensor fault) and when
// the relay may close. Plain C++17, no ESPHome includes. docs/firmware.md has the table.
#pragma once

#include <cmath>
#include <cstdint>

#include "greennet_protocol.h"

namespace greennet {

// The INA219 as configured in sensor-ina219.yaml, plus the calibration factors.
// `max_current` is where the shunt input saturates (±320 mV over 0.1 Ω = 3.2 A): the
// chip cannot see more, so limits and the hard trip level stay below HEADROOM of it.
struct MeterSetup {
  static constexpr double HEADROOM = 0.95;
  double shunt_ohm{0.1};
  double max_current{3.2};   // A
  double max_voltage{26.0};  // V, the chip's rating
  double voltage_factor{1.0};
  double current_factor{1.0};

  // Highest current limit the plug accepts, floored to the limit's 0.01 A step.
  double current_ceiling() const { return std::floor(HEADROOM * this->max_current * 100.0 + 1e-6) / 100.0; }
  // Highest power limit, floored to the limit's 1 W step.
  double power_ceiling() const { return std::floor(HEADROOM * this->max_voltage * this->max_current + 1e-6); }
};

// One meter reading in the units the plug reports.
struct Reading {
  double voltage{NAN}, current{NAN}, power{NAN};
  bool valid{false};
  bool reversed{false};  // the shunt voltage was clearly negative: shunt wired backwards
};

// Volts/amps/watts from what ESPHome's ina219 publishes for the bus voltage (V) and the
// shunt voltage (V). Current is the shunt voltage over the shunt resistance, not the
// chip's current register (that one reads 0 A for good once a brown-out resets the
// chip's calibration); power is V x |I|, because ESPHome reads the unsigned power
// register as int16 and wraps negative above 32767 steps (~64 W with the 0.1 ohm shunt).
// A plug meters a load, so a reversed shunt is metered by its magnitude.
inline Reading read_meter(const MeterSetup &m, double bus_voltage, double shunt_voltage) {
  Reading r;
  double amps = shunt_voltage / m.shunt_ohm * m.current_factor;
  r.voltage = bus_voltage * m.voltage_factor;
  r.current = std::fabs(amps);
  r.power = r.voltage * r.current;
  r.reversed = amps < -0.01 * m.max_current;
  r.valid = m.shunt_ohm > 0.0 && std::isfinite(r.voltage) && std::isfinite(r.current) && std::isfinite(r.power);
  return r;
}

// A requested limit, clamped into [contract minimum, what the meter can measure].
inline double clamp_current_limit(double requested, const MeterSetup &m) {
  double top = std::fmin(m.current_ceiling(), MAX_CURRENT_MAX);
  return std::fmax(MAX_CURRENT_MIN, std::fmin(std::isnan(requested) ? MAX_CURRENT_MIN : requested, top));
}
inline double clamp_power_limit(double requested, const MeterSetup &m) {
  double top = std::fmin(m.power_ceiling(), MAX_POWER_MAX);
  return std::fmax(MAX_POWER_MIN, std::fmin(std::isnan(requested) ? MAX_POWER_MIN : requested, top));
}

// Optional grace for moderate overloads (motor and compressor inrush). Off by default.
struct InrushPolicy {
  uint32_t grace_ms{0};       // 0: every overload trips on its first reading
  double hard_factor{1.5};    // above factor x limit (or the meter's ceiling) no grace
};

// Overload decision, fed every reading. Trips on |I| and |P| (a reversed shunt still
// trips). A reading over the hard level (factor x limit, capped at the meter's ceiling)
// trips at once; one over the limit but under the hard level trips once it has lasted
// `grace_ms` (at once when grace is 0). NaN never trips (the watchdog handles missing
// readings); an infinite reading always does.
class OverloadGuard {
 public:
  TripReason check(bool relay_on, double current, double power, double max_current, double max_power,
                   const MeterSetup &meter, const InrushPolicy &inrush, uint32_t now_ms) {
    if (!relay_on) {
      this->over_ = false;
      return TripReason::NONE;
    }
    double i = std::fabs(current), p = std::fabs(power);
    TripReason reason = i > max_current ? TripReason::CURRENT : (p > max_power ? TripReason::POWER : TripReason::NONE);
    if (reason == TripReason::NONE) {
      this->over_ = false;
      return TripReason::NONE;
    }
    double hard_current = std::fmin(inrush.hard_factor * max_current, meter.current_ceiling());
    double hard_power = std::fmin(inrush.hard_factor * max_power, meter.power_ceiling());
    bool hard = i > hard_current || p > hard_power;
    if (!hard && inrush.grace_ms > 0) {
      if (!this->over_) {
        this->over_ = true;
        this->since_ms_ = now_ms;
      }
      if (now_ms - this->since_ms_ < inrush.grace_ms)
        return TripReason::NONE;
    }
    this->over_ = false;
    return reason;
  }
  // True while a moderate overload is being tolerated.
  bool in_grace() const { return this->over_; }

 private:
  bool over_{false};
  uint32_t since_ms_{0};
};

// Watches that the meter keeps delivering valid readings. Stale (a sensor fault) once
// `timeout_ms` passed without one, counted from start() when none came yet.
class MeterWatchdog {
 public:
  void start(uint32_t now_ms) {
    this->last_ms_ = now_ms;
    this->seen_ = false;
    this->reported_ = false;
  }
  void valid_reading(uint32_t now_ms) {
    this->last_ms_ = now_ms;
    this->seen_ = true;
    this->reported_ = false;  // a fault episode ends with the first valid reading
  }
  uint32_t age_ms(uint32_t now_ms) const { return now_ms - this->last_ms_; }
  bool stale(uint32_t now_ms, uint32_t timeout_ms) const { return this->age_ms(now_ms) >= timeout_ms; }
  // Fresh enough to switch a load on: a valid reading arrived and is recent.
  bool trusted(uint32_t now_ms, uint32_t timeout_ms) const {
    return this->seen_ && !this->stale(now_ms, timeout_ms);
  }
  // True the first time per fault episode: report `sensor_fault` once, not every second.
  bool first_report() {
    if (this->reported_)
      return false;
    this->reported_ = true;
    return true;
  }

 private:
  uint32_t last_ms_{0};
  bool seen_{false};
  bool reported_{false};
};

// Why the relay may not close right now.
enum class CloseRefusal : uint8_t { NONE, TRIPPED, NO_READING };

// The interlock every path to "relay on" goes through (API, MQTT, button, power-on
// restore): a latched trip stays open until reset; without a trusted reading nothing
// would protect the load, so it stays open too.
inline CloseRefusal close_refusal(bool tripped, const MeterWatchdog &meter, uint32_t now_ms, uint32_t timeout_ms) {
  if (tripped)
    return CloseRefusal::TRIPPED;
  if (!meter.trusted(now_ms, timeout_ms))
    return CloseRefusal::NO_READING;
  return CloseRefusal::NONE;
}

}  // namespace greennet
