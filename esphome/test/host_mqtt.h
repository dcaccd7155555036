// Host test build only: a stand-in for ESPHome's MQTT client (no mqtt: on host).
// greennet::attach_mqtt drives it exactly as it drives the real client; it prints
// what the real one would send, one `GREENNET-*` line each, for the tests to read.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "esphome/components/greennet/greennet_logic.h"

namespace greennet {

struct HostMqttMessage {
  std::string topic;
  std::string payload;
  uint8_t qos;
  bool retain;
};

class HostMqttClient {
 public:
  void publish(const std::string &topic, const std::string &payload, uint8_t qos, bool retain) {
    std::printf("GREENNET-MQTT %s %u %d %s\n", topic.c_str(), qos, retain ? 1 : 0, payload.c_str());
    std::fflush(stdout);
  }
  void set_last_will(HostMqttMessage &&m) {
    std::printf("GREENNET-WILL %s %u %d %s\n", m.topic.c_str(), m.qos, m.retain ? 1 : 0, m.payload.c_str());
    std::fflush(stdout);
  }
  void set_shutdown_message(HostMqttMessage &&m) { this->shutdown_ = std::move(m); }
  void subscribe(const std::string &topic, const CommandHandler &callback, uint8_t qos) {
    this->subscriptions_.push_back({topic, callback});
    std::printf("GREENNET-SUBSCRIBE %s %u\n", topic.c_str(), qos);
    std::fflush(stdout);
  }
  // A message "from the broker": handed to the subscription for its topic, if any.
  void deliver(const std::string &topic, const std::string &payload) {
    for (auto &sub : this->subscriptions_) {
      if (sub.topic == topic) {
        sub.callback(topic, payload);
        return;
      }
    }
    std::printf("GREENNET-UNSUBSCRIBED %s\n", topic.c_str());
    std::fflush(stdout);
  }
  // What the real client does on a clean shutdown.
  void shutdown() {
    if (!this->shutdown_.topic.empty())
      this->publish(this->shutdown_.topic, this->shutdown_.payload, this->shutdown_.qos, this->shutdown_.retain);
  }

 private:
  struct Subscription {
    std::string topic;
    CommandHandler callback;
  };
  std::vector<Subscription> subscriptions_;
  HostMqttMessage shutdown_{"", "", 0, false};
};

inline HostMqttClient &host_mqtt() {
  static HostMqttClient client;
  return client;
}

}  // namespace greennet
