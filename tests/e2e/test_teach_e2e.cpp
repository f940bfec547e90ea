// End-to-end teaching: the real primusd learns gestures over its control API.
//
// RealGesturesOverUdp: the 26 real Arduino punch/flex gestures (../shared/data) are streamed in
// real time as native frames over UDP from two "devices"; 18 of them (and the rests between) are
// labelled with label.mark over the control API, finetune.run trains and gates a model, which
// goes live; then the 8 held-out gestures are streamed and must come back as gesture events.
// SimulatedGesturesFromTruth: the same with the simulator, labelled from its ground truth
// (truth.<dev> messages), checked against the truth of later gestures.
// Both print what they measured (recognised/held out, wrong events, training decision).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <zmq.hpp>

#include "adapters/codecs/native_frame.h"
#include "bench/gesture_data.h"
#include "src/bus/control_client.h"
#include "tests/e2e/e2e_support.h"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using primus::e2e::Child;
using primus::e2e::NotifySocket;
using primus::e2e::slurp;
using primus::e2e::TempDir;

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Span {
  std::string label;
  std::int64_t t0 = 0, t1 = 0;
};

struct Event {
  std::string device, label;
  std::int64_t onset = 0, offset = 0;
};

/// Collects gesture events from the daemon's PUB socket on a thread.
class EventCollector {
 public:
  EventCollector(zmq::context_t& ctx, const std::string& ep) : sub_(ctx, zmq::socket_type::sub) {
    sub_.set(zmq::sockopt::subscribe, "gesture.");
    sub_.set(zmq::sockopt::subscribe, "truth.");
    if (std::getenv("PRIMUS_TEACH_SCORES") != nullptr) sub_.set(zmq::sockopt::subscribe, "score.");
    sub_.set(zmq::sockopt::rcvtimeo, 100);
    sub_.connect(ep);
    thread_ = std::thread([this] {
      while (!stop_) {
        zmq::message_t topic, body;
        if (!sub_.recv(topic)) continue;
        if (!sub_.recv(body)) continue;
        const auto j = nlohmann::json::parse(body.to_string());
        std::lock_guard lk(mu_);
        if (j["type"] == "score") {
          if (std::getenv("PRIMUS_TEACH_SCORES") != nullptr)
            std::printf("[score] %s %s\n", topic.to_string().c_str(), body.to_string().c_str());
        } else if (j["type"] == "gesture" && j.value("phase", "end") == "start") {
          starts_.push_back({j["device"], j["label"], j["onset"]["t_host_ns"], 0});
        } else if (j["type"] == "gesture") {
          events_.push_back(
              {j["device"], j["label"], j["onset"]["t_host_ns"], j["offset"]["t_host_ns"]});
        } else {
          truth_.push_back({j["device"].get<std::string>() + "/" + j["label"].get<std::string>(),
                            j["t_start_host_ns"], j["t_end_host_ns"]});
        }
      }
    });
  }
  ~EventCollector() {
    stop_ = true;
    thread_.join();
  }
  std::vector<Event> events() {
    std::lock_guard lk(mu_);
    return events_;
  }
  std::vector<Span> truth() {
    std::lock_guard lk(mu_);
    return truth_;
  }
  /// Start messages (their offset is 0).
  std::vector<Event> starts() {
    std::lock_guard lk(mu_);
    return starts_;
  }
  void clear() {
    std::lock_guard lk(mu_);
    starts_.clear();
    events_.clear();
    truth_.clear();
  }

 private:
  zmq::socket_t sub_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Event> events_;
  std::vector<Event> starts_;
  std::vector<Span> truth_;
  std::thread thread_;
};

struct Match {
  int recognised = 0, total = 0, wrong_events = 0;
  std::vector<Event> wrong;
};

/// An event's onset is the END of the first window that voted for it (docs/events.md): it comes
/// after the motion, by up to a window. A gesture is recognised when an event of its device with
/// its label has its onset in [t0, t1 + kLag]; other events count as wrong.
constexpr std::int64_t kLag = 2'600'000'000;  // window (2.5 s) + a hop

bool explains(const Event& e, const std::string& dev, const Span& g) {
  return e.device == dev && e.label == g.label && e.onset >= g.t0 && e.onset <= g.t1 + kLag;
}

Match match(const std::vector<std::pair<std::string, Span>>& gestures,
            const std::vector<Event>& events) {
  Match m;
  std::vector<bool> used(events.size(), false);
  for (const auto& [dev, g] : gestures) {
    ++m.total;
    for (std::size_t k = 0; k < events.size(); ++k) {
      const auto& e = events[k];
      if (!used[k] && explains(e, dev, g)) {
        used[k] = true;
        ++m.recognised;
        break;
      }
    }
  }
  for (std::size_t k = 0; k < events.size(); ++k) {
    if (used[k]) continue;
    bool ok = false;
    for (const auto& [dev, g] : gestures) ok = ok || explains(events[k], dev, g);
    m.wrong_events += ok ? 0 : 1;
    if (!ok) m.wrong.push_back(events[k]);
  }
  return m;
}

nlohmann::json call(zmq::context_t& ctx, const std::string& ep, const std::string& method,
                    const nlohmann::json& params, double timeout_s = 30) {
  return primus::bus::control_call(ctx, ep, method, params, timeout_s);
}

/// Streams gestures[order] with rests as native frames over UDP in real time; records the host
/// span of each gesture (the daemon's clock is CLOCK_MONOTONIC too) and of the middle of each
/// rest (for "null" labels).
void stream_udp(int port, std::uint16_t device_id,
                const std::vector<primus::gesture_data::Gesture>& gestures,
                const std::vector<int>& order, double rest_s, std::vector<Span>& spans,
                std::vector<Span>& rests) {
  namespace native = primus::adapters::codecs::native;
  const auto stream = primus::gesture_data::make_stream(gestures, order, rest_s, 119.0, device_id);
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto start = std::chrono::steady_clock::now();
  int cur = -2;
  std::int64_t seg_start = 0, last = 0;
  std::uint8_t wire[native::kMaxWire];
  for (std::size_t i = 0; i < stream.size(); ++i) {
    std::this_thread::sleep_until(
        start + std::chrono::nanoseconds(static_cast<std::int64_t>(i * 1e9 / 119.0)));
    native::Frame f;
    f.device_id = device_id;
    f.seq = static_cast<std::uint32_t>(i);
    f.t_device_us = static_cast<std::uint64_t>(5'000'000 + i * 1e6 / 119.0);
    for (int c = 0; c < 3; ++c) f.acc[c] = stream[i].v[c], f.gyro[c] = stream[i].v[3 + c];
    const auto n = native::encode(f, wire);
    (void)sendto(fd, wire, n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    const std::int64_t now = mono_ns();
    if (stream[i].gesture != cur) {
      if (cur >= 0)
        spans.push_back({gestures[static_cast<std::size_t>(cur)].label, seg_start, last});
      if (cur == -1 && last - seg_start > 3'000'000'000)  // the middle of a rest: null
        rests.push_back({"null", seg_start + 250'000'000, last - 250'000'000});
      cur = stream[i].gesture;
      seg_start = now;
    }
    last = now;
  }
  if (cur >= 0) spans.push_back({gestures[static_cast<std::size_t>(cur)].label, seg_start, last});
  close(fd);
}

struct TeachFixture : ::testing::Test {
  TempDir dir;
  fs::path config = dir.path / "primusd.toml";
  std::string events_ep = "ipc://" + (dir.path / "events.sock").string();
  std::string control_ep = "ipc://" + (dir.path / "control.sock").string();
  zmq::context_t ctx{1};
};

TEST_F(TeachFixture, RealGesturesOverUdp) {
  const auto gestures = primus::gesture_data::load_punch_flex(PRIMUS_SHARED_DATA_DIR);
  ASSERT_EQ(gestures.size(), 26U);
  const int port = primus::e2e::free_tcp_port();  // UDP: the same number is free in practice
  std::string devs;
  for (int d = 1; d <= 2; ++d)
    devs += "[[devices]]\nid = \"nano" + std::to_string(d) +
            "\"\nadapter = \"udp\"\nudp_bind = \"127.0.0.1:" + std::to_string(port) +
            "\"\ndevice_id = " + std::to_string(d) +
            "\nrate_hz = 119.0\nacc_unit = \"g\"\ngyro_unit = \"deg/s\"\n"
            "gyro_source = \"measured\"\n";
  std::ofstream(config)
      << "[daemon]\nlog_level = \"info\"\nruntime_dir = \"" << dir.path.string()
      << "\"\nstate_dir = \"" << dir.path.string() << "\"\n"
      << "[model]\nthreads = 1\ndevice = \"cpu\"\n"
         "labels = [\"null\", \"punch\", \"flex\"]\n"
      << "[window]\nlength = 125\nhop = 5\n"
      << "[events]\nonset_threshold = 0.6\nrelease_threshold = 0.4\n"
         "smoothing_windows = 3\nmargin = 0.1\nrefractory_ms = 500\n"
         "publish_scores = true\n"
      << "[training]\nmode = \"staged\"\nepochs = 20\nhead_epochs = 5\nstride = 5\n"
         "patience = 6\nval_fraction = 0.25\n"
      << "[bus]\npublish = [\"" << events_ep << "\"]\n"
      << "[control]\nlisten = [\"" << control_ep << "\"]\n"
      << devs;
  NotifySocket notify(dir.path / "notify.sock");
  Child daemon({PRIMUSD_PATH, "--config", config.string()},
               {"NOTIFY_SOCKET=" + (dir.path / "notify.sock").string(), "OMP_WAIT_POLICY=PASSIVE"},
               dir.path / "daemon.log");
  ASSERT_TRUE(notify.wait_for("READY=1", 60s)) << slurp(dir.path / "daemon.log");

  // Every third gesture of each class is held out: 4 punch + 4 flex.
  std::vector<int> teach[2], held[2];
  for (int i = 0; i < 26; ++i) {
    const int k = i % 13;
    (k % 3 == 2 ? held : teach)[i < 13 ? 0 : 1].push_back(i);
  }
  // Device 1 streams the punches, device 2 the flexes, each interleaved with the other class
  // halfway, so both devices see both labels.
  std::vector<int> order1, order2;
  for (std::size_t i = 0; i < teach[0].size(); ++i)
    (i % 2 ? order2 : order1).push_back(teach[0][i]),
        (i % 2 ? order1 : order2).push_back(teach[1][i]);

  std::vector<Span> spans1, spans2, rests1, rests2;
  {
    std::thread a([&] { stream_udp(port, 1, gestures, order1, 3.5, spans1, rests1); });
    std::thread b([&] { stream_udp(port, 2, gestures, order2, 3.5, spans2, rests2); });
    a.join();
    b.join();
  }
  ASSERT_EQ(spans1.size() + spans2.size(), 18U);
  int labelled = 0;
  for (auto [dev, spans] : {std::pair{"nano1", &spans1}, std::pair{"nano2", &spans2},
                            std::pair{"nano1", &rests1}, std::pair{"nano2", &rests2}}) {
    for (const auto& s : *spans) {
      const auto r =
          call(ctx, control_ep, "label.mark",
               {{"device", dev}, {"label", s.label}, {"from_host_ns", s.t0}, {"to_host_ns", s.t1}});
      ASSERT_TRUE(r["ok"].get<bool>()) << r.dump() << slurp(dir.path / "daemon.log");
      EXPECT_GE(r["result"]["windows"].get<int>(), 1) << r.dump();
      ++labelled;
    }
  }
  const auto stats = call(ctx, control_ep, "captures.stats", {});
  ASSERT_TRUE(stats["ok"].get<bool>()) << stats.dump();
  EXPECT_EQ(stats["result"]["captures"].get<int>(), labelled);

  const auto t_train = std::chrono::steady_clock::now();
  const auto ft = call(ctx, control_ep, "finetune.run", {{"wait", true}}, 900);
  ASSERT_TRUE(ft["ok"].get<bool>()) << ft.dump() << slurp(dir.path / "daemon.log");
  const auto& res = ft["result"];
  std::printf(
      "[teach-real] labelled %d captures; fine-tune %s in %.1f s wall: val macro-F1 %.3f "
      "(live %.3f), %d train / %d val windows\n",
      labelled, res["decision"].get<std::string>().c_str(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_train).count(),
      res["metrics"]["val_macro_f1"].get<double>(),
      res["metrics"]["live_val_macro_f1"].get<double>(), res["metrics"]["train_windows"].get<int>(),
      res["metrics"]["val_windows"].get<int>());
  std::printf("[teach-real] validation confusion (rows truth null/punch/flex): %s\n",
              res["metrics"]["val"]["confusion"].dump().c_str());
  ASSERT_EQ(res["decision"], "accepted") << ft.dump();
  const auto models = call(ctx, control_ep, "models.list", {});
  EXPECT_EQ(models["result"]["active"], res["candidate_version"]);

  // Held-out gestures must now come back as events.
  EventCollector events(ctx, events_ep);
  std::this_thread::sleep_for(300ms);
  std::vector<Span> h1, h2, r1, r2;
  {
    std::thread a([&] { stream_udp(port, 1, gestures, held[0], 3.0, h1, r1); });
    std::thread b([&] { stream_udp(port, 2, gestures, held[1], 3.0, h2, r2); });
    a.join();
    b.join();
  }
  std::this_thread::sleep_for(1500ms);
  std::vector<std::pair<std::string, Span>> all;
  for (const auto& s : h1) all.emplace_back("nano1", s);
  for (const auto& s : h2) all.emplace_back("nano2", s);
  const auto evs = events.events();
  const auto m = match(all, evs);
  for (const auto& [dev, g] : all)
    std::printf("[teach-real]   held out %s %-5s %.2f..%.2f s\n", dev.c_str(), g.label.c_str(),
                (g.t0 - all.front().second.t0) / 1e9, (g.t1 - all.front().second.t0) / 1e9);
  for (const auto& e : evs)
    std::printf("[teach-real]   event    %s %-5s %.2f..%.2f s\n", e.device.c_str(), e.label.c_str(),
                (e.onset - all.front().second.t0) / 1e9, (e.offset - all.front().second.t0) / 1e9);
  std::printf(
      "[teach-real] held-out gestures recognised as events: %d / %d; events with a wrong "
      "label or outside any gesture: %d\n",
      m.recognised, m.total, m.wrong_events);
  EXPECT_EQ(m.total, 8);
  EXPECT_GE(m.recognised, 6) << slurp(dir.path / "daemon.log");
  EXPECT_LE(m.wrong_events, 3);
  // Every gesture event was announced by a start message first (same device, label, onset).
  const auto starts = events.starts();
  for (const auto& e : evs) {
    const bool announced = std::any_of(starts.begin(), starts.end(), [&](const Event& s) {
      return s.device == e.device && s.label == e.label && s.onset == e.onset;
    });
    EXPECT_TRUE(announced) << e.device << " " << e.label << " at " << e.onset;
  }

  kill(daemon.pid(), SIGTERM);
  EXPECT_EQ(daemon.wait(30s), 0);

  // The activation survives a restart: the fine-tuned version is loaded again.
  NotifySocket notify2(dir.path / "notify2.sock");
  Child again({PRIMUSD_PATH, "--config", config.string()},
              {"NOTIFY_SOCKET=" + (dir.path / "notify2.sock").string(), "OMP_WAIT_POLICY=PASSIVE"},
              dir.path / "daemon2.log");
  ASSERT_TRUE(notify2.wait_for("READY=1", 60s)) << slurp(dir.path / "daemon2.log");
  const auto st = call(ctx, control_ep, "status", {});
  ASSERT_TRUE(st["ok"].get<bool>()) << st.dump();
  EXPECT_EQ(st["result"]["model"]["version"],
            "v" + std::to_string(res["candidate_version"].get<int>()));
  EXPECT_EQ(call(ctx, control_ep, "models.list", {})["result"]["active"], res["candidate_version"]);
  kill(again.pid(), SIGTERM);
  EXPECT_EQ(again.wait(30s), 0);
}

TEST_F(TeachFixture, SimulatedGesturesFromTruth) {
  std::ofstream(config)
      << "[daemon]\nlog_level = \"info\"\nruntime_dir = \"" << dir.path.string()
      << "\"\nstate_dir = \"" << dir.path.string() << "\"\n"
      << "[model]\nthreads = 1\ndevice = \"cpu\"\n"
      << "[window]\nlength = 125\nhop = 5\n"
      << "[events]\nonset_threshold = 0.7\nrelease_threshold = 0.4\n"
         "smoothing_windows = 5\nmargin = 0.2\nrefractory_ms = 300\n"
         "min_duration_ms = 500\n"
      << "[training]\nmode = \"staged\"\nepochs = 20\nhead_epochs = 5\n"
         "stride = 5\npatience = 6\n"
      << "[bus]\npublish = [\"" << events_ep << "\"]\n"
      << "[control]\nlisten = [\"" << control_ep << "\"]\n"
      << "[[devices]]\nid = \"s1\"\nadapter = \"sim\"\nrate_hz = 100.0\nseed = 5\n"
      << "[[devices]]\nid = \"s2\"\nadapter = \"sim\"\nrate_hz = 100.0\nseed = 6\n"
      << "[[devices]]\nid = \"s3\"\nadapter = \"sim\"\nrate_hz = 100.0\nseed = 7\n"
      << "[[devices]]\nid = \"s4\"\nadapter = \"sim\"\nrate_hz = 100.0\nseed = 8\n";
  NotifySocket notify(dir.path / "notify.sock");
  Child daemon({PRIMUSD_PATH, "--config", config.string()},
               {"NOTIFY_SOCKET=" + (dir.path / "notify.sock").string(), "OMP_WAIT_POLICY=PASSIVE"},
               dir.path / "daemon.log");
  ASSERT_TRUE(notify.wait_for("READY=1", 60s)) << slurp(dir.path / "daemon.log");
  EventCollector bus(ctx, events_ep);
  // Teach for 60 s: label every gesture the simulator reports, and idle stretches >= 2.7 s.
  int labelled = 0;
  std::size_t seen = 0;
  const auto end = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(200ms);
    const auto truth = bus.truth();
    for (; seen < truth.size(); ++seen) {
      const auto& t = truth[seen];
      const auto slash = t.label.find('/');
      const auto dev = t.label.substr(0, slash);
      const auto label = t.label.substr(slash + 1);
      std::int64_t a = t.t0, b = t.t1;
      if (label == "null") {
        // Idle, widened by 0.4 s into the gestures on either side: windows that hold only the
        // edge of a gesture are "nothing complete happening" too (docs/training.md).
        a -= 400'000'000, b += 400'000'000;
        if (b - a < 2'600'000'000) continue;
      }
      const auto r =
          call(ctx, control_ep, "label.mark",
               {{"device", dev}, {"label", label}, {"from_host_ns", a}, {"to_host_ns", b}});
      if (label == "null" && !r["ok"].get<bool>()) continue;  // before the stream began
      ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
      ++labelled;
    }
  }
  const auto ft = call(ctx, control_ep, "finetune.run", {{"wait", true}}, 900);
  ASSERT_TRUE(ft["ok"].get<bool>()) << ft.dump() << slurp(dir.path / "daemon.log");
  const auto& res = ft["result"];
  std::printf(
      "[teach-sim] labelled %d captures; fine-tune %s: val macro-F1 %.3f (live %.3f), "
      "%d train / %d val windows, %.1f s\n",
      labelled, res["decision"].get<std::string>().c_str(),
      res["metrics"]["val_macro_f1"].get<double>(),
      res["metrics"]["live_val_macro_f1"].get<double>(), res["metrics"]["train_windows"].get<int>(),
      res["metrics"]["val_windows"].get<int>(), res["metrics"]["seconds"].get<double>());
  ASSERT_EQ(res["decision"], "accepted") << ft.dump();

  // Score the next 30 s of gestures against the truth.
  bus.clear();
  std::this_thread::sleep_for(30s);
  std::vector<std::pair<std::string, Span>> gestures;
  for (const auto& t : bus.truth()) {
    const auto slash = t.label.find('/');
    if (t.label.substr(slash + 1) == "null") continue;
    gestures.emplace_back(t.label.substr(0, slash), Span{t.label.substr(slash + 1), t.t0, t.t1});
  }
  const auto m = match(gestures, bus.events());
  std::printf("[teach-sim] later gestures recognised as events: %d / %d; wrong events: %d\n",
              m.recognised, m.total, m.wrong_events);
  const auto truth_all = bus.truth();
  for (const auto& e : m.wrong) {
    std::string during = "?";
    for (const auto& t : truth_all)
      if (t.label.rfind(e.device + "/", 0) == 0 && t.t0 <= e.onset && e.onset <= t.t1)
        during = t.label.substr(e.device.size() + 1);
    std::printf("[teach-sim]   wrong: %s %s for %.2f s, onset during %s\n", e.device.c_str(),
                e.label.c_str(), (e.offset - e.onset) / 1e9, during.c_str());
  }
  EXPECT_GE(m.total, 8);
  EXPECT_GE(m.recognised, m.total / 2) << slurp(dir.path / "daemon.log");

  // Rollback to the base model and back, over the API.
  const auto rb = call(ctx, control_ep, "models.rollback", {});
  ASSERT_TRUE(rb["ok"].get<bool>()) << rb.dump();
  EXPECT_EQ(rb["result"]["active"], 0);
  kill(daemon.pid(), SIGTERM);
  EXPECT_EQ(daemon.wait(30s), 0);
}

}  // namespace
