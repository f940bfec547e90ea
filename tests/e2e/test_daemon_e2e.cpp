// End-to-end: start the real primusd on a temporary config with a replay device, wait for
// READY=1 on a NOTIFY_SOCKET we own, subscribe over ZeroMQ, check what arrives, reload, stop.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "src/model/classifier.h"

#include "tests/e2e/e2e_support.h"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using primus::e2e::Child;
using primus::e2e::http_get;
using primus::e2e::NotifySocket;
using primus::e2e::slurp;
using primus::e2e::TempDir;

/// 100 Hz recording with acc and gyro: a slow rotation with a burst of shaking.
void write_recording(const fs::path& p, double seconds) {
  std::ofstream out(p);
  out << "t,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n";
  for (int i = 0; i < static_cast<int>(seconds * 100); ++i) {
    const double t = i / 100.0;
    out << t << "," << 0.3 * std::sin(t) << "," << 0.2 << "," << 9.8 + 2 * std::sin(30 * t) << ","
        << 0.5 * std::sin(2 * t) << "," << 0.1 << "," << -0.2 * std::cos(3 * t) << "\n";
  }
}

struct Fixture : ::testing::Test {
  TempDir dir;
  fs::path config = dir.path / "primusd.toml";
  std::string endpoint = "ipc://" + (dir.path / "events.sock").string();

  void write_config(double threshold, const std::string& extra = "") {
    std::ofstream out(config);
    out << "[daemon]\nlog_level = \"info\"\nruntime_dir = \"" << dir.path.string() << "\"\n"
        << "state_dir = \"" << dir.path.string() << "\"\nstatus_interval_s = 0.5\n"
        << "[model]\nthreads = 1\ndevice = \"cpu\"\n"
        << "[window]\nlength = 123\nhop = 10\n"
        << "[batcher]\nmax_batch = 8\nmax_delay_us = 5000\n"
        << "[events]\nonset_threshold = " << threshold << "\npublish_scores = true\n"
        << "[bus]\npublish = [\"" << endpoint << "\"]\n"
        << "[[devices]]\nid = \"rec1\"\nadapter = \"replay\"\npath = \"rec.csv\"\nspeed = "
           "4.0\nloop = true\n"
        << "[[devices]]\nid = \"rec2\"\nadapter = \"replay\"\npath = \"rec.csv\"\nspeed = "
           "4.0\nloop = true\n"
        << extra;
  }
};

TEST_F(Fixture, CheckConfigAcceptsGoodAndNamesTheBadKey) {
  write_recording(dir.path / "rec.csv", 5);
  write_config(0.5);
  Child ok({PRIMUSD_PATH, "--check-config", config.string()}, {}, dir.path / "ok.log");
  EXPECT_EQ(ok.wait(30s), 0) << slurp(dir.path / "ok.log");

  std::ofstream(dir.path / "bad.toml")
      << "[window]\nlength = 100\n[[devices]]\nid = \"a\"\nadapter = \"sim\"\n";
  Child bad({PRIMUSD_PATH, "--check-config", (dir.path / "bad.toml").string()}, {},
            dir.path / "bad.log");
  EXPECT_EQ(bad.wait(30s), 1);
  EXPECT_NE(slurp(dir.path / "bad.log").find("window.length = 100"), std::string::npos)
      << slurp(dir.path / "bad.log");
}

TEST_F(Fixture, ReplayToZeroMqReadyReloadAndCleanStop) {
  write_recording(dir.path / "rec.csv", 12);
  write_config(0.5);
  const fs::path notify_path = dir.path / "notify.sock";
  NotifySocket notify(notify_path);

  // Subscribe before the daemon starts: ZeroMQ connects as soon as the endpoint appears.
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::subscribe, "");
  sub.set(zmq::sockopt::rcvtimeo, 200);
  sub.connect(endpoint);

  const fs::path log = dir.path / "primusd.log";
  Child d({PRIMUSD_PATH, "--config", config.string()}, {"NOTIFY_SOCKET=" + notify_path.string()},
          log);
  ASSERT_GT(d.pid(), 0);
  std::string seen;
  ASSERT_TRUE(notify.wait_for("READY=1", 120s, &seen)) << seen << "\n" << slurp(log);
  EXPECT_NE(seen.find("STATUS="), std::string::npos);

  // Collect messages: score messages from both replay devices and status messages.
  int scores[2] = {0, 0};
  int status = 0;
  std::uint64_t last_window_seq[2] = {0, 0};
  const auto end = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < end &&
         (scores[0] < 10 || scores[1] < 10 || status < 2)) {
    zmq::message_t topic, body;
    if (!sub.recv(topic)) continue;
    ASSERT_TRUE(sub.get(zmq::sockopt::rcvmore));
    ASSERT_TRUE(sub.recv(body));
    const auto j = nlohmann::json::parse(body.to_string());
    ASSERT_EQ(j.at("schema"), 1);
    const std::string t = topic.to_string();
    if (t.rfind("score.", 0) == 0) {
      const int k = t == "score.rec1" ? 0 : 1;
      EXPECT_EQ(j.at("device"), k == 0 ? "rec1" : "rec2");
      const auto& s = j.at("scores");
      ASSERT_EQ(s.size(), 5u);
      double sum = 0;
      for (const auto& [label, p] : s.items()) sum += p.get<double>();
      EXPECT_NEAR(sum, 1.0, 1e-4);
      const auto ws = j.at("window_seq").get<std::uint64_t>();
      if (scores[k] > 0) {
        EXPECT_GT(ws, last_window_seq[k]);
      }
      last_window_seq[k] = ws;
      ++scores[k];
    } else if (t == "status") {
      EXPECT_EQ(j.at("devices").size(), 2u);
      ++status;
    }
  }
  EXPECT_GE(scores[0], 10) << slurp(log);
  EXPECT_GE(scores[1], 10) << slurp(log);
  EXPECT_GE(status, 2);

  // SIGHUP with a changed live key: applied and logged. Then a broken file: refused, still running.
  write_config(0.7);
  ASSERT_EQ(kill(d.pid(), SIGHUP), 0);
  std::this_thread::sleep_for(1s);
  std::ofstream(config) << "[window]\nlength = \"oops\"\n";
  ASSERT_EQ(kill(d.pid(), SIGHUP), 0);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(d.wait(10ms), -1) << "daemon died after a bad reload:\n" << slurp(log);
  // Still publishing after the reloads.
  int after = 0;
  for (int i = 0; i < 50 && after < 3; ++i) {
    zmq::message_t topic, body;
    if (sub.recv(topic)) {
      (void)sub.recv(body);
      ++after;
    }
  }
  EXPECT_GE(after, 3);

  ASSERT_EQ(kill(d.pid(), SIGTERM), 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(d.wait(20s), 0) << slurp(log);
  const double stop_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(notify.wait_for("STOPPING=1", 1s, &seen)) << seen;
  const std::string text = slurp(log);
  EXPECT_NE(text.find("SIGHUP: events.onset_threshold: 0.5 -> 0.7"), std::string::npos) << text;
  EXPECT_NE(text.find("refusing the new configuration"), std::string::npos) << text;
  EXPECT_NE(text.find("window.length = \"oops\""), std::string::npos) << text;
  EXPECT_NE(text.find("RANDOM weights"), std::string::npos) << text;
  EXPECT_NE(text.find("stopped cleanly"), std::string::npos) << text;
  std::cout << "[ e2e ] stop took " << stop_s << " s\n";
}

TEST_F(Fixture, RefusesToStartOnAnUnreadableReplayFile) {
  std::ofstream(dir.path / "rec.csv") << "time,foo\n1,2\n";
  write_config(0.5);
  const fs::path log = dir.path / "primusd.log";
  Child d({PRIMUSD_PATH, "--config", config.string()}, {}, log);
  EXPECT_EQ(d.wait(120s), 1);
  EXPECT_NE(slurp(log).find("no time column \"t\""), std::string::npos) << slurp(log);
}

TEST_F(Fixture, PrimusctlEventsPrintsWhatTheDaemonPublishes) {
  write_recording(dir.path / "rec.csv", 12);
  write_config(0.5);
  const fs::path log = dir.path / "primusd.log";
  Child d({PRIMUSD_PATH, "--config", config.string()}, {}, log);
  const fs::path ctl_log = dir.path / "ctl.log";
  Child ctl({PRIMUSCTL_PATH, "events", "--config", config.string(), "--device", "rec2", "--topic",
             "score", "--count", "5", "--timeout", "120"},
            {}, ctl_log);
  EXPECT_EQ(ctl.wait(150s), 0) << slurp(ctl_log) << slurp(log);
  const std::string out = slurp(ctl_log);
  std::istringstream lines(out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    EXPECT_NE(line.find("score    rec2"), std::string::npos) << line;
    ++n;
  }
  EXPECT_EQ(n, 5) << out;
  kill(d.pid(), SIGTERM);
  EXPECT_EQ(d.wait(20s), 0) << slurp(log);
}

TEST_F(Fixture, MetricsHealthAndLiveModelSwapOnSighup) {
  write_recording(dir.path / "rec.csv", 12);
  // A classifier file with different labels, to swap in while running.
  primus::model::ModelInfo info;
  info.labels = {"null", "left", "right"};
  info.window_length = 123;
  info.version = "swapped-v2";
  primus::model::Classifier::random(info, 7, "cpu")->save((dir.path / "v2.safetensors").string());

  // A free loopback port for /metrics.
  const int port = primus::e2e::free_tcp_port();
  const std::string metrics = "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n";
  write_config(0.5, metrics);
  const fs::path notify_path = dir.path / "notify.sock";
  NotifySocket notify(notify_path);
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::subscribe, "score.rec1");
  sub.set(zmq::sockopt::rcvtimeo, 200);
  sub.connect(endpoint);
  const fs::path log = dir.path / "primusd.log";
  Child d({PRIMUSD_PATH, "--config", config.string()}, {"NOTIFY_SOCKET=" + notify_path.string()},
          log);
  std::string seen;
  ASSERT_TRUE(notify.wait_for("READY=1", 120s, &seen)) << slurp(log);

  const auto ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.first, 200) << ready.second << "\n" << slurp(log);
  EXPECT_EQ(http_get(port, "/healthz").first, 200);

  auto next_score = [&]() -> nlohmann::json {
    for (int i = 0; i < 300; ++i) {
      zmq::message_t topic, body;
      if (!sub.recv(topic)) continue;
      (void)sub.recv(body);
      return nlohmann::json::parse(body.to_string());
    }
    return {};
  };
  const auto before = next_score();
  ASSERT_FALSE(before.is_null()) << slurp(log);
  EXPECT_EQ(before["model_version"], "random-seed1");

  const auto m = http_get(port, "/metrics");
  EXPECT_EQ(m.first, 200);
  for (const char* name :
       {"primusd_inference_windows_total", "primusd_window_latency_seconds_bucket",
        "primusd_device_samples_total{device=\"rec1\"}", "primusd_batcher_depth",
        "primusd_device_dropped_total{device=\"rec2\",reason=\"bad_quat\"}"}) {
    EXPECT_NE(m.second.find(name), std::string::npos) << name << "\n" << m.second;
  }

  // New weights in the config + SIGHUP: loaded beside the live model, then swapped in.
  write_config(0.5, metrics + "");
  {
    std::string text = slurp(config);
    text.replace(text.find("[model]\n"), 8, "[model]\nweights = \"v2.safetensors\"\n");
    std::ofstream(config) << text;
  }
  notify.drain();
  ASSERT_EQ(kill(d.pid(), SIGHUP), 0);
  // systemd's reload job ends only at READY=1 after RELOADING=1 (sd_notify(3)); without it
  // `systemctl reload primusd` hangs (tests/package/test_boot.sh showed it under a real systemd).
  EXPECT_TRUE(notify.wait_for("RELOADING=1", 30s, &seen)) << seen;
  EXPECT_TRUE(notify.wait_for("READY=1", 60s, &seen)) << seen << slurp(log);
  std::string version;
  std::uint64_t last_seq = 0;
  bool gap = false;
  for (int i = 0; i < 400 && version != "swapped-v2"; ++i) {
    const auto s = next_score();
    if (s.is_null()) continue;
    version = s["model_version"];
    const auto seq = s["window_seq"].get<std::uint64_t>();
    if (last_seq && seq != last_seq + 1) gap = true;
    last_seq = seq;
    if (version == "swapped-v2") {
      EXPECT_EQ(s["scores"].size(), 3u);
    }
  }
  EXPECT_EQ(version, "swapped-v2") << slurp(log);
  EXPECT_FALSE(gap) << "a window was lost or reordered across the swap";
  ASSERT_EQ(kill(d.pid(), SIGTERM), 0);
  EXPECT_EQ(d.wait(20s), 0) << slurp(log);
  EXPECT_NE(slurp(log).find("model swapped-v2 is live (was random-seed1)"), std::string::npos)
      << slurp(log);
}

}  // namespace
