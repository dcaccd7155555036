// Test driver: runs the firmware's own contract code (esphome/include) on cases read
// from stdin, one answer line per case, so Python can compare it with protocol.py.
//   C <channel>\n<len>\n<bytes>   parse a command    -> OK ... | ERR <reason>
//   T v i p e relay rssi uptime ts encode telemetry  -> payload | EMPTY
//   P max_current max_power tripped                   -> payload
//   G interval deadband restore                       -> payload
//   E reason current power                            -> payload
//   X relay current power max_current max_power       -> NONE | CURRENT | POWER
//   M n (power dt_ms)*n                               -> kWh after each reading
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

static void command(std::istream &in, const std::string &channel) {
  size_t len = 0;
  in >> len;
  in.get();  // newline after the length
  std::string payload(len, '\0');
  in.read(&payload[0], static_cast<std::streamsize>(len));
  Command c = parse_command(channel_named(channel), payload);
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
      double mc, mp;
      bool tripped;
      std::cin >> mc >> mp >> tripped;
      std::printf("%s\n", encode_protection(mc, mp, tripped).c_str());
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
      std::string current, power;
      double mc, mp;
      std::cin >> relay >> current >> power >> mc >> mp;
      TripReason r = trip_reason(relay, std::strtod(current.c_str(), nullptr), std::strtod(power.c_str(), nullptr), mc, mp);
      std::printf("%s\n", r == TripReason::NONE ? "NONE" : (r == TripReason::CURRENT ? "CURRENT" : "POWER"));
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
