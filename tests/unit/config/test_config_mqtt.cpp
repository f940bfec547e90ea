// [mqtt] and the mqtt device keys: defaults, derived names, and errors that name the key.
#include <gtest/gtest.h>

#include <string>

#include "src/config/config.h"

namespace primus {
namespace {

const std::string kSim = "[[devices]]\nid = \"w1\"\nadapter = \"sim\"\n";

std::string error_of(const std::string& toml) {
  try {
    load_config_string(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ConfigMqtt, OffByDefaultWithDerivedNames) {
  const Config c = load_config_string(kSim);
  EXPECT_FALSE(c.mqtt.enabled);
  EXPECT_EQ(c.mqtt.port, 1883);
  EXPECT_EQ(c.mqtt.qos, 1);
  EXPECT_FALSE(c.mqtt.node.empty());  // the host name
  EXPECT_EQ(c.mqtt.client_id, "primusd-" + c.mqtt.node);
  const Config n = load_config_string("[mqtt]\nenabled = true\nnode = \"gw-2\"\n" + kSim);
  EXPECT_EQ(n.mqtt.client_id, "primusd-gw-2");
}

TEST(ConfigMqtt, ErrorsNameTheKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"[mqtt]\nport = 0\n", "mqtt.port = 0"},
      {"[mqtt]\nnode = \"a/b\"\n", "mqtt.node = \"a/b\""},
      {"[mqtt]\nqos = 3\n", "mqtt.qos = 3"},
      {"[mqtt]\npassword = \"x\"\n", "mqtt.password = \"...\": needs mqtt.username"},
      {"[mqtt]\ntopic_prefix = \"a/#\"\n", "mqtt.topic_prefix = \"a/#\""},
      {"[mqtt]\ndiscovery_prefix = \"/ha\"\n", "mqtt.discovery_prefix = \"/ha\""},
      {"[mqtt]\nqueue = 2\n", "mqtt.queue = 2"},
      {"[mqtt]\nca_file = \"/nonexistent/ca.crt\"\n", "mqtt.ca_file = \"/nonexistent/ca.crt\""},
      {"[mqtt]\nreconnect_min_s = 5.0\nreconnect_max_s = 1.0\n", "mqtt.reconnect_max_s = 1"},
      {"[mqtt]\nbogus = 1\n", "mqtt.bogus = 1: unknown key"},
  };
  for (const auto& [toml, want] : cases)
    EXPECT_NE(error_of(toml + kSim).find(want), std::string::npos) << error_of(toml + kSim);
}

TEST(ConfigMqtt, MqttDevices) {
  const std::string on = "[mqtt]\nenabled = true\nnode = \"gw\"\n";
  const Config c = load_config_string(
      on +
      "[[devices]]\nid = \"esp\"\nadapter = \"mqtt\"\ncodec = \"json\"\n"
      "mqtt_topic = \"sensors/+/imu\"\njson_fields = [\"acc_x=ax\", \"t_ms=ts\"]\n");
  EXPECT_EQ(c.devices[0].adapter, AdapterKind::kMqtt);
  EXPECT_EQ(c.devices[0].codec, CodecKind::kJson);
  EXPECT_EQ(c.devices[0].mqtt_topic, "sensors/+/imu");
  const Config n = load_config_string(
      on + "[[devices]]\nid = \"esp\"\nadapter = \"mqtt\"\nmqtt_topic = \"s/imu\"\n");
  EXPECT_EQ(n.devices[0].codec, CodecKind::kNative);  // as every live adapter

  const std::string dev = "[[devices]]\nid = \"esp\"\nadapter = \"mqtt\"\n";
  EXPECT_NE(error_of(dev + "mqtt_topic = \"s\"\n").find("devices[0].adapter = \"mqtt\": needs"),
            std::string::npos)
      << error_of(dev);
  EXPECT_NE(error_of(on + dev).find("devices[0].mqtt_topic = (missing)"), std::string::npos);
  for (const char* bad : {"a/#/b", "a+/b", "a/b#"})
    EXPECT_NE(error_of(on + dev + "mqtt_topic = \"" + bad + "\"\n")
                  .find(std::string("devices[0].mqtt_topic = \"") + bad + "\""),
              std::string::npos)
        << bad;
  EXPECT_NE(error_of(on + dev + "mqtt_topic = \"s\"\ncodec = \"json\"\njson_fields = [\"acc\"]\n")
                .find("devices[0].json_fields[0] = \"acc\""),
            std::string::npos);
  EXPECT_NE(error_of(on + dev + "mqtt_topic = \"s\"\njson_fields = [\"acc_x=a\"]\n")
                .find("only applies to codec = \"json\""),
            std::string::npos);
  EXPECT_NE(error_of(on + "[[devices]]\nid = \"u\"\nadapter = \"udp\"\ndevice_id = 1\n"
                          "codec = \"json\"\n")
                .find("devices[0].codec = \"json\": the json codec applies to mqtt devices only"),
            std::string::npos);
  EXPECT_NE(
      error_of(on + dev + "mqtt_topic = \"s\"\nmqtt_qos = 5\n").find("devices[0].mqtt_qos = 5"),
      std::string::npos);
}

}  // namespace
}  // namespace primus
