// GreenNet MQTT contract v1 on the plug (docs/protocol.md): topics, QoS/retain,
// payload encoders and command parsers. Mirrors custom_components/greennet/protocol.py;
// tests/firmware compares the two. Plain C++17, no ESPHome includes.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "greennet_json.h"

namespace greennet {

static constexpr int PROTOCOL_VERSION = 1;

// Ranges from the contract (inclusive).
static constexpr double VOLTAGE_MAX = 500.0;
static constexpr double CURRENT_MAX = 100.0;
static constexpr double POWER_MAX = 25000.0;
static constexpr double ENERGY_MAX = 1.0e9;
static constexpr double MAX_CURRENT_MIN = 0.1, MAX_CURRENT_MAX = 100.0;
static constexpr double MAX_POWER_MIN = 1.0, MAX_POWER_MAX = 25000.0;
static constexpr int INTERVAL_MIN = 1, INTERVAL_MAX = 3600;
static constexpr double DEADBAND_MIN = 0.0, DEADBAND_MAX = 10000.0;

// One row per topic suffix after `<prefix>/<id>/`.
struct ChannelSpec {
  const char *name;
  bool plug_publishes;
  bool retained;
  uint8_t qos;
};

enum Channel : uint8_t {
  STATUS,
  INFO,
  TELEMETRY,
  RELAY,
  RELAY_SET,
  PROTECTION,
  PROTECTION_SET,
  CONFIG,
  CONFIG_SET,
  EVENT,
  CHANNEL_COUNT
};

// QoS: retained state and commands 1, telemetry 0 (contract table).
static constexpr ChannelSpec CHANNELS[CHANNEL_COUNT] = {
    {"status", true, true, 1},      {"info", true, true, 1},
    {"telemetry", true, false, 0},  {"relay", true, true, 1},
    {"relay/set", false, false, 1}, {"protection", true, true, 1},
    {"protection/set", false, false, 1}, {"config", true, true, 1},
    {"config/set", false, false, 1}, {"event", true, false, 1},
};

inline const ChannelSpec &spec(Channel c) { return CHANNELS[c]; }

// `greennet-` + last six hex digits of the MAC, lower case.
inline std::string plug_id_from_mac(const uint8_t mac[6]) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "greennet-%02x%02x%02x", mac[3], mac[4], mac[5]);
  return buf;
}

inline std::string mac_text(const uint8_t mac[6]) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%02X:%02X:%02X:%02X:%02X:%02X", mac[0], mac[1], mac[2], mac[3], mac[4],
                mac[5]);
  return buf;
}

inline std::string topic(const std::string &prefix, const std::string &plug_id, Channel c) {
  return prefix + "/" + plug_id + "/" + CHANNELS[c].name;
}

// The channel a full topic addresses, or CHANNEL_COUNT when it is not ours.
inline Channel channel_of(const std::string &prefix, const std::string &plug_id, const std::string &full) {
  std::string head = prefix + "/" + plug_id + "/";
  if (full.compare(0, head.size(), head) != 0)
    return CHANNEL_COUNT;
  std::string rest = full.substr(head.size());
  for (uint8_t i = 0; i < CHANNEL_COUNT; i++) {
    if (rest == CHANNELS[i].name)
      return static_cast<Channel>(i);
  }
  return CHANNEL_COUNT;
}

enum class RestoreMode : uint8_t { OFF = 0, ON = 1, LAST = 2 };

inline const char *restore_name(RestoreMode m) {
  return m == RestoreMode::ON ? "on" : (m == RestoreMode::LAST ? "last" : "off");
}

inline bool restore_from_name(const std::string &name, RestoreMode &out) {
  if (name == "off")
    out = RestoreMode::OFF;
  else if (name == "on")
    out = RestoreMode::ON;
  else if (name == "last")
    out = RestoreMode::LAST;
  else
    return false;
  return true;
}

// --- commands (consumer -> plug) ---------------------------------------------

enum class RelayAction : uint8_t { NONE, ON, OFF, TOGGLE };

// Everything one command asks for; `ok` false means ignore it and log `error`.
struct Command {
  bool ok{false};
  const char *error{""};
  RelayAction relay{RelayAction::NONE};
  bool has_max_current{false};
  double max_current{0};
  bool has_max_power{false};
  double max_power{0};
  bool reset{false};
  bool has_interval{false};
  int interval{0};
  bool has_deadband{false};
  double deadband{0};
  bool has_restore{false};
  RestoreMode restore{RestoreMode::OFF};
};

namespace detail {
inline Command reject(const char *why) {
  Command c;
  c.error = why;
  return c;
}
// Reads an optional number within [lo, hi]; false only when present and invalid.
inline bool opt_number(const JsonObjectReader &r, const char *key, double lo, double hi, bool &has, double &out) {
  const JsonValue *v = r.get(key);
  if (v == nullptr)
    return true;
  if (v->kind != JsonValue::NUMBER || !std::isfinite(v->n) || v->n < lo || v->n > hi)
    return false;
  has = true;
  out = v->n;
  return true;
}
}  // namespace detail

inline Command parse_relay_command(const std::string &payload) {
  Command c;
  if (payload == "ON")
    c.relay = RelayAction::ON;
  else if (payload == "OFF")
    c.relay = RelayAction::OFF;
  else if (payload == "TOGGLE")
    c.relay = RelayAction::TOGGLE;
  else
    return detail::reject("relay command must be ON, OFF or TOGGLE");
  c.ok = true;
  return c;
}

inline Command parse_protection_command(const std::string &payload) {
  JsonObjectReader r;
  if (!r.parse(payload))
    return detail::reject(r.error());
  Command c;
  if (!detail::opt_number(r, "max_current", MAX_CURRENT_MIN, MAX_CURRENT_MAX, c.has_max_current, c.max_current))
    return detail::reject("max_current must be a number in 0.1..100");
  if (!detail::opt_number(r, "max_power", MAX_POWER_MIN, MAX_POWER_MAX, c.has_max_power, c.max_power))
    return detail::reject("max_power must be a number in 1..25000");
  if (r.has_key("reset")) {
    const JsonValue *v = r.get("reset");
    if (v == nullptr || v->kind != JsonValue::BOOL)  // null is not a boolean here (contract module agrees)
      return detail::reject("reset must be true or false");
    c.reset = v->b;
  }
  if (!c.has_max_current && !c.has_max_power && !c.reset)
    return detail::reject("protection command sets nothing");
  c.ok = true;
  return c;
}

inline Command parse_config_command(const std::string &payload) {
  JsonObjectReader r;
  if (!r.parse(payload))
    return detail::reject(r.error());
  Command c;
  if (const JsonValue *v = r.get("interval")) {
    if (v->kind != JsonValue::NUMBER || v->n != std::floor(v->n) || v->n < INTERVAL_MIN || v->n > INTERVAL_MAX)
      return detail::reject("interval must be an integer in 1..3600");
    c.has_interval = true;
    c.interval = static_cast<int>(v->n);
  }
  if (!detail::opt_number(r, "deadband", DEADBAND_MIN, DEADBAND_MAX, c.has_deadband, c.deadband))
    return detail::reject("deadband must be a number in 0..10000");
  if (const JsonValue *v = r.get("restore")) {
    if (v->kind != JsonValue::STRING || !restore_from_name(v->s, c.restore))
      return detail::reject("restore must be off, on or last");
    c.has_restore = true;
  }
  if (!c.has_interval && !c.has_deadband && !c.has_restore)
    return detail::reject("config command sets nothing");
  c.ok = true;
  return c;
}

// Dispatch on the channel a message arrived on; other channels are rejected.
inline Command parse_command(Channel channel, const std::string &payload) {
  if (payload.size() > MAX_PAYLOAD_BYTES)
    return detail::reject("payload too large");
  switch (channel) {
    case RELAY_SET: return parse_relay_command(payload);
    case PROTECTION_SET: return parse_protection_command(payload);
    case CONFIG_SET: return parse_config_command(payload);
    default: return detail::reject("not a command channel");
  }
}

// --- encoders (plug -> consumers) ---------------------------------------------

struct Info {
  std::string id, name, model, sw_version, hw_version, mac, ip;
};

inline std::string encode_info(const Info &i) {
  return JsonWriter()
      .str("id", i.id)
      .str("name", i.name.substr(0, 64))
      .str("model", i.model.substr(0, 64))
      .str("sw_version", i.sw_version.substr(0, 32))
      .str("hw_version", i.hw_version.substr(0, 32))
      .str("mac", i.mac)
      .str("ip", i.ip.substr(0, 45))
      .integer("protocol", PROTOCOL_VERSION)
      .finish();
}

struct Telemetry {
  double voltage{NAN}, current{NAN}, power{NAN}, energy{NAN};
  bool relay{false};
  bool has_rssi{false};
  int rssi{0};
  uint64_t uptime{0};
  bool has_ts{false};
  uint64_t ts{0};
};

// Small negative readings (sensor offset) are reported as 0; anything not finite or
// outside the contract's range yields "" so nothing invalid is ever published.
inline std::string encode_telemetry(const Telemetry &t) {
  auto clamp0 = [](double v) { return v < 0.0 && v > -1.0 ? 0.0 : v; };
  double v = clamp0(t.voltage), i = clamp0(t.current), p = clamp0(t.power);
  if (!(v >= 0 && v <= VOLTAGE_MAX && i >= 0 && i <= CURRENT_MAX && p >= 0 && p <= POWER_MAX && t.energy >= 0 &&
        t.energy <= ENERGY_MAX))
    return "";
  JsonWriter w;
  w.number("voltage", v, 2).number("current", i, 3).number("power", p, 1).number("energy", t.energy, 4);
  w.str("relay", t.relay ? "ON" : "OFF");
  if (t.has_rssi && t.rssi >= -127 && t.rssi <= 0)
    w.integer("rssi", t.rssi);
  w.integer("uptime", static_cast<long long>(t.uptime));
  if (t.has_ts && t.ts >= 1000000000000ULL && t.ts <= 10000000000000ULL)
    w.integer("ts", static_cast<long long>(t.ts));
  return w.finish();
}

inline std::string encode_relay(bool on) { return on ? "ON" : "OFF"; }

// The ceilings are the highest limits the plug accepts (what its meter measures), so
// consumers offer only that range.
inline std::string encode_protection(double max_current, double max_power, bool tripped, double current_ceiling,
                                     double power_ceiling) {
  return JsonWriter()
      .number("max_current", max_current, 3)
      .number("max_power", max_power, 1)
      .boolean("tripped", tripped)
      .number("current_ceiling", current_ceiling, 3)
      .number("power_ceiling", power_ceiling, 1)
      .finish();
}

inline std::string encode_config(int interval, double deadband, RestoreMode restore) {
  return JsonWriter().integer("interval", interval).number("deadband", deadband, 1).str("restore", restore_name(restore)).finish();
}

enum class TripReason : uint8_t { NONE, CURRENT, POWER };

inline std::string encode_trip_event(TripReason reason, double current, double power) {
  return JsonWriter()
      .str("type", "overload_trip")
      .str("reason", reason == TripReason::CURRENT ? "current" : "power")
      .number("current", current, 3)
      .number("power", power, 1)
      .finish();
}

// `action`: "single" (a click toggled the relay) or "long" (a long press reset a trip).
inline std::string encode_button_event(const char *action = "single") {
  return JsonWriter().str("type", "button").str("action", action).finish();
}

// The meter gave no valid reading for `seconds`: the relay was opened (or kept open).
inline std::string encode_sensor_fault_event(uint32_t seconds) {
  return JsonWriter().str("type", "sensor_fault").integer("seconds", seconds).finish();
}

}  // namespace greennet
