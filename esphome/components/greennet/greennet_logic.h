// GreenNet plug logic shared by the ESP32 firmware and the host test build: energy
// integration, report scheduling, command de-duplication, the plug's configuration and
// state, and the outbound message sink the transport (MQTT on the plug, a log line on
// host) plugs into. Plain C++17, no ESPHome includes.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>

#include "greennet_protection.h"
#include "greennet_protocol.h"

namespace greennet {

// Lifetime energy: integrates power over time (trapezoids), never decreases.
// A reading that is not finite or negative counts as 0 W; a gap longer than
// MAX_GAP_MS (stalled loop, sensor outage) is integrated as MAX_GAP_MS at most, so a
// stale value cannot add a large lump of energy that never flowed.
class EnergyMeter {
 public:
  static constexpr uint32_t MAX_GAP_MS = 10000;

  // Feed a power reading (W) taken at `now_ms`; returns the new total in kWh.
  double add(double power_w, uint32_t now_ms) {
    double p = (std::isfinite(power_w) && power_w > 0.0) ? power_w : 0.0;
    if (this->started_) {
      uint32_t dt = now_ms - this->last_ms_;  // unsigned: survives millis() wrap
      if (dt > MAX_GAP_MS)
        dt = MAX_GAP_MS;
      double wh = (this->last_w_ + p) / 2.0 * (dt / 3600000.0);
      this->kwh_ += wh / 1000.0;
    }
    this->started_ = true;
    this->last_w_ = p;
    this->last_ms_ = now_ms;
    return this->kwh_;
  }
  // Restore the persisted total; only ever raises the counter (never decreasing).
  void restore(double kwh) {
    if (std::isfinite(kwh) && kwh > this->kwh_ && kwh <= ENERGY_MAX)
      this->kwh_ = kwh;
  }
  double kwh() const { return this->kwh_; }

 private:
  bool started_{false};
  double kwh_{0.0};
  double last_w_{0.0};
  uint32_t last_ms_{0};
};

// Telemetry schedule: every `interval` s, plus early when power moved more than
// `deadband` W since the last report (0 = off).
class ReportSchedule {
 public:
  // The schedule is polled once a second; half a tick of slack keeps a 10 s interval at
  // 10 s instead of slipping to 11 s when a tick lands a millisecond early.
  static constexpr uint32_t SLACK_MS = 500;

  bool due(uint32_t now_ms, double power, int interval_s, double deadband) const {
    if (!this->reported_)
      return true;
    if (now_ms - this->last_ms_ + SLACK_MS >= static_cast<uint32_t>(interval_s) * 1000U)
      return true;
    return deadband > 0.0 && std::isfinite(power) && std::fabs(power - this->last_power_) > deadband;
  }
  void mark(uint32_t now_ms, double power) {
    this->reported_ = true;
    this->last_ms_ = now_ms;
    this->last_power_ = std::isfinite(power) ? power : 0.0;
  }

 private:
  bool reported_{false};
  uint32_t last_ms_{0};
  double last_power_{0.0};
};

// 64-bit uptime from a wrapping 32-bit millisecond clock, counted from start().
class Uptime {
 public:
  void start(uint32_t now_ms) {
    this->last_ms_ = now_ms;
    this->total_ms_ = 0;
  }
  uint64_t seconds(uint32_t now_ms) {
    this->total_ms_ += static_cast<uint32_t>(now_ms - this->last_ms_);
    this->last_ms_ = now_ms;
    return this->total_ms_ / 1000U;
  }

 private:
  uint32_t last_ms_{0};
  uint64_t total_ms_{0};
};

// QoS 1 delivers at least once: a TOGGLE resent after a lost acknowledgement must not
// toggle twice. A TOGGLE within WINDOW_MS of the last applied one is taken as that
// duplicate and ignored (ON/OFF are idempotent and need no such rule).
class ToggleFilter {
 public:
  static constexpr uint32_t WINDOW_MS = 2000;
  bool accept(uint32_t now_ms) {
    if (this->seen_ && now_ms - this->last_ms_ < WINDOW_MS)
      return false;
    this->seen_ = true;
    this->last_ms_ = now_ms;
    return true;
  }

 private:
  bool seen_{false};
  uint32_t last_ms_{0};
};

// Where outgoing contract messages go: full topic, payload, QoS, retain.
using Sink = std::function<void(const std::string &, const std::string &, uint8_t, bool)>;

// The plug's identity and transport, plus the logic state that is not an entity.
struct Plug {
  std::string prefix{"greennet"};
  std::string id;
  Sink sink;
  // True while the transport is connected and the session was announced; nothing is
  // published before, so consumers always see `online` first.
  bool online{false};
  // True once the relay's power-on state was applied (relay changes before are boot noise).
  bool ready{false};
  EnergyMeter energy;
  // Set after an invalid-readings warning, so a dead sensor logs once, not every second.
  bool warned_invalid{false};
  // Set after the reversed-shunt warning, for the same reason.
  bool warned_reversed{false};
  ReportSchedule schedule;
  Uptime uptime;
  ToggleFilter toggles;
  // Protection: the meter as built, its watchdog, the overload decision.
  MeterSetup meter;
  InrushPolicy inrush;
  uint32_t sensor_timeout_ms{5000};
  MeterWatchdog watchdog;
  OverloadGuard overload;

  // Build-time settings from the `greennet:` YAML block (components/greennet/__init__.py).
  void configure(const std::string &topic_prefix, const MeterSetup &meter_setup, uint32_t timeout_ms,
                 const InrushPolicy &inrush_policy) {
    this->prefix = topic_prefix;
    this->meter = meter_setup;
    this->sensor_timeout_ms = timeout_ms;
    this->inrush = inrush_policy;
  }
  // Why the relay may not close now (NONE: it may).
  CloseRefusal close_refusal(bool tripped, uint32_t now_ms) const {
    return greennet::close_refusal(tripped, this->watchdog, now_ms, this->sensor_timeout_ms);
  }

  // Publish one message on a channel with the contract's QoS and retain flag.
  // Empty payloads (an encoder refused invalid data) are dropped, never sent.
  bool publish(Channel channel, const std::string &payload) {
    if (!this->online || payload.empty() || !this->sink || this->id.empty())
      return false;
    const ChannelSpec &s = spec(channel);
    this->sink(topic(this->prefix, this->id, channel), payload, s.qos, s.retained);
    return true;
  }
};

inline Plug &plug() {
  static Plug instance;
  return instance;
}

using CommandHandler = std::function<void(const std::string &, const std::string &)>;

// Wire the plug to an MQTT client: outgoing messages, the `offline` last will and
// clean-shutdown message on `status`, and a subscription per command channel.
// `Client` is ESPHome's mqtt::MQTTClientComponent on the plug (Message = mqtt::MQTTMessage)
// and a recording stand-in in the host test build, so both run this same code.
template<typename Message, typename Client> void attach_mqtt(Client *client, const CommandHandler &on_command) {
  Plug &p = plug();
  p.sink = [client](const std::string &full_topic, const std::string &payload, uint8_t qos, bool retain) {
    client->publish(full_topic, payload, qos, retain);
  };
  const ChannelSpec &status = spec(STATUS);
  client->set_last_will(Message{topic(p.prefix, p.id, STATUS), "offline", status.qos, status.retained});
  client->set_shutdown_message(Message{topic(p.prefix, p.id, STATUS), "offline", status.qos, status.retained});
  for (uint8_t i = 0; i < CHANNEL_COUNT; i++) {
    if (!CHANNELS[i].plug_publishes)
      client->subscribe(topic(p.prefix, p.id, static_cast<Channel>(i)), on_command, CHANNELS[i].qos);
  }
}

}  // namespace greennet
