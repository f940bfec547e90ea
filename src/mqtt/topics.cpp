#include "src/mqtt/topics.h"

#include <cctype>
#include <cstdio>

namespace primus::mqtt {

std::string TopicLayout::object_id(const std::string& text) {
  std::string out;
  bool changed = text.empty();
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '_' || c == '-') {
      out += c;
    } else {
      out += '_';
      changed = true;
    }
  }
  if (changed) {
    std::uint32_t h = 2166136261u;
    for (const char c : text) {
      h ^= static_cast<unsigned char>(c);
      h *= 16777619u;
    }
    char buf[10];
    std::snprintf(buf, sizeof buf, "_%08x", h);
    out += buf;
  }
  return out;
}

std::string TopicLayout::ha_node_id() const { return object_id("primusd_" + node); }

std::string TopicLayout::trigger_config_topic(const std::string& dev,
                                              const std::string& label) const {
  return discovery_prefix + "/device_automation/" + ha_node_id() + "/" +
         object_id(dev + "_" + label) + "/config";
}

std::string TopicLayout::sensor_config_topic(const std::string& dev) const {
  return discovery_prefix + "/sensor/" + ha_node_id() + "/" + object_id(dev + "_last_gesture") +
         "/config";
}

std::string TopicLayout::trigger_config_filter() const {
  return discovery_prefix + "/device_automation/" + ha_node_id() + "/+/config";
}

std::string TopicLayout::sensor_config_filter() const {
  return discovery_prefix + "/sensor/" + ha_node_id() + "/+/config";
}

nlohmann::json TopicLayout::ha_device(const std::string& dev) const {
  return {{"identifiers", nlohmann::json::array({ha_node_id() + "_" + object_id(dev)})},
          {"name", dev + " (" + node + ")"},
          {"manufacturer", "primusd"},
          {"model", "IMU gesture recogniser"},
          {"sw_version", version},
          {"via_device", ha_node_id()}};
}

nlohmann::json TopicLayout::trigger_config(const std::string& dev, const std::string& label) const {
  return {{"automation_type", "trigger"}, {"type", "gesture"}, {"subtype", label},
          {"topic", event(dev)},          {"payload", label},  {"qos", qos},
          {"device", ha_device(dev)}};
}

nlohmann::json TopicLayout::sensor_config(const std::string& dev) const {
  return {{"name", "Last gesture"},
          {"unique_id", ha_node_id() + "_" + object_id(dev) + "_last_gesture"},
          {"state_topic", last_gesture(dev)},
          {"value_template", "{{ value_json.label }}"},
          {"json_attributes_topic", last_gesture(dev)},
          {"availability_topic", availability()},
          {"payload_available", "online"},
          {"payload_not_available", "offline"},
          {"icon", "mdi:gesture"},
          {"qos", qos},
          {"device", ha_device(dev)}};
}

}  // namespace primus::mqtt
