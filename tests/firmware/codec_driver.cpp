// Test driver: runs the firmware's own code (esphome/components/greennet) on cases read
// from stdin, one answer line per case, so Python can compare it with protocol.py and
// with the rules in docs/firmware.md.
//   C <channel>\n<len>\n<bytes>   parse a command    -> OK ... | ERR <reason>
//   S <len>\n<bytes>               string "s" of an object -> hex of its bytes | ERR
//   T v i p e relay rssi uptime ts encode telemetry  -> payload | EMPTY
//   P max_current max_power tripped                   -> payload
//   G interval deadband restore                       -> payload
//   E reason current power                            -> payload
//   F seconds                                         -> sensor_fault payload
//   X relay current power max_current max_power       -> NONE | CURRENT | POWER (no grace)
//   M n (power dt_ms)*n                               -> kWh after each reading
//   R shunt_ohm max_i max_v v_factor i_factor bus_v shunt_v -> voltage current power valid reversed
//   L shunt_ohm max_i max_v max_current max_power     -> clamped limits, ceilings
//   O max_i max_v grace_ms factor mc mp n (relay i p dt_ms)*n -> reason per reading
//   W timeout_ms n (event dt_ms)*n  (event: r = valid reading, t = tick) -> state per step
//   D n (dt_ms)*n                                     -> 1/0: TOGGLE applied or ignored
#include <iostream>
#include <sstream>
#include <string>

#include "greennet_logic.h"

using namespace greennet;

static Channel channel_named(const std::string &name) {
  for (uint8_t i = 0; i < CHANNEL_COUNT; i++) {
    if (name == CHANNELS[i].name)
      return static_cast<Channel>(i);
  }
  return CHANNEL_COUNT;
}

static std::string read_payload(std::istream &in) {
  size_t len = 0;
  in >> len;
  in.get();  // newline after the length
  std::string payload(len, '\0');
  in.read(&payload[0], static_cast<std::streamsize>(len));
  return payload;
}

static double number(std::istream &in) {
  std::string text;
  in >> text;
  return std::strtod(text.c_str(), nullptr);
}

static MeterSetup meter_setup(std::istream &in) {
  MeterSetup m;
  m.max_current = number(in);
  m.max_voltage = number(in);
  return m;
}

static void command(std::istream &in, const std::string &channel) {
  Command c = parse_command(channel_named(channel), read_payload(in));
  if (!c.ok) {
    std::printf("ERR %s\n", c.error);
    return;
  }
  std::printf("OK relay=%d mc=%d:%.17g mp=%d:%.17g reset=%d iv=%d:%d db=%d:%.17g rs=%d:%s\n",
              static_cast<int>(c.relay), c.has_max_current, c.max_current, c.has_max_power, c.max_power, c.reset,
              c.has_interval, c.interval, c.has_deadband, c.deadband, c.has_restore, restore_name(c.restore));
}

int main() {
  std::string kind;
  while (std::cin >> kind) {
    if (kind == "C") {
      std::string channel;
      std::cin >> channel;
      command(std::cin, channel);
    } else if (kind == "T") {
      Telemetry t;
      std::string v, i, p, e;
      long long rssi;
      std::cin >> v >> i >> p >> e >> t.relay >> rssi >> t.uptime >> t.ts;
      t.voltage = std::strtod(v.c_str(), nullptr);
      t.current = std::strtod(i.c_str(), nullptr);
      t.power = std::strtod(p.c_str(), nullptr);
      t.energy = std::strtod(e.c_str(), nullptr);
      t.has_rssi = rssi != 1;  // 1 = no RSSI (a real one is <= 0)
      t.rssi = static_cast<int>(rssi);
      t.has_ts = t.ts != 0;
      std::string out = encode_telemetry(t);
      std::printf("%s\n", out.empty() ? "EMPTY" : out.c_str());
    } else if (kind == "P") {
      double mc, mp, cc, pc;
      bool tripped;
      std::cin >> mc >> mp >> tripped >> cc >> pc;
      std::printf("%s\n", encode_protection(mc, mp, tripped, cc, pc).c_str());
    } else if (kind == "G") {
      int interval;
      double deadband;
      std::string restore;
      std::cin >> interval >> deadband >> restore;
      RestoreMode mode = RestoreMode::OFF;
      restore_from_name(restore, mode);
      std::printf("%s\n", encode_config(interval, deadband, mode).c_str());
    } else if (kind == "E") {
      std::string reason;
      double current, power;
      std::cin >> reason >> current >> power;
      TripReason why = reason == "current" ? TripReason::CURRENT : TripReason::POWER;
      std::printf("%s\n", encode_trip_event(why, current, power).c_str());
    } else if (kind == "X") {
      bool relay;
      std::cin >> relay;
      double current = number(std::cin), power = number(std::cin), mc = number(std::cin), mp = number(std::cin);
      OverloadGuard guard;
      TripReason r = guard.check(relay, current, power, mc, mp, MeterSetup{0.1, 1000.0, 1000.0}, InrushPolicy{}, 0);
      std::printf("%s\n", r == TripReason::NONE ? "NONE" : (r == TripReason::CURRENT ? "CURRENT" : "POWER"));
    } else if (kind == "S") {
      JsonObjectReader r;
      std::string payload = read_payload(std::cin);
      const JsonValue *v = r.parse(payload) ? r.get("s") : nullptr;
      if (v == nullptr || v->kind != JsonValue::STRING) {
        std::printf("ERR\n");
      } else {
        for (unsigned char c : v->s)
          std::printf("%02x", c);
        std::printf("\n");
      }
    } else if (kind == "F") {
      uint32_t seconds;
      std::cin >> seconds;
      std::printf("%s\n", encode_sensor_fault_event(seconds).c_str());
    } else if (kind == "R") {
      MeterSetup m;
      m.shunt_ohm = number(std::cin);
      m.max_current = number(std::cin);
      m.max_voltage = number(std::cin);
      m.voltage_factor = number(std::cin);
      m.current_factor = number(std::cin);
      double bus = number(std::cin), shunt = number(std::cin);
      Reading r = read_meter(m, bus, shunt);
      std::printf("%.17g %.17g %.17g %d %d\n", r.voltage, r.current, r.power, r.valid, r.reversed);
    } else if (kind == "L") {
      MeterSetup m;
      m.shunt_ohm = number(std::cin);
      m.max_current = number(std::cin);
      m.max_voltage = number(std::cin);
      double mc = number(std::cin), mp = number(std::cin);
      std::printf("%.17g %.17g %.17g %.17g\n", clamp_current_limit(mc, m), clamp_power_limit(mp, m),
                  m.current_ceiling(), m.power_ceiling());
    } else if (kind == "O") {
      MeterSetup m = meter_setup(std::cin);
      InrushPolicy inrush;
      std::cin >> inrush.grace_ms;
      inrush.hard_factor = number(std::cin);
      double mc = number(std::cin), mp = number(std::cin);
      int n;
      std::cin >> n;
      OverloadGuard guard;
      uint32_t now = 0;
      for (int k = 0; k < n; k++) {
        bool relay;
        uint32_t dt;
        std::cin >> relay;
        double i = number(std::cin), p = number(std::cin);
        std::cin >> dt;
        now += dt;
        TripReason r = guard.check(relay, i, p, mc, mp, m, inrush, now);
        std::printf(k ? " %s" : "%s", r == TripReason::NONE ? "-" : (r == TripReason::CURRENT ? "I" : "P"));
      }
      std::printf("\n");
    } else if (kind == "W") {
      uint32_t timeout;
      int n;
      std::cin >> timeout >> n;
      MeterWatchdog dog;
      uint32_t now = 1000;
      dog.start(now);
      for (int k = 0; k < n; k++) {
        std::string event;
        uint32_t dt;
        std::cin >> event >> dt;
        now += dt;
        if (event == "r")
          dog.valid_reading(now);
        bool stale = dog.stale(now, timeout);
        bool report = stale && dog.first_report();
        // trusted/stale/reported-now, and whether the relay may close (not tripped)
        std::printf(k ? " %d%d%d%d" : "%d%d%d%d", dog.trusted(now, timeout), stale, report,
                    close_refusal(false, dog, now, timeout) == CloseRefusal::NONE);
      }
      std::printf("\n");
    } else if (kind == "D") {
      int n;
      std::cin >> n;
      ToggleFilter filter;
      uint32_t now = 5;
      for (int k = 0; k < n; k++) {
        uint32_t dt;
        std::cin >> dt;
        now += dt;
        std::printf(k ? " %d" : "%d", filter.accept(now));
      }
      std::printf("\n");
    } else if (kind == "M") {
      int n;
      std::cin >> n;
      EnergyMeter meter;
      uint32_t now = 0;
      for (int k = 0; k < n; k++) {
        std::string power_text;
        uint32_t dt;
        std::cin >> power_text >> dt;
        now += dt;
        std::printf(k ? " %.17g" : "%.17g", meter.add(std::strtod(power_text.c_str(), nullptr), now));
      }
      std::printf("\n");
    }
    std::fflush(stdout);
  }
  return 0;
}
