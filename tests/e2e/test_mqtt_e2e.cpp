// End-to-end MQTT: the real primusd binary with replayed devices publishing to a real mosquitto
// broker (started here on 127.0.0.1 with a free port): gesture events with QoS 1, retained
// device state, discovery for the live labels, the summary, "offline" from the last will after
// kill -9; and, with credentials the broker refuses, a clear error while ZeroMQ keeps serving.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "tests/e2e/e2e_support.h"
#include "tests/support/mqtt_broker.h"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using primus::e2e::Child;
using primus::e2e::NotifySocket;
using primus::e2e::slurp;
using primus::e2e::TempDir;
using primus::test::MosquittoBroker;
using primus::test::Received;
using primus::test::Subscriber;

struct MqttE2e : ::testing::Test {
  TempDir dir{"primus_mqtt_e2e"};
  fs::path config = dir.path / "primusd.toml";
  std::string endpoint = "ipc://" + (dir.path / "events.sock").string();

  // A recording of rest, violent shaking and a tilted hold (4 s each): with random weights the
  // best class flips between "still" and "swipe" on it, and with thresholds at zero every flip
  // ends a gesture, so events come quickly. ("idle", the null class, never wins.)
  void write_recording(const fs::path& p) {
    std::ofstream f(p);
    f << "t,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n";
    for (int i = 0; i < 2400; ++i) {
      const double t = i / 100.0;
      const int seg = static_cast<int>(t / 4) % 3;
      f << t << ",";
      if (seg == 0)
        f << "0,0,9.8,0,0,0\n";
      else if (seg == 1)
        f << 40 * std::sin(20 * t) << "," << 30 * std::cos(17 * t) << ","
          << 9.8 + 50 * std::sin(11 * t) << "," << 20 * std::sin(9 * t) << ","
          << 15 * std::cos(13 * t) << "," << 25 * std::sin(7 * t) << "\n";
      else
        f << "-30," << 20 * std::sin(2 * t) << ",-9.8,-10,5,0\n";
    }
  }

  void write_config(int port, const std::string& mqtt_extra = "") {
    write_recording(dir.path / "rec.csv");
    std::ofstream out(config);
    out << "[daemon]\nlog_level = \"info\"\nruntime_dir = \"" << dir.path.string() << "\"\n"
        << "state_dir = \"" << dir.path.string() << "\"\nstatus_interval_s = 0.5\n"
        << "[model]\nthreads = 1\ndevice = \"cpu\"\n"
        << "labels = [\"still\", \"idle\", \"circle\", \"shake\", \"tap\", \"swipe\", \"push\"]\n"
        << "[window]\nlength = 123\nhop = 5\n"
        << "[batcher]\nmax_batch = 8\nmax_delay_us = 5000\n"
        << "[events]\nonset_threshold = 0.0\nrelease_threshold = 0.0\nsmoothing_windows = 1\n"
        << "margin = 0.0\nrefractory_ms = 0\nnull_label = \"idle\"\n"
        << "[bus]\npublish = [\"" << endpoint << "\"]\n"
        << "[mqtt]\nenabled = true\nport = " << port << "\nnode = \"gw-e2e\"\n"
        << "summary_interval_s = 1.0\nreconnect_min_s = 0.1\nreconnect_max_s = 1.0\n"
        << mqtt_extra;
    for (const char* id : {"left-wrist", "right-wrist"})
      out << "[[devices]]\nid = \"" << id
          << "\"\nadapter = \"replay\"\npath = \"rec.csv\"\nspeed = 4.0\nloop = true\n";
  }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

TEST_F(MqttE2e, GestureEventsReachTheBrokerAndTheLastWillFiresOnKill9) {
  MosquittoBroker broker(dir.path);
  Subscriber sub(broker.port(), "dashboard", {"primusd/#", "homeassistant/#"});
  write_config(broker.port());
  const fs::path notify_path = dir.path / "notify.sock";
  NotifySocket notify(notify_path);
  const fs::path log = dir.path / "primusd.log";
  Child d({PRIMUSD_PATH, "--config", config.string()}, {"NOTIFY_SOCKET=" + notify_path.string()},
          log);
  ASSERT_GT(d.pid(), 0);
  std::string seen;
  ASSERT_TRUE(notify.wait_for("READY=1", 120s, &seen)) << seen << "\n" << slurp(log);

  auto count = [](const std::vector<Received>& v, const std::string& suffix) {
    std::size_t n = 0;
    for (const auto& r : v)
      n += r.topic.size() >= suffix.size() &&
           r.topic.compare(r.topic.size() - suffix.size(), suffix.size(), suffix) == 0;
    return n;
  };
  // Gesture end messages ("phase": "end", or none); start messages may come too.
  auto ended = [&](const std::vector<Received>& v) {
    std::size_t n = 0;
    for (const auto& r : v)
      if (count({r}, "/gesture") == 1 &&
          json::parse(r.payload).value("phase", std::string("end")) == "end")
        ++n;
    return n;
  };
  const bool got = sub.wait_for(
      [&](const std::vector<Received>& v) {
        return ended(v) >= 4 && count(v, "/state") >= 2 && count(v, "/summary") >= 1 &&
               count(v, "wrist_swipe/config") >= 2;
      },
      90s);
  const auto msgs = sub.messages();
  ASSERT_TRUE(got) << "gesture " << count(msgs, "/gesture") << " (" << ended(msgs) << " ended)"
                   << ", state " << count(msgs, "/state") << ", summary " << count(msgs, "/summary")
                   << ", configs " << count(msgs, "/config")
                   << (msgs.empty() ? "" : ", first " + msgs.front().topic) << "\n"
                   << slurp(log);

  std::vector<double> latency_ms;
  std::size_t ends = 0;
  for (const auto& r : msgs) {
    if (r.topic == "primusd/gw-e2e/status") {
      EXPECT_EQ(r.qos, 1);
    }
    if (count({r}, "/gesture") == 1) {
      EXPECT_TRUE(r.topic == "primusd/gw-e2e/left-wrist/gesture" ||
                  r.topic == "primusd/gw-e2e/right-wrist/gesture")
          << r.topic;
      EXPECT_EQ(r.qos, 1) << r.topic;
      const auto j = json::parse(r.payload);
      EXPECT_EQ(j.at("type"), "gesture");
      if (j.value("phase", "end") == "end") ++ends;
      latency_ms.push_back(
          static_cast<double>(r.t_wall_ns - j.at("t_wall_ns").get<std::int64_t>()) * 1e-6);
    }
    if (count({r}, "/state") == 1) {
      EXPECT_EQ(r.qos, 1);
    }
    if (count({r}, "/summary") == 1) {
      EXPECT_EQ(r.qos, 0);
      const auto j = json::parse(r.payload);
      EXPECT_EQ(j.at("mqtt").at("connected"), true);
      EXPECT_EQ(j.at("model").at("labels").size(), 7u);
    }
  }
  EXPECT_GE(ends, 4u);
  // No trigger for the null class; one per (device, gesture label).
  EXPECT_EQ(count(msgs, "wrist_idle/config"), 0u);
  EXPECT_GE(count(msgs, "/config"), 2u * 6u + 2u);
  const double p50 = percentile(latency_ms, 0.5), p99 = percentile(latency_ms, 0.99);
  std::printf(
      "primusd -> mosquitto -> subscriber: %zu gesture messages, latency p50 %.2f ms, "
      "p99 %.2f ms\n",
      latency_ms.size(), p50, p99);
  RecordProperty("latency_p50_us", static_cast<int>(p50 * 1000));
  RecordProperty("latency_p99_us", static_cast<int>(p99 * 1000));

  // Retained for a newcomer: online, each device's state and last gesture.
  {
    Subscriber late(broker.port(), "late", {"primusd/gw-e2e/#"});
    ASSERT_TRUE(late.wait_for(
        [](const auto& v) {
          int n = 0;
          for (const auto& r : v)
            n += r.retain && (r.topic == "primusd/gw-e2e/status" ||
                              r.topic == "primusd/gw-e2e/left-wrist/state" ||
                              r.topic == "primusd/gw-e2e/right-wrist/state");
          return n >= 3;
        },
        10s));
    EXPECT_EQ(late.on("primusd/gw-e2e/status").at(0).payload, "online");
  }

  // kill -9: no goodbye from the daemon, the broker publishes its will.
  ::kill(d.pid(), SIGKILL);
  EXPECT_EQ(d.wait(10s), -1);
  ASSERT_TRUE(sub.wait_for(
      [](const auto& v) {
        for (const auto& r : v)
          if (r.topic == "primusd/gw-e2e/status" && r.payload == "offline") return true;
        return false;
      },
      15s))
      << "no last will";
  Subscriber after(broker.port(), "after", {"primusd/gw-e2e/status"});
  ASSERT_TRUE(after.wait_for([](const auto& v) { return !v.empty(); }, 10s));
  EXPECT_EQ(after.messages().at(0).payload, "offline");
  EXPECT_TRUE(after.messages().at(0).retain);
}

TEST_F(MqttE2e, RefusedCredentialsAreNamedAndZeroMqKeepsServing) {
  MosquittoBroker broker(dir.path, primus::test::BrokerOptions::with_password("gw", "right"));
  write_config(broker.port(), "username = \"gw\"\npassword = \"wrong\"\n");
  zmq::context_t ctx(1);
  zmq::socket_t zsub(ctx, zmq::socket_type::sub);
  zsub.set(zmq::sockopt::subscribe, "status");
  zsub.set(zmq::sockopt::rcvtimeo, 200);
  zsub.connect(endpoint);
  const fs::path log = dir.path / "primusd.log";
  Child d({PRIMUSD_PATH, "--config", config.string()}, {}, log);
  std::string last_error;
  int statuses = 0;
  const auto end = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < end && (statuses < 3 || last_error.empty())) {
    zmq::message_t topic, body;
    if (!zsub.recv(topic)) continue;
    ASSERT_TRUE(zsub.recv(body));
    const auto j = json::parse(body.to_string());
    ++statuses;
    EXPECT_EQ(j.at("mqtt").at("connected"), false);
    last_error = j.at("mqtt").at("last_error").get<std::string>();
  }
  EXPECT_GE(statuses, 3) << slurp(log);
  EXPECT_NE(last_error.find("refused the connection"), std::string::npos) << last_error;
  EXPECT_NE(last_error.find("mqtt.username"), std::string::npos) << last_error;
  const std::string text = slurp(log);
  EXPECT_NE(text.find("refused the connection"), std::string::npos) << text;
  ::kill(d.pid(), SIGTERM);
  EXPECT_EQ(d.wait(30s), 0) << slurp(log);
}

}  // namespace
