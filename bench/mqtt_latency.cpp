// MQTT delivery through a real broker: bus message offered to the bridge (the daemon's publish
// time, stamped in the message as t_wall_ns) -> link -> mosquitto -> a subscriber (libmosquitto)
// on the same host. Phase 1: steady stream, latency p50/p99/max. Phase 2: the same stream with
// the broker restarted mid-stream (SIGTERM, persistence on): QoS 1 events lost (goal 0),
// duplicates (at least once), and the latency of the events sent while the broker was away.
//
//   mqtt_latency [--events N] [--rate HZ] [--down-ms MS]
// Needs /usr/sbin/mosquitto (the mosquitto package). Prints one line per phase.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "src/mqtt/bridge.h"
#include "src/mqtt/link.h"
#include "tests/support/mqtt_broker.h"

using namespace primus;
using namespace std::chrono_literals;

namespace {

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

struct Result {
  int sent = 0;
  std::size_t distinct = 0;
  std::size_t received = 0;
  std::vector<double> latency_ms;
};

Result run(int events, double rate_hz, bool restart, int down_ms) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "primus_mqtt_bench_XXXXXX").string();
  const std::filesystem::path dir = mkdtemp(tmpl.data());
  Result res;
  {
    test::MosquittoBroker broker(dir, test::BrokerOptions::persistent());
    test::Subscriber sub(broker.port(), "bench-dashboard", {"primusd/bench/+/gesture"}, 1,
                         /*clean_session=*/false);
    mqtt::LinkOptions o;
    o.port = broker.port();
    o.client_id = "primusd-bench";
    o.will_topic = "primusd/bench/status";
    o.reconnect_min_s = 0.05;
    o.reconnect_max_s = 0.5;
    mqtt::Link link(o);
    mqtt::TopicLayout layout;
    layout.node = "bench";
    mqtt::Bridge bridge(mqtt::BridgeMapper(layout, {"wrist"}, "null", false, 0), link, 100000);
    link.start();
    while (!link.connected()) std::this_thread::sleep_for(10ms);
    const auto period = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / rate_hz));
    auto next = std::chrono::steady_clock::now();
    for (int i = 0; i < events; ++i) {
      nlohmann::json j{{"schema", 1},     {"type", "gesture"}, {"device", "wrist"},
                       {"label", "wave"}, {"seq", i},          {"t_wall_ns", test::wall_ns()}};
      bridge.offer("gesture.wrist", j.dump());
      ++res.sent;
      if (restart && i == events / 2) {
        broker.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(down_ms));
        broker.start();
      }
      next += period;
      std::this_thread::sleep_until(next);
    }
    sub.wait_for(
        [&](const std::vector<test::Received>& v) {
          std::map<int, bool> s;
          for (const auto& r : v) s[nlohmann::json::parse(r.payload).at("seq").get<int>()] = true;
          return s.size() == static_cast<std::size_t>(events);
        },
        30s);
    std::map<int, double> first;
    const auto msgs = sub.messages();
    res.received = msgs.size();
    for (const auto& r : msgs) {
      const auto j = nlohmann::json::parse(r.payload);
      const int seq = j.at("seq").get<int>();
      if (first.count(seq)) continue;
      first[seq] = static_cast<double>(r.t_wall_ns - j.at("t_wall_ns").get<std::int64_t>()) * 1e-6;
    }
    res.distinct = first.size();
    for (const auto& [seq, ms] : first) res.latency_ms.push_back(ms);
    link.stop();
  }
  std::filesystem::remove_all(dir);
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  int events = 2000;
  double rate = 200;
  int down_ms = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--events") events = std::atoi(argv[i + 1]);
    if (a == "--rate") rate = std::atof(argv[i + 1]);
    if (a == "--down-ms") down_ms = std::atoi(argv[i + 1]);
  }
  for (const bool restart : {false, true}) {
    const auto r = run(events, rate, restart, down_ms);
    std::printf(
        "%-28s events %d  distinct received %zu  lost %d  duplicates %zu  latency ms p50 %.3f  "
        "p99 %.3f  max %.1f\n",
        restart ? "broker restart (QoS 1):" : "steady (QoS 1):", r.sent, r.distinct,
        r.sent - static_cast<int>(r.distinct), r.received - r.distinct, pct(r.latency_ms, 0.5),
        pct(r.latency_ms, 0.99), pct(r.latency_ms, 1.0));
  }
  return 0;
}
