// Host test build only: what ESPHome 2026.10's ina219 driver publishes for a DC load,
// computed from the chip's registers as components/ina219/ina219.cpp reads them.
// Bus voltage: 4 mV steps, 0..32.76 V. Shunt voltage: 10 uV steps, saturating at the
// PGA range the driver picks; beyond it the chip cannot see more current.
#pragma once

#include <cmath>
#include <cstdint>

namespace greennet {
namespace sim {

// The shunt full scale (V) INA219Component::setup() configures.
inline double ina219_pga_volts(double shunt_ohm, double max_current, double max_voltage) {
  double shunt_max = shunt_ohm * max_current;
  double multiplier = (max_voltage > 16.0 || shunt_max > 0.16) ? 0.5 : 1.0;
  double scaled = shunt_max * multiplier;
  return scaled <= 0.02 ? 0.04 : scaled <= 0.04 ? 0.08 : scaled <= 0.08 ? 0.16 : 0.32;
}

inline float ina219_bus_voltage(double volts) {
  double clamped = std::fmin(std::fmax(volts, 0.0), 8191 * 0.004);
  auto raw = static_cast<uint16_t>(std::lround(clamped / 0.004) << 3);
  return int16_t(raw >> 3) * 0.004f;
}

inline float ina219_shunt_voltage(double amps, double shunt_ohm, double pga_volts) {
  double volts = std::fmin(std::fmax(amps * shunt_ohm, -pga_volts), pga_volts);
  auto raw = static_cast<int16_t>(std::lround(volts / 0.00001));
  return raw * 0.01f / 1000.0f;
}

}  // namespace sim
}  // namespace greennet
