// MQTT against a real mosquitto broker on 127.0.0.1 (a free port, a config generated in a temp
// folder): the bridge's topics with their QoS and retain flags, Home Assistant discovery kept in
// step with the live labels, no QoS 1 event lost across a broker restart (persistent sessions),
// TLS with certificates made by openssl now, refused credentials reported by name, and the mqtt
// source feeding a device pipeline's windows as a UDP device does.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "adapters/mqtt_source.h"
#include "pty_helpers.h"
#include "src/config/config.h"
#include "src/mqtt/bridge.h"
#include "src/mqtt/link.h"
#include "src/signal/device_pipeline.h"
#include "tests/support/mqtt_broker.h"

namespace primus::mqtt {
namespace {
using namespace std::chrono_literals;
using test::MosquittoBroker;
using test::Received;
using test::Subscriber;
using json = nlohmann::json;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "primus_mqtt_XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

LinkOptions options(int port, const std::string& node = "gw1") {
  LinkOptions o;
  o.port = port;
  o.client_id = "primusd-" + node;
  o.will_topic = "primusd/" + node + "/status";
  o.reconnect_min_s = 0.05;
  o.reconnect_max_s = 0.5;
  return o;
}

BridgeMapper mapper(const std::string& node = "gw1") {
  TopicLayout l;
  l.node = node;
  l.version = "test";
  return BridgeMapper(l, {"left-wrist"}, "null", true, 0);
}

std::string status_with(const std::vector<std::string>& labels) {
  return json{{"schema", 1}, {"type", "status"}, {"model", {{"version", "v1"}, {"labels", labels}}}}
      .dump();
}

std::string gesture(const std::string& phase, const std::string& label, int seq) {
  json j{{"schema", 1},    {"type", "gesture"}, {"device", "left-wrist"},
         {"label", label}, {"seq", seq},        {"t_wall_ns", test::wall_ns()}};
  if (!phase.empty()) j["phase"] = phase;
  return j.dump();
}

bool has(const std::vector<Received>& v, const std::string& topic, std::size_t n = 1) {
  std::size_t k = 0;
  for (const auto& r : v) k += r.topic == topic;
  return k >= n;
}

TEST(Mqtt, EventsArriveWithThePromisedQosAndRetainFlags) {
  TempDir dir;
  MosquittoBroker broker(dir.path);
  Subscriber live(broker.port(), "live", {"primusd/#", "homeassistant/#"});
  Link link(options(broker.port()));
  Bridge bridge(mapper(), link, 1000);
  link.start();
  bridge.offer("status", status_with({"null", "wave", "circle"}));
  bridge.offer("device.left-wrist", R"({"schema":1,"type":"device","state":"connected"})");
  const std::string start = gesture("start", "wave", 0);
  const std::string end = gesture("end", "wave", 0);
  bridge.offer("gesture.left-wrist", start);
  bridge.offer("gesture.left-wrist", end);
  bridge.offer("score.left-wrist", "{}");  // not forwarded
  ASSERT_TRUE(live.wait_for(
      [](const auto& v) {
        return has(v, "primusd/gw1/left-wrist/gesture", 2) &&
               has(v, "primusd/gw1/left-wrist/event") &&
               has(v, "primusd/gw1/left-wrist/last_gesture") &&
               has(v, "primusd/gw1/left-wrist/state") && has(v, "primusd/gw1/status") &&
               has(v, "homeassistant/device_automation/primusd_gw1/left-wrist_circle/config") &&
               has(v, "homeassistant/device_automation/primusd_gw1/left-wrist_wave/config") &&
               has(v, "homeassistant/sensor/primusd_gw1/left-wrist_last_gesture/config");
      },
      10s));  // everything is at the broker before the late subscriber comes
  const auto g = live.on("primusd/gw1/left-wrist/gesture");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].payload, start);  // the bus JSON as it was, start first
  EXPECT_EQ(g[1].payload, end);
  for (const auto& r : g) EXPECT_EQ(r.qos, 1);
  const auto e = live.on("primusd/gw1/left-wrist/event");
  ASSERT_EQ(e.size(), 1u);  // only the end of a gesture fires the trigger
  EXPECT_EQ(e[0].payload, "wave");
  EXPECT_EQ(e[0].qos, 1);
  EXPECT_EQ(live.on("primusd/gw1/status").at(0).payload, "online");
  EXPECT_EQ(live.on("primusd/gw1/status").at(0).qos, 1);
  for (const auto& r : live.messages())
    EXPECT_NE(r.topic, "primusd/gw1/left-wrist/score") << r.topic;

  // A subscriber that comes later sees exactly the retained state, with the retain flag.
  Subscriber late(broker.port(), "late", {"primusd/#", "homeassistant/#"});
  ASSERT_TRUE(late.wait_for(
      [](const auto& v) {
        return has(v, "primusd/gw1/left-wrist/last_gesture") &&
               has(v, "primusd/gw1/left-wrist/state") && has(v, "primusd/gw1/status") &&
               has(v, "homeassistant/device_automation/primusd_gw1/left-wrist_circle/config") &&
               has(v, "homeassistant/device_automation/primusd_gw1/left-wrist_wave/config") &&
               has(v, "homeassistant/sensor/primusd_gw1/left-wrist_last_gesture/config");
      },
      10s));
  std::this_thread::sleep_for(200ms);  // anything else retained would have come by now
  std::set<std::string> topics;
  for (const auto& r : late.messages()) {
    EXPECT_TRUE(r.retain) << r.topic;
    EXPECT_EQ(r.qos, 1) << r.topic;
    topics.insert(r.topic);
  }
  EXPECT_FALSE(topics.count("primusd/gw1/left-wrist/gesture"));
  EXPECT_FALSE(topics.count("primusd/gw1/left-wrist/event"));
  EXPECT_FALSE(topics.count("homeassistant/device_automation/primusd_gw1/left-wrist_null/config"));
  EXPECT_EQ(late.on("primusd/gw1/left-wrist/last_gesture").at(0).payload, end);

  // Discovery payloads as Home Assistant's MQTT device trigger and sensor schemas want them.
  const auto trig = json::parse(
      late.on("homeassistant/device_automation/primusd_gw1/left-wrist_wave/config").at(0).payload);
  EXPECT_EQ(trig.at("automation_type"), "trigger");
  EXPECT_EQ(trig.at("type"), "gesture");
  EXPECT_EQ(trig.at("subtype"), "wave");
  EXPECT_EQ(trig.at("topic"), "primusd/gw1/left-wrist/event");
  EXPECT_EQ(trig.at("payload"), "wave");
  EXPECT_EQ(trig.at("qos"), 1);
  EXPECT_EQ(trig.at("device").at("identifiers"), json::array({"primusd_gw1_left-wrist"}));
  EXPECT_TRUE(trig.at("device").at("name").is_string());
  const auto sensor = json::parse(
      late.on("homeassistant/sensor/primusd_gw1/left-wrist_last_gesture/config").at(0).payload);
  EXPECT_EQ(sensor.at("state_topic"), "primusd/gw1/left-wrist/last_gesture");
  EXPECT_EQ(sensor.at("availability_topic"), "primusd/gw1/status");
  EXPECT_EQ(sensor.at("payload_available"), "online");
  EXPECT_EQ(sensor.at("payload_not_available"), "offline");
  EXPECT_EQ(sensor.at("value_template"), "{{ value_json.label }}");
  EXPECT_EQ(sensor.at("device"), trig.at("device"));

  // "circle" leaves the live model: its trigger is removed (an empty retained message).
  bridge.offer("status", status_with({"null", "wave"}));
  ASSERT_TRUE(live.wait_for(
      [](const auto& v) {
        for (const auto& r : v)
          if (r.topic == "homeassistant/device_automation/primusd_gw1/left-wrist_circle/config" &&
              r.payload.empty())
            return true;
        return false;
      },
      10s))
      << "no removal of the circle trigger";
  Subscriber after(broker.port(), "after", {"homeassistant/#"});
  ASSERT_TRUE(after.wait_for(
      [](const auto& v) {
        return has(v, "homeassistant/device_automation/primusd_gw1/left-wrist_wave/config");
      },
      10s));
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(
      after.on("homeassistant/device_automation/primusd_gw1/left-wrist_circle/config").empty());

  link.stop();  // a clean stop says offline itself
  Subscriber last(broker.port(), "last", {"primusd/gw1/status"});
  ASSERT_TRUE(last.wait_for([](const auto& v) { return !v.empty(); }, 10s));
  EXPECT_EQ(last.messages().at(0).payload, "offline");
  EXPECT_EQ(link.stats().dropped_queue, 0u);
}

TEST(Mqtt, SeveralGatewaysOnOneBrokerAreSeenByOneSubscriber) {
  TempDir dir;
  MosquittoBroker broker(dir.path);
  Subscriber all(broker.port(), "site-dashboard", {"primusd/+/+/gesture", "primusd/+/status"});
  std::vector<std::unique_ptr<Link>> links;
  std::vector<std::unique_ptr<Bridge>> bridges;
  for (const char* node : {"ward-a", "ward-b", "lobby"}) {
    links.push_back(std::make_unique<Link>(options(broker.port(), node)));
    bridges.push_back(std::make_unique<Bridge>(mapper(node), *links.back(), 100));
    links.back()->start();
  }
  for (auto& b : bridges) b->offer("gesture.left-wrist", gesture("end", "tap", 1));
  ASSERT_TRUE(all.wait_for(
      [](const std::vector<Received>& v) {
        return has(v, "primusd/ward-a/left-wrist/gesture") &&
               has(v, "primusd/ward-b/left-wrist/gesture") &&
               has(v, "primusd/lobby/left-wrist/gesture") && has(v, "primusd/ward-a/status") &&
               has(v, "primusd/ward-b/status") && has(v, "primusd/lobby/status");
      },
      10s));
  // Each node has its own session: stopping one leaves the others online.
  links[1]->stop();
  ASSERT_TRUE(all.wait_for(
      [](const std::vector<Received>& v) {
        for (const auto& r : v)
          if (r.topic == "primusd/ward-b/status" && r.payload == "offline") return true;
        return false;
      },
      10s));
  for (const auto& r : all.on("primusd/ward-a/status")) EXPECT_EQ(r.payload, "online");
  EXPECT_TRUE(links[0]->connected());
  EXPECT_TRUE(links[2]->connected());
}

TEST(Mqtt, ABrokerRestartMidStreamLosesNoQos1GestureEvent) {
  TempDir dir;
  MosquittoBroker broker(dir.path, test::BrokerOptions::persistent());
  auto sub = std::make_unique<Subscriber>(broker.port(), "dashboard",
                                          std::vector<std::string>{"primusd/gw1/+/gesture"}, 1,
                                          /*clean_session=*/false);
  Link link(options(broker.port()));
  Bridge bridge(mapper(), link, 10000);
  link.start();
  constexpr int kEvents = 300;
  for (int i = 0; i < kEvents; ++i) {
    bridge.offer("gesture.left-wrist", gesture("", "wave", i));
    if (i == kEvents / 2) {
      broker.stop();  // SIGTERM: mosquitto writes its persistence file
      std::this_thread::sleep_for(300ms);
      broker.start();
    }
    std::this_thread::sleep_for(2ms);
  }
  std::set<int> seqs;
  const bool all = sub->wait_for(
      [&](const std::vector<test::Received>& v) {
        seqs.clear();
        for (const auto& r : v) seqs.insert(json::parse(r.payload).at("seq").get<int>());
        return seqs.size() == static_cast<std::size_t>(kEvents);
      },
      30s);
  const auto st = link.stats();
  EXPECT_TRUE(all) << "received " << seqs.size() << " of " << kEvents << "; link: published "
                   << st.published << ", queued " << st.queue_depth << ", dropped "
                   << st.dropped_queue << ", last error " << st.last_error;
  EXPECT_EQ(st.dropped_queue, 0u);
  EXPECT_GE(st.connects, 2u);  // it did reconnect
  RecordProperty("received_messages", static_cast<int>(sub->messages().size()));
  RecordProperty("distinct_events", static_cast<int>(seqs.size()));
}

TEST(Mqtt, TlsWithClientCertificatesMadeByOpenssl) {
  TempDir dir;
  test::make_test_certificates(dir.path);
  MosquittoBroker broker(dir.path, test::BrokerOptions::tls_with_client_certificates());
  auto o = options(broker.port());
  o.ca_file = (dir.path / "ca.crt").string();
  o.cert_file = (dir.path / "client.crt").string();
  o.key_file = (dir.path / "client.key").string();
  Link link(o);
  std::mutex mu;
  std::vector<std::string> got;
  link.subscribe("primusd/gw1/#", 1,
                 [&](const std::string& topic, std::span<const std::uint8_t> p, bool) {
                   std::lock_guard lk(mu);
                   got.push_back(topic + "=" + std::string(p.begin(), p.end()));
                 });
  link.start();
  link.publish("primusd/gw1/left-wrist/event", "wave", 1, false);
  const auto end = std::chrono::steady_clock::now() + 15s;
  auto seen = [&] {
    std::lock_guard lk(mu);
    for (const auto& g : got)
      if (g == "primusd/gw1/left-wrist/event=wave") return true;
    return false;
  };
  while (!seen() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(seen()) << link.stats().last_error;
  EXPECT_NE(link.broker().find("TLS"), std::string::npos);

  // Without a client certificate the broker refuses the handshake; the error says TLS/SSL.
  auto no_cert = options(broker.port(), "gw2");
  no_cert.ca_file = o.ca_file;
  Link refused(no_cert);
  refused.start();
  const auto end2 = std::chrono::steady_clock::now() + 15s;
  while (refused.stats().connect_failures == 0 && std::chrono::steady_clock::now() < end2)
    std::this_thread::sleep_for(20ms);
  const auto st = refused.stats();
  EXPECT_FALSE(st.connected);
  EXPECT_GE(st.connect_failures, 1u);
  EXPECT_NE(st.last_error.find("127.0.0.1:" + std::to_string(broker.port()) + " (TLS)"),
            std::string::npos)
      << st.last_error;
}

TEST(Mqtt, RefusedCredentialsGiveAClearErrorAndRightOnesConnect) {
  TempDir dir;
  MosquittoBroker broker(dir.path, test::BrokerOptions::with_password("gw", "s3cret"));
  auto bad = options(broker.port());
  bad.username = "gw";
  bad.password = "wrong";
  Link refused(bad);
  refused.start();
  const auto end = std::chrono::steady_clock::now() + 15s;
  while (refused.stats().connect_failures == 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(20ms);
  const auto st = refused.stats();
  EXPECT_FALSE(st.connected);
  EXPECT_NE(st.last_error.find("refused the connection"), std::string::npos) << st.last_error;
  EXPECT_NE(st.last_error.find("mqtt.username"), std::string::npos) << st.last_error;
  refused.stop();

  auto good = options(broker.port(), "gw3");
  good.username = "gw";
  good.password = "s3cret";
  Link ok(good);
  ok.start();
  const auto end2 = std::chrono::steady_clock::now() + 15s;
  while (!ok.connected() && std::chrono::steady_clock::now() < end2)
    std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(ok.connected()) << ok.stats().last_error;
}

TEST(Mqtt, TheMqttSourceFeedsWindowsLikeAUdpDevice) {
  TempDir dir;
  MosquittoBroker broker(dir.path);
  Link link(options(broker.port()));
  link.start();
  const Config cfg = load_config_string(
      "[mqtt]\nenabled = true\nnode = \"gw1\"\n"
      "[window]\nlength = 123\nhop = 10\n"
      "[[devices]]\nid = \"esp\"\nadapter = \"mqtt\"\ncodec = \"json\"\nrate_hz = 100\n"
      "mqtt_topic = \"sensors/esp/imu\"\nmqtt_qos = 1\nacc_unit = \"g\"\n"
      "json_fields = [\"acc_x=ax\", \"acc_y=ay\", \"acc_z=az\", \"gyro_x=g.x\", \"gyro_y=g.y\","
      " \"gyro_z=g.z\", \"t_ms=ts\"]\n"
      "[[devices]]\nid = \"csv\"\nadapter = \"mqtt\"\ncodec = \"csv\"\nrate_hz = 100\n"
      "mqtt_topic = \"sensors/+/csv\"\n"
      "csv_columns = [\"t_ms\", \"acc_x\", \"acc_y\", \"acc_z\", \"gyro_x\", \"gyro_y\", "
      "\"gyro_z\"]\n");
  boost::asio::io_context io;
  std::vector<std::unique_ptr<signal::DevicePipeline>> pipes;
  std::vector<std::unique_ptr<adapters::Source>> sources;
  std::vector<int> windows(2, 0);
  std::vector<std::vector<std::string>> states(2);
  for (std::uint32_t i = 0; i < 2; ++i) {
    pipes.push_back(std::make_unique<signal::DevicePipeline>(cfg.devices[i], cfg.window, i));
    adapters::SourceContext ctx{
        io, SteadyTimeSource::instance(),
        [&, i](const Sample& s) { pipes[i]->push(s, [&, i](Window&&) { ++windows[i]; }); },
        [&, i](adapters::SourceState st, const std::string&) {
          states[i].push_back(adapters::to_string(st));
        }};
    ctx.mqtt = &link;
    sources.push_back(adapters::make_source(cfg.devices[i], i, std::move(ctx)));
    sources.back()->start();
  }
  ASSERT_TRUE(test::run_until(
      io, [&] { return link.connected(); }, 15s));
  test::run_until(
      io, [] { return false; }, 300ms);  // the SUBSCRIBEs go out
  Subscriber sensor(broker.port(), "esp32", {"unused/#"});
  // 4 s at 100 Hz, sent in real time: JSON in batches of 5 samples, csv one line per message;
  // then a bad payload or two.
  for (int k = 0; k < 400; k += 5) {
    json batch = json::array();
    for (int j = k; j < k + 5; ++j)
      batch.push_back({{"ts", j * 10},
                       {"ax", 0.01 * j},
                       {"ay", 0.0},
                       {"az", 1.0},
                       {"g", {{"x", 0.1}, {"y", 0.0}, {"z", -0.1}}}});
    sensor.publish("sensors/esp/imu", batch.dump(), 1);
    for (int j = k; j < k + 5; ++j)
      sensor.publish("sensors/b/csv", std::to_string(j * 10) + ",0.1,0,9.8,0.2,0,0", 0);
    test::run_until(
        io, [] { return false; }, 50ms);  // in real time: 5 samples per 50 ms
  }
  sensor.publish("sensors/esp/imu", "{\"ax\": 1", 1);    // not JSON
  sensor.publish("sensors/esp/imu", R"({"ay": 1})", 1);  // no accelerometer
  sensor.publish("sensors/b/csv", "not,a,number", 0);
  ASSERT_TRUE(test::run_until(
      io,
      [&] {
        return sources[0]->stats().samples == 400 && sources[0]->stats().decode_errors == 2 &&
               sources[1]->stats().decode_errors == 1;
      },
      15s))
      << "json samples " << sources[0]->stats().samples << ", errors "
      << sources[0]->stats().decode_errors << "; csv samples " << sources[1]->stats().samples;
  EXPECT_GE(sources[1]->stats().samples, 390u);  // QoS 0 on loopback: all, in practice
  // 4 s of samples -> (4 s * 50 Hz - 123) / 10 + 1 windows or so for each device.
  EXPECT_GE(windows[0], 5);
  EXPECT_GE(windows[1], 5);
  EXPECT_EQ(pipes[0]->counters().dropped_duplicate, 0u);
  for (const auto& s : states) {
    ASSERT_GE(s.size(), 2u);
    EXPECT_EQ(s[0], "connecting");
    EXPECT_EQ(s[1], "connected");
  }
  for (auto& s : sources) s->stop();
  sources.clear();
  link.stop();
}

}  // namespace
}  // namespace primus::mqtt
