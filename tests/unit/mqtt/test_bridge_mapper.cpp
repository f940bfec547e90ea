// The topic layout, Home Assistant discovery payloads and the bridge's translation of bus
// messages, without a broker (the broker tests are tests/integration/test_mqtt.cpp).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "src/mqtt/bridge.h"
#include "src/mqtt/topics.h"

namespace primus::mqtt {
namespace {
using json = nlohmann::json;

TopicLayout layout() {
  TopicLayout l;
  l.node = "clinic-gw2";
  l.version = "0.1.0";
  return l;
}

std::string status(const std::vector<std::string>& labels) {
  return json{{"schema", 1}, {"type", "status"}, {"model", {{"labels", labels}}}}.dump();
}

std::map<std::string, OutMessage> by_topic(const std::vector<OutMessage>& v) {
  std::map<std::string, OutMessage> m;
  for (const auto& o : v) m[o.topic] = o;
  return m;
}

TEST(TopicLayout, TopicsFollowTheDocumentedLayout) {
  const auto l = layout();
  EXPECT_EQ(l.availability(), "primusd/clinic-gw2/status");
  EXPECT_EQ(l.summary(), "primusd/clinic-gw2/summary");
  EXPECT_EQ(l.gesture("left-wrist"), "primusd/clinic-gw2/left-wrist/gesture");
  EXPECT_EQ(l.event("left-wrist"), "primusd/clinic-gw2/left-wrist/event");
  EXPECT_EQ(l.last_gesture("left-wrist"), "primusd/clinic-gw2/left-wrist/last_gesture");
  EXPECT_EQ(l.state("left-wrist"), "primusd/clinic-gw2/left-wrist/state");
  EXPECT_EQ(l.trigger_config_topic("left-wrist", "wave"),
            "homeassistant/device_automation/primusd_clinic-gw2/left-wrist_wave/config");
  EXPECT_EQ(l.sensor_config_topic("left-wrist"),
            "homeassistant/sensor/primusd_clinic-gw2/left-wrist_last_gesture/config");
  EXPECT_EQ(l.trigger_config_filter(),
            "homeassistant/device_automation/primusd_clinic-gw2/+/config");
}

TEST(TopicLayout, ObjectIdsAreSafeAndDistinct) {
  EXPECT_EQ(TopicLayout::object_id("wave_2-x"), "wave_2-x");
  const auto a = TopicLayout::object_id("wave left");
  const auto b = TopicLayout::object_id("wave/left");
  const auto c = TopicLayout::object_id("wave#left");
  EXPECT_EQ(a.rfind("wave_left_", 0), 0u) << a;
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  for (const auto& id : {a, b, c, TopicLayout::object_id("dev.1"), TopicLayout::object_id("")})
    for (const char ch : id)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-') << id;
  // A device id with a dot (allowed in primusd ids) still makes a valid discovery topic.
  EXPECT_EQ(layout().trigger_config_topic("wrist.l", "tap").find('.'), std::string::npos);
}

// https://www.home-assistant.io/integrations/device_trigger.mqtt/: automation_type "trigger",
// topic, type, subtype (required), payload and qos (optional), device with identifiers.
TEST(Discovery, DeviceTriggerFollowsHomeAssistantsSchema) {
  const auto t = layout().trigger_config("left-wrist", "wave");
  const std::set<std::string> allowed{
      "automation_type", "payload", "qos", "topic", "type", "subtype", "device", "value_template"};
  for (const auto& [k, v] : t.items()) EXPECT_TRUE(allowed.count(k)) << "not in the schema: " << k;
  EXPECT_EQ(t.at("automation_type"), "trigger");
  EXPECT_EQ(t.at("topic"), "primusd/clinic-gw2/left-wrist/event");
  EXPECT_EQ(t.at("type"), "gesture");
  EXPECT_EQ(t.at("subtype"), "wave");
  EXPECT_EQ(t.at("payload"), "wave");
  EXPECT_EQ(t.at("qos"), 1);
  const auto& d = t.at("device");
  ASSERT_TRUE(d.at("identifiers").is_array());
  EXPECT_EQ(d.at("identifiers")[0], "primusd_clinic-gw2_left-wrist");
  EXPECT_EQ(d.at("name"), "left-wrist (clinic-gw2)");
  EXPECT_EQ(d.at("via_device"), "primusd_clinic-gw2");
  EXPECT_EQ(d.at("sw_version"), "0.1.0");
}

TEST(Discovery, LastGestureSensorFollowsHomeAssistantsSchema) {
  const auto s = layout().sensor_config("left-wrist");
  EXPECT_EQ(s.at("state_topic"), "primusd/clinic-gw2/left-wrist/last_gesture");
  EXPECT_EQ(s.at("json_attributes_topic"), "primusd/clinic-gw2/left-wrist/last_gesture");
  EXPECT_EQ(s.at("value_template"), "{{ value_json.label }}");
  EXPECT_EQ(s.at("unique_id"), "primusd_clinic-gw2_left-wrist_last_gesture");
  EXPECT_EQ(s.at("availability_topic"), "primusd/clinic-gw2/status");
  EXPECT_EQ(s.at("payload_available"), "online");
  EXPECT_EQ(s.at("payload_not_available"), "offline");
  EXPECT_EQ(s.at("device"), layout().trigger_config("left-wrist", "x").at("device"));
}

TEST(BridgeMapper, GestureStartAndEndKeepTheirPayloadEndsFireTheTrigger) {
  BridgeMapper m(layout(), {"left-wrist"}, "null", true, 0);
  const std::string start = R"({"schema":1,"type":"gesture","phase":"start","label":"wave"})";
  auto out = m.on_bus("gesture.left-wrist", start, 0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].topic, "primusd/clinic-gw2/left-wrist/gesture");
  EXPECT_EQ(out[0].payload, start);
  EXPECT_EQ(out[0].qos, 1);
  EXPECT_FALSE(out[0].retain);
  for (const char* end : {R"({"schema":1,"type":"gesture","phase":"end","label":"wave"})",
                          R"({"schema":1,"type":"gesture","label":"wave"})"}) {
    auto o = by_topic(m.on_bus("gesture.left-wrist", end, 0));
    ASSERT_EQ(o.size(), 3u) << end;
    EXPECT_EQ(o["primusd/clinic-gw2/left-wrist/gesture"].payload, end);
    EXPECT_EQ(o["primusd/clinic-gw2/left-wrist/event"].payload, "wave");
    EXPECT_FALSE(o["primusd/clinic-gw2/left-wrist/event"].retain);
    EXPECT_EQ(o["primusd/clinic-gw2/left-wrist/last_gesture"].payload, end);
    EXPECT_TRUE(o["primusd/clinic-gw2/left-wrist/last_gesture"].retain);
  }
  EXPECT_TRUE(m.on_bus("gesture.left-wrist", "{not json", 0).empty());
  EXPECT_EQ(m.bad_json(), 1u);
  EXPECT_TRUE(m.on_bus("score.left-wrist", "{}", 0).empty());
  EXPECT_TRUE(m.on_bus("truth.left-wrist", "{}", 0).empty());
  const auto dev = m.on_bus("device.left-wrist", R"({"state":"lost"})", 0);
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_EQ(dev[0].topic, "primusd/clinic-gw2/left-wrist/state");
  EXPECT_TRUE(dev[0].retain);
  const auto tr = m.on_bus("training", R"({"event":"activated"})", 0);
  ASSERT_EQ(tr.size(), 1u);
  EXPECT_EQ(tr[0].topic, "primusd/clinic-gw2/training");
}

TEST(BridgeMapper, SummaryIsRetainedAndPaced) {
  BridgeMapper m(layout(), {"a"}, "null", false, 10'000'000'000);
  auto count = [&](std::int64_t t) {
    int n = 0;
    for (const auto& o : m.on_bus("status", status({"null", "wave"}), t))
      if (o.topic == "primusd/clinic-gw2/summary") {
        ++n;
        EXPECT_TRUE(o.retain);
        EXPECT_EQ(o.qos, 0);
      }
    return n;
  };
  EXPECT_EQ(count(1), 1);  // the first one at once
  EXPECT_EQ(count(5'000'000'000), 0);
  EXPECT_EQ(count(10'000'000'001), 1);
  BridgeMapper off(layout(), {"a"}, "null", false, 0);
  EXPECT_TRUE(off.on_bus("status", status({"null"}), 1).empty());
}

TEST(BridgeMapper, DiscoveryFollowsTheLiveLabels) {
  BridgeMapper m(layout(), {"left", "right"}, "null", true, 0);
  EXPECT_TRUE(m.on_connect().empty());  // nothing before the labels are known
  auto first = by_topic(m.on_bus("status", status({"null", "wave", "tap"}), 0));
  // 2 devices x (2 triggers + 1 sensor); no trigger for the null label.
  EXPECT_EQ(first.size(), 6u);
  EXPECT_FALSE(first.count(layout().trigger_config_topic("left", "null")));
  const auto& t = first.at(layout().trigger_config_topic("right", "tap"));
  EXPECT_TRUE(t.retain);
  EXPECT_EQ(json::parse(t.payload).at("subtype"), "tap");
  EXPECT_TRUE(m.on_bus("status", status({"null", "wave", "tap"}), 1).empty());  // no change
  // A swap to a model with circle instead of tap: circle announced, tap removed.
  auto swap = by_topic(m.on_bus("status", status({"null", "wave", "circle"}), 2));
  EXPECT_EQ(swap.size(), 4u);
  EXPECT_EQ(swap.at(layout().trigger_config_topic("left", "tap")).payload, "");
  EXPECT_TRUE(swap.at(layout().trigger_config_topic("left", "tap")).retain);
  EXPECT_NE(swap.at(layout().trigger_config_topic("left", "circle")).payload, "");
  EXPECT_EQ(m.labels(), (std::set<std::string>{"circle", "wave"}));
  EXPECT_EQ(m.on_connect().size(), 6u);  // everything again after a reconnect
}

TEST(BridgeMapper, ConfigsLeftByAnEarlierRunAreRemovedOnceTheLabelsAreKnown) {
  BridgeMapper m(layout(), {"left"}, "null", true, 0);
  const auto stale = layout().trigger_config_topic("left", "shake");
  const auto kept = layout().trigger_config_topic("left", "wave");
  EXPECT_TRUE(m.on_retained_config(stale, false).empty());  // labels unknown: remembered
  EXPECT_TRUE(m.on_retained_config(kept, false).empty());
  auto out = by_topic(m.on_bus("status", status({"null", "wave"}), 0));
  ASSERT_TRUE(out.count(stale));
  EXPECT_EQ(out.at(stale).payload, "");
  EXPECT_NE(out.at(kept).payload, "");
  const auto later = layout().trigger_config_topic("left", "old");
  auto del = m.on_retained_config(later, false);
  ASSERT_EQ(del.size(), 1u);
  EXPECT_EQ(del[0].payload, "");
  EXPECT_TRUE(m.on_retained_config(kept, false).empty());  // our own, wanted
  EXPECT_TRUE(m.on_retained_config(later, true).empty());  // already empty
}

}  // namespace
}  // namespace primus::mqtt
