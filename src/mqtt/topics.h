#pragma once
// The MQTT topic layout and the Home Assistant discovery payloads (docs/mqtt.md). Pure: strings
// and JSON in, strings and JSON out; no I/O, no libmosquitto. Thread-safe (const data only).
//
//   <prefix>/<node>/status                 "online" / "offline" (retained, QoS 1; the last will)
//   <prefix>/<node>/summary                the status message JSON (retained, QoS 0)
//   <prefix>/<node>/training               training / model activation messages (QoS 1)
//   <prefix>/<node>/<device>/gesture       gesture start and end JSON (QoS mqtt.qos)
//   <prefix>/<node>/<device>/event         the label of each ended gesture (QoS mqtt.qos): HA
//                                          device triggers match it with `payload`
//   <prefix>/<node>/<device>/last_gesture  the last ended gesture's JSON (retained, mqtt.qos)
//   <prefix>/<node>/<device>/state         the device message JSON (retained, mqtt.qos)
//   <discovery>/device_automation/primusd_<node>/<device>_<label>/config   (retained, QoS 1)
//   <discovery>/sensor/primusd_<node>/<device>_last_gesture/config         (retained, QoS 1)
// <node> and <device> need no escaping ([A-Za-z0-9_-] and [A-Za-z0-9_.-]); labels are free text,
// so the discovery object id spells a label as [A-Za-z0-9_-] plus, when that changed it, a hash.
#include <nlohmann/json.hpp>
#include <string>

namespace primus::mqtt {

struct TopicLayout {
  std::string prefix = "primusd";
  std::string node;
  std::string discovery_prefix = "homeassistant";
  int qos = 1;
  std::string version;  ///< primusd's version, for the HA device's sw_version

  [[nodiscard]] std::string base() const { return prefix + "/" + node; }
  [[nodiscard]] std::string availability() const { return base() + "/status"; }
  [[nodiscard]] std::string summary() const { return base() + "/summary"; }
  [[nodiscard]] std::string training() const { return base() + "/training"; }
  [[nodiscard]] std::string gesture(const std::string& dev) const {
    return base() + "/" + dev + "/gesture";
  }
  [[nodiscard]] std::string event(const std::string& dev) const {
    return base() + "/" + dev + "/event";
  }
  [[nodiscard]] std::string last_gesture(const std::string& dev) const {
    return base() + "/" + dev + "/last_gesture";
  }
  [[nodiscard]] std::string state(const std::string& dev) const {
    return base() + "/" + dev + "/state";
  }

  /// "primusd_<node>" with '.' mapped to '_': the discovery node id.
  [[nodiscard]] std::string ha_node_id() const;
  /// [A-Za-z0-9_-] form of any text; other bytes become '_' and, if any did, an 8-hex-digit
  /// FNV-1a hash of the original is appended, so distinct labels get distinct ids.
  [[nodiscard]] static std::string object_id(const std::string& text);

  [[nodiscard]] std::string trigger_config_topic(const std::string& dev,
                                                 const std::string& label) const;
  [[nodiscard]] std::string sensor_config_topic(const std::string& dev) const;
  /// Subscription filters that match every discovery config of this node (for cleanup).
  [[nodiscard]] std::string trigger_config_filter() const;
  [[nodiscard]] std::string sensor_config_filter() const;

  /// The HA device block of one primusd device: identifiers, name, manufacturer, model,
  /// sw_version, via_device (the gateway).
  [[nodiscard]] nlohmann::json ha_device(const std::string& dev) const;
  /// HA MQTT device trigger (automation_type "trigger"): type "gesture", subtype the label,
  /// topic the device's event topic, payload the label.
  [[nodiscard]] nlohmann::json trigger_config(const std::string& dev,
                                              const std::string& label) const;
  /// HA MQTT sensor: state the last gesture's label, attributes the whole gesture message,
  /// available while the daemon is online.
  [[nodiscard]] nlohmann::json sensor_config(const std::string& dev) const;
};

}  // namespace primus::mqtt
